"""Video metadata probing with opencv.

`probe_video` either returns the metadata of a playable video or raises
`UnreadableVideo` with a reason a person can act on. It decodes the first frame and a
frame near the end, so a file cut short by an interrupted copy is caught at scan time
rather than when the player or the feature extractor reaches it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2

# Frames within this distance of the end are allowed to be undecodable: many encoders
# write a frame count one or two higher than what the stream really holds.
END_TOLERANCE_FRAMES = 3


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


def _fourcc_to_str(value: float) -> str:
    code = int(value)
    if code <= 0:
        return ""
    chars = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return chars.strip("\x00 ").lower() if chars.isprintable() else ""


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    size = os.path.getsize(path)
    if size == 0:
        raise UnreadableVideo("empty file (0 bytes)")
    capture = cv2.VideoCapture(os.fspath(path), cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            raise UnreadableVideo(_open_failure_reason(path))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width <= 0 or height <= 0:
            raise UnreadableVideo("no video stream (audio only or unknown stream type)")
        fps = capture.get(cv2.CAP_PROP_FPS) or None
        frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        codec = _fourcc_to_str(capture.get(cv2.CAP_PROP_FOURCC))
        rotation = int(capture.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
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
        duration = frame_count / fps if frame_count and fps else None
        return VideoInfo(
            duration=duration,
            fps=fps,
            frame_count=frame_count,
            width=width,
            height=height,
            codec=codec,
            rotation=rotation,
        )
    finally:
        capture.release()


def _open_failure_reason(path: str | os.PathLike[str]) -> str:
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3":
        # A container we recognise that the demuxer refuses: usually cut before its index
        # (an MP4 whose moov atom was never written) or holding no video stream.
        return "cannot open: damaged or truncated container, or no video stream"
    return "not a video: the file's content is not a known video container"
