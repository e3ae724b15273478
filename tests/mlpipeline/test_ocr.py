"""OCR on decoded frames: burned-in words found once per caption, with times and confidence."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mlpipeline import textmedia
from mlpipeline.ocr import OcrConfig, character_accuracy, create_reader, frames_for_text, get_reader

pytestmark = pytest.mark.skipif(
    not textmedia.tools_available(), reason="needs ffmpeg, espeak-ng and fonts-dejavu-core"
)
if os.environ.get("CI", "").lower() == "true":
    # CI installs requirements-ocr.txt (README's test command): a missing wheel must fail there.
    import rapidocr_onnxruntime as rapidocr
else:
    rapidocr = pytest.importorskip(
        "rapidocr_onnxruntime", reason="pip install --no-deps -r requirements-ocr.txt"
    )


@pytest.fixture(scope="module")
def captioned(tmp_path_factory):
    path = tmp_path_factory.mktemp("ocr") / "captioned.mp4"
    textmedia.write_text_video(path, phrases=("BANANA BREAD", "FORECAST"), duration=8.0, seed=4)
    return path


@pytest.fixture(scope="module")
def reader():
    return get_reader(OcrConfig())


def test_written_words_are_found_once_with_times(captioned, reader):
    frames, times = frames_for_text(str(captioned))
    assert frames.shape[1:] == (360, 640, 3)
    result = reader.read_frames(frames, times)
    texts = [line.text for line in result.lines]
    assert "BANANA BREAD" in texts and "FORECAST" in texts, texts
    banana = result.lines[texts.index("BANANA BREAD")]
    forecast = result.lines[texts.index("FORECAST")]
    assert banana.end < forecast.start  # first half, then second half
    assert banana.frames >= 2 and 0.6 <= banana.confidence <= 1.0
    x0, y0, x1, y1 = banana.box
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    # The same caption on several frames is recognised once (or nearly).
    assert result.regions_recognised < result.regions_detected


def test_frames_without_text_give_no_lines(reader):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (3, 180, 320, 3), dtype=np.uint8)
    result = reader.read_frames(frames, np.array([0.5, 1.5, 2.5]))
    assert result.lines == ()
    assert result.frames_seen == 3


def test_off_reads_nothing(captioned):
    frames, times = frames_for_text(str(captioned), num_frames=2)
    result = create_reader(OcrConfig(engine="off")).read_frames(frames, times)
    assert (result.engine_id, result.lines) == ("off", ())


def test_character_accuracy():
    assert character_accuracy("HOTEL", "hotel") == 1.0
    assert character_accuracy("HOTEL", "HOTEI") == pytest.approx(0.8)
    assert character_accuracy("HOTEL", "") == 0.0
