"""Sorting: what a request names, one sort, and many sorts at once.

A sort is a journalled move (labeling.services.moves) plus what the labeller saw: the
prediction shown, and the folder the video was in when the page loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labeling.models import Folder, LabelEvent, Library, Membership, MoveIntent, Video
from labeling.selectors.roles import role_at_least
from labeling.services.errors import ConflictError, InvalidError, NotFoundError, ServiceError
from labeling.services.folders import FolderError, folder_name_validate
from labeling.services.moves import MoveResult, video_move
from labeling.services.paths import UnsafePath, filename_validate
from labeling.services.reconcile import ReconcileReport, move_intent_reconcile
from labeling.services.retrain import retrain_maybe_auto

logger = logging.getLogger(__name__)

_UNSET: Any = object()


# --- resolving what a request names ----------------------------------------------------


def video_resolve(
    *, video_id: object = None, filename: object = None, library: Library | None = None
) -> Video:
    """The video a request names: by id, or by a file name that must match a record.

    Of several videos with that name, the one loose (unsorted) video is meant.
    """
    videos = Video.objects.select_related("library", "folder")
    if library is not None:
        videos = videos.filter(library=library)
    if video_id is not None:
        if isinstance(video_id, bool) or not isinstance(video_id, int):
            raise InvalidError("'video' must be an integer id")
        video = videos.filter(pk=video_id).first()
        if video is None:
            raise NotFoundError(f"no video with id {video_id}")
        return video
    if not isinstance(filename, str) or not filename:
        raise InvalidError("give 'video' (an id) or 'filename'")
    try:
        # A name that is not a plain file name cannot match a record (and a NUL would
        # not even reach the database).
        filename_validate(name=filename)
    except UnsafePath as exc:
        raise NotFoundError(f"no video named {filename!r} ({exc})") from None
    matches = list(videos.filter(filename=filename).exclude(status=Video.Status.MISSING))
    if not matches:
        raise NotFoundError(f"no video named {filename!r}")
    # Scripts name the loose video they want sorted: a sorted namesake does not make the
    # name ambiguous (the root holds at most one file of a name).
    loose = [video for video in matches if video.folder_id is None]
    if len(matches) > 1 and len(loose) != 1:
        raise ConflictError(
            f"several videos are named {filename!r}; address the video by id", code="ambiguous"
        )
    return loose[0] if loose else matches[0]


def folder_resolve(*, library: Library, ref: object) -> Folder | None:
    """A folder named by id (int) or by name (str); None means the root (unsorted)."""
    if ref is None:
        return None
    if isinstance(ref, bool):
        raise InvalidError("'folder' must be an id, a name or null")
    if isinstance(ref, int):
        folder = Folder.objects.filter(library=library, pk=ref).first()
        if folder is None:
            raise NotFoundError(f"no folder with id {ref}")
        return folder
    if isinstance(ref, str):
        try:
            name = folder_name_validate(name=ref)
        except FolderError as exc:
            raise NotFoundError(f"no folder named {ref!r} ({exc})") from None
        folder = Folder.objects.filter(library=library, name=name).first()
        if folder is None:
            raise NotFoundError(f"no folder named {ref!r}")
        return folder
    raise InvalidError("'folder' must be an id, a name or null")


# --- a move left open ------------------------------------------------------------------

# A sort or undo that meets an intent left open by an interrupted move (typically the
# database went away between the disk move and step 7) reconciles it there and then,
# instead of answering 409 until the periodic reconcile. Only once no live move can still
# own it: a same-device move takes milliseconds; a cross-device copy (a temp file) can
# take minutes, so it gets the periodic task's guard. An intent whose mover recorded an
# error has been given up by it, whatever its age.
PENDING_SETTLE_SECONDS = 30.0
PENDING_SETTLE_COPY_SECONDS = 300.0


def video_pending_settle(*, video: Video) -> int:
    """Reconcile ``video``'s open journal entries whose move is over; how many it closed."""
    now = timezone.now()
    abandoned = (
        Q(tmp_path="", created_at__lte=now - timedelta(seconds=PENDING_SETTLE_SECONDS))
        | Q(created_at__lte=now - timedelta(seconds=PENDING_SETTLE_COPY_SECONDS))
        | ~Q(error="")
    )
    ids = list(
        MoveIntent.objects.filter(video_id=video.pk, state=MoveIntent.State.PENDING)
        .filter(abandoned)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    settled = 0
    for pk in ids:
        with transaction.atomic():
            # SKIP LOCKED, like the reconcile command: a reconciler already on it wins.
            intent = (
                MoveIntent.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, state=MoveIntent.State.PENDING)
                .select_related("video__library", "from_folder", "to_folder")
                .first()
            )
            if intent is None:
                continue
            item = move_intent_reconcile(intent=intent, report=ReconcileReport())
        settled += 1
        logger.warning(
            "video %s: settled the open journal entry %s on access: %s (%s)",
            video.pk,
            pk,
            item.outcome,
            item.detail,
        )
    return settled


# --- one sort --------------------------------------------------------------------------


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
    name: str | None = None,
) -> MoveResult:
    """Move ``video`` into ``folder`` (None: back to the root), journalled.

    ``video`` is the caller's view of the row: if the row has moved since (another tab,
    another labeller), the sort is refused with ConflictError rather than moving the video
    a second time -- unless it is already where the caller wants it (a no-op). Pass
    ``expected_folder`` to state the expected current folder explicitly.
    """
    if folder is not None and folder.library_id != video.library_id:
        raise InvalidError("the folder belongs to another library")
    _team_mode_check(video=video, user=user, route=route)
    if video_pending_settle(video=video):
        video.refresh_from_db()  # the settled move changed the row the caller read
    if predicted_folder is _UNSET and predicted_confidence is _UNSET:
        prediction = None  # the active classifier's, read under the row lock
    else:
        prediction = (
            predicted_folder.pk if predicted_folder not in (None, _UNSET) else None,
            None if predicted_confidence is _UNSET else predicted_confidence,
        )
    expected_folder_id = (
        video.folder_id
        if expected_folder is _UNSET
        else (expected_folder.pk if expected_folder else None)
    )
    result = video_move(
        video=video,
        folder=folder,
        user=user,
        route=route,
        expected_folder_id=expected_folder_id,
        prediction=prediction,
        undoes=undoes,
        wait=wait,
        name=name,
    )
    if result.moved and route != LabelEvent.Route.UNDO:
        _auto_retrain_check(video.library)
    return result


# In team mode a labeller's answer is a vote (labeling.services.batches): the sorts a
# labeller could send directly are refused. Reviewers and owners still sort directly.
TEAM_VOTED_ROUTES = (LabelEvent.Route.PLAYER, LabelEvent.Route.API, LabelEvent.Route.BULK)


def _team_mode_check(*, video: Video, user: Any, route: str) -> None:
    library = video.library
    if library.team_mode and route in TEAM_VOTED_ROUTES and user is not None:
        if not role_at_least(user, library, Membership.Role.REVIEWER):
            raise ConflictError(
                "this library is in team mode: a labeller votes through batches "
                "(POST /api/batches), the file moves once the label is decided",
                code="team_mode",
            )


def _auto_retrain_check(library: Library) -> None:
    """Queue a retrain after VIDSORT_AUTO_RETRAIN_LABELS new labels (a no-op when off)."""
    if not settings.VIDSORT_AUTO_RETRAIN_LABELS:
        return
    try:
        retrain_maybe_auto(library=library)
    except Exception:  # the sort itself succeeded; a failed trigger must not undo that
        logger.exception("auto-retrain check failed")


# --- many sorts ------------------------------------------------------------------------


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


def item_outcome_ok(index: int, result: MoveResult, **extra: Any) -> ItemOutcome:
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


@dataclass(kw_only=True)
class SortReport:
    """Per-item outcomes of many independent sorts."""

    items: list[ItemOutcome] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def moved(self) -> int:
        return sum(1 for item in self.items if item.ok and item.moved)

    @property
    def failed(self) -> int:
        return sum(1 for item in self.items if not item.ok)

    @property
    def success(self) -> bool:
        return self.failed == 0


def videos_sort_bulk(
    *,
    items: Sequence[dict[str, Any]],
    user: Any,
    library: Library | None = None,
    route: str = LabelEvent.Route.BULK,
) -> SortReport:
    """Sort each ``{"video": id | "filename": name, "folder": id | name | None}``.

    Items are independent: each one is its own journalled move, and a failure is
    reported for that item only (never hidden behind an overall success).
    """
    report = SortReport()
    outcomes = report.items
    for index, item in enumerate(items):
        video_ref = item.get("video") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict) or "folder" not in item:
                raise InvalidError("each item needs 'video' (or 'filename') and 'folder'")
            video = video_resolve(
                video_id=video_ref, filename=item.get("filename"), library=library
            )
            folder = folder_resolve(library=video.library, ref=item["folder"])
            result = video_sort(video=video, folder=folder, user=user, route=route)
        except ServiceError as exc:
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
        outcomes.append(item_outcome_ok(index, result))
    return report
