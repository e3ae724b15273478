"""Playable proxies: asking for one, making one (in the worker), making them ahead of time.

See labeling/selectors/proxies.py for where proxies live and how their state is kept.
The transcoding itself is mlpipeline.transcode (ffmpeg); this module finds the source
file, writes the state files and queues the work through task_enqueue.
"""

from __future__ import annotations

import logging
import time

from labeling.models import Library, Video
from labeling.selectors.proxies import (
    Playback,
    playback_for,
    proxy_file,
    proxy_folder,
    proxy_state,
    video_proxy_reason,
)
from labeling.services.dispatch import task_enqueue
from labeling.services.errors import InvalidError, NotFoundError
from labeling.services.paths import UnsafePath, path_resolve_real
from mlpipeline.transcode import TranscodeError, proxy_make

logger = logging.getLogger(__name__)

TASK_PROXY_MAKE = "labeling.tasks.proxy_make_task"


def proxy_request(*, video_id: int, library: Library) -> Playback:
    """Queue a proxy of the video unless one is ready or on its way; a failed one is tried
    again (a person asked). Any playable-status video may get one: the browser knows best."""
    video = Video.objects.filter(pk=video_id, library=library).first()
    if video is None:
        raise NotFoundError("No such video.")
    if video.status != Video.Status.OK:
        raise InvalidError(f"This file is {video.status}: there is nothing to copy.")
    _queue(video)
    return playback_for(video=video, check_files=True)


def _queue(video: Video) -> bool:
    """Mark the proxy pending and queue its task; False when it is ready or pending."""
    target = proxy_file(content_hash=video.content_hash)
    if target is None:
        raise InvalidError("This file has no content hash yet: scan the library first.")
    state, _ = proxy_state(content_hash=video.content_hash)
    if state in {"ready", "pending"}:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.with_suffix(".failed").unlink(missing_ok=True)
    target.with_suffix(".pending").write_text(str(video.pk), encoding="utf-8")
    task_enqueue(task=TASK_PROXY_MAKE, kwargs={"video_id": video.pk})
    return True


def proxy_build(*, video_id: int) -> str:
    """Make the video's proxy (the worker's task); returns its state afterwards."""
    video = Video.objects.select_related("library").filter(pk=video_id).first()
    if video is None:
        return "none"
    target = proxy_file(content_hash=video.content_hash)
    if target is None:
        return "none"
    pending, failed = target.with_suffix(".pending"), target.with_suffix(".failed")
    try:
        if target.is_file():
            return "ready"
        source, _ = path_resolve_real(root=video.library.root, rel=video.path)
        result = proxy_make(source, target)
        logger.info("proxy of video %s: %d bytes in %.1f s", video.pk, result.size, result.seconds)
        return "ready"
    except (TranscodeError, UnsafePath, OSError) as exc:
        reason = str(exc) or exc.__class__.__name__
        logger.warning("proxy of video %s failed: %s", video.pk, reason)
        failed.write_text(reason, encoding="utf-8")
        return "failed"
    finally:
        pending.unlink(missing_ok=True)


def proxies_ahead_set(*, library: Library, on: bool) -> int:
    """Turn the library's ahead-of-time proxies on or off; on queues the missing ones now
    (not only after the next scan). Returns how many were queued."""
    Library.objects.filter(pk=library.pk).update(proxies_ahead=on)
    library.proxies_ahead = on
    return proxies_ahead(library=library)


def proxies_ahead(*, library: Library) -> int:
    """With the library's ahead-of-time setting on: queue a proxy of each playable file a
    browser cannot play that has none yet. Returns how many were queued."""
    if not library.proxies_ahead:
        return 0
    queued = 0
    rows = Video.objects.filter(library=library, status=Video.Status.OK).only(
        "pk", "codec", "pix_fmt", "filename", "content_hash", "status"
    )
    for video in rows.iterator():
        if video_proxy_reason(video=video) and video.content_hash and _queue(video):
            queued += 1
    if queued:
        logger.info("queued %d proxies for %s", queued, library.root)
    return queued


PRUNE_MIN_AGE_SECONDS = 3600


def proxies_prune(*, min_age_seconds: float = PRUNE_MIN_AGE_SECONDS) -> int:
    """Delete copies (and failure notes) whose content no video row has any more (the file
    was changed or removed); ones younger than ``min_age_seconds`` stay (a scan may not
    have seen their file yet). Returns how many files were deleted."""
    folder = proxy_folder()
    if not folder.is_dir():
        return 0
    wanted = set()
    for content_hash in Video.objects.exclude(content_hash="").values_list(
        "content_hash", flat=True
    ):
        path = proxy_file(content_hash=content_hash)
        if path is not None:
            wanted.add(path.stem)
    cutoff = time.time() - min_age_seconds
    deleted = 0
    for path in folder.glob("*/*"):
        if path.suffix not in {".mp4", ".failed"} or path.name.startswith(".partial-"):
            continue
        if path.stem in wanted or path.stat().st_mtime > cutoff:
            continue
        path.unlink(missing_ok=True)
        deleted += 1
    if deleted:
        logger.info("pruned %d proxies of content no video has", deleted)
    return deleted
