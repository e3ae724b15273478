"""Session-wide test videos for the extraction tests, generated once into a temp folder.

Resolutions are small to keep the suite fast, except the 4K clip, whose size is the point.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.mlpipeline import videos

NUMBERED_FPS = 30


@dataclass(frozen=True)
class VideoSet:
    root: Path
    numbered: Path  # CFR 30 fps, 90 frames, B-frames, keyframe every 30 frames
    numbered_sparse_keys: Path  # CFR 30 fps, 90 frames, a single keyframe
    numbered_dense_keys: Path  # CFR 30 fps, 90 frames, keyframe every 5 frames
    numbered_vfr: Path  # variable frame rate (60/10/30 fps phases)
    vfr_pts: tuple[float, ...]
    landscape: Path  # 192x108 H.264
    rotated_90: Path  # same, tagged to display as portrait
    rotated_270: Path
    hevc: Path
    vp9_webm: Path
    one_frame: Path
    three_frames: Path
    uhd_4k: Path  # 3840x2160, 3 frames
    truncated_faststart: Path  # index first, data cut at 60%: opens, ends early
    truncated_index_at_end: Path  # index never reached: cannot open
    zero_bytes: Path
    text_as_mp4: Path
    audio_only: Path

    def good(self) -> dict[str, Path]:
        names = (
            "numbered",
            "numbered_vfr",
            "landscape",
            "rotated_90",
            "hevc",
            "vp9_webm",
            "one_frame",
            "three_frames",
            "uhd_4k",
        )
        return {name: getattr(self, name) for name in names}

    def broken(self) -> dict[str, Path]:
        names = ("truncated_index_at_end", "zero_bytes", "text_as_mp4", "audio_only")
        return {name: getattr(self, name) for name in names}


@pytest.fixture(scope="session")
def video_set(tmp_path_factory: pytest.TempPathFactory) -> VideoSet:
    if not videos.ffmpeg_available():
        pytest.fail("the ffmpeg binary is needed to make test videos (apt-get install -y ffmpeg)")
    root = tmp_path_factory.mktemp("videos")
    cfr_pts = [index / NUMBERED_FPS for index in range(90)]
    vfr_pts = videos.variable_rate_pts(count=100)
    landscape = videos.make_test_clip(root / "landscape.mp4", width=192, height=108, seconds=1.0)
    full_clip = videos.make_test_clip(
        root / "full.mp4", width=160, height=90, seconds=2.0,
        video_args=("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
    )  # fmt: skip
    (root / "zero.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("these are my holiday notes, not a video\n" * 20)
    return VideoSet(
        root=root,
        numbered=videos.write_numbered_video(
            root / "numbered.mp4", pts_seconds=cfr_pts, gop=30, options={"bf": "2"}
        ),
        numbered_sparse_keys=videos.write_numbered_video(
            root / "numbered_sparse.mp4", pts_seconds=cfr_pts, gop=300
        ),
        numbered_dense_keys=videos.write_numbered_video(
            root / "numbered_dense.mp4", pts_seconds=cfr_pts, gop=5
        ),
        numbered_vfr=videos.write_numbered_video(
            root / "numbered_vfr.mp4", pts_seconds=vfr_pts, gop=25
        ),
        vfr_pts=tuple(vfr_pts),
        landscape=landscape,
        rotated_90=videos.rotate_tag(landscape, root / "rotated_90.mp4", degrees=90),
        rotated_270=videos.rotate_tag(landscape, root / "rotated_270.mp4", degrees=270),
        hevc=videos.make_test_clip(
            root / "hevc.mp4",
            width=160,
            height=96,
            seconds=1.0,
            video_args=(
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "log-level=error",
                "-tag:v",
                "hvc1",
                "-pix_fmt",
                "yuv420p",
            ),
        ),  # fmt: skip
        vp9_webm=videos.make_test_clip(
            root / "vp9.webm",
            width=160,
            height=96,
            seconds=1.0,
            video_args=(
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-b:v",
                "200k",
            ),
        ),  # fmt: skip
        one_frame=videos.make_test_clip(
            root / "one_frame.mp4", width=64, height=48, seconds=1 / NUMBERED_FPS
        ),
        three_frames=videos.make_test_clip(
            root / "three_frames.mp4", width=64, height=48, seconds=3 / NUMBERED_FPS
        ),
        uhd_4k=videos.make_test_clip(
            root / "uhd_4k.mp4", width=3840, height=2160, seconds=3 / NUMBERED_FPS
        ),
        truncated_faststart=videos.truncate(
            videos.make_test_clip(
                root / "faststart_full.mp4",
                width=160,
                height=90,
                seconds=2.0,
                extra_args=("-movflags", "+faststart"),
            ),
            root / "truncated_faststart.mp4",
            keep=0.6,
        ),  # fmt: skip
        truncated_index_at_end=videos.truncate(
            full_clip, root / "truncated_index_at_end.mp4", keep=0.6
        ),
        zero_bytes=root / "zero.mp4",
        text_as_mp4=root / "notes.mp4",
        audio_only=videos.make_audio_only(root / "audio_only.mp4"),
    )


@pytest.fixture(scope="session")
def tiny_encoder():  # type: ignore[no-untyped-def]
    from mlpipeline.encoder import EncoderConfig, get_encoder

    # open_clip logs a warning for every random-weight model; that is the point here.
    logging.getLogger().setLevel(logging.ERROR)
    return get_encoder(
        EncoderConfig(model_name="vidsort-tiny", pretrained="", device="cpu", batch_size=16)
    )
