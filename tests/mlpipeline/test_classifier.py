"""Classifier: accuracy on known answers, no leakage, exclusions, persistence, determinism."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from mlpipeline.classifier import (
    ClassifierConfig,
    NotEnoughLabelsError,
    TrainedClassifier,
    fit_classifier,
    train_classifier,
)
from mlpipeline.synthetic import SyntheticConfig, make_library


@pytest.fixture(scope="module")
def separable():
    return make_library(
        SyntheticConfig(
            n_classes=5,
            n_samples=500,
            dim=32,
            noise=0.08,
            confusable_pairs=0,
            imbalance=3.0,
            seed=3,
        )
    )


@pytest.fixture(scope="module")
def separable_result(separable):
    return train_classifier(X=separable.X, y=separable.y)


def test_it_reaches_high_accuracy_on_separable_folders(separable, separable_result):
    metrics = separable_result.metrics
    assert metrics.accuracy > 0.97
    assert metrics.balanced_accuracy > 0.97
    assert metrics.n_folds == 5
    assert metrics.n_labels == 500
    predicted = np.array(separable_result.classifier.predict(separable.X))
    assert (predicted == separable.y).mean() > 0.97


def test_it_reports_complete_metrics(separable, separable_result):
    metrics = separable_result.metrics
    assert metrics.classes == [0, 1, 2, 3, 4]
    assert np.array(metrics.confusion_matrix).sum() == 500
    assert [m.support for m in metrics.per_class] == np.bincount(separable.y).tolist()
    for m in metrics.per_class:
        assert 0.9 < m.precision <= 1 and 0.9 < m.recall <= 1 and 0.9 < m.average_precision <= 1
    as_dict = metrics.to_dict()
    assert set(as_dict) >= {"accuracy", "per_class", "confusion_matrix", "ece_after_calibration"}
    assert separable_result.timings_seconds["cross_validation"] > 0


def test_shuffled_labels_give_chance_level_cross_validated_accuracy():
    # If any fitted quantity (C from the opt-in grid, the temperature, a warm start)
    # saw the test fold's labels, random labels would score above chance.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 64)).astype(np.float32)
    y = np.repeat(np.arange(4), 150)
    rng.shuffle(y)
    metrics = train_classifier(X=X, y=y, config=ClassifierConfig(c_grid=(0.1, 1.0, 10.0))).metrics
    assert abs(metrics.accuracy - 0.25) < 0.07
    assert abs(metrics.balanced_accuracy - 0.25) < 0.07


def test_it_excludes_and_reports_folders_with_one_label(separable):
    y = [f"folder_{v}" for v in separable.y[:200]] + ["lonely"]
    X = np.vstack([separable.X[:200], separable.X[:1]])
    result = train_classifier(X=X, y=y)
    assert result.excluded_classes == ["lonely"]
    assert "lonely" not in result.classifier.classes
    assert result.label_counts["lonely"] == 1
    assert result.metrics.n_labels == 200


def test_it_refuses_to_train_with_a_single_trainable_folder():
    X = np.eye(4, dtype=np.float32)
    with pytest.raises(NotEnoughLabelsError) as error:
        train_classifier(X=X, y=["a", "a", "a", "b"])
    assert error.value.excluded_classes == ["b"]


def test_folds_follow_the_smallest_folder(separable):
    keep = np.concatenate(
        [np.flatnonzero(separable.y == c)[: (3 if c == 4 else 40)] for c in range(5)]
    )
    result = train_classifier(X=separable.X[keep], y=separable.y[keep])
    assert result.metrics.n_folds == 3


def test_serialisation_round_trips_exactly(separable, separable_result):
    classifier = separable_result.classifier
    blob = classifier.to_bytes()
    loaded = TrainedClassifier.from_bytes(blob)
    assert loaded.classes == classifier.classes
    assert all(type(c) is int for c in loaded.classes)
    np.testing.assert_array_equal(loaded.coef, classifier.coef)
    np.testing.assert_array_equal(loaded.intercept, classifier.intercept)
    assert loaded.temperature == classifier.temperature
    assert loaded.regularisation_c == classifier.regularisation_c
    np.testing.assert_array_equal(
        loaded.predict_proba(separable.X), classifier.predict_proba(separable.X)
    )
    assert loaded.to_bytes() == blob


def test_string_labels_survive_serialisation_and_binary_problems_work(separable):
    two = separable.y < 2
    labels = np.where(separable.y[two] == 0, "cats", "dogs")
    classifier = fit_classifier(X=separable.X[two], y=labels)
    loaded = TrainedClassifier.from_bytes(classifier.to_bytes())
    assert loaded.classes == ("cats", "dogs")
    probs = loaded.predict_proba(separable.X[two])
    assert probs.shape == (int(two.sum()), 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (np.array(loaded.predict(separable.X[two])) == labels).mean() > 0.97


def test_loading_refuses_pickles_and_foreign_blobs():
    with pytest.raises(ValueError):
        TrainedClassifier.from_bytes(pickle.dumps({"coef": np.zeros(3)}))


def test_c_grid_tuning_picks_a_value_from_the_grid(separable):
    config = ClassifierConfig(c_grid=(0.5, 4.0))
    result = train_classifier(X=separable.X[:300], y=separable.y[:300], config=config)
    assert result.classifier.regularisation_c in (0.5, 4.0)
    assert result.metrics.accuracy > 0.95


def test_training_is_deterministic(separable):
    config = ClassifierConfig()
    first = train_classifier(X=separable.X[:300], y=separable.y[:300], config=config)
    second = train_classifier(X=separable.X[:300], y=separable.y[:300], config=config)
    assert first.classifier.to_bytes() == second.classifier.to_bytes()
    assert first.metrics.to_dict() == second.metrics.to_dict()


def test_it_normalises_embeddings_itself(separable_result, separable):
    classifier = separable_result.classifier
    np.testing.assert_allclose(
        classifier.predict_proba(separable.X[:10] * 7.0),
        classifier.predict_proba(separable.X[:10]),
        rtol=1e-5,
    )


def test_it_rejects_mismatched_inputs(separable):
    with pytest.raises(ValueError):
        train_classifier(X=separable.X[:10], y=separable.y[:9])
    with pytest.raises(TypeError):
        train_classifier(X=separable.X[:4], y=[1, "a", 1, "a"])
    bad = separable.X[:10].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        train_classifier(X=bad, y=separable.y[:10])
