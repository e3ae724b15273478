"""Benchmark: active-learning queue orders and the zero-shot/trained blend, simulated.

    .venv/bin/python bench/active_learning.py                 # synthetic and digits, 20 seeds
    .venv/bin/python bench/active_learning.py --dataset digits --skip-blend
    .venv/bin/python bench/active_learning.py --embeddings demo.npz --seeds 3

Data sets it knows: "synthetic" (mlpipeline.synthetic, made here) and "digits" (scikit-learn's
bundled handwritten digits: 1,797 real labelled images, 10 classes, 64 pixel features,
which nobody here made); ``--embeddings`` reads any labelled set.

Part 1 starts every queue order from the same few labels per folder, labels batches of
20 chosen by the order, retrains, and records held-out accuracy; it prints the mean
curves, the labels each order needs to reach 90 % / 95 % of the accuracy of a model
trained on the whole pool, and saves bench/out/active_learning.png. The 95 % figure against
random is noisy (random's curve is flat there, so a few seeds move it by whole batches): it
also prints a 90 % bootstrap interval of that ratio, seeds resampled (the same seeds for
both orders).
Part 2 (needs folder text vectors: synthetic, or `text_vectors` in the .npz) compares
zero-shot alone, trained alone and the blend for few labels per folder, and for a
library with 5 brand-new (0-label) folders.
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

from mlpipeline.evaluation import (  # noqa: E402
    SimulationConfig,
    SimulationResult,
    labels_to_reach,
    simulate_active_learning,
    simulate_blend,
)
from mlpipeline.synthetic import SyntheticConfig, make_library  # noqa: E402

OUT_DIR = Path(__file__).resolve().parent / "out"
DATASETS = ("synthetic", "digits")


def _load(
    args: argparse.Namespace, dataset: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    if args.embeddings:
        with np.load(args.embeddings, allow_pickle=False) as data:
            text = data["text_vectors"] if "text_vectors" in data.files else None
            return data["X"], data["y"], text, f"file {args.embeddings}"
    if dataset == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X.astype(np.float32), y, None, "scikit-learn digits (real, bundled)"
    library = make_library(SyntheticConfig(seed=args.data_seed))
    return library.X, library.y, library.text_vectors, f"synthetic {SyntheticConfig()}"


def _print_curves(result: SimulationResult, every: int) -> None:
    strategies = result.config.strategies
    n_labels, _, _ = result.mean_curve(strategies[0])
    print("\nmean held-out accuracy by number of labels (over seeds)")
    print("labels " + " ".join(f"{s:>22}" for s in strategies))
    for row in range(0, len(n_labels), every):
        cells = []
        for strategy in strategies:
            _, mean, std = result.mean_curve(strategy)
            cells.append(f"{mean[row]:>15.3f} ±{std[row]:.3f}")
        print(f"{n_labels[row]:>6} " + " ".join(cells))


def _print_labels_to_reach(result: SimulationResult) -> None:
    reference = result.mean_reference_accuracy
    print(f"\nreference (model trained on the whole pool): accuracy {reference:.3f}")
    print(
        f"{'strategy':>22} {'final acc':>9} {'to 90%':>7} {'vs random':>9} "
        f"{'to 95%':>7} {'vs random':>9}"
    )
    random_needs = {}
    for fraction in (0.90, 0.95):
        n, mean, _ = result.mean_curve("random")
        random_needs[fraction] = labels_to_reach(n, mean, target=fraction * reference)
    for strategy in result.config.strategies:
        n, mean, _ = result.mean_curve(strategy)
        cells = [f"{strategy:>22}", f"{mean[-1]:>9.3f}"]
        for fraction in (0.90, 0.95):
            needed = labels_to_reach(n, mean, target=fraction * reference)
            baseline = random_needs[fraction]
            cells.append(f"{needed if needed is not None else f'>{n[-1]}':>7}")
            cells.append(f"{needed / baseline:>9.2f}" if needed and baseline else f"{'-':>9}")
        print(" ".join(cells))


def _ratio_interval(
    result: SimulationResult, strategy: str, *, fraction: float = 0.95, draws: int = 1000
) -> tuple[float, float] | None:
    """90 % bootstrap interval of (labels ``strategy`` needs) / (labels random needs) to
    reach ``fraction`` of the final accuracy, over seeds resampled with replacement."""
    seeds = list(result.config.seeds)

    def stacked(name: str) -> tuple[np.ndarray, np.ndarray]:
        curves = {c.seed: c for c in result.curves if c.strategy == name}
        length = min(len(c.n_labels) for c in curves.values())
        return (
            np.array(curves[seeds[0]].n_labels[:length]),
            np.array([curves[s].accuracy[:length] for s in seeds]),
        )

    n_random, random_acc = stacked("random")
    n_order, order_acc = stacked(strategy)
    reference = np.array([result.reference_accuracy[s] for s in seeds])
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(draws):
        pick = rng.integers(0, len(seeds), size=len(seeds))
        target = fraction * reference[pick].mean()
        base = labels_to_reach(n_random, random_acc[pick].mean(axis=0), target=target)
        needed = labels_to_reach(n_order, order_acc[pick].mean(axis=0), target=target)
        if base and needed:
            ratios.append(needed / base)
    if len(ratios) < draws // 2:
        return None
    low, high = np.percentile(ratios, [5, 95])
    return float(low), float(high)


def _print_intervals(result: SimulationResult) -> None:
    print("\nto 95 % vs random, 90 % bootstrap interval over seeds")
    for strategy in result.config.strategies:
        if strategy == "random":
            continue
        interval = _ratio_interval(result, strategy)
        text = f"{interval[0]:.2f}-{interval[1]:.2f}" if interval else "-"
        print(f"{strategy:>22} {text:>11}")


def _plot(result: SimulationResult, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 5))
    for strategy in result.config.strategies:
        n, mean, std = result.mean_curve(strategy)
        axis.plot(n, mean, label=strategy, linewidth=2 if strategy == "random" else 1.5)
        axis.fill_between(n, mean - std, mean + std, alpha=0.12)
    reference = result.mean_reference_accuracy
    axis.axhline(reference, color="black", linestyle=":", label="all pool labelled")
    axis.axhline(0.9 * reference, color="grey", linestyle="--", label="90 % of that")
    axis.set_xlabel("labels")
    axis.set_ylabel("held-out accuracy")
    axis.set_title(title)
    axis.legend(loc="lower right", fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _print_blend(X: np.ndarray, y: np.ndarray, text: np.ndarray, seeds: tuple[int, ...]) -> None:
    priors = (1.0, 3.0, 10.0)
    print("\nblend vs parts: held-out accuracy with N labels in every folder")
    print(
        f"{'N':>3} {'zero-shot':>9} {'trained':>8} "
        + " ".join(f"{f'blend k0={k:g}':>12}" for k in priors)
        + f" {'uncal.k0=3':>10}"
    )
    for row in simulate_blend(X=X, y=y, text_vectors=text, seeds=seeds, prior_labels_grid=priors):
        trained = f"{row.trained:>8.3f}" if row.trained is not None else f"{'-':>8}"
        print(
            f"{row.labels_per_folder:>3} {row.zero_shot:>9.3f} {trained} "
            + " ".join(f"{row.blended[k]:>12.3f}" for k in priors)
            + f" {row.blended_uncalibrated:>10.3f}"
        )
    print("\nsame, but the last 5 folders are new (0 labels); 'new' = accuracy on their videos")
    print(
        f"{'N':>3} {'zero-shot':>9} {'trained':>8} {'blend k0=3':>10} | "
        f"{'new: zs':>8} {'trained':>8} {'blend':>8}"
    )
    for row in simulate_blend(
        X=X,
        y=y,
        text_vectors=text,
        seeds=seeds,
        prior_labels_grid=(3.0,),
        labels_per_folder=(2, 5, 10, 20),
        new_folders=5,
    ):
        print(
            f"{row.labels_per_folder:>3} {row.zero_shot:>9.3f} {row.trained:>8.3f} "
            f"{row.blended[3.0]:>10.3f} | {row.new_folder_zero_shot:>8.3f} "
            f"{row.new_folder_trained:>8.3f} {row.new_folder_blended[3.0]:>8.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embeddings", type=Path, default=None)
    parser.add_argument("--dataset", choices=("all", *DATASETS), default="all")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--initial-per-folder", type=int, default=2)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--max-labels", type=int, default=600)
    parser.add_argument("--skip-blend", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "active_learning.png")
    args = parser.parse_args()
    datasets = ["file"] if args.embeddings else list(DATASETS)
    if args.dataset != "all" and not args.embeddings:
        datasets = [args.dataset]
    for dataset in datasets:
        _run(args, dataset)


def _run(args: argparse.Namespace, dataset: str) -> None:
    X, y, text, source = _load(args, dataset)
    counts = np.unique(y, return_counts=True)[1]
    print(f"data: {source}")
    print(
        f"{len(y)} videos x {X.shape[1]} dims, {len(counts)} folders (sizes {counts.min()}-"
        f"{counts.max()}); load average {os.getloadavg()[0]:.2f}"
    )
    seeds = tuple(range(args.seeds))
    config = SimulationConfig(
        initial_labels_per_class=args.initial_per_folder,
        batch_size=args.batch,
        max_labels=args.max_labels,
        seeds=seeds,
    )
    started = time.perf_counter()
    result = simulate_active_learning(X=X, y=y, config=config)
    print(
        f"simulation: {len(config.strategies)} orders x {len(seeds)} seeds in "
        f"{time.perf_counter() - started:.1f} s"
    )
    _print_curves(result, every=max(1, 100 // args.batch))
    _print_labels_to_reach(result)
    _print_intervals(result)
    out = (
        args.out
        if dataset in ("synthetic", "file")
        else args.out.with_stem(f"{args.out.stem}_{dataset}")
    )
    _plot(result, out, f"Active learning ({dataset}), {len(counts)} folders, {len(seeds)} seeds")
    print(f"\nplot: {out}")

    if not args.skip_blend:
        if text is None:
            print("\nblend comparison skipped: no text_vectors in the embeddings file")
        else:
            started = time.perf_counter()
            _print_blend(X, y, text, seeds)
            print(f"blend simulation: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
