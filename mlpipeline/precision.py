"""Confidence thresholds chosen for a target precision, from cross-validated predictions.

Training (mlpipeline.classifier) predicts every labelled video out of fold, with the
temperature fitted on the other folds. For each folder, ``precision_curves`` keeps, from
the most confident prediction of that folder down, how many out-of-fold predictions reach
each confidence and how many of them were right. ``threshold_for_precision`` then picks the
lowest confidence whose predictions above it were right often enough, so auto-filing
"everything predicted as cats at >= t" is expected to be right at least the target share of
the time.

"Often enough" is judged twice, and both must reach the target. The shrunk estimate
(right + 1) / (n + 2) (the mean of a uniform prior updated by the counts), not right / n:
on 20 predictions with one mistake the raw figure is 0.95 but the evidence for it is thin.
And a one-sided lower bound, the 10 % quantile of the Jeffreys posterior
Beta(right + 0.5, n - right + 0.5): the lowest threshold whose estimate just crosses the
target is the one where the curve was luckiest, so a point estimate there promises more
than held-out videos give (measured in bench/autofile_precision.py: on the synthetic
library 0.97 asked gave 0.969 with the point estimate alone, 0.977 with the bound). The
figures describe the labelled videos; the unsorted ones may be easier (the queue asks
about the uncertain ones first) or harder (a drift to new topics), see
docs/intelligence.md.

No Django here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Points kept per folder. Thresholds are only chosen at stored points, so counts at
# a chosen threshold are exact; a coarser curve only means a slightly higher threshold.
MAX_POINTS = 200
# One-sided confidence of the lower bound on a threshold's precision.
BOUND_CONFIDENCE = 0.9


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    threshold: float  # file predictions with confidence >= this
    expected_precision: float  # shrunk estimate, (right + 1) / (n + 2)
    observed_precision: float  # right / n among the labelled videos
    support: int  # labelled videos predicted as this folder at >= threshold
    correct: int
    lower_bound: float = 0.0  # precision_lower_bound(correct, support)

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "expected_precision": self.expected_precision,
            "observed_precision": self.observed_precision,
            "support": self.support,
            "correct": self.correct,
            "lower_bound": self.lower_bound,
        }


def precision_curves(
    probs: np.ndarray, label_indices: np.ndarray, *, max_points: int = MAX_POINTS
) -> list[list[list[float]]]:
    """For each class (column of ``probs``): ``[[threshold, n, right], ...]`` by falling
    threshold, where n predictions of that class have confidence >= threshold and ``right``
    of them are correct. Ties share one point; at most ``max_points`` points are kept."""
    probs = np.asarray(probs, dtype=np.float64)
    predicted = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    curves: list[list[list[float]]] = []
    for k in range(probs.shape[1]):
        rows = np.flatnonzero(predicted == k)
        if len(rows) == 0:
            curves.append([])
            continue
        order = rows[np.argsort(-confidence[rows], kind="stable")]
        conf = confidence[order]
        right = np.cumsum(label_indices[order] == k)
        # The last row of each run of equal confidences: a threshold takes all of them.
        ends = np.flatnonzero(np.append(conf[1:] != conf[:-1], True))
        if len(ends) > max_points:
            keep = np.unique(np.linspace(0, len(ends) - 1, max_points).round().astype(int))
            ends = ends[keep]
        curves.append(
            [[round(float(conf[i]), 6), int(i + 1), int(right[i])] for i in ends.tolist()]
        )
    return curves


def shrunk_precision(correct: int, n: int) -> float:
    return (correct + 1.0) / (n + 2.0)


def precision_lower_bound(correct: int, n: int, *, confidence: float = BOUND_CONFIDENCE) -> float:
    """One-sided lower bound on a precision seen as ``correct`` right out of ``n``: the
    (1 - confidence) quantile of the Jeffreys posterior Beta(correct + 0.5, n - correct + 0.5)."""
    from scipy.special import betaincinv

    if n <= 0:
        return 0.0
    return float(betaincinv(correct + 0.5, n - correct + 0.5, 1.0 - confidence))


def threshold_for_precision(
    curve: Sequence[Sequence[float]], target: float, *, confidence: float = BOUND_CONFIDENCE
) -> ThresholdChoice | None:
    """The lowest stored threshold whose predictions at or above it have a shrunk precision
    and a lower bound (at ``confidence``) both >= ``target``; None when no threshold reaches
    it (then nothing should be auto-filed)."""
    best: ThresholdChoice | None = None
    for threshold, n, right in curve:
        n_i, right_i = int(n), int(right)
        expected = shrunk_precision(right_i, n_i)
        if expected < target:
            continue
        bound = precision_lower_bound(right_i, n_i, confidence=confidence)
        if bound >= target:
            best = ThresholdChoice(
                threshold=float(threshold),
                expected_precision=round(expected, 4),
                observed_precision=round(right_i / n_i, 4),
                support=n_i,
                correct=right_i,
                lower_bound=round(bound, 4),
            )
    return best
