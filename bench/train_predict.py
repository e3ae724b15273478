"""Benchmark: train (cross-validate + calibrate + refit) and predict a whole library.

Target (the "Learning" issue): 20,000 videos in 20 folders, 512-dim embeddings, train
and predict in < 30 s on the 2-core CPU box.

    .venv/bin/python bench/train_predict.py                      # synthetic 20k x 512, 20 folders
    .venv/bin/python bench/train_predict.py --embeddings demo.npz --c 0.5 2 8 32

``--embeddings``: an .npz with X (n, d) and y (n,), e.g. the demo library's embeddings.
``--c``: also print the cross-validated accuracy for each C (to re-check the default).
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlpipeline.classifier import ClassifierConfig, TrainedClassifier, train_classifier  # noqa: E402
from mlpipeline.synthetic import SyntheticConfig, make_library  # noqa: E402


def _load(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    if args.embeddings:
        with np.load(args.embeddings, allow_pickle=False) as data:
            return data["X"].astype(np.float32), data["y"], f"file {args.embeddings}"
    library = make_library(
        SyntheticConfig(n_samples=args.videos, n_classes=args.folders, dim=args.dim, seed=args.seed)
    )
    return library.X, library.y, f"synthetic seed={args.seed}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20_000)
    parser.add_argument("--folders", type=int, default=20)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--embeddings", type=Path, default=None)
    parser.add_argument("--c", type=float, nargs="*", default=[], help="C values to compare")
    args = parser.parse_args()

    X, y, source = _load(args)
    counts = np.unique(y, return_counts=True)[1]
    print(
        f"data: {source}: {X.shape[0]} videos x {X.shape[1]} dims, {len(counts)} folders "
        f"(sizes {counts.min()}-{counts.max()})"
    )
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

    started = time.perf_counter()
    result = train_classifier(X=X, y=y, metadata={"model_id": "bench"})
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    probs = result.classifier.predict_proba(X)
    predict_seconds = time.perf_counter() - started

    blob = result.classifier.to_bytes()
    started = time.perf_counter()
    TrainedClassifier.from_bytes(blob)
    load_seconds = time.perf_counter() - started

    timings = result.timings_seconds
    metrics = result.metrics
    print(f"cross-validation ({metrics.n_folds} folds): {timings['cross_validation']:6.2f} s")
    print(f"calibration (temperature):    {timings['calibration']:6.2f} s")
    print(f"refit on all labels:          {timings['refit']:6.2f} s")
    print(f"train total (incl. checks):   {train_seconds:6.2f} s")
    print(f"predict {len(X)} videos:       {predict_seconds:6.2f} s")
    print(
        f"TOTAL train + predict:        {train_seconds + predict_seconds:6.2f} s  (target < 30 s)"
    )
    print(f"classifier blob: {len(blob) / 1024:.0f} KiB, load {load_seconds * 1000:.1f} ms")
    print(
        f"CV accuracy {metrics.accuracy:.4f}, balanced {metrics.balanced_accuracy:.4f}, "
        f"ECE {metrics.ece_before_calibration:.4f} -> {metrics.ece_after_calibration:.4f} "
        f"(T = {metrics.temperature:.3f}), C = {metrics.regularisation_c}"
    )
    print(f"load average {os.getloadavg()[0]:.2f} at end; probs {probs.shape}")

    for c in args.c:
        started = time.perf_counter()
        other = train_classifier(X=X, y=y, config=ClassifierConfig(c=c)).metrics
        print(
            f"C = {c:<6g} CV accuracy {other.accuracy:.4f} balanced {other.balanced_accuracy:.4f} "
            f"log-loss(cal) {other.log_loss_after_calibration:.4f}  [{time.perf_counter() - started:.1f} s]"
        )


if __name__ == "__main__":
    main()
