"""The journalled move: the one place that moves a video's file.

Every move is journalled in ``MoveIntent`` (docs/sorting.md has the full story):

1. intent   the journal row (source, destination, size, hash) is committed, disk untouched
2. dir      the destination folder exists (created on demand)
3. copied   cross-device only: a hidden temp copy in the destination folder, fsynced and
            verified (size + full SHA-256) against the source
4. linked   the destination name exists (hard link, never replacing), folder fsynced;
            the source is still there
5. temp     cross-device only: the temp name removed (the destination keeps the data)
6. source   the source name removed
7. done     the Video row, a LabelEvent and the closed intent, in one transaction

Steps 2-6 live in ``labeling.services.moves_disk``. A crash at any step leaves an open
intent that ``labeling.services.reconcile`` finishes or rolls back by looking at the disk.
Sorting, undo and reconcile all move files through here.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from labeling.models import Folder, LabelEvent, Library, MoveIntent, Video
from labeling.services.errors import ConflictError, IncompleteError, RefusedError
from labeling.services.folders import FolderError, folder_name_validate
from labeling.services.moves_disk import (
    STEP_DONE,
    STEP_INTENT,
    STEP_NAMES,
    move_disk_run,
    move_step,
    name_free,
)
from labeling.services.paths import (
    UnsafePath,
    filename_validate,
    path_resolve,
    rel_join,
    root_real,
)
from labeling.services.scan import video_file_reread

logger = logging.getLogger(__name__)


@dataclass
class MoveResult:
    video: Video
    moved: bool
    from_folder: Folder | None
    to_folder: Folder | None
    from_path: str
    to_path: str
    event: LabelEvent | None = None
    renamed: bool = False  # a name clash gave the file a new name, e.g. 'clip (2).mp4'
    intent_id: int | None = None


def video_move(
    *,
    video: Video,
    folder: Folder | None,
    user: Any,
    route: str,
    expected_folder_id: int | None,
    prediction: tuple[int | None, float | None] | None,
    undoes: LabelEvent | None = None,
    wait: float = 2.0,
    name: str | None = None,
) -> MoveResult:
    """Move ``video`` into ``folder`` (None: the root), journalled: steps 1 to 7.

    ``prediction`` is what the labeller was shown, (folder id, confidence); None reads the
    active classifier's prediction under the row lock. A video already in ``folder`` is a
    no-op (``moved`` False). ``name``: the file name wanted there when it is free (undo
    restores the name a clash changed); otherwise the current one, numbered on a clash.
    """
    library = video.library
    details: dict[str, Any] = {
        "predicted_folder": prediction[0] if prediction else None,
        "predicted_confidence": prediction[1] if prediction else None,
        "undoes": undoes.pk if undoes is not None else None,
    }
    intent, row = move_intent_open(
        video=video,
        folder=folder,
        user=user,
        route=route,
        expected_folder_id=expected_folder_id,
        wait=wait,
        details=details,
        read_prediction=prediction is None,
        name=name,
    )
    if intent is None:  # already there: nothing to do
        return MoveResult(
            video=row,
            moved=False,
            from_folder=row.folder,
            to_folder=row.folder,
            from_path=row.path,
            to_path=row.path,
        )
    move_disk_run(intent=intent, root=library.root)
    event = _intent_apply_or_incomplete(intent=intent, row=row)
    move_step(STEP_DONE)
    return MoveResult(
        video=row,
        moved=True,
        from_folder=intent.from_folder,
        to_folder=folder,
        from_path=intent.src_path,
        to_path=intent.dst_path,
        event=event,
        renamed=os.path.basename(intent.dst_path) != (name or os.path.basename(intent.src_path)),
        intent_id=intent.pk,
    )


def _intent_apply_or_incomplete(*, intent: MoveIntent, row: Video) -> LabelEvent:
    try:
        return move_intent_apply(intent=intent, row=row)
    except DatabaseError as exc:
        logger.exception("sort of video %s: moved on disk, database update failed", row.pk)
        try:
            MoveIntent.objects.filter(pk=intent.pk).update(error=f"database update failed: {exc}")
        except DatabaseError:
            pass
        raise IncompleteError(
            "the file was moved but the database could not be updated; it will be repaired "
            "by `manage.py vidsort_reconcile`"
        ) from exc


def _lock_folders(ids: set[int | None]) -> None:
    pks = sorted(pk for pk in ids if pk is not None)
    if not pks or not connection.features.has_select_for_update:
        return  # SQLite: the whole write transaction is already exclusive
    # Folder rows are locked before the video row, in id order, by every sort and by
    # folder_rename: a rename cannot slip between our checks and our journal entry,
    # and the fixed order rules out deadlocks between them. NO KEY UPDATE, not UPDATE:
    # the foreign-key checks of a concurrent step 7 (KEY SHARE on the same folder,
    # while it holds the video row we are about to wait for) must not block on it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM labeling_folder WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
            [pks],
        )


_LOCK_VIDEO_SQL = """
SELECT v.*,
       p.folder_id AS active_predicted_folder,
       p.confidence AS active_predicted_confidence
  FROM labeling_video v
  LEFT JOIN labeling_classifier c ON c.library_id = v.library_id AND c.is_active
  LEFT JOIN labeling_prediction p ON p.video_id = v.id AND p.classifier_version = c.version
 WHERE v.id = %s
   FOR UPDATE OF v
"""


@dataclass
class _LockedVideo:
    """The locked row, and what the locking read learned beside it."""

    row: Video
    pending_intent: int | None
    pending_since: datetime | None
    predicted_folder: int | None
    predicted_confidence: float | None


def _locked_video(*, video_id: int, library: Library) -> _LockedVideo:
    """Lock the video row (with its active prediction), then read its open intent.

    Hand-written SQL because this is the hot path of every sort: fewer statements, and
    no ORM compilation of subqueries (several ms on a slow CPU).
    (At most one classifier is active per library and one prediction exists per
    (video, version): the joins add no rows; both are enforced by constraints.)
    """
    sql = _LOCK_VIDEO_SQL
    if not connection.features.has_select_for_update:
        sql = sql.replace("FOR UPDATE OF v", "")
    rows = list(Video.objects.raw(sql, [video_id]))
    if not rows:
        raise Video.DoesNotExist(f"video {video_id} does not exist")
    row = rows[0]
    row.library = library
    # The open intent is read by a second statement, after the lock is held: under READ
    # COMMITTED a subquery in the locking statement would use the snapshot taken before
    # waiting for the lock, and miss the intent the previous lock holder just committed.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM labeling_moveintent WHERE video_id = %s AND state = %s "
            "ORDER BY id LIMIT 1",
            [video_id, MoveIntent.State.PENDING],
        )
        found = cursor.fetchone()
    pending_since = (
        MoveIntent.objects.filter(pk=found[0]).values_list("created_at", flat=True).first()
        if found
        else None
    )
    joined: Any = row  # raw() sets the joined columns as plain attributes
    return _LockedVideo(
        row=row,
        pending_intent=found[0] if found else None,
        pending_since=pending_since,
        predicted_folder=joined.active_predicted_folder,
        predicted_confidence=joined.active_predicted_confidence,
    )


def move_intent_open(
    *,
    video: Video,
    folder: Folder | None,
    user: Any,
    route: str,
    expected_folder_id: int | None,
    wait: float,
    details: dict[str, Any],
    read_prediction: bool,
    name: str | None = None,
) -> tuple[MoveIntent | None, Video]:
    """Step 1: journal the move (None when the video is already in ``folder``)."""
    library = video.library
    expected_path = video.path
    deadline = time.monotonic() + wait
    target_id = folder.pk if folder is not None else None
    while True:
        with transaction.atomic():
            _lock_folders({target_id, expected_folder_id})
            # The row lock makes "check the current place, then journal the move" atomic:
            # of two concurrent sorts of this video, the second waits here and then sees
            # either the first one's open intent or its finished result.
            locked = _locked_video(video_id=video.pk, library=library)
            row = locked.row
            if row.folder_id is not None and row.folder_id == video.folder_id:
                row.folder = video.folder  # the caller's (already loaded) folder object
            if read_prediction:
                details["predicted_folder"] = locked.predicted_folder
                details["predicted_confidence"] = locked.predicted_confidence
            if row.folder_id == target_id:
                return None, row
            if row.path != expected_path or row.folder_id != expected_folder_id:
                where = row.folder.name if row.folder else "the library root (unsorted)"
                raise ConflictError(
                    f"{row.filename!r} was moved since it was loaded: it is now in {where}"
                )
            if locked.pending_intent is None:
                return move_intent_create(
                    row=row, folder=folder, user=user, route=route, details=details, name=name
                ), row
        # Another request is moving this video right now: wait (outside the transaction)
        # for it to finish, then decide again: a no-op if it went where we want, else a
        # conflict because the row moved.
        if time.monotonic() >= deadline:
            age = (timezone.now() - (locked.pending_since or timezone.now())).total_seconds()
            hint = "" if age < 60 else "; if VidSort crashed, run `manage.py vidsort_reconcile`"
            raise ConflictError(
                f"{row.filename!r} is being moved by another request (journal entry "
                f"{locked.pending_intent}, {age:.0f} s old){hint}"
            )
        time.sleep(0.02)


def move_intent_create(
    *,
    row: Video,
    folder: Folder | None,
    user: Any,
    route: str,
    details: dict[str, Any],
    name: str | None = None,
) -> MoveIntent:
    """Plan the move of the locked ``row`` and commit its journal entry (step 1)."""
    library = row.library
    if row.status == Video.Status.MISSING:
        raise RefusedError(f"{row.filename!r} is missing on disk; scan the library first")
    root = library.root
    try:
        src = path_resolve(root=root, rel=row.path)
        filename = filename_validate(name=os.path.basename(row.path))
        folder_rel = folder_name_validate(name=folder.name) if folder is not None else ""
        dst_dir = path_resolve(root=root, rel=folder_rel) if folder_rel else root_real(root=root)
    except (UnsafePath, FolderError) as exc:
        raise RefusedError(f"refusing to move {row.path!r}: {exc}") from None
    try:
        st = os.lstat(src)
    except FileNotFoundError:
        raise RefusedError(
            f"{row.path!r} is not on disk any more; scan the library to find it"
        ) from None
    if not os.path.isfile(src) or os.path.islink(src):
        raise RefusedError(f"{row.path!r} is not a regular file (a link?); VidSort leaves it alone")
    if os.path.lexists(dst_dir) and not os.path.isdir(dst_dir):
        raise RefusedError(f"{folder_rel!r} exists in the library and is not a folder")
    dst_name = _name_wanted_free(
        library=library, folder_rel=folder_rel, dst_dir=dst_dir, wanted=name
    ) or name_free(library=library, folder_rel=folder_rel, dst_dir=dst_dir, filename=filename)
    return MoveIntent.objects.create(
        video=row,
        user=user if getattr(user, "is_authenticated", False) else None,
        route=route,
        from_folder=row.folder,
        to_folder=folder,
        src_path=row.path,
        dst_path=rel_join(folder_rel, dst_name),
        content_hash=row.content_hash,
        size=st.st_size,
        step=STEP_NAMES[STEP_INTENT],
        details=details,
    )


def _file_changed_values(
    *, video_id: int, row: Video | None, path: str, st: os.stat_result
) -> dict[str, Any]:
    """The file's probed fields when it changed since the row was written (edited since the
    last scan), else nothing: the new size and mtime must not be paired with the old
    content's hash, or the next scan trusts the row and the old embedding keeps training."""
    known: tuple[int, int] | None
    if row is not None:
        known = (row.size, row.mtime_ns)
    else:
        known = Video.objects.filter(pk=video_id).values_list("size", "mtime_ns").first()
    if known == (st.st_size, st.st_mtime_ns):
        return {}
    return video_file_reread(path=Path(path), size=st.st_size, mtime_ns=st.st_mtime_ns)


def _status_values(row: Video | None, values: dict[str, Any]) -> dict[str, Any]:
    if "status" in values or (row is not None and row.status != Video.Status.MISSING):
        return {}
    # Reconcile: the file is there, so a row marked missing meanwhile is not.
    return {
        "status": Case(
            When(status=Video.Status.MISSING, then=Value(Video.Status.OK)),
            default=F("status"),
        )
    }


def _name_wanted_free(
    *, library: Library, folder_rel: str, dst_dir: str, wanted: str | None
) -> str | None:
    """``wanted`` when it is a valid name that is free in the destination, else None."""
    if not wanted:
        return None
    try:
        wanted = filename_validate(name=wanted)
    except UnsafePath:
        return None
    free = name_free(library=library, folder_rel=folder_rel, dst_dir=dst_dir, filename=wanted)
    return wanted if free == wanted else None


def move_intent_apply(*, intent: MoveIntent, row: Video | None = None) -> LabelEvent:
    """Step 7: record a move that is complete on disk (reconcile finishes moves with it).

    ``row``, when given, is updated in memory to match what was written.
    """
    library = intent.video.library
    dst_abs = path_resolve(root=library.root, rel=intent.dst_path)
    st = os.stat(dst_abs)
    details = intent.details or {}
    to_folder, from_folder = intent.to_folder, intent.from_folder
    values = {
        "path": intent.dst_path,
        "filename": os.path.basename(intent.dst_path),
        "folder": to_folder,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        **_file_changed_values(video_id=intent.video_id, row=row, path=dst_abs, st=st),
        "updated_at": timezone.now(),
    }
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # This commit need not wait for the WAL flush: if the database loses it in a
            # crash, the intent is still pending and reconcile redoes exactly this step.
            # (The intent itself, step 1, is committed durably before the disk is touched.)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        # One UPDATE, which also takes the row lock: a pending intent already keeps other
        # sorts away from this video, and a concurrent scan waits for us here.
        Video.objects.filter(pk=intent.video_id).update(**values, **_status_values(row, values))
        event = LabelEvent.objects.create(
            video_id=intent.video_id,
            user_id=intent.user_id,
            route=intent.route,
            from_folder=from_folder,
            to_folder=to_folder,
            from_name=from_folder.name if from_folder else "",
            to_name=to_folder.name if to_folder else "",
            from_path=intent.src_path,
            to_path=intent.dst_path,
            predicted_folder_id=details.get("predicted_folder"),
            predicted_confidence=details.get("predicted_confidence"),
        )
        if details.get("undoes"):
            LabelEvent.objects.filter(pk=details["undoes"], undone_by__isnull=True).update(
                undone_by=event
            )
        intent.state = MoveIntent.State.DONE
        intent.step = STEP_NAMES[STEP_DONE]
        intent.finished_at = timezone.now()
        intent.save(update_fields=["state", "step", "finished_at"])
    if row is not None:
        for key, value in values.items():
            setattr(row, key, value)
        if row.status == Video.Status.MISSING:
            row.status = Video.Status.OK
    return event
