"""Calibration: temperature scaling recovers known temperatures and lowers ECE."""

from __future__ import annotations

import numpy as np

from mlpipeline.calibration import (
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    softmax,
)
from mlpipeline.classifier import train_classifier
from mlpipeline.synthetic import SyntheticConfig, make_library


def _sampled_labels(true_logits: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    probs = softmax(true_logits)
    cumulative = probs.cumsum(axis=1)
    return (rng.random((len(probs), 1)) > cumulative).sum(axis=1)


def test_ece_is_near_zero_for_calibrated_probabilities():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((20000, 5)) * 2
    labels = _sampled_labels(logits, seed=1)
    assert expected_calibration_error(softmax(logits), labels) < 0.02


def test_temperature_recovers_overconfidence_and_ece_drops():
    rng = np.random.default_rng(2)
    true_logits = rng.standard_normal((5000, 6)) * 1.5
    labels = _sampled_labels(true_logits, seed=3)
    overconfident = 3.0 * true_logits
    temperature = fit_temperature(overconfident, labels)
    assert 2.6 < temperature < 3.4
    before = expected_calibration_error(softmax(overconfident), labels)
    after = expected_calibration_error(softmax(overconfident, temperature=temperature), labels)
    assert before > 0.1 and after < 0.03


def test_temperature_recovers_underconfidence():
    rng = np.random.default_rng(4)
    true_logits = rng.standard_normal((5000, 4)) * 3
    labels = _sampled_labels(true_logits, seed=5)
    assert 0.4 < fit_temperature(true_logits / 2.0, labels) < 0.6


def test_classifier_calibration_lowers_ece_on_a_skewed_set():
    # Heavily skewed folder sizes with overlap: class weighting and regularisation
    # leave the raw model mis-calibrated; the cross-fitted temperature repairs it.
    library = make_library(
        SyntheticConfig(n_classes=8, n_samples=1500, dim=32, imbalance=20.0, noise=0.3, seed=7)
    )
    metrics = train_classifier(X=library.X, y=library.y).metrics
    assert metrics.ece_before_calibration > 0.05
    assert metrics.ece_after_calibration < 0.6 * metrics.ece_before_calibration
    assert metrics.log_loss_after_calibration < metrics.log_loss_before_calibration
    assert metrics.temperature != 1.0


def test_softmax_is_stable_for_huge_logits():
    probs = softmax(np.array([[1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(probs, [[1.0, 0.0, 0.0]])


def test_reliability_bins_cover_all_rows():
    probs = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.3, 0.7]])
    bins = reliability_bins(probs, np.array([0, 1, 1, 0]), n_bins=15)
    assert sum(b.count for b in bins) == 4
    assert bins[-1].count == 2  # confidence 1.0 goes to the last bin
