"""Playable proxies: which files need one, and the copy ffmpeg makes of them."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from mlpipeline.probe import probe_video
from mlpipeline.transcode import TranscodeError, proxy_make, proxy_reason
from tests.media import ffmpeg


@pytest.mark.parametrize(
    ("codec", "pix_fmt", "filename", "expected"),
    [
        ("h264", "yuv420p", "a.mp4", ""),
        ("avc1", "", "a.mov", ""),
        ("vp09", "yuv420p", "a.webm", ""),
        ("av01", "yuv420p10le", "a.mkv", ""),
        ("hevc", "yuv420p", "a.mp4", "H.265 (HEVC) video"),
        ("hvc1", "yuv420p", "a.mov", "H.265 (HEVC) video"),
        ("fmp4", "yuv420p", "a.avi", "MPEG-4 Part 2 (Xvid/DivX) video"),
        ("h264", "yuv420p", "a.avi", "AVI files"),
        ("h264", "yuv444p", "a.mp4", "H.264 in the yuv444p pixel format"),
        ("h264", "yuv420p10le", "a.mkv", "H.264 in the yuv420p10le pixel format"),
        ("mpeg2video", "yuv420p", "a.mkv", "MPEG-2 video"),
    ],
)
def test_proxy_reason(codec: str, pix_fmt: str, filename: str, expected: str) -> None:
    assert proxy_reason(codec=codec, pix_fmt=pix_fmt, filename=filename) == expected


def test_the_probe_records_codec_and_pixel_format(media: dict[str, Path]) -> None:
    hevc = probe_video(media["hevc.mov"])
    assert proxy_reason(codec=hevc.codec, pix_fmt=hevc.pix_fmt, filename="hevc.mov")
    plain = probe_video(media["h264.mp4"])
    assert plain.pix_fmt == "yuv420p"
    assert proxy_reason(codec=plain.codec, pix_fmt=plain.pix_fmt, filename="h264.mp4") == ""


def test_an_hevc_file_becomes_a_bounded_h264_mp4(media: dict[str, Path], tmp_path: Path) -> None:
    source = tmp_path / "big.mov"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=10:duration=1",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
        "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
        "-pix_fmt", "yuv420p10le", "-c:a", "aac", "-shortest", str(source),
    )  # fmt: skip
    before = source.read_bytes()
    target = tmp_path / "proxies" / "ab" / "hash.mp4"
    result = proxy_make(source, target, max_side=640)
    assert result.path == target and target.stat().st_size == result.size > 0
    assert source.read_bytes() == before  # the user's file is untouched
    with av.open(str(target)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        assert container.streams.audio[0].codec_context.name == "aac"
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".partial-")]


def test_a_file_ffmpeg_cannot_read_fails_with_a_reason(tmp_path: Path) -> None:
    source = tmp_path / "note.mp4"
    source.write_text("not a video\n" * 10)
    target = tmp_path / "out" / "x.mp4"
    with pytest.raises(TranscodeError, match="ffmpeg failed"):
        proxy_make(source, target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no partial file left behind
