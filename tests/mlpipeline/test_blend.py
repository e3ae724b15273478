"""Blend: new folders work from day 0, trained dominates with labels, clear sources."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipeline.blend import (
    BlendConfig,
    blend_probabilities,
    predict_blended,
    summarise,
    trained_weights,
    uncertainty_measures,
)
from mlpipeline.classifier import fit_classifier
from mlpipeline.zeroshot import ZeroShotModel

CLASSES = ("soccer", "cooking", "cats")


def test_trained_weight_grows_with_labels_and_is_zero_for_unknown_folders():
    weights = trained_weights(
        classes=CLASSES,
        label_counts={"soccer": 3, "cooking": 300, "cats": 0},
        trained_classes=("soccer", "cooking"),
        prior_labels=3.0,
    )
    np.testing.assert_allclose(weights, [0.5, 300 / 303, 0.0])


def test_a_folder_with_zero_labels_gets_its_zero_shot_mass():
    # The trained model has never heard of "cats" and is sure this is soccer; zero-shot
    # is sure it is a cat video. The new folder must win.
    blended = blend_probabilities(
        classes=CLASSES,
        label_counts={"soccer": 500, "cooking": 500, "cats": 0},
        trained_probs=np.array([[0.9, 0.1]]),
        trained_classes=("soccer", "cooking"),
        zero_shot_probs=np.array([[0.05, 0.05, 0.9]]),
        zero_shot_classes=CLASSES,
    )
    assert blended.source == "blended"
    assert blended.probs[0].argmax() == 2
    assert blended.probs[0, 2] == pytest.approx(0.9, abs=0.01)
    np.testing.assert_allclose(blended.probs.sum(axis=1), 1.0)
    assert blended.trained_weights[2] == 0.0


def test_the_trained_model_dominates_once_folders_have_many_labels():
    trained = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    zero_shot = np.array([[0.1, 0.8, 0.1], [0.6, 0.2, 0.2]])
    blended = blend_probabilities(
        classes=CLASSES,
        label_counts=dict.fromkeys(CLASSES, 10_000),
        trained_probs=trained,
        trained_classes=CLASSES,
        zero_shot_probs=zero_shot,
        zero_shot_classes=CLASSES,
    )
    np.testing.assert_allclose(blended.probs, trained, atol=2e-3)


def test_few_labels_share_the_vote_and_equal_weights_need_no_renormalising():
    trained = np.array([[0.8, 0.2, 0.0]])
    zero_shot = np.array([[0.2, 0.6, 0.2]])
    blended = blend_probabilities(
        classes=CLASSES,
        label_counts=dict.fromkeys(CLASSES, 3),
        trained_probs=trained,
        trained_classes=CLASSES,
        zero_shot_probs=zero_shot,
        zero_shot_classes=CLASSES,
        config=BlendConfig(prior_labels=3.0),
    )
    np.testing.assert_allclose(blended.probs, 0.5 * trained + 0.5 * zero_shot)


def test_without_zero_shot_it_falls_back_to_the_trained_model_and_says_so():
    blended = blend_probabilities(
        classes=CLASSES,
        label_counts={"soccer": 2, "cooking": 2, "cats": 0},
        trained_probs=np.array([[0.3, 0.7]]),
        trained_classes=("cooking", "soccer"),  # a different column order on purpose
        zero_shot_probs=None,
    )
    assert blended.source == "trained"
    np.testing.assert_allclose(blended.probs, [[0.7, 0.3, 0.0]])


def test_without_a_trained_model_it_is_zero_shot():
    blended = blend_probabilities(
        classes=CLASSES,
        label_counts={},
        trained_probs=None,
        zero_shot_probs=np.array([[0.2, 0.3, 0.5]]),
        zero_shot_classes=CLASSES,
    )
    assert blended.source == "zero-shot"
    np.testing.assert_allclose(blended.probs, [[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError):
        blend_probabilities(
            classes=CLASSES, label_counts={}, trained_probs=None, zero_shot_probs=None
        )


def test_predict_blended_with_real_models_on_a_day_zero_folder():
    rng = np.random.default_rng(0)
    directions = np.eye(3, 16, dtype=np.float32)
    labels = np.repeat([0, 1], 20)
    X_train = directions[labels] + 0.05 * rng.standard_normal((40, 16)).astype(np.float32)
    trained = fit_classifier(X=X_train, y=[CLASSES[i] for i in labels])
    zero_shot = ZeroShotModel(classes=CLASSES, text_vectors=directions)
    new_video = directions[[2]] + 0.05 * rng.standard_normal((1, 16)).astype(np.float32)
    blended = predict_blended(
        X=np.vstack([X_train[:1], new_video]),
        classes=CLASSES,
        label_counts={"soccer": 20, "cooking": 20, "cats": 0},
        trained=trained,
        zero_shot=zero_shot,
    )
    assert [CLASSES[i] for i in blended.probs.argmax(axis=1)] == ["soccer", "cats"]


def test_summarise_gives_top_k_confidence_margin_and_entropy():
    probs = np.array([[0.1, 0.6, 0.3], [1 / 3, 1 / 3, 1 / 3]])
    first, second = summarise(probs, CLASSES, top_k=2, source="blended")
    assert first.top == [("cooking", 0.6), ("cats", 0.3)]
    assert first.predicted == "cooking"
    assert first.confidence == pytest.approx(0.6)
    assert first.margin == pytest.approx(0.3)
    assert first.entropy == pytest.approx(
        -(0.1 * np.log(0.1) + 0.6 * np.log(0.6) + 0.3 * np.log(0.3))
    )
    assert first.to_dict()["top"] == [["cooking", 0.6], ["cats", 0.3]]
    assert first.source == "blended"
    # Ties resolve by folder order, every time.
    assert [label for label, _ in second.top] == ["soccer", "cooking"]
    assert second.margin == pytest.approx(0.0)
    assert second.entropy == pytest.approx(np.log(3))


def test_uncertainty_measures_with_a_single_folder():
    confidence, margin, entropy = uncertainty_measures(np.array([[1.0]]))
    assert confidence[0] == 1.0 and margin[0] == 1.0 and entropy[0] == 0.0
