"""Probability calibration: temperature scaling and expected calibration error.

A class-weighted logistic regression is not calibrated: re-weighting the classes moves
probability mass towards rare folders, and L2 regularisation squashes logits. The
player shows "72 %" next to a prediction and the queue sorts by confidence, so the
number should mean what it says. Temperature scaling (Guo et al., 2017) divides all
logits by one scalar T fitted by minimising the negative log-likelihood on held-out
logits. One parameter cannot overfit a few hundred labels, and it never changes the
arg-max, so accuracy is untouched.

No Django imports here: plain numpy in, plain numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_ECE_BINS",
    "ReliabilityBin",
    "expected_calibration_error",
    "fit_temperature",
    "log_softmax",
    "negative_log_likelihood",
    "reliability_bins",
    "softmax",
]

DEFAULT_ECE_BINS = 15

# Bounds on T. Below 0.05 or above 20 the fit is chasing noise (or all labels are one
# class); clamping keeps a degenerate fold from producing absurd probabilities.
_MIN_TEMPERATURE = 0.05
_MAX_TEMPERATURE = 20.0


def log_softmax(logits: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """Row-wise log-softmax of ``logits / temperature``, stable for large logits."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    return scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature`` (float64, rows sum to 1)."""
    return np.exp(log_softmax(logits, temperature=temperature))


def negative_log_likelihood(
    logits: np.ndarray, label_indices: np.ndarray, *, temperature: float = 1.0
) -> float:
    """Mean cross-entropy of integer labels (column indices) under ``logits / T``."""
    log_probs = log_softmax(logits, temperature=temperature)
    rows = np.arange(len(label_indices))
    return float(-log_probs[rows, np.asarray(label_indices, dtype=np.int64)].mean())


def fit_temperature(logits: np.ndarray, label_indices: np.ndarray) -> float:
    """Temperature T minimising the NLL of ``softmax(logits / T)``.

    ``logits`` must be held-out (out-of-fold) logits: on the training set's own logits
    the model is over-confident by construction and T would be fitted to that.
    Returns 1.0 when there is nothing to fit (no rows).
    """
    logits = np.asarray(logits, dtype=np.float64)
    label_indices = np.asarray(label_indices, dtype=np.int64)
    if logits.ndim != 2 or len(logits) != len(label_indices):
        raise ValueError("logits must be (n, k) and label_indices (n,)")
    if len(logits) == 0:
        return 1.0

    # Imported here, not at the top: SciPy costs ~50 MB and web processes import this
    # module (through the zero-shot blend) without ever fitting a temperature.
    from scipy.optimize import minimize_scalar

    # Optimise over log T: the NLL is smooth and unimodal in log T in practice, and a
    # bounded scalar search is exact enough (1e-4 in log T) without gradients.
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, label_indices, temperature=np.exp(log_t)),
        bounds=(np.log(_MIN_TEMPERATURE), np.log(_MAX_TEMPERATURE)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One confidence bin of a reliability diagram."""

    lower: float
    upper: float
    count: int
    mean_confidence: float
    accuracy: float


def reliability_bins(
    probs: np.ndarray, label_indices: np.ndarray, *, n_bins: int = DEFAULT_ECE_BINS
) -> list[ReliabilityBin]:
    """Top-label reliability diagram with equal-width confidence bins on [0, 1]."""
    probs = np.asarray(probs, dtype=np.float64)
    label_indices = np.asarray(label_indices, dtype=np.int64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == label_indices
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Right-closed bins (lower, upper], with 0 confidence put in the first bin; the
    # usual convention, so figures compare with published ECE numbers.
    bin_ids = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins: list[ReliabilityBin] = []
    for b in range(n_bins):
        in_bin = bin_ids == b
        count = int(in_bin.sum())
        bins.append(
            ReliabilityBin(
                lower=float(edges[b]),
                upper=float(edges[b + 1]),
                count=count,
                mean_confidence=float(confidence[in_bin].mean()) if count else 0.0,
                accuracy=float(correct[in_bin].mean()) if count else 0.0,
            )
        )
    return bins


def expected_calibration_error(
    probs: np.ndarray, label_indices: np.ndarray, *, n_bins: int = DEFAULT_ECE_BINS
) -> float:
    """Top-label ECE: sum over bins of (bin share) x |accuracy - mean confidence|.

    0 is perfect; 0.1 means "70 % confident" is on average 10 points off.
    """
    n = len(label_indices)
    if n == 0:
        return 0.0
    return float(
        sum(
            (b.count / n) * abs(b.accuracy - b.mean_confidence)
            for b in reliability_bins(probs, label_indices, n_bins=n_bins)
            if b.count
        )
    )
