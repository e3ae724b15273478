"""Text features: fused with visual features that cannot tell the categories apart, what is said
and written must classify the videos (a small version of bench/text.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mlpipeline import textmedia
from mlpipeline.classifier import train_classifier
from mlpipeline.textfeatures import (
    TextFeatureConfig,
    TextFeaturizer,
    fuse_features,
    text_features,
    video_document,
)


def test_document_joins_speech_and_screen_text():
    assert video_document(transcript="Add  flour", on_screen=["BANANA BREAD", ""]) == (
        "add flour banana bread"
    )
    assert video_document() == ""


def test_hashing_vectors_depend_on_the_video_alone():
    config = TextFeatureConfig()
    alone = text_features(["bake the bread"], config=config)
    among = text_features(["bake the bread", "goal in the second half"], config=config)
    np.testing.assert_array_equal(alone[0], among[0])
    assert alone.dtype == np.float32 and alone.shape == (1, 2 * config.n_features)
    assert np.linalg.norm(alone[0]) == pytest.approx(1.0, abs=1e-5)


def test_empty_text_gives_a_zero_row():
    for kind in ("hashing", "tfidf"):
        rows = text_features(["", "rain in the north"], config=TextFeatureConfig(kind=kind))
        assert not rows[0].any() and rows[1].any()


def test_near_misses_still_look_alike():
    rows = text_features(["hotel beach", "hotei beach", "goal penalty"])
    assert rows[0] @ rows[1] > 0.5 > rows[0] @ rows[2]


def test_tfidf_needs_fitting_and_clip_needs_an_encoder():
    with pytest.raises(RuntimeError):
        TextFeaturizer(TextFeatureConfig(kind="tfidf")).transform(["x"])
    with pytest.raises(ValueError):
        TextFeaturizer(TextFeatureConfig(kind="clip"))
    with pytest.raises(ValueError):
        TextFeaturizer(TextFeatureConfig(kind="bert"))


def test_fusion_weights_the_blocks():
    visual = np.array([[3.0, 4.0], [1.0, 0.0]])
    text = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    fused = fuse_features(visual, text, text_weight=0.5)
    np.testing.assert_allclose(fused[0], [0.6, 0.8, 0.0, 0.5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(fused[1], [1.0, 0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError):
        fuse_features(visual, text[:1])


@pytest.mark.slow
@pytest.mark.skipif(
    not textmedia.tools_available(), reason="needs ffmpeg, espeak-ng and fonts-dejavu-core"
)
def test_text_separates_categories_that_pixels_cannot(tmp_path):
    if os.environ.get("CI", "").lower() != "true":  # CI must fail without the OCR wheel
        pytest.importorskip(
            "rapidocr_onnxruntime", reason="pip install --no-deps -r requirements-ocr.txt"
        )
    from mlpipeline.ocr import OcrConfig, frames_for_text, get_reader
    from mlpipeline.transcribe import TranscriberConfig, get_transcriber

    # Four per category, not three: videos cycle through speech + text, speech only and text
    # only, and a fold whose training part lacks one kind shares no words with its test part.
    videos = textmedia.build_library(tmp_path, per_category=4, duration=8.0, width=480, height=270)
    reader = get_reader(OcrConfig())
    transcriber = get_transcriber(TranscriberConfig())
    documents, visual = [], []
    for video in videos:
        frames, times = frames_for_text(str(video.path), num_frames=4)
        lines = [line.text for line in reader.read_frames(frames, times).lines]
        transcript = transcriber.transcribe_video(video.path).text
        documents.append(video_document(transcript=transcript, on_screen=lines))
        # Raw pixels as the visual features: noise that says nothing about the category.
        visual.append(frames[:, ::30, ::30].astype(np.float32).ravel()[:256])
    labels = [video.category for video in videos]

    visual_only = train_classifier(X=np.array(visual), y=labels).metrics.accuracy
    fused = fuse_features(np.array(visual), text_features(documents))
    with_text = train_classifier(X=fused, y=labels).metrics.accuracy
    assert visual_only <= 0.6
    assert with_text >= 0.8, list(zip(labels, documents, strict=True))
