"""Decode a video file into N evenly spread, CLIP-ready RGB frames.

Everything is driven by presentation timestamps, never by frame indices or the container's
frame count: phone clips are often variable frame rate and their headers are often wrong.

Two sampling modes:

* ``exact``: seek to the keyframe before each target time and decode forward to the frame that
  is on screen at that time. Cost grows with the keyframe interval (a whole GOP per target in the
  worst case).
* ``fast``: use keyframes (decoded with ``skip_frame=NONKEY``, so only I-frames are decoded) and
  pick the keyframe nearest each target. A target that has no keyframe inside its own segment is
  filled by decoding forward from the keyframe before it for at most ``fill_seconds`` per filled
  target, so the cost per video stays bounded whatever the keyframe interval.

Resizing follows open_clip's eval transform (shortest side to ``size``, centre crop) but runs in
libswscale, straight from the decoder's YUV frame, so no full-resolution RGB image or PIL image is
ever made.
"""

from __future__ import annotations

import bisect
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.error
import numpy as np

SamplingMode = Literal["fast", "exact"]
SAMPLING_MODES: tuple[str, ...] = ("fast", "exact")

# open_clip resizes with bicubic interpolation; libswscale's bicubic widens its kernel when
# downscaling, so it anti-aliases the way PIL does (checked in tests/mlpipeline/test_frames.py).
_SWSCALE_INTERPOLATION = "BICUBIC"


class VideoDecodeError(Exception):
    """A video could not be turned into frames. ``reason`` is short and meant for people."""

    def __init__(self, reason: str, *, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(reason if path is None else f"{path}: {reason}")
        self.reason = reason
        self.path = None if path is None else str(path)


@dataclass(frozen=True)
class FrameSample:
    """Frames sampled from one video, plus what the decoder learned about it on the way.

    ``frames`` always holds exactly ``num_frames`` images so that batches have one shape; a clip
    with fewer distinct frames than asked for repeats its frames (visible in ``timestamps``).
    ``width``/``height`` are the displayed size, i.e. after applying ``rotation``.
    """

    frames: np.ndarray  # (N, size, size, 3) uint8 RGB
    timestamps: np.ndarray  # (N,) float64 seconds from the first frame, of the frames returned
    width: int
    height: int
    rotation: int  # degrees counter-clockwise applied to the coded picture, one of 0/90/180/270
    duration: float  # seconds
    codec: str
    fps: float | None  # average frame rate as reported by the container, for information only
    mode: SamplingMode
    keyframe_hits: int = 0  # fast mode: how many frames came straight from a keyframe
    resize_seconds: float = 0.0  # of the total, time in colour conversion + resize + crop
    notes: tuple[str, ...] = field(default_factory=tuple)  # non-fatal oddities, for logs


def segment_centres(*, duration: float, num_frames: int) -> np.ndarray:
    """Target times: the centres of ``num_frames`` equal segments of ``[0, duration]``."""
    return (np.arange(num_frames, dtype=np.float64) + 0.5) * (duration / num_frames)


def sample_frames(
    path: str | os.PathLike[str],
    *,
    num_frames: int = 8,
    mode: SamplingMode = "fast",
    size: int = 224,
    fill_seconds: float = 1.0,
    decode_threads: int = 1,
) -> FrameSample:
    """Sample ``num_frames`` frames spread evenly over the video at ``path``.

    Raises VideoDecodeError (never anything else for a bad file) with a reason such as
    "empty file (0 bytes)", "no video stream", "cannot open: ..." or "no decodable frames ...".
    """
    if num_frames < 1:
        raise ValueError("num_frames must be at least 1")
    if mode not in SAMPLING_MODES:
        raise ValueError(f"mode must be one of {SAMPLING_MODES}, not {mode!r}")
    _check_file(path)
    try:
        container = av.open(os.fspath(path), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise VideoDecodeError(
            f"cannot open as a video ({_ffmpeg_reason(error)})", path=path
        ) from error
    except OSError as error:
        raise VideoDecodeError(f"cannot open ({error.strerror or error})", path=path) from error
    try:
        with container:
            return _sample_open_container(
                container,
                num_frames=num_frames,
                mode=mode,
                size=size,
                fill_seconds=fill_seconds,
                decode_threads=decode_threads,
            )
    except VideoDecodeError as error:
        if error.path is None:
            raise VideoDecodeError(error.reason, path=path) from error
        raise
    except (av.error.FFmpegError, ValueError, OSError, RuntimeError) as error:
        # Anything libav throws mid-file (truncated data, broken bitstream) is a property of the
        # file, not a bug: report it per video so that a batch carries on.
        raise VideoDecodeError(f"decoding failed ({_ffmpeg_reason(error)})", path=path) from error


def _check_file(path: str | os.PathLike[str]) -> None:
    try:
        stat = Path(path).stat()
    except FileNotFoundError as error:
        raise VideoDecodeError("file not found", path=path) from error
    except PermissionError as error:
        raise VideoDecodeError("permission denied", path=path) from error
    if not Path(path).is_file():
        raise VideoDecodeError("not a regular file", path=path)
    if stat.st_size == 0:
        raise VideoDecodeError("empty file (0 bytes)", path=path)


def _ffmpeg_reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return " ".join(str(text).split())[:200]


@dataclass
class _StreamInfo:
    time_base: Fraction
    start_pts: int  # pts of the first frame, in time_base units
    duration: float  # seconds
    coded_width: int
    coded_height: int


def _sample_open_container(
    container: av.container.InputContainer,
    *,
    num_frames: int,
    mode: SamplingMode,
    size: int,
    fill_seconds: float,
    decode_threads: int,
) -> FrameSample:
    if not container.streams.video:
        what = "audio only" if container.streams.audio else "no streams a decoder understands"
        raise VideoDecodeError(f"no video stream ({what})")
    stream = container.streams.video[0]
    if stream.codec_context is None or stream.codec_context.width == 0:
        raise VideoDecodeError(
            f"video stream cannot be decoded (codec {stream.codec_context and stream.codec_context.name!r})"
        )
    stream.codec_context.thread_count = decode_threads
    stream.codec_context.thread_type = "AUTO" if decode_threads != 1 else "SLICE"
    notes: list[str] = []

    info = _stream_info(container, stream, notes=notes)
    targets_seconds = segment_centres(duration=info.duration, num_frames=num_frames)
    targets_pts = [info.start_pts + _seconds_to_pts(t, info.time_base) for t in targets_seconds]
    keyframe_pts = _keyframe_pts(container, stream)

    keyframe_hits = 0
    if mode == "exact" or not keyframe_pts:
        chosen = _decode_at(container, stream, targets_pts=targets_pts, keyframe_pts=keyframe_pts)
    else:
        chosen, keyframe_hits = _decode_fast(
            container,
            stream,
            targets_pts=targets_pts,
            keyframe_pts=keyframe_pts,
            segment_pts=_seconds_to_pts(info.duration / num_frames, info.time_base),
            fill_pts=_seconds_to_pts(fill_seconds, info.time_base),
        )

    if all(frame is None for frame in chosen):
        raise VideoDecodeError("no decodable frames (file truncated or corrupt)")
    if any(frame is None for frame in chosen):
        # Typically a header that promises more than the file holds (truncated download).
        notes.append("some target times had no frame; nearest decoded frame repeated")
    frames = _fill_gaps(chosen)

    first = frames[0]
    rotation = _rotation_degrees(first)
    resize_started = time.perf_counter()
    images = np.stack([_to_clip_crop(frame, size=size, rotation=rotation) for frame in frames])
    resize_seconds = time.perf_counter() - resize_started
    timestamps = np.array(
        [
            float((frame.pts - info.start_pts) * info.time_base)
            if frame.pts is not None
            else math.nan
            for frame in frames
        ],
        dtype=np.float64,
    )
    displayed_w, displayed_h = (first.width, first.height)
    if rotation in (90, 270):
        displayed_w, displayed_h = displayed_h, displayed_w
    rate = stream.average_rate or stream.guessed_rate
    return FrameSample(
        frames=images,
        timestamps=timestamps,
        width=displayed_w,
        height=displayed_h,
        rotation=rotation,
        duration=info.duration,
        codec=stream.codec_context.name,
        fps=float(rate) if rate else None,
        mode=mode,
        keyframe_hits=keyframe_hits,
        resize_seconds=resize_seconds,
        notes=tuple(notes),
    )


def _seconds_to_pts(seconds: float, time_base: Fraction) -> int:
    return int(round(seconds / time_base))


def _stream_info(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, *, notes: list[str]
) -> _StreamInfo:
    time_base = stream.time_base or Fraction(1, 90000)
    start_pts = stream.start_time if stream.start_time is not None else 0
    duration: float | None = None
    if stream.duration:
        duration = float(stream.duration * time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    if not duration or duration <= 0:
        # No usable header duration (raw streams, some webm): measure it from packet timestamps,
        # which costs reading the file but not decoding it.
        last_end = _scan_last_packet_end(container, stream)
        if last_end is None:
            raise VideoDecodeError("no video packets (file truncated or corrupt)")
        duration = max(float((last_end - start_pts) * time_base), float(time_base))
        notes.append("duration measured from packets")
    return _StreamInfo(
        time_base=time_base,
        start_pts=start_pts,
        duration=duration,
        coded_width=stream.codec_context.width,
        coded_height=stream.codec_context.height,
    )


def _scan_last_packet_end(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> int | None:
    last_end: int | None = None
    for packet in container.demux(stream):
        if packet.pts is not None:
            end = packet.pts + (packet.duration or 0)
            last_end = end if last_end is None else max(last_end, end)
    container.seek(0, stream=stream, backward=True)
    return last_end


def _keyframe_pts(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> list[int]:
    """Sorted presentation timestamps of the keyframes, found by demuxing (reads, never decodes).

    The container index is not enough: MP4 indexes hold decode timestamps (shifted from pts by
    the B-frame delay, and libavformat seeks by pts), and Matroska cues may list only some
    keyframes. Demuxing a 30 s 720p clip costs a few milliseconds.
    """
    keyframes: set[int] = set()
    try:
        for packet in container.demux(stream):
            if packet.is_keyframe and packet.pts is not None:
                keyframes.add(packet.pts)
    except av.error.FFmpegError:
        pass  # a truncated tail still leaves the keyframes before it usable
    container.seek(stream.start_time or 0, stream=stream, backward=True)
    return sorted(keyframes)


class _ForwardDecoder:
    """Decodes forward from the last seek, with one frame of push-back."""

    def __init__(
        self, container: av.container.InputContainer, stream: av.video.stream.VideoStream
    ) -> None:
        self._container = container
        self._stream = stream
        self._frames: Iterator[av.VideoFrame] | None = None
        self._pushed_back: av.VideoFrame | None = None
        self.last_pts: int | None = None  # pts of the latest frame taken from the decoder
        self.exhausted = False

    @property
    def started(self) -> bool:
        return self._frames is not None

    def seek(self, pts: int) -> None:
        self._container.seek(pts, stream=self._stream, backward=True, any_frame=False)
        self._frames = self._container.decode(self._stream)
        self._pushed_back = None
        self.last_pts = None
        self.exhausted = False

    def next(self) -> av.VideoFrame | None:
        if self._pushed_back is not None:
            frame, self._pushed_back = self._pushed_back, None
            return frame
        assert self._frames is not None
        try:
            frame = next(self._frames)
        except StopIteration:
            self.exhausted = True
            return None
        except av.error.FFmpegError:
            # Broken data after this point (truncated file): keep what was decoded so far.
            self.exhausted = True
            return None
        if frame.pts is not None:
            self.last_pts = frame.pts
        return frame

    def push_back(self, frame: av.VideoFrame) -> None:
        self._pushed_back = frame

    def frame_on_screen_at(self, target_pts: int) -> av.VideoFrame | None:
        """The last frame with pts <= target (the one displayed at that time)."""
        previous: av.VideoFrame | None = None
        while True:
            frame = self.next()
            if frame is None:
                return previous
            if frame.pts is None or frame.pts <= target_pts:
                previous = frame
                continue
            self.push_back(frame)
            # The seek landed after the target (possible at the very start): take the first frame.
            return previous if previous is not None else frame


def _decode_at(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    *,
    targets_pts: Sequence[int],
    keyframe_pts: Sequence[int],
) -> list[av.VideoFrame | None]:
    """Exact frames at ascending target times, seeking only when that saves decoding."""
    stream.codec_context.skip_frame = "DEFAULT"
    decoder = _ForwardDecoder(container, stream)
    chosen: list[av.VideoFrame | None] = []
    previous_choice: av.VideoFrame | None = None
    for target in targets_pts:
        seeked = _should_seek(decoder, target=target, keyframe_pts=keyframe_pts)
        if seeked:
            decoder.seek(target)
        frame = decoder.frame_on_screen_at(target)
        if not seeked and (frame is None or (frame.pts is not None and frame.pts > target)):
            # Nothing new up to the target: the previously chosen frame is still on screen
            # (targets closer together than frames, as in 2-frame clips).
            frame = previous_choice if previous_choice is not None else frame
        chosen.append(frame)
        if frame is not None:
            previous_choice = frame
    return chosen


def _should_seek(decoder: _ForwardDecoder, *, target: int, keyframe_pts: Sequence[int]) -> bool:
    if not decoder.started or decoder.exhausted or decoder.last_pts is None:
        return True
    if target < decoder.last_pts:
        return True
    if not keyframe_pts:
        return True
    keyframe_before = keyframe_pts[max(bisect.bisect_right(keyframe_pts, target) - 1, 0)]
    # Decoding on from where we are costs no more than a seek when no keyframe lies in between.
    return keyframe_before > decoder.last_pts


def _decode_fast(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    *,
    targets_pts: Sequence[int],
    keyframe_pts: Sequence[int],
    segment_pts: int,
    fill_pts: int,
) -> tuple[list[av.VideoFrame | None], int]:
    keyframe_for_target = _assign_keyframes(
        targets_pts=targets_pts, keyframe_pts=keyframe_pts, tolerance=segment_pts // 2
    )
    chosen: list[av.VideoFrame | None] = [None] * len(targets_pts)

    # Keyframes only: the decoder drops every other frame before decoding it.
    stream.codec_context.skip_frame = "NONKEY"
    decoder = _ForwardDecoder(container, stream)
    hits = 0
    for index, keyframe in enumerate(keyframe_for_target):
        if keyframe is None:
            continue
        decoder.seek(keyframe)
        frame = decoder.next()
        while frame is not None and frame.pts is not None and frame.pts < keyframe:
            frame = decoder.next()  # the demuxer landed on an earlier keyframe; step on
        if frame is not None:
            chosen[index] = frame
            hits += 1

    # Targets without a keyframe nearby: decode forward from the keyframe before them, bounded by
    # fill_pts per filled target. When the target is out of reach, the filled frames are spread
    # proportionally over the reachable window so they stay in order and distinct.
    missing = [index for index, frame in enumerate(chosen) if frame is None]
    if missing:
        adjusted = _fill_targets(
            missing, targets_pts=targets_pts, keyframe_pts=keyframe_pts, fill_pts=fill_pts
        )
        order = sorted(missing, key=lambda index: adjusted[index])
        frames = _decode_at(
            container,
            stream,
            targets_pts=[adjusted[index] for index in order],
            keyframe_pts=keyframe_pts,
        )
        for index, frame in zip(order, frames, strict=True):
            chosen[index] = frame
    return chosen, hits


def _fill_targets(
    missing: Sequence[int],
    *,
    targets_pts: Sequence[int],
    keyframe_pts: Sequence[int],
    fill_pts: int,
) -> dict[int, int]:
    """Where to decode each missing target: itself, or pulled back within the fill reach."""
    groups: dict[int, list[int]] = {}
    for index in missing:
        before = bisect.bisect_right(keyframe_pts, targets_pts[index]) - 1
        groups.setdefault(keyframe_pts[max(before, 0)], []).append(index)
    adjusted: dict[int, int] = {}
    for keyframe, indices in groups.items():
        reach = keyframe + fill_pts * len(indices)
        furthest = max(targets_pts[index] for index in indices)
        for index in indices:
            target = targets_pts[index]
            if furthest > reach and furthest > keyframe:
                target = keyframe + (target - keyframe) * (reach - keyframe) // (
                    furthest - keyframe
                )
            adjusted[index] = target
    return adjusted


def _assign_keyframes(
    *, targets_pts: Sequence[int], keyframe_pts: Sequence[int], tolerance: int
) -> list[int | None]:
    """Give each target the nearest keyframe within its own segment; each keyframe serves once."""
    assignment: list[int | None] = [None] * len(targets_pts)
    taken: set[int] = set()
    for index, target in enumerate(targets_pts):
        position = bisect.bisect_left(keyframe_pts, target)
        candidates = [
            keyframe_pts[i] for i in (position - 1, position) if 0 <= i < len(keyframe_pts)
        ]
        candidates = [k for k in candidates if abs(k - target) <= tolerance and k not in taken]
        if candidates:
            best = min(candidates, key=lambda k: abs(k - target))
            assignment[index] = best
            taken.add(best)
    return assignment


def _fill_gaps(chosen: list[av.VideoFrame | None]) -> list[av.VideoFrame]:
    present = [index for index, frame in enumerate(chosen) if frame is not None]
    filled: list[av.VideoFrame] = []
    for index, frame in enumerate(chosen):
        if frame is None:
            nearest = min(present, key=lambda other: abs(other - index))
            frame = chosen[nearest]
        assert frame is not None
        filled.append(frame)
    return filled


def _rotation_degrees(frame: av.VideoFrame) -> int:
    """Counter-clockwise rotation to display the frame upright (display matrix side data).

    PyAV reads the display matrix (and libavformat turns an old-style ``rotate`` tag into one);
    np.rot90 with k = rotation / 90 reproduces what ffmpeg's autorotate shows.
    """
    try:
        degrees = float(frame.rotation or 0)
    except (AttributeError, ValueError):
        return 0
    return int(round(degrees / 90.0)) % 4 * 90


def _to_clip_crop(frame: av.VideoFrame, *, size: int, rotation: int) -> np.ndarray:
    """Shortest side to ``size`` then centre crop, as open_clip's eval transform, in swscale."""
    width, height = frame.width, frame.height
    scale = size / min(width, height)
    # The short side must land exactly on ``size``; rounding only ever touches the long side.
    new_width = size if width <= height else max(size, int(round(width * scale)))
    new_height = size if height < width else max(size, int(round(height * scale)))
    if height == width:
        new_width = new_height = size
    image = frame.reformat(
        width=new_width, height=new_height, format="rgb24", interpolation=_SWSCALE_INTERPOLATION
    ).to_ndarray()
    if rotation:
        image = np.rot90(image, k=rotation // 90)
    rows, cols = image.shape[:2]
    # Same rounding as torchvision's CenterCrop.
    top = int(round((rows - size) / 2.0))
    left = int(round((cols - size) / 2.0))
    return np.ascontiguousarray(image[top : top + size, left : left + size])
