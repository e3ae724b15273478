"""Playable proxies: which files a browser cannot play, and an H.264/AAC copy of those.

`proxy_reason` decides from what the scan's probe recorded (codec, pixel format, file
extension) whether browsers can play a file as it is; the common case (H.264 in 4:2:0,
VP8/VP9, AV1) needs nothing. `proxy_make` writes the copy with ffmpeg: H.264 High in
yuv420p, AAC stereo, the index at the front, at most ``max_side`` pixels on the longer
side and a capped bit rate, so a proxy stays small whatever the source was.

The caller chooses where the copy goes (VidSort: the data folder, keyed by the source's
content hash, never beside the user's file). The copy is written to a temporary name and
renamed into place, so a reader never sees half a proxy.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Codec tags (OpenCV fourcc or FFmpeg names) browsers cannot decode, with the name
# people know them by.
_HEVC = frozenset({"hevc", "hev1", "hvc1", "h265", "x265"})
_MPEG4_PART2 = frozenset({"mpeg4", "fmp4", "mp4v", "xvid", "divx", "dx50", "divx5", "3iv2"})
_OTHER_CODECS = {
    "mpeg2video": "MPEG-2",
    "mpg2": "MPEG-2",
    "mp2v": "MPEG-2",
    "mpeg1video": "MPEG-1",
    "mpg1": "MPEG-1",
    "wmv1": "Windows Media Video",
    "wmv2": "Windows Media Video",
    "wmv3": "Windows Media Video",
    "wvc1": "VC-1",
    "vc1": "VC-1",
    "mjpg": "Motion JPEG",
    "mjpeg": "Motion JPEG",
    "apch": "ProRes",
    "apcn": "ProRes",
    "apcs": "ProRes",
    "apco": "ProRes",
    "ap4h": "ProRes",
    "prores": "ProRes",
    "dvsd": "DV",
    "h263": "H.263",
    "s263": "H.263",
    "flv1": "Sorenson Spark",
    "cvid": "Cinepak",
}
# H.264 other than 8-bit 4:2:0 (10-bit, 4:2:2, 4:4:4) does not play in most browsers.
_H264 = frozenset({"h264", "avc1", "avc3", "x264"})
_BROWSER_PIXEL_FORMATS = frozenset({"", "yuv420p", "yuvj420p", "nv12"})
# Containers browsers do not open whatever the codec inside.
_CONTAINERS = {
    ".avi": "AVI",
    ".wmv": "WMV",
    ".flv": "FLV",
    ".mpg": "MPEG-PS",
    ".mpeg": "MPEG-PS",
    ".vob": "VOB",
    ".ts": "MPEG-TS",
    ".m2ts": "MPEG-TS",
    ".mts": "MPEG-TS",
    ".3gp": "3GP",
}

DEFAULT_MAX_SIDE = 1280
DEFAULT_TIMEOUT_SECONDS = 1800.0


class TranscodeError(Exception):
    """The copy could not be made. The message is the reason, for the user."""


@dataclass(frozen=True, slots=True)
class ProxyResult:
    path: Path
    size: int
    seconds: float


def proxy_reason(*, codec: str, pix_fmt: str = "", filename: str = "") -> str:
    """Why a browser cannot play this file as it is ("" when it can).

    Worded to follow "this browser cannot play …" in the player's message.
    """
    tag = (codec or "").strip().lower()
    fmt = (pix_fmt or "").strip().lower()
    container = _CONTAINERS.get(os.path.splitext(filename)[1].lower())
    if tag in _HEVC:
        return "H.265 (HEVC) video"
    if tag in _MPEG4_PART2:
        return "MPEG-4 Part 2 (Xvid/DivX) video"
    if tag in _OTHER_CODECS:
        return f"{_OTHER_CODECS[tag]} video"
    if container:
        return f"{container} files"
    if tag in _H264 and fmt not in _BROWSER_PIXEL_FORMATS:
        return f"H.264 in the {fmt} pixel format"
    return ""


def proxy_command(source: Path, target: Path, *, max_side: int = DEFAULT_MAX_SIDE) -> list[str]:
    """The ffmpeg command line that writes the proxy of ``source`` to ``target``."""
    fit = (
        f"scale=w='min({max_side},iw)':h='min({max_side},ih)'"
        ":force_original_aspect_ratio=decrease:force_divisible_by=2"
    )
    return [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        os.fspath(source),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        fit,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-maxrate",
        "4M",
        "-bufsize",
        "8M",
        "-pix_fmt",
        "yuv420p",
        "-profile:v",
        "high",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ac",
        "2",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        os.fspath(target),
    ]


def proxy_make(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> ProxyResult:
    """Write an H.264/AAC MP4 copy of ``source`` at ``target`` (atomically); raise
    TranscodeError with a reason when ffmpeg fails, is missing or runs past ``timeout``."""
    source_path, target_path = Path(source), Path(target)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    handle, partial_name = tempfile.mkstemp(
        prefix=".partial-", suffix=".mp4", dir=target_path.parent
    )
    os.close(handle)
    partial = Path(partial_name)
    try:
        _run(proxy_command(source_path, partial, max_side=max_side), timeout=timeout)
        if partial.stat().st_size == 0:
            raise TranscodeError("ffmpeg wrote an empty file")
        os.replace(partial, target_path)
    finally:
        partial.unlink(missing_ok=True)
    size = target_path.stat().st_size
    return ProxyResult(path=target_path, size=size, seconds=time.perf_counter() - started)


def _run(command: list[str], *, timeout: float) -> None:
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise TranscodeError("ffmpeg is not installed on the worker") from exc
    except subprocess.TimeoutExpired as exc:
        raise TranscodeError(f"making the copy took longer than {timeout:.0f} s") from exc
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        last = lines[-1] if lines else f"exit status {done.returncode}"
        raise TranscodeError(f"ffmpeg failed: {last[:300]}")
