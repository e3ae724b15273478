"""Benchmark: auto-file by target precision against auto-file by the same confidence.

    .venv/bin/python bench/autofile_precision.py            # digits + synthetic, 10 splits

For each data set (scikit-learn's bundled handwritten digits, which nobody here made, and
the synthetic library of mlpipeline.synthetic, with and without its reposts) and each split, half the items are the
labelled videos: a classifier is trained on them (cross-validated, calibrated, with the
precision curves VidSort keeps). The other half are the unsorted videos. For each target it
prints, on those held-out videos, the precision and the share filed of

- by precision: each folder's threshold from mlpipeline.precision (what auto-file does with
  ``target_precision``): the threshold needs a shrunk estimate and a 90 % lower bound
  >= the target, and the refit's temperature includes its sharpness over the fold models;
- before: the same with the shrunk estimate only and the out-of-fold temperature alone
  (the refit's confidences a little higher than the curves'), as auto-file did first;
- by confidence: every prediction with calibrated confidence >= the target (what auto-file
  does with ``threshold`` = the target).

Prints figures; not a test. Takes about a minute on one core.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlpipeline.classifier import train_classifier  # noqa: E402
from mlpipeline.precision import BOUND_CONFIDENCE, threshold_for_precision  # noqa: E402
from mlpipeline.synthetic import SyntheticConfig, make_library  # noqa: E402

TARGETS = (0.9, 0.95, 0.97, 0.98)
SPLITS = 10


def _datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    synthetic = make_library(SyntheticConfig(n_samples=3000, seed=0))
    no_reposts = make_library(SyntheticConfig(n_samples=3000, seed=0, near_duplicate_fraction=0))
    return {
        "digits": (X.astype(np.float32), y),
        "synthetic (15 % reposts)": (synthetic.X, synthetic.y),
        "synthetic, no reposts": (no_reposts.X, no_reposts.y),
    }


def _filed(
    curves: list, classes: np.ndarray, probs: np.ndarray, target: float, confidence: float
) -> np.ndarray:
    predicted, top = classes[probs.argmax(axis=1)], probs.max(axis=1)
    filed = np.zeros(len(probs), dtype=bool)
    for k, label in enumerate(classes):
        choice = threshold_for_precision(curves[k], target, confidence=confidence)
        if choice is not None:
            filed |= (predicted == label) & (top >= choice.threshold)
    return filed


def _run(X: np.ndarray, y: np.ndarray, seed: int) -> dict[float, tuple[float, ...]]:
    from sklearn.model_selection import train_test_split

    from mlpipeline.calibration import softmax

    X_lab, X_new, y_lab, y_new = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=seed
    )
    result = train_classifier(X=X_lab, y=y_lab)
    classifier, curves = result.classifier, result.metrics.precision_curves
    classes = np.array(classifier.classes)
    probs = classifier.predict_proba(X_new)
    # Before: the out-of-fold temperature alone, the point estimate alone (no bound).
    probs_before = softmax(classifier.logits(X_new), temperature=result.metrics.temperature)
    right = classes[probs.argmax(axis=1)] == y_new
    right_before = classes[probs_before.argmax(axis=1)] == y_new
    rows: dict[float, tuple[float, ...]] = {}
    for target in TARGETS:
        by_precision = _filed(curves, classes, probs, target, BOUND_CONFIDENCE)
        before = _filed(curves, classes, probs_before, target, 0.0)
        by_confidence = probs.max(axis=1) >= target
        rows[target] = (
            float(right_before[before].mean()) if before.any() else float("nan"),
            float(before.mean()),
            float(right[by_precision].mean()) if by_precision.any() else float("nan"),
            float(by_precision.mean()),
            float(right[by_confidence].mean()) if by_confidence.any() else float("nan"),
            float(by_confidence.mean()),
            float(right.mean()),
        )
    return rows


def main() -> None:
    for name, (X, y) in _datasets().items():
        runs = [_run(X, y, seed) for seed in range(SPLITS)]
        print(f"\n{name}: {len(y)} items, {len(set(y.tolist()))} folders, {SPLITS} splits 50/50")
        print(f"accuracy of filing everything: {np.mean([r[TARGETS[0]][6] for r in runs]):.3f}")
        print(
            "target | before: precision (min) filed | by precision: precision (min) filed"
            " | by confidence: precision (min) filed"
        )
        for target in TARGETS:
            cells = np.array([r[target][:6] for r in runs])
            parts = []
            for i in (0, 2, 4):
                p = cells[:, i]
                if np.isnan(p).all():
                    parts.append(f"{'-':>6} {'(-)':>8} {cells[:, i + 1].mean():>6.1%}")
                else:
                    parts.append(
                        f"{np.nanmean(p):.4f} ({np.nanmin(p):.4f}) {cells[:, i + 1].mean():>6.1%}"
                    )
            print(f"{target:>6} | " + " | ".join(parts))


if __name__ == "__main__":
    main()
