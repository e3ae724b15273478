"""Thresholds for a target precision: the curves kept at training, the choice, and that the
chosen thresholds hold their precision on held-out data (scikit-learn's digits)."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipeline.classifier import train_classifier
from mlpipeline.precision import (
    precision_curves,
    precision_lower_bound,
    shrunk_precision,
    threshold_for_precision,
)


def test_curves_count_predictions_and_right_ones_by_falling_confidence() -> None:
    probs = np.array(
        [
            [0.9, 0.1],  # class 0, right
            [0.8, 0.2],  # class 0, wrong
            [0.8, 0.2],  # class 0, right (tie with the row above: one point)
            [0.6, 0.4],  # class 0, right
            [0.3, 0.7],  # class 1, right
        ]
    )
    truth = np.array([0, 1, 0, 0, 1])
    curves = precision_curves(probs, truth)
    assert curves[0] == [[0.9, 1, 1], [0.8, 3, 2], [0.6, 4, 3]]
    assert curves[1] == [[0.7, 1, 1]]


def test_a_class_never_predicted_has_an_empty_curve_and_curves_are_bounded() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([5, 1, 0.01], size=5000)
    probs[:, 2] = 0
    truth = rng.integers(0, 2, size=5000)
    curves = precision_curves(probs, truth, max_points=50)
    assert curves[2] == []
    assert 40 <= len(curves[0]) <= 50
    # The last point always holds every prediction of the class.
    assert curves[0][-1][1] == int((probs.argmax(1) == 0).sum())


def test_the_lowest_threshold_whose_shrunk_precision_reaches_the_target() -> None:
    curve = [[0.99, 50, 50], [0.9, 100, 98], [0.8, 150, 140], [0.7, 200, 170]]
    choice = threshold_for_precision(curve, 0.95)
    assert choice is not None and choice.threshold == 0.9
    assert choice.expected_precision == round(shrunk_precision(98, 100), 4)
    assert choice.observed_precision == 0.98 and choice.support == 100
    assert threshold_for_precision(curve, 0.99) is None  # 51/52 < 0.99: not enough evidence
    # Three right out of three is not evidence for 0.9.
    assert threshold_for_precision([[0.99, 3, 3]], 0.9) is None
    assert threshold_for_precision([], 0.9) is None


def test_a_threshold_also_needs_a_lower_bound_at_the_target() -> None:
    # 20 right out of 20: the shrunk estimate (21/22 = 0.955) reaches 0.95, the 90 %
    # lower bound does not; 80 out of 80 reaches both.
    assert shrunk_precision(20, 20) >= 0.95
    assert precision_lower_bound(20, 20) < 0.95 < precision_lower_bound(80, 80)
    assert threshold_for_precision([[0.99, 20, 20]], 0.95) is None
    choice = threshold_for_precision([[0.99, 20, 20], [0.95, 80, 80]], 0.95)
    assert choice is not None and choice.threshold == 0.95
    assert choice.lower_bound == round(precision_lower_bound(80, 80), 4)
    # Confidence 0 drops the bound: the point estimate alone.
    assert threshold_for_precision([[0.99, 20, 20]], 0.95, confidence=0.0) is not None
    # The bound tightens with the evidence and never exceeds the observed precision.
    assert precision_lower_bound(98, 100) < precision_lower_bound(980, 1000) < 0.98
    assert precision_lower_bound(0, 0) == 0.0


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


@pytest.mark.parametrize("seed", [0, 1])
def test_chosen_thresholds_hold_their_precision_on_held_out_digits(
    digits: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    from sklearn.model_selection import train_test_split

    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=seed
    )
    result = train_classifier(X=X_train, y=y_train)
    classes = list(result.classifier.classes)
    probs = result.classifier.predict_proba(X_test)
    predicted = np.array(classes)[probs.argmax(axis=1)]
    confidence = probs.max(axis=1)
    accuracy = float((predicted == y_test).mean())
    assert accuracy < 0.97  # the test means something: plain filing misses these targets
    for target in (0.95, 0.98):
        filed = np.zeros(len(y_test), dtype=bool)
        for k, label in enumerate(classes):
            choice = threshold_for_precision(result.metrics.precision_curves[k], target)
            if choice is not None:
                filed |= (predicted == label) & (confidence >= choice.threshold)
        precision = float((predicted[filed] == y_test[filed]).mean())
        # Held out: the target within a point, and most videos still filed.
        assert precision >= target - 0.01, (target, precision)
        assert filed.mean() > 0.5, (target, filed.mean())


def test_the_refit_temperature_puts_its_confidences_in_the_out_of_fold_space(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = digits
    result = train_classifier(X=X[:900], y=y[:900])
    # The refit saw all labels, the fold models 4/5: its logits are larger, and the stored
    # temperature divides that out on top of the out-of-fold temperature.
    assert 1.01 < result.metrics.refit_scale < 1.5
    assert result.classifier.temperature == pytest.approx(
        result.metrics.temperature * result.metrics.refit_scale
    )
