"""Video metadata probing with opencv.

`probe_video` either returns the metadata of a playable video or raises
`UnreadableVideo` with a reason a person can act on. It decodes the first frame and a
frame near the end, so a file cut short by an interrupted copy is caught at scan time
rather than when the player or the feature extractor reaches it; for an MP4/MOV it also
checks that the sample data its index promises lies inside the file (an index written at
the front survives a cut that loses the samples).

`probe_video_isolated` does the same in a child process, so a file that crashes the
decoder costs that child, not the worker (docs/sorting.md, "Faults tried").
"""

from __future__ import annotations

import json
import logging
import os
import signal
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

import av
import av.error
import cv2

logger = logging.getLogger(__name__)

# FFmpeg inside OpenCV prints demuxer complaints ("moov atom not found", "partial file")
# and OpenCV its VIDEOIO warnings straight to the terminal; the scan already reports a
# reason per file, so both are silenced (OpenCV reads the variable at its first open) and
# the reason is logged at debug level instead.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

# Frames within this distance of the end are allowed to be undecodable: many encoders
# write a frame count one or two higher than what the stream really holds.
END_TOLERANCE_FRAMES = 3

# An MP4 index larger than this is not read into memory for the offset check.
MAX_INDEX_BYTES = 64 * 1024 * 1024
_MP4_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"})
_MP4_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl"})


class UnreadableVideo(Exception):
    """The file cannot be used as a video. The message is the reason, for the user."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    duration: float | None
    fps: float | None
    frame_count: int | None
    width: int
    height: int
    codec: str
    rotation: int
    # The video stream's pixel format (yuv420p, yuv420p10le, …): with the codec it tells
    # whether a browser can play the file (mlpipeline.transcode.proxy_reason).
    pix_fmt: str = ""


def _fourcc_to_str(value: float) -> str:
    code = int(value)
    if code <= 0:
        return ""
    chars = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return chars.strip("\x00 ").lower() if chars.isprintable() else ""


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    try:
        return _probe(path)
    except UnreadableVideo as exc:
        logger.debug("probe %r: %s", os.fspath(path), exc)
        raise


def _probe(path: str | os.PathLike[str]) -> VideoInfo:
    size = os.path.getsize(path)
    if size == 0:
        raise UnreadableVideo("empty file (0 bytes)")
    with _opencv_name(path) as name:
        capture = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            raise UnreadableVideo(_open_failure_reason(path))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width <= 0 or height <= 0:
            raise UnreadableVideo(_no_video_reason(path))
        index_problem = mp4_index_problem(path, size=size)
        if index_problem:
            raise UnreadableVideo(index_problem)
        fps = capture.get(cv2.CAP_PROP_FPS) or None
        frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        codec = _fourcc_to_str(capture.get(cv2.CAP_PROP_FOURCC))
        rotation = int(capture.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        _frames_check(capture, frame_count)
        duration = frame_count / fps if frame_count and fps else None
        return VideoInfo(
            duration=duration,
            fps=fps,
            frame_count=frame_count,
            width=width,
            height=height,
            codec=codec,
            rotation=rotation,
            pix_fmt=pixel_format(path),
        )
    finally:
        capture.release()


def _frames_check(capture: cv2.VideoCapture, frame_count: int | None) -> None:
    ok, _ = capture.read()
    if not ok:
        raise UnreadableVideo("no decodable frame (corrupt or truncated video data)")
    if frame_count and frame_count > END_TOLERANCE_FRAMES + 1:
        target = frame_count - 1 - END_TOLERANCE_FRAMES
        capture.set(cv2.CAP_PROP_POS_FRAMES, target)
        ok, _ = capture.read()
        if not ok:
            raise UnreadableVideo(
                f"truncated: the index promises {frame_count} frames but frame "
                f"{target} cannot be decoded"
            )


@contextmanager
def _opencv_name(path: str | os.PathLike[str]) -> Iterator[str]:
    """A name OpenCV can open: the path itself, or an ASCII link to it.

    OpenCV crashes the process on a name that is not valid UTF-8 (bytes that Python
    holds as surrogate escapes), so such a file is opened through a symlink with a plain
    name in a private temporary folder. The link is only needed while opening.
    """
    name = os.path.abspath(os.fspath(path))
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        yield name
        return
    with tempfile.TemporaryDirectory(prefix="vidsort-probe-") as folder:
        link = os.path.join(folder, "video")
        os.symlink(os.fsencode(name), os.fsencode(link))
        yield link


def _open_failure_reason(path: str | os.PathLike[str]) -> str:
    with open(path, "rb") as handle:
        head = handle.read(64)
    if _audio_only(path):
        return "no video stream (audio only)"
    if head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3":
        # A container we recognise that the demuxer refuses: usually cut before its index
        # (an MP4 whose moov atom was never written) or holding no video stream.
        return "cannot open: damaged or truncated container, or no video stream"
    return "not a video: the file's content is not a known video container"


def _no_video_reason(path: str | os.PathLike[str]) -> str:
    if _audio_only(path):
        return "no video stream (audio only)"
    return "no video stream (unknown stream type)"


def pixel_format(path: str | os.PathLike[str]) -> str:
    """The first video stream's pixel format as FFmpeg names it, or '' (PyAV, from a handle)."""
    try:
        with open(path, "rb") as handle, av.open(handle) as container:
            if not container.streams.video:
                return ""
            return str(container.streams.video[0].codec_context.pix_fmt or "")[:32]
    except (av.error.FFmpegError, OSError, ValueError):
        return ""


def _audio_only(path: str | os.PathLike[str]) -> bool:
    """Whether the container opens and holds audio but no video (PyAV, from a handle)."""
    try:
        with open(path, "rb") as handle, av.open(handle) as container:
            return not container.streams.video and bool(container.streams.audio)
    except (av.error.FFmpegError, OSError, ValueError):
        return False


# --- MP4/MOV index check ---------------------------------------------------------------


def mp4_index_problem(path: str | os.PathLike[str], *, size: int) -> str:
    """Why an MP4/MOV's index promises samples past the end of the file, or ''.

    Files that are not MP4/MOV, or whose index cannot be read, pass: this only catches
    the cut whose index survived at the front (``-movflags +faststart``).
    """
    with open(path, "rb") as handle:
        if handle.read(8)[4:8] not in _MP4_FIRST_BOXES:
            return ""
        moov = _moov_read(handle, size)
    if moov is None:
        return ""
    try:
        end = max((_track_data_end(stbl) for stbl in _boxes_find(moov, b"stbl")), default=0)
    except (struct.error, IndexError):
        return ""  # an index we cannot parse: leave the verdict to the decoder
    if end > size:
        return (
            f"truncated: the index promises sample data up to byte {end} "
            f"but the file ends at {size}"
        )
    return ""


def _moov_read(handle: BinaryIO, size: int) -> bytes | None:
    """The payload of the top-level moov box, or None when there is none to read."""
    position = 0
    while position + 8 <= size:
        handle.seek(position)
        header = handle.read(16)
        if len(header) < 8:
            return None
        length, kind = struct.unpack_from(">I4s", header)
        start = 8
        if length == 1 and len(header) == 16:
            length, start = struct.unpack_from(">Q", header, 8)[0], 16
        elif length == 0:
            length = size - position
        if length < start:
            return None
        if kind == b"moov":
            if length > MAX_INDEX_BYTES:
                return None
            handle.seek(position + start)
            return handle.read(length - start)
        position += length
    return None


def _children(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    position = 0
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        start = 8
        if length == 1:
            length, start = struct.unpack_from(">Q", data, position + 8)[0], 16
        elif length == 0:
            length = len(data) - position
        if length < start:
            return
        yield kind, data[position + start : position + length]
        position += length


def _boxes_find(data: bytes, wanted: bytes) -> Iterator[bytes]:
    for kind, payload in _children(data):
        if kind == wanted:
            yield payload
        elif kind in _MP4_CONTAINERS:
            yield from _boxes_find(payload, wanted)


def _track_data_end(stbl: bytes) -> int:
    """The byte just past the last sample this track's index places in the file."""
    tables = dict(_children(stbl))
    offsets = _chunk_offsets(tables)
    if not offsets:
        return 0
    sizes = _sample_sizes(tables.get(b"stsz", b""))
    counts = _samples_per_chunk(tables.get(b"stsc", b""), len(offsets))
    end = sample = 0
    for offset, count in zip(offsets, counts, strict=True):
        end = max(end, offset + sum(sizes[sample : sample + count]))
        sample += count
    return end


def _chunk_offsets(tables: dict[bytes, bytes]) -> list[int]:
    if b"co64" in tables:
        data, item = tables[b"co64"], "Q"
    elif b"stco" in tables:
        data, item = tables[b"stco"], "I"
    else:
        return []
    (count,) = struct.unpack_from(">I", data, 4)
    return list(struct.unpack_from(f">{count}{item}", data, 8))


def _sample_sizes(data: bytes) -> list[int]:
    if len(data) < 12:
        return []
    uniform, count = struct.unpack_from(">II", data, 4)
    if uniform:
        return [uniform] * count
    return list(struct.unpack_from(f">{count}I", data, 12))


def _samples_per_chunk(data: bytes, chunks: int) -> list[int]:
    """How many samples each chunk holds, from the sample-to-chunk runs."""
    if len(data) < 8:
        return [0] * chunks
    (entries,) = struct.unpack_from(">I", data, 4)
    runs = [struct.unpack_from(">II", data, 8 + 12 * i) for i in range(entries)]
    counts = [0] * chunks
    for i, (first, per_chunk) in enumerate(runs):
        last = runs[i + 1][0] - 1 if i + 1 < len(runs) else chunks
        for chunk in range(first - 1, min(last, chunks)):
            counts[chunk] = per_chunk
    return counts


# --- Probing in a child process ----------------------------------------------------------


def probe_video_isolated(path: str | os.PathLike[str], *, timeout: float = 300.0) -> VideoInfo:
    """``probe_video`` in a child process: a decoder crash becomes an UnreadableVideo."""
    command: list[bytes] = [
        os.fsencode(sys.executable),
        os.fsencode(os.path.abspath(__file__)),
        os.fsencode(os.path.abspath(path)),
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UnreadableVideo(f"probing the file took longer than {timeout:.0f} s") from exc
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise UnreadableVideo(f"the video decoder crashed on this file ({name})")
    try:
        answer = json.loads(done.stdout)
    except ValueError as exc:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise UnreadableVideo(f"the probe process failed: {last}") from exc
    if "error" in answer:
        raise UnreadableVideo(answer["error"])
    return VideoInfo(**answer["info"])


def _main(argv: list[bytes]) -> int:
    answer: dict[str, Any]
    try:
        answer = {"info": asdict(probe_video(os.fsdecode(argv[0])))}
    except UnreadableVideo as exc:
        answer = {"error": str(exc)}
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(_main([os.fsencode(arg) for arg in sys.argv[1:]]))
