"""Duplicates count once in training and cross-validation (train_classifier's groups)."""

from __future__ import annotations

import numpy as np

from mlpipeline.classifier import group_weights, train_classifier


def _copies_with_random_labels(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """60 clips x 3 near-identical copies; labels random per clip: nothing to learn
    except that a copy has its twin's label."""
    rng = np.random.default_rng(seed)
    clips = rng.normal(size=(60, 48))
    labels = rng.integers(0, 2, size=60)
    X = np.repeat(clips, 3, axis=0) + 0.01 * rng.normal(size=(180, 48))
    return X, np.repeat(labels, 3), np.repeat(np.arange(60), 3)


def test_copies_across_folds_inflate_accuracy_and_groups_stop_it() -> None:
    X, y, groups = _copies_with_random_labels(1)
    plain = train_classifier(X=X, y=y).metrics.accuracy
    grouped = train_classifier(X=X, y=y, groups=groups.tolist()).metrics.accuracy
    assert plain > 0.75  # each test row's twins were in training
    assert grouped < 0.7  # honest: the labels are random


def test_a_group_counts_once() -> None:
    weights = group_weights(["a", "a", "a", "b", "a"], [1, 1, 1, 1, 2])
    assert weights.tolist() == [1 / 3, 1 / 3, 1 / 3, 1.0, 1.0]
