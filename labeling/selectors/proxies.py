"""Playable proxies (docs/player.md): where a video's copy lives and how far it got.

A proxy is an H.264/AAC MP4 made by a worker (labeling.services.proxies) for a file a
browser cannot play (HEVC, MPEG-4 Part 2, AVI, 10-bit H.264, …). It lives in the data
folder under the source's content hash, never beside the user's file, so a moved or
copied file keeps its proxy and the library folder holds only the user's own files.

Its state is the files themselves: ``<hash>.mp4`` (ready), ``<hash>.pending`` (queued or
being made; stale after PENDING_STALE_SECONDS, then it may be asked for again) and
``<hash>.failed`` (the reason). Deciding whether a file needs one reads only the row
(codec, pixel format, extension): the common case stats no file.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from labeling.models import Library, Video
from mlpipeline.transcode import proxy_reason

PENDING_STALE_SECONDS = 30 * 60
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Playback:
    """What the player needs before it tries a file: play it, or show why and use a proxy."""

    needs_proxy: bool
    reason: str  # follows "this browser cannot play …"; "" when it can
    proxy: str  # "none" | "pending" | "ready" | "failed"
    proxy_error: str = ""


def proxy_folder() -> Path:
    return Path(settings.DATA_DIR) / "proxies"


def proxy_file(*, content_hash: str, suffix: str = ".mp4") -> Path | None:
    """The proxy's path for a content hash (None without a hash: nothing to key it by)."""
    if not content_hash:
        return None
    name = _UNSAFE.sub("-", content_hash)
    return proxy_folder() / name[-2:] / f"{name}{suffix}"


def video_proxy_reason(*, video: Video) -> str:
    return proxy_reason(codec=video.codec, pix_fmt=video.pix_fmt, filename=video.filename)


def playback_for(*, video: Video, check_files: bool = False) -> Playback:
    """Whether ``video`` needs a proxy and its state. Files are looked at only for videos
    that need one, or when ``check_files`` (a proxy asked for after the browser failed)."""
    reason = video_proxy_reason(video=video) if video.status == Video.Status.OK else ""
    if not reason and not check_files:
        return Playback(needs_proxy=False, reason="", proxy="none")
    state, error = proxy_state(content_hash=video.content_hash)
    return Playback(needs_proxy=bool(reason), reason=reason, proxy=state, proxy_error=error)


def proxy_state(*, content_hash: str) -> tuple[str, str]:
    """("ready" | "pending" | "failed" | "none", the failure's reason)."""
    ready = proxy_file(content_hash=content_hash)
    if ready is None:
        return "none", ""
    if ready.is_file():
        return "ready", ""
    pending = ready.with_suffix(".pending")
    try:
        if time.time() - pending.stat().st_mtime < PENDING_STALE_SECONDS:
            return "pending", ""
    except OSError:
        pass
    failed = ready.with_suffix(".failed")
    try:
        return "failed", failed.read_text(encoding="utf-8").strip()
    except OSError:
        return "none", ""


def proxies_summary(*, library: Library) -> dict[str, int | bool]:
    """The library's setting and how many playable files need a proxy, and have one."""
    rows = Video.objects.filter(library=library, status=Video.Status.OK).only(
        "pk", "codec", "pix_fmt", "filename", "content_hash", "status"
    )
    needing = ready = 0
    for video in rows.iterator():
        if not video_proxy_reason(video=video):
            continue
        needing += 1
        if proxy_state(content_hash=video.content_hash)[0] == "ready":
            ready += 1
    return {"proxies_ahead": library.proxies_ahead, "needing": needing, "ready": ready}
