"""Benchmark: auto-file by target precision against auto-file by the same confidence.

    .venv/bin/python bench/autofile_precision.py            # digits + synthetic, 3 splits

For each data set (scikit-learn's bundled handwritten digits, which nobody here made, and
the synthetic library of mlpipeline.synthetic, with and without its reposts) and each split, half the items are the
labelled videos: a classifier is trained on them (cross-validated, calibrated, with the
precision curves VidSort keeps). The other half are the unsorted videos. For each target it
prints, on those held-out videos, the precision and the share filed of

- by precision: each folder's threshold from mlpipeline.precision (what auto-file does with
  ``target_precision``);
- by confidence: every prediction with calibrated confidence >= the target (what auto-file
  does with ``threshold`` = the target).

Prints figures; not a test. Takes about half a minute on one core.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlpipeline.classifier import train_classifier  # noqa: E402
from mlpipeline.precision import threshold_for_precision  # noqa: E402
from mlpipeline.synthetic import SyntheticConfig, make_library  # noqa: E402

TARGETS = (0.9, 0.95, 0.97, 0.98)
SPLITS = 3


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


def _run(X: np.ndarray, y: np.ndarray, seed: int) -> dict[float, tuple[float, ...]]:
    from sklearn.model_selection import train_test_split

    X_lab, X_new, y_lab, y_new = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=seed
    )
    result = train_classifier(X=X_lab, y=y_lab)
    classes = np.array(result.classifier.classes)
    probs = result.classifier.predict_proba(X_new)
    predicted, confidence = classes[probs.argmax(axis=1)], probs.max(axis=1)
    right = predicted == y_new
    rows: dict[float, tuple[float, ...]] = {}
    for target in TARGETS:
        by_precision = np.zeros(len(y_new), dtype=bool)
        for k, label in enumerate(classes):
            choice = threshold_for_precision(result.metrics.precision_curves[k], target)
            if choice is not None:
                by_precision |= (predicted == label) & (confidence >= choice.threshold)
        by_confidence = confidence >= target
        rows[target] = (
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
        print(f"accuracy of filing everything: {np.mean([r[TARGETS[0]][4] for r in runs]):.3f}")
        print("target | by precision: precision (min) filed | by confidence: precision (min) filed")
        for target in TARGETS:
            cells = np.array([r[target][:4] for r in runs])
            p_prec, p_conf = cells[:, 0], cells[:, 2]
            print(
                f"{target:>6} | {np.nanmean(p_prec):.4f} ({np.nanmin(p_prec):.4f}) "
                f"{cells[:, 1].mean():>6.1%} | {np.nanmean(p_conf):.4f} ({np.nanmin(p_conf):.4f}) "
                f"{cells[:, 3].mean():>6.1%}"
            )


if __name__ == "__main__":
    main()
