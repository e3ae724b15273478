"""Undo: move a sort's video back where it came from, as a new journalled move."""

from __future__ import annotations

import os
from typing import Any

from labeling.models import LabelEvent, Video
from labeling.selectors.events import label_event_latest_standing, label_events_undoable
from labeling.services.errors import ConflictError, NotFoundError
from labeling.services.moves import MoveResult
from labeling.services.paths import UnsafePath, path_resolve
from labeling.services.sorting import video_pending_settle, video_sort
from mlpipeline.hashing import FULL_PREFIX, SAMPLED_PREFIX, content_hash

UNDO_FULL_HASH_MAX_BYTES = 16 * 1024 * 1024


def label_event_undo(*, user: Any, event: LabelEvent | None = None) -> MoveResult:
    """Undo the user's most recent sort (or ``event``, which must be theirs and latest).

    A journalled move back; the original event gets ``undone_by``. Refused when the video
    was moved again since, or its file changed on disk.
    """
    event = _undoable_event(user=user, event=event)
    if video_pending_settle(video=event.video):
        _settled_refresh(event=event)
    _undo_check(event=event)
    result = video_sort(
        video=event.video,
        folder=event.from_folder,
        user=user,
        route=LabelEvent.Route.UNDO,
        predicted_folder=event.predicted_folder,
        predicted_confidence=event.predicted_confidence,
        undoes=event,
        # The name it had before the sort: a clash may have numbered it, e.g. 'a (2).mp4'.
        name=os.path.basename(event.from_path) or None,
    )
    if not result.moved:
        raise ConflictError("this sort was already undone", code="undo_refused")
    return result


def _settled_refresh(*, event: LabelEvent) -> None:
    """Re-read ``event`` and its video after an open move of it was settled."""
    event.refresh_from_db()
    event.video.refresh_from_db()
    if event.undone_by_id is not None:
        # The move just finished was this very undo, interrupted earlier: not twice.
        raise ConflictError(
            "this sort was already undone (an interrupted undo was just completed)",
            code="undo_refused",
        )


def _undoable_event(*, user: Any, event: LabelEvent | None) -> LabelEvent:
    undoable = label_events_undoable(user=user)
    if event is None:
        latest = undoable.order_by("-created_at", "-id").first()
        if latest is None:
            raise ConflictError("there is nothing of yours left to undo", code="nothing_to_undo")
        return latest
    found = undoable.filter(pk=event.pk).first()
    if found is None:
        raise NotFoundError(f"event {event.pk} is not one of your sorts that can be undone")
    return found


def _undo_check(*, event: LabelEvent) -> None:
    """Refuse an undo that would not put things back exactly as they were."""
    video = event.video
    # Undo pairs cancel out: the latest event still standing must be this one.
    latest = label_event_latest_standing(video_id=video.pk)
    if latest is not None and latest.pk != event.pk:
        raise ConflictError(
            f"{video.filename!r} was moved again since ({latest.route}, "
            f"{latest.created_at:%Y-%m-%d %H:%M}); undo refused",
            code="undo_refused",
        )
    if video.path != event.to_path or video.folder_id != event.to_folder_id:
        raise ConflictError(
            f"{video.filename!r} is no longer where it was sorted to; undo refused",
            code="undo_refused",
        )
    if event.from_folder_id is None and event.from_name:
        raise ConflictError(
            f"the folder {event.from_name!r} it came from no longer exists; undo refused",
            code="undo_refused",
        )
    _unchanged_on_disk_check(video=video)


def _unchanged_on_disk_check(*, video: Video) -> None:
    try:
        st = os.stat(path_resolve(root=video.library.root, rel=video.path))
    except (OSError, UnsafePath):
        raise ConflictError(
            f"{video.path!r} is not on disk any more; undo refused", code="undo_refused"
        ) from None
    if (
        st.st_size != video.size
        or st.st_mtime_ns != video.mtime_ns
        or not _same_content(video=video, size=st.st_size)
    ):
        raise ConflictError(
            f"{video.filename!r} was changed on disk since it was sorted; undo refused",
            code="undo_refused",
        )


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
