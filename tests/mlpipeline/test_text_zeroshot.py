"""Folders' prompt words matched against what videos say and show, blended into zero-shot."""

from __future__ import annotations

import numpy as np

from mlpipeline.blend import predict_blended, summarise
from mlpipeline.classifier import TrainedClassifier, train_classifier
from mlpipeline.textfeatures import TextFeatureConfig, TextFeaturizer, video_document
from mlpipeline.zeroshot import (
    TextZeroShotModel,
    ZeroShotModel,
    build_text_zero_shot_model,
    prompt_keywords,
)

FEATURIZE = TextFeaturizer(TextFeatureConfig()).transform
FOLDERS = {1: "cooking", 2: "weather", 3: "a-new-folder"}
PROMPTS = {3: ["a video of a football match", "goal penalty referee"]}


def _text_model() -> TextZeroShotModel:
    return build_text_zero_shot_model(
        folder_names=FOLDERS, folder_prompts=PROMPTS, featurize=FEATURIZE
    )


def test_prompt_keywords_drop_stop_words_and_filler() -> None:
    assert prompt_keywords(["a video of street_food", "Street food!"]) == "street food"
    assert prompt_keywords(["a video of the"]) == ""


def test_a_folder_whose_words_are_said_wins_and_text_without_match_is_no_evidence() -> None:
    model = _text_model()
    documents = [
        video_document(
            transcript="the referee gave a penalty after the goal", on_screen=["MATCH DAY"]
        ),
        video_document(transcript="the storm will move east", on_screen=["FORECAST"]),
        "",
    ]
    T = FEATURIZE(documents)
    probs = model.predict_proba(T)
    assert model.classes == (1, 2, 3)
    assert probs[0].argmax() == 2 and probs[0, 2] > 0.9
    assert model.has_evidence(T).tolist() == [True, False, False]
    np.testing.assert_allclose(probs[1:], 1 / 3)


def _trained(rng: np.random.Generator) -> TrainedClassifier:
    X = rng.normal(size=(12, 8)).astype(np.float32)
    return train_classifier(X=X, y=[1] * 6 + [2] * 6).classifier


def test_blend_without_visual_zero_shot_uses_text_only_where_it_matches() -> None:
    rng = np.random.default_rng(0)
    trained = _trained(rng)
    X = rng.normal(size=(2, 8)).astype(np.float32)
    T = FEATURIZE(["the goalkeeper saved the penalty, what a match", ""])
    counts = {1: 6, 2: 6}
    blended = predict_blended(
        X=X,
        classes=[1, 2, 3],
        label_counts=counts,
        trained=trained,
        zero_shot=None,
        text_zero_shot=_text_model(),
        text=T,
    )
    assert blended.probs[0].argmax() == 2  # the unlabelled folder, from its words
    assert blended.source_at(0) == "blended" and blended.source_at(1) == "trained"
    alone = predict_blended(
        X=X[1:], classes=[1, 2, 3], label_counts=counts, trained=trained, zero_shot=None
    )
    np.testing.assert_allclose(blended.probs[1:], alone.probs)


def test_blend_with_visual_zero_shot_multiplies_and_leaves_textless_rows_alone() -> None:
    visual = ZeroShotModel(
        classes=(1, 2, 3),
        text_vectors=np.eye(3, 8, dtype=np.float32),
        logit_scale=10.0,
    )
    X = np.tile(np.array([[1, 0.2, 0.1, 0, 0, 0, 0, 0]], dtype=np.float32), (2, 1))
    T = FEATURIZE(["goal goal penalty referee match", "the cat sat on the mat"])
    kwargs = {"classes": [1, 2, 3], "label_counts": {}, "trained": None, "zero_shot": visual}
    with_text = predict_blended(X=X, text_zero_shot=_text_model(), text=T, **kwargs)
    without = predict_blended(X=X, **kwargs)
    assert without.probs[0].argmax() == 0
    assert with_text.probs[0].argmax() == 2
    np.testing.assert_allclose(with_text.probs[1], without.probs[1])
    # One text row serves all of a video's frames.
    frames = predict_blended(X=X, text_zero_shot=_text_model(), text=T[:1], **kwargs)
    np.testing.assert_allclose(frames.probs, np.repeat(with_text.probs[:1], 2, axis=0))


def test_a_video_without_text_lists_only_folders_a_model_knows() -> None:
    rng = np.random.default_rng(2)
    trained = _trained(rng)
    X = rng.normal(size=(1, 8)).astype(np.float32)
    blended = predict_blended(
        X=X,
        classes=[1, 2, 3],
        label_counts={1: 6, 2: 6},
        trained=trained,
        zero_shot=None,
        text_zero_shot=_text_model(),
        text=FEATURIZE(["goal", ""])[1:],
    )
    [summary] = summarise(blended.probs, blended.classes, source=blended.source_at(0))
    assert [folder for folder, _ in summary.top] in ([1, 2], [2, 1])
    assert summary.source == "trained"
