"""Benchmark: new-folder suggestions recover a category that has no folder yet.

    .venv/bin/python bench/suggestions.py               # synthetic library, 5 runs
    .venv/bin/python bench/suggestions.py --runs 10
    .venv/bin/python bench/suggestions.py --sweep --compare   # held-out seeds 20-29
        # every folder removed in turn, per seed; --compare: also without the purge

Seeds 0-5 were used to choose the purge's settings (``neighbours``, ``max_sorted_share``);
quote figures from other seeds (held out): 20-29 (10-14 were looked at once).

Each run takes the synthetic library (mlpipeline.synthetic: 20 folders, skewed sizes,
multi-modal and confusable folders, reposts, a common direction), removes one folder
(all its videos become unsorted), keeps 30 % of every other folder's videos sorted and
the rest unsorted, trains the classifier on the sorted ones for the confidences, and
runs mlpipeline.suggestions. It prints, per run: the suggestions, how well the best one
matches the missing category (purity, recall), the adjusted Rand index over the
unsorted videos (missing category vs the rest), how many suggestions are mostly an
existing category (should be 0), and whether the vocabulary name is the category's.
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlpipeline.classifier import fit_classifier  # noqa: E402
from mlpipeline.suggestions import SuggestionConfig, suggest_folders  # noqa: E402
from mlpipeline.synthetic import SyntheticConfig, make_library  # noqa: E402


def run(seed: int, missing: int, config: SuggestionConfig) -> dict:
    from sklearn.metrics import adjusted_rand_score

    library = make_library(SyntheticConfig(seed=seed))
    rng = np.random.default_rng(seed)
    sorted_mask = (library.y != missing) & (rng.random(len(library.y)) < 0.3)
    U, truth = library.X[~sorted_mask], library.y[~sorted_mask]
    L, labels = library.X[sorted_mask], library.y[sorted_mask]
    model = fit_classifier(X=L, y=labels)
    confidence = model.predict_proba(U).max(axis=1)
    vocabulary = dict(zip(library.class_names, library.text_vectors, strict=True))
    names = [library.class_names[k] for k in sorted(set(labels.tolist()))]
    started = time.perf_counter()
    found = suggest_folders(
        U,
        labelled=L,
        labels=labels.tolist(),
        confidence=confidence,
        vocabulary=vocabulary,
        folder_names=names,
        config=config,
    )
    seconds = time.perf_counter() - started
    assigned = np.full(len(U), -1)
    for k, suggestion in enumerate(found):
        assigned[suggestion.members] = k
    is_missing = truth == missing
    best = max(found, key=lambda s: int(is_missing[s.members].sum()), default=None)
    purity = float(is_missing[best.members].mean()) if best else 0.0
    recall = float(is_missing[best.members].sum() / is_missing.sum()) if best else 0.0
    existing = sum(1 for s in found if is_missing[s.members].mean() < 0.5)
    ari = adjusted_rand_score(
        is_missing.astype(int), (assigned == (found.index(best) if best else -2)).astype(int)
    )
    return {
        "seed": seed,
        "missing": library.class_names[missing],
        "n_missing": int(is_missing.sum()),
        "unsorted": len(U),
        "suggestions": [(s.name, s.size, s.cohesion) for s in found],
        "purity": purity,
        "recall": recall,
        "ari": ari,
        "existing": existing,
        "named": bool(best and best.name == library.class_names[missing]),
        "seconds": seconds,
    }


def sweep(seeds: list[int], config: SuggestionConfig, label: str) -> None:
    """Every folder removed in turn for each seed; one line per run, then the totals."""
    rows = []
    print(f"\n{label}: {config}")
    for seed in seeds:
        for missing in range(SyntheticConfig().n_classes):
            row = run(seed, missing, config)
            rows.append(row)
            print(
                f"  seed {seed:>2} {row['missing']} ({row['n_missing']:>3}): "
                f"{len(row['suggestions'])} suggestions, purity {row['purity']:.2f} "
                f"recall {row['recall']:.2f} ARI {row['ari']:.2f} existing {row['existing']}"
            )
    n = len(rows)
    recovered = sum(r["purity"] >= 0.5 for r in rows)  # a suggestion mostly the missing one
    again = sum(r["existing"] > 0 for r in rows)
    print(
        f"{label}: recovered {recovered}/{n}  re-proposed existing {again}/{n} runs "
        f"({sum(r['existing'] for r in rows)} suggestions)  ARI {np.mean([r['ari'] for r in rows]):.3f}"
        f"  purity {np.mean([r['purity'] for r in rows]):.3f}"
        f"  recall {np.mean([r['recall'] for r in rows]):.3f}"
        f"  named right {sum(r['named'] for r in rows)}/{n}"
        f"  {np.mean([r['seconds'] for r in rows]):.2f} s per run"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sweep", action="store_true", help="every folder removed in turn")
    parser.add_argument("--seeds", default="20,21,22,23,24,25,26,27,28,29", help="for --sweep")
    parser.add_argument("--compare", action="store_true", help="--sweep without the purge too")
    args = parser.parse_args()
    config = SuggestionConfig()
    if args.sweep:
        seeds = [int(s) for s in args.seeds.split(",")]
        if args.compare:
            sweep(seeds, replace(config, max_sorted_share=float("inf")), "without purge")
        sweep(seeds, config, "with purge")
        return
    print(f"config: {config}")
    rows = []
    for r in range(args.runs):
        seed, missing = r, 3 + 3 * r  # mid-sized to small folders (sizes fall with the index)
        row = run(seed, missing % 20, config)
        rows.append(row)
        print(
            f"\nseed {row['seed']}: missing folder {row['missing']!r} ({row['n_missing']} videos "
            f"among {row['unsorted']} unsorted), {len(row['suggestions'])} suggestions in "
            f"{row['seconds']:.2f} s"
        )
        for name, size, cohesion in row["suggestions"]:
            print(f"    {name!r:>22} size {size:>4} cohesion {cohesion:.2f}")
        print(
            f"  best match: purity {row['purity']:.3f} recall {row['recall']:.3f}  ARI "
            f"{row['ari']:.3f}  existing folders proposed again: {row['existing']}  "
            f"named right: {row['named']}"
        )
    print("\nmean over runs:")
    for key in ("purity", "recall", "ari", "existing"):
        print(f"  {key:<9} {np.mean([r[key] for r in rows]):.3f}")
    print(f"  named right {sum(r['named'] for r in rows)}/{len(rows)}")


if __name__ == "__main__":
    main()
