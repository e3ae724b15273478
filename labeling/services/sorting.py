"""Sorting: the one place that moves a video's file.

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

A crash at any step leaves an open intent that ``labeling.services.reconcile`` finishes or
rolls back by looking at the disk. ``STEP_HOOK`` lets the fault-injection tests kill the
process at each numbered step.

Never replacing a file: ``os.link`` fails with EEXIST instead of replacing (``rename``
would silently replace). Where hard links are unsupported (FAT/exFAT disks, some shares)
the destination name is first reserved with ``O_CREAT | O_EXCL`` and then the file is
renamed over that empty placeholder, which is ours.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from labeling.models import Classifier, Folder, LabelEvent, Library, MoveIntent, Prediction, Video
from labeling.services.folders import FolderError, folder_name_validate
from labeling.services.paths import (
    NAME_MAX_BYTES,
    UnsafePath,
    filename_validate,
    name_key,
    path_resolve,
    rel_join,
    root_real,
)
from mlpipeline.hashing import FULL_PREFIX, SAMPLED_PREFIX, content_hash

logger = logging.getLogger(__name__)

STEP_INTENT = 1
STEP_DIR = 2
STEP_COPIED = 3
STEP_LINKED = 4
STEP_TEMP_REMOVED = 5
STEP_SOURCE_REMOVED = 6
STEP_DONE = 7
STEP_NAMES = {
    STEP_INTENT: "intent",
    STEP_DIR: "dir",
    STEP_COPIED: "copied",
    STEP_LINKED: "linked",
    STEP_TEMP_REMOVED: "temp-removed",
    STEP_SOURCE_REMOVED: "source-removed",
    STEP_DONE: "done",
}

# Test hook: called with each step number as the move reaches it.
STEP_HOOK: Callable[[int], None] | None = None

SORTING_ROUTES = (
    LabelEvent.Route.PLAYER,
    LabelEvent.Route.API,
    LabelEvent.Route.BULK,
    LabelEvent.Route.AUTO_FILE,
)
TEMP_PREFIX = ".vidsort-"
TEMP_SUFFIX = ".tmp"
COPY_BLOCK = 1024 * 1024
LINK_UNSUPPORTED = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


class SortError(Exception):
    """Base class: ``code`` is the API's error code, the message is for people."""

    code = "sort_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class SortNotFound(SortError):
    code = "not_found"


class SortInvalid(SortError):
    code = "invalid"


class SortConflict(SortError):
    """The video changed or is being moved by someone else; nothing was done."""

    code = "conflict"


class SortRefused(SortError):
    """The move cannot be made safely (file missing, changed, a symlink…)."""

    code = "refused"


class SortFailed(SortError):
    """The disk refused (ENOSPC, EIO…); the move was rolled back, nothing changed."""

    code = "disk_error"


class SortIncomplete(SortError):
    """The file moved but the database could not be updated; reconcile will finish it."""

    code = "incomplete"


@dataclass
class SortResult:
    video: Video
    moved: bool
    from_folder: Folder | None
    to_folder: Folder | None
    from_path: str
    to_path: str
    event: LabelEvent | None = None
    renamed: bool = False  # a name clash gave the file a new name, e.g. 'clip (2).mp4'
    intent_id: int | None = None


_UNSET: Any = object()


def _step(number: int) -> None:
    if STEP_HOOK is not None:
        STEP_HOOK(number)


# --- resolving what a request names ----------------------------------------------------


def video_resolve(
    *, video_id: object = None, filename: object = None, library: Library | None = None
) -> Video:
    """The video a request names: by id, or by a file name that must match a record."""
    videos = Video.objects.select_related("library", "folder")
    if library is not None:
        videos = videos.filter(library=library)
    if video_id is not None:
        if isinstance(video_id, bool) or not isinstance(video_id, int):
            raise SortInvalid("'video' must be an integer id")
        video = videos.filter(pk=video_id).first()
        if video is None:
            raise SortNotFound(f"no video with id {video_id}")
        return video
    if not isinstance(filename, str) or not filename:
        raise SortInvalid("give 'video' (an id) or 'filename'")
    try:
        # A name that is not a plain file name cannot match a record (and a NUL would
        # not even reach the database).
        filename_validate(name=filename)
    except UnsafePath as exc:
        raise SortNotFound(f"no video named {filename!r} ({exc})") from None
    matches = list(videos.filter(filename=filename).exclude(status=Video.Status.MISSING)[:2])
    if not matches:
        raise SortNotFound(f"no video named {filename!r}")
    if len(matches) > 1:
        raise SortConflict(
            f"several videos are named {filename!r}; address the video by id", code="ambiguous"
        )
    return matches[0]


def folder_resolve(*, library: Library, ref: object) -> Folder | None:
    """A folder named by id (int) or by name (str); None means the root (unsorted)."""
    if ref is None:
        return None
    if isinstance(ref, bool):
        raise SortInvalid("'folder' must be an id, a name or null")
    if isinstance(ref, int):
        folder = Folder.objects.filter(library=library, pk=ref).first()
        if folder is None:
            raise SortNotFound(f"no folder with id {ref}")
        return folder
    if isinstance(ref, str):
        try:
            name = folder_name_validate(name=ref)
        except FolderError as exc:
            raise SortNotFound(f"no folder named {ref!r} ({exc})") from None
        folder = Folder.objects.filter(library=library, name=name).first()
        if folder is None:
            raise SortNotFound(f"no folder named {ref!r}")
        return folder
    raise SortInvalid("'folder' must be an id, a name or null")


# --- the move --------------------------------------------------------------------------


def video_sort(
    *,
    video: Video,
    folder: Folder | None,
    user: Any = None,
    route: str = LabelEvent.Route.PLAYER,
    predicted_folder: Folder | None = _UNSET,
    predicted_confidence: float | None = _UNSET,
    expected_folder: Folder | None = _UNSET,
    undoes: LabelEvent | None = None,
    wait: float = 2.0,
) -> SortResult:
    """Move ``video`` into ``folder`` (None: back to the root), journalled.

    ``video`` is the caller's view of the row: if the row has moved since (another tab,
    another labeller), the sort is refused with SortConflict rather than moving the video
    a second time -- unless it is already where the caller wants it (a no-op). Pass
    ``expected_folder`` to state the expected current folder explicitly.
    """
    if folder is not None and folder.library_id != video.library_id:
        raise SortInvalid("the folder belongs to another library")
    if predicted_folder is _UNSET and predicted_confidence is _UNSET:
        # Read with the row lock in _intent_open (the active classifier's prediction).
        predicted_folder_id = predicted_confidence = _UNSET
    else:
        predicted_folder_id = (
            predicted_folder.pk if predicted_folder not in (None, _UNSET) else None
        )
        predicted_confidence = None if predicted_confidence is _UNSET else predicted_confidence
    expected_folder_id = (
        video.folder_id
        if expected_folder is _UNSET
        else (expected_folder.pk if expected_folder else None)
    )
    library = video.library
    intent, row = _intent_open(
        video=video,
        folder=folder,
        user=user,
        route=route,
        library=library,
        expected_path=video.path,
        expected_folder_id=expected_folder_id,
        wait=wait,
        details={
            "predicted_folder": predicted_folder_id,
            "predicted_confidence": predicted_confidence,
            "undoes": undoes.pk if undoes is not None else None,
        },
    )
    if intent is None:  # already there: nothing to do
        return SortResult(
            video=row,
            moved=False,
            from_folder=row.folder,
            to_folder=row.folder,
            from_path=row.path,
            to_path=row.path,
        )
    _disk_move(intent=intent, root=library.root)
    try:
        event = move_intent_apply(intent=intent, row=row)
    except DatabaseError as exc:
        logger.exception("sort of video %s: moved on disk, database update failed", video.pk)
        try:
            MoveIntent.objects.filter(pk=intent.pk).update(error=f"database update failed: {exc}")
        except DatabaseError:
            pass
        raise SortIncomplete(
            "the file was moved but the database could not be updated; it will be repaired "
            "by `manage.py vidsort_reconcile`"
        ) from exc
    _step(STEP_DONE)
    if route != LabelEvent.Route.UNDO:
        _auto_retrain_check(library)
    return SortResult(
        video=row,
        moved=True,
        from_folder=intent.from_folder,
        to_folder=folder,
        from_path=intent.src_path,
        to_path=intent.dst_path,
        event=event,
        renamed=os.path.basename(intent.dst_path) != os.path.basename(intent.src_path),
        intent_id=intent.pk,
    )


def _auto_retrain_check(library: Library) -> None:
    """Queue a retrain after VIDSORT_AUTO_RETRAIN_LABELS new labels (a no-op when off)."""
    from django.conf import settings

    if not settings.VIDSORT_AUTO_RETRAIN_LABELS:
        return
    from labeling.services.retrain import retrain_maybe_auto

    try:
        retrain_maybe_auto(library=library)
    except Exception:  # the sort itself succeeded; a failed trigger must not undo that
        logger.exception("auto-retrain check failed")


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


def _locked_video(*, video_id: int, library: Library) -> Video:
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
    row.pending_intent = found[0] if found else None
    row.pending_since = (
        MoveIntent.objects.filter(pk=found[0]).values_list("created_at", flat=True).first()
        if found
        else None
    )
    return row


def _intent_open(
    *,
    video: Video,
    folder: Folder | None,
    user: Any,
    route: str,
    library: Library,
    expected_path: str,
    expected_folder_id: int | None,
    wait: float,
    details: dict,
) -> tuple[MoveIntent | None, Video]:
    deadline = time.monotonic() + wait
    target_id = folder.pk if folder is not None else None
    want_prediction = details.get("predicted_folder") is _UNSET
    while True:
        with transaction.atomic():
            _lock_folders({target_id, expected_folder_id})
            # The row lock makes "check the current place, then journal the move" atomic:
            # of two concurrent sorts of this video, the second waits here and then sees
            # either the first one's open intent or its finished result.
            row = _locked_video(video_id=video.pk, library=library)
            if row.folder_id is not None and row.folder_id == video.folder_id:
                row.folder = video.folder  # the caller's (already loaded) folder object
            if want_prediction:
                details["predicted_folder"] = row.active_predicted_folder
                details["predicted_confidence"] = row.active_predicted_confidence
            if row.folder_id == target_id:
                return None, row
            if row.path != expected_path or row.folder_id != expected_folder_id:
                where = row.folder.name if row.folder else "the library root (unsorted)"
                raise SortConflict(
                    f"{row.filename!r} was moved since it was loaded: it is now in {where}"
                )
            if row.pending_intent is None:
                return _intent_create(
                    row=row,
                    folder=folder,
                    user=user,
                    route=route,
                    library=library,
                    details=details,
                ), row
        # Another request is moving this video right now: wait (outside the transaction)
        # for it to finish, then decide again: a no-op if it went where we want, else a
        # conflict because the row moved.
        if time.monotonic() >= deadline:
            age = (timezone.now() - (row.pending_since or timezone.now())).total_seconds()
            hint = "" if age < 60 else "; if VidSort crashed, run `manage.py vidsort_reconcile`"
            raise SortConflict(
                f"{row.filename!r} is being moved by another request (journal entry "
                f"{row.pending_intent}, {age:.0f} s old){hint}"
            )
        time.sleep(0.02)


def _intent_create(
    *, row: Video, folder: Folder | None, user: Any, route: str, library: Library, details: dict
) -> MoveIntent:
    if row.status == Video.Status.MISSING:
        raise SortRefused(f"{row.filename!r} is missing on disk; scan the library first")
    root = library.root
    try:
        src = path_resolve(root=root, rel=row.path)
        filename = filename_validate(name=os.path.basename(row.path))
        folder_rel = folder_name_validate(name=folder.name) if folder is not None else ""
        dst_dir = path_resolve(root=root, rel=folder_rel) if folder_rel else root_real(root=root)
    except (UnsafePath, FolderError) as exc:
        raise SortRefused(f"refusing to move {row.path!r}: {exc}") from None
    try:
        st = os.lstat(src)
    except FileNotFoundError:
        raise SortRefused(
            f"{row.path!r} is not on disk any more; scan the library to find it"
        ) from None
    if not os.path.isfile(src) or os.path.islink(src):
        raise SortRefused(f"{row.path!r} is not a regular file (a link?); VidSort leaves it alone")
    if os.path.lexists(dst_dir) and not os.path.isdir(dst_dir):
        raise SortRefused(f"{folder_rel!r} exists in the library and is not a folder")
    dst_name = _free_name(
        library=library, folder_rel=folder_rel, dst_dir=dst_dir, filename=filename
    )
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


def _numbered(filename: str, n: int) -> str:
    stem, ext = os.path.splitext(filename)
    suffix = f" ({n}){ext}"
    while len(os.fsencode(stem + suffix)) > NAME_MAX_BYTES and stem:
        stem = stem[:-1]
    return stem + suffix


def _free_name(
    *,
    library: Library,
    folder_rel: str,
    dst_dir: str,
    filename: str,
    taken_extra: set[str] | None = None,
) -> str:
    """A name for ``filename`` in ``dst_dir`` that clashes with nothing there.

    Compared by NFC + case-fold key against the folder's listing (a case-only or
    Unicode-equivalent twin is a clash: on macOS/Windows it is the same file) and against
    the database (a row of a missing file still holds its path).
    """
    try:
        taken = {name_key(n) for n in os.listdir(dst_dir)}
    except FileNotFoundError:
        taken = set()
    taken |= taken_extra or set()
    candidate, n = filename, 1
    with connection.cursor() as cursor:
        while True:
            if name_key(candidate) not in taken:
                # Plain SQL: this runs on every sort, the ORM's compile step costs more
                # than the query.
                cursor.execute(
                    "SELECT 1 FROM labeling_video WHERE library_id = %s AND path = %s",
                    [library.pk, rel_join(folder_rel, candidate)],
                )
                if cursor.fetchone() is None:
                    return candidate
            n += 1
            candidate = _numbered(filename, n)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_bytes(source, target) -> None:
    shutil.copyfileobj(source, target, COPY_BLOCK)


def _copy_verified(src: str, tmp: str) -> None:
    """Copy ``src`` to a new file ``tmp`` (never an existing one), fsync, verify."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with open(fd, "wb", closefd=True) as target, open(src, "rb") as source:
        _copy_bytes(source, target)
        target.flush()
        os.fsync(target.fileno())
    shutil.copystat(src, tmp)
    src_size, tmp_size = os.path.getsize(src), os.path.getsize(tmp)
    if src_size != tmp_size:
        raise OSError(errno.EIO, f"copy is {tmp_size} bytes, source {src_size}")
    if content_hash(src, mode="full") != content_hash(tmp, mode="full"):
        raise OSError(errno.EIO, "copy does not match the source (SHA-256 differs)")


@dataclass
class _MoveState:
    src: str
    dst_dir: str
    tmp: str = ""
    placed: str = ""  # the destination name we created, once it exists
    # (st_dev, st_ino) of what we put at ``placed`` without a hard link: our empty
    # placeholder, then the file renamed onto it; proof that the name still holds ours.
    placed_id: tuple[int, int] | None = None
    placeholder: bool = False
    source_gone: bool = False
    temp_gone: bool = False


def _disk_move(*, intent: MoveIntent, root: str) -> None:
    """Steps 2-6. On failure before the source is gone, undoes its own work."""
    src = path_resolve(root=root, rel=intent.src_path)
    dst = path_resolve(root=root, rel=intent.dst_path)
    state = _MoveState(src=src, dst_dir=os.path.dirname(dst))
    _step(STEP_INTENT)
    try:
        os.makedirs(state.dst_dir, exist_ok=True)
        _step(STEP_DIR)
        try:
            _place(intent=intent, root=root, state=state, source=src)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_across(intent=intent, root=root, state=state)
        if not state.source_gone:
            os.unlink(src)
            state.source_gone = True
        try:
            _fsync_dir(os.path.dirname(src))
        except OSError as exc:
            # The file is safe at its destination (fsynced there); losing the removal of
            # the old name in a power cut leaves a duplicate, which reconcile resolves.
            logger.warning("fsync of %s failed after the move: %s", os.path.dirname(src), exc)
        _step(STEP_SOURCE_REMOVED)
    except OSError as exc:
        if state.source_gone:
            # Past the point of no return: the data is at the destination only; the
            # caller records the move (reconcile would do the same).
            logger.warning("sort %s: error after the source was removed: %s", intent.pk, exc)
            return
        _abort(intent=intent, state=state, exc=exc)


def _place(*, intent: MoveIntent, root: str, state: _MoveState, source: str) -> None:
    """Give ``source`` the destination name without ever replacing a file.

    On EEXIST (someone created that name since we planned it) the next free name is
    journalled before it is tried, so reconcile always knows where to look.
    """
    tried: set[str] = set()
    while True:
        dst = path_resolve(root=root, rel=intent.dst_path)
        try:
            if state.placeholder:
                raise OSError(errno.EPERM, "hard links not used here")
            os.link(source, dst, follow_symlinks=False)
            state.placed = dst
            break
        except FileExistsError:
            pass
        except OSError as exc:
            if exc.errno not in LINK_UNSUPPORTED:
                raise
            # No hard links here (FAT, exFAT, some shares): reserve the name with O_EXCL,
            # then rename onto our own empty placeholder. rename(2) replaces only it.
            if not state.placeholder:
                state.placeholder = True
                intent.details = {**intent.details, "placeholder": True}
                intent.save(update_fields=["details"])
            try:
                fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                pass
            else:
                try:
                    st = os.fstat(fd)
                finally:
                    os.close(fd)
                state.placed, state.placed_id = dst, (st.st_dev, st.st_ino)
                moving = os.lstat(source)
                try:
                    os.rename(source, dst)
                except OSError:
                    # EXDEV and friends: the empty placeholder must not outlive the
                    # attempt (a cross-device copy will want this very name next).
                    _placed_remove(intent=intent, state=state)
                    raise
                # rename(2) keeps the inode: the name now holds the file we moved.
                state.placed_id = (moving.st_dev, moving.st_ino)
                if source == state.src:
                    state.source_gone = True
                else:
                    state.temp_gone = True
                break
        tried.add(name_key(os.path.basename(dst)))
        folder_rel = os.path.dirname(intent.dst_path)
        new_name = _free_name(
            library=intent.video.library,
            folder_rel=folder_rel,
            dst_dir=state.dst_dir,
            filename=os.path.basename(intent.src_path),
            taken_extra=tried,
        )
        intent.dst_path = rel_join(folder_rel, new_name)
        intent.save(update_fields=["dst_path"])
    _fsync_dir(state.dst_dir)
    _step(STEP_LINKED)


def _copy_across(*, intent: MoveIntent, root: str, state: _MoveState) -> None:
    """Cross-device move: temp copy in the destination folder, verified, then placed."""
    folder_rel = os.path.dirname(intent.dst_path)
    tmp_rel = rel_join(folder_rel, f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}")
    # Journal the temp name before the file exists: after a crash reconcile finds it.
    intent.tmp_path = tmp_rel
    intent.step = "copy"
    intent.save(update_fields=["tmp_path", "step"])
    state.tmp = path_resolve(root=root, rel=tmp_rel)
    _copy_verified(state.src, state.tmp)
    _step(STEP_COPIED)
    _place(intent=intent, root=root, state=state, source=state.tmp)
    if not state.temp_gone:
        os.unlink(state.tmp)
        state.temp_gone = True
    _step(STEP_TEMP_REMOVED)


def _placed_is_ours(state: _MoveState) -> bool:
    """Whether ``state.placed`` still names what this move put there (never another file)."""
    if not state.placed or not os.path.lexists(state.placed):
        return False
    if state.placed_id is not None:
        st = os.lstat(state.placed)
        if (st.st_dev, st.st_ino) == state.placed_id:
            return True  # our placeholder, or our verified copy renamed onto it
    return bool(
        (state.tmp and os.path.lexists(state.tmp) and os.path.samefile(state.placed, state.tmp))
        or (os.path.lexists(state.src) and os.path.samefile(state.placed, state.src))
    )  # a hard link: a second name for the source's data or for our copy


def _placed_remove(*, intent: MoveIntent, state: _MoveState) -> None:
    """Remove our placeholder after a failed rename onto it (best effort: _abort retries)."""
    try:
        if _placed_is_ours(state):
            os.unlink(state.placed)
        state.placed, state.placed_id = "", None
    except OSError as exc:
        logger.warning(
            "sort %s: could not remove the placeholder %s: %s", intent.pk, state.placed, exc
        )


def _abort(*, intent: MoveIntent, state: _MoveState, exc: OSError) -> None:
    """Undo our own disk work (the source is intact) and close the intent as failed."""
    message = f"{exc.strerror or exc}" + (
        f" ({errno.errorcode.get(exc.errno, exc.errno)})" if exc.errno else ""
    )
    try:
        if _placed_is_ours(state):
            # Safe: the source was never removed (else we would not be here), so this is
            # a second name for its data, our verified copy, or our empty placeholder.
            os.unlink(state.placed)
        if state.tmp and os.path.lexists(state.tmp):
            os.unlink(state.tmp)  # our own copy; the source was never touched
    except OSError as cleanup:
        logger.error("sort %s: cleanup after %s failed: %s", intent.pk, message, cleanup)
        MoveIntent.objects.filter(pk=intent.pk).update(
            error=f"{message}; cleanup failed: {cleanup}"
        )
        raise SortFailed(
            f"the move failed ({message}) and could not be cleaned up; the original file is "
            "untouched; run `manage.py vidsort_reconcile`"
        ) from exc
    MoveIntent.objects.filter(pk=intent.pk).update(
        state=MoveIntent.State.FAILED, error=message, finished_at=timezone.now()
    )
    raise SortFailed(f"the move failed: {message}; the file was left where it was") from exc


def move_intent_apply(*, intent: MoveIntent, row: Video | None = None) -> LabelEvent:
    """Step 7: record a move that is complete on disk (also used by reconcile).

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
        if row is None or row.status == Video.Status.MISSING:
            # Reconcile: the file is there, so a row marked missing meanwhile is not.
            values_status = {
                "status": Case(
                    When(status=Video.Status.MISSING, then=Value(Video.Status.OK)),
                    default=F("status"),
                )
            }
        else:
            values_status = {}
        Video.objects.filter(pk=intent.video_id).update(**values, **values_status)
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


# --- undo ------------------------------------------------------------------------------


def label_event_undo(*, user: Any, event: LabelEvent | None = None) -> SortResult:
    """Undo the user's most recent sort (or ``event``, which must be theirs and latest).

    A journalled move back; the original event gets ``undone_by``. Refused when the video
    was moved again since, or its file changed on disk.
    """
    undoable = LabelEvent.objects.filter(
        user=user, route__in=SORTING_ROUTES, undone_by__isnull=True
    ).select_related("video__library", "video__folder", "from_folder", "to_folder")
    if event is None:
        event = undoable.order_by("-created_at", "-id").first()
        if event is None:
            raise SortConflict("there is nothing of yours left to undo", code="nothing_to_undo")
    else:
        found = undoable.filter(pk=event.pk).first()
        if found is None:
            raise SortNotFound(f"event {event.pk} is not one of your sorts that can be undone")
        event = found
    video = event.video
    # Undo pairs cancel out: the latest event still standing must be this one.
    latest = label_events_effective().filter(video=video).order_by("-created_at", "-id").first()
    if latest is not None and latest.pk != event.pk:
        raise SortConflict(
            f"{video.filename!r} was moved again since ({latest.route}, "
            f"{latest.created_at:%Y-%m-%d %H:%M}); undo refused",
            code="undo_refused",
        )
    if video.path != event.to_path or video.folder_id != event.to_folder_id:
        raise SortConflict(
            f"{video.filename!r} is no longer where it was sorted to; undo refused",
            code="undo_refused",
        )
    if event.from_folder_id is None and event.from_name:
        raise SortConflict(
            f"the folder {event.from_name!r} it came from no longer exists; undo refused",
            code="undo_refused",
        )
    try:
        st = os.stat(path_resolve(root=video.library.root, rel=video.path))
    except (OSError, UnsafePath):
        raise SortConflict(
            f"{video.path!r} is not on disk any more; undo refused", code="undo_refused"
        ) from None
    if (
        st.st_size != video.size
        or st.st_mtime_ns != video.mtime_ns
        or not _same_content(video=video, size=st.st_size)
    ):
        raise SortConflict(
            f"{video.filename!r} was changed on disk since it was sorted; undo refused",
            code="undo_refused",
        )
    result = video_sort(
        video=video,
        folder=event.from_folder,
        user=user,
        route=LabelEvent.Route.UNDO,
        predicted_folder=event.predicted_folder,
        predicted_confidence=event.predicted_confidence,
        undoes=event,
    )
    if not result.moved:
        raise SortConflict("this sort was already undone", code="undo_refused")
    return result


UNDO_FULL_HASH_MAX_BYTES = 16 * 1024 * 1024


def _same_content(*, video: Video, size: int) -> bool:
    """Size and mtime look unchanged: does the content hash agree too (when cheap)?

    A sampled hash reads about 1 MiB whatever the size; a full hash is re-computed only
    for small files. (mtime can be set back by a tool, so size + mtime alone can lie.)
    """
    stored = video.content_hash or ""
    if stored.startswith(SAMPLED_PREFIX):
        mode = "sampled"
    elif stored.startswith(FULL_PREFIX) and size <= UNDO_FULL_HASH_MAX_BYTES:
        mode = "full"
    else:
        return True  # no hash, or too costly to re-read here: size + mtime decide
    try:
        path = path_resolve(root=video.library.root, rel=video.path)
        return content_hash(path, mode=mode) == stored
    except (OSError, UnsafePath):
        return False


# --- bulk and auto-file ----------------------------------------------------------------


@dataclass
class ItemOutcome:
    index: int
    ok: bool
    video: int | None = None
    filename: str = ""
    folder: str | None = None
    path: str = ""
    moved: bool = False
    event: int | None = None
    error: str = ""
    detail: str = ""
    confidence: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _outcome_ok(index: int, result: SortResult, **extra: Any) -> ItemOutcome:
    return ItemOutcome(
        index=index,
        ok=True,
        video=result.video.pk,
        filename=result.video.filename,
        folder=result.to_folder.name if result.to_folder else None,
        path=result.video.path,
        moved=result.moved,
        event=result.event.pk if result.event else None,
        **extra,
    )


def videos_sort_bulk(
    *,
    items: Sequence[dict[str, Any]],
    user: Any,
    library: Library | None = None,
    route: str = LabelEvent.Route.BULK,
) -> list[ItemOutcome]:
    """Sort each ``{"video": id | "filename": name, "folder": id | name | None}``.

    Items are independent: each one is its own journalled move, and a failure is
    reported for that item only (never hidden behind an overall success).
    """
    outcomes: list[ItemOutcome] = []
    for index, item in enumerate(items):
        video_ref = item.get("video") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict) or "folder" not in item:
                raise SortInvalid("each item needs 'video' (or 'filename') and 'folder'")
            video = video_resolve(
                video_id=video_ref, filename=item.get("filename"), library=library
            )
            folder = folder_resolve(library=video.library, ref=item["folder"])
            result = video_sort(video=video, folder=folder, user=user, route=route)
        except SortError as exc:
            outcomes.append(
                ItemOutcome(
                    index=index,
                    ok=False,
                    video=video_ref if isinstance(video_ref, int) else None,
                    error=exc.code,
                    detail=str(exc),
                )
            )
            continue
        outcomes.append(_outcome_ok(index, result))
    return outcomes


@dataclass
class AutofileReport:
    dry_run: bool
    threshold: float
    classifier_version: int | None
    items: list[ItemOutcome] = field(default_factory=list)

    @property
    def moved(self) -> int:
        return sum(1 for item in self.items if item.ok and item.moved)

    @property
    def failed(self) -> int:
        return sum(1 for item in self.items if not item.ok)

    @property
    def success(self) -> bool:
        return self.failed == 0


def _thresholds(
    *, library: Library, threshold: float, per_folder: dict[Any, float] | None
) -> dict[int, float]:
    result: dict[int, float] = {}
    for ref, value in (per_folder or {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise SortInvalid(f"threshold for {ref!r} must be a number between 0 and 1")
        folder: Folder | None = None
        if isinstance(ref, int) and not isinstance(ref, bool):
            folder = folder_resolve(library=library, ref=ref)
        elif isinstance(ref, str):
            folder = Folder.objects.filter(library=library, name=ref).first()
            if folder is None and ref.isdigit():
                folder = Folder.objects.filter(library=library, pk=int(ref)).first()
            if folder is None:
                raise SortNotFound(f"per_folder: no folder named {ref!r}")
        else:
            raise SortInvalid(f"per_folder key {ref!r} must be a folder name or id")
        result[folder.pk] = float(value)
    return result


def videos_autofile(
    *,
    library: Library,
    user: Any,
    threshold: float = 0.95,
    per_folder: dict[Any, float] | None = None,
    dry_run: bool = False,
    limit: int | None = None,
) -> AutofileReport:
    """File every unsorted video predicted (active classifier) at >= the threshold."""
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        raise SortInvalid("threshold must be a number between 0 and 1")
    thresholds = _thresholds(library=library, threshold=threshold, per_folder=per_folder)
    active = Classifier.objects.filter(library=library, is_active=True).first()
    report = AutofileReport(
        dry_run=dry_run,
        threshold=float(threshold),
        classifier_version=active.version if active else None,
    )
    if active is None:
        return report
    predictions = (
        Prediction.objects.filter(
            classifier_version=active.version,
            video__library=library,
            video__folder__isnull=True,
            video__status=Video.Status.OK,
            folder__isnull=False,
        )
        .select_related("video__library", "video__folder", "folder")
        .order_by("-confidence", "video_id")
    )
    lowest = min([threshold, *thresholds.values()])
    chosen = [
        p
        for p in predictions.filter(confidence__gte=lowest)
        if p.confidence >= thresholds.get(p.folder_id, threshold)
    ]
    if limit is not None:
        chosen = chosen[:limit]
    for index, prediction in enumerate(chosen):
        video = prediction.video
        if dry_run:
            report.items.append(
                ItemOutcome(
                    index=index,
                    ok=True,
                    video=video.pk,
                    filename=video.filename,
                    folder=prediction.folder.name,
                    path=video.path,
                    moved=False,
                    confidence=prediction.confidence,
                )
            )
            continue
        try:
            result = video_sort(
                video=video,
                folder=prediction.folder,
                user=user,
                route=LabelEvent.Route.AUTO_FILE,
                predicted_folder=prediction.folder,
                predicted_confidence=prediction.confidence,
            )
        except SortError as exc:
            report.items.append(
                ItemOutcome(
                    index=index,
                    ok=False,
                    video=video.pk,
                    filename=video.filename,
                    folder=prediction.folder.name,
                    confidence=prediction.confidence,
                    error=exc.code,
                    detail=str(exc),
                )
            )
            continue
        report.items.append(_outcome_ok(index, result, confidence=prediction.confidence))
    return report


def label_events_effective():
    """Label events that still stand: not undone, and not undo moves themselves.

    Training reads ``Video.folder`` (an undo moves the video back, so its label is gone
    from training data); accuracy-over-time records should read this queryset.
    """
    return LabelEvent.objects.filter(undone_by__isnull=True).exclude(route=LabelEvent.Route.UNDO)
