"""Synthetic embedding libraries with known answers, for tests and benchmarks.

Real CLIP video embeddings have a few properties that matter for the learning code, and
the generator reproduces each of them so that a result measured here says something
about the real thing:

- they live on the unit sphere and share a large common direction (every vector has
  cosine ~0.5 with the mean), so raw cosines are compressed;
- folders are multi-modal ("cooking" = close-ups of pans + people at a table) and some
  folders overlap ("soccer" vs "football_highlights");
- folder sizes are heavily skewed (one folder of 3,000 memes, one of 40 recipes);
- libraries contain reposts: near-duplicates that a queue should not show back to back;
- CLIP text embeddings sit in a different region of the sphere than image embeddings
  (the "modality gap"): a folder's text vector is only weakly aligned with its videos,
  so zero-shot cosines sit around 0.2-0.3 and zero-shot accuracy is far from perfect.

Everything is seeded; the same config gives the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SyntheticConfig", "SyntheticLibrary", "make_library", "make_frame_sequence"]


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticConfig:
    n_classes: int = 20
    n_samples: int = 4000
    dim: int = 64
    # Folders differ only inside a low-dimensional "content" subspace, as in real CLIP
    # embeddings (a few dozen directions carry most of the variance); the remaining
    # directions get small isotropic noise.
    content_dim: int = 24
    isotropic_noise: float = 0.2
    # Ratio of the largest to the smallest folder; sizes fall geometrically in between.
    imbalance: float = 10.0
    # Per-direction standard deviation of the within-folder noise in the content
    # subspace, relative to unit-norm folder centres: 0.15 is nearly separable,
    # 0.3 overlaps a lot.
    noise: float = 0.28
    subclusters_per_class: int = 2
    subcluster_spread: float = 0.6
    # Number of folder pairs whose centres are pulled towards each other.
    confusable_pairs: int = 3
    confusable_closeness: float = 0.6
    # Share of videos that are reposts of another video of the same folder.
    near_duplicate_fraction: float = 0.15
    near_duplicate_noise: float = 0.03
    # Weight of the direction every embedding shares (CLIP's non-zero mean).
    common_direction_weight: float = 1.5
    # Zero-shot simulation: how much of a folder's centre its "text" vector carries
    # (the rest is the modality-gap direction), and how wrong the text is.
    text_alignment: float = 0.35
    text_noise: float = 0.9
    seed: int = 0


@dataclass(frozen=True, slots=True)
class SyntheticLibrary:
    """A labelled embedding set plus simulated folder text embeddings."""

    X: np.ndarray  # (n, d) float32, L2-normalised rows
    y: np.ndarray  # (n,) int64 folder ids 0..k-1
    class_names: tuple[str, ...]
    text_vectors: np.ndarray  # (k, d) float32, L2-normalised: simulated CLIP text side
    duplicate_of: np.ndarray  # (n,) int64: index of the original for reposts, else -1


def _class_sizes(*, n_samples: int, n_classes: int, imbalance: float) -> np.ndarray:
    # Geometric decay from largest to smallest; every folder gets at least 3 videos so
    # cross-validation and the simulation always have something to work with.
    weights = imbalance ** (-np.arange(n_classes) / max(n_classes - 1, 1))
    sizes = np.maximum(np.floor(weights / weights.sum() * n_samples).astype(int), 3)
    sizes[0] += n_samples - sizes.sum()
    return sizes


def make_library(config: SyntheticConfig | None = None) -> SyntheticLibrary:
    """Generate a seeded synthetic library according to ``config``."""
    cfg = config or SyntheticConfig()
    rng = np.random.default_rng(cfg.seed)
    d = cfg.dim
    r = min(cfg.content_dim, d)

    # Orthonormal map from the content subspace into the embedding space, plus the
    # shared direction and the text-side modality gap, both outside the content.
    basis, _ = np.linalg.qr(rng.standard_normal((d, r + 2)))
    content_to_embedding = basis[:, :r].T  # (r, d)
    common = basis[:, r] if r + 1 <= d else _unit(rng.standard_normal(d))
    modality_gap = basis[:, r + 1] if r + 2 <= d else _unit(rng.standard_normal(d))

    centres = rng.standard_normal((cfg.n_classes, r))
    for pair in range(min(cfg.confusable_pairs, cfg.n_classes // 2)):
        a, b = 2 * pair, 2 * pair + 1
        centres[b] = (
            cfg.confusable_closeness * centres[a] + (1 - cfg.confusable_closeness) * centres[b]
        )
    centres = _normalise_rows(centres)

    sizes = _class_sizes(n_samples=cfg.n_samples, n_classes=cfg.n_classes, imbalance=cfg.imbalance)
    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for class_id, size in enumerate(sizes):
        sub_centres = centres[class_id] + cfg.subcluster_spread * rng.standard_normal(
            (cfg.subclusters_per_class, r)
        ) / np.sqrt(r)
        assignment = rng.integers(0, cfg.subclusters_per_class, size=size)
        noise = cfg.noise * rng.standard_normal((size, r))
        rows.append(sub_centres[assignment] + noise)
        labels.append(np.full(size, class_id, dtype=np.int64))
    content = np.concatenate(rows)
    y = np.concatenate(labels)

    # Reposts: replace some videos with a jittered copy of another video of the same
    # folder.
    duplicate_of = np.full(len(y), -1, dtype=np.int64)
    n_duplicates = int(cfg.near_duplicate_fraction * len(y))
    if n_duplicates:
        targets = rng.choice(len(y), size=n_duplicates, replace=False)
        is_target = np.zeros(len(y), dtype=bool)
        is_target[targets] = True
        for target in targets:
            candidates = np.flatnonzero((y == y[target]) & ~is_target)
            if len(candidates) == 0:
                continue
            source = int(rng.choice(candidates))
            content[target] = content[source] + cfg.near_duplicate_noise * rng.standard_normal(r)
            duplicate_of[target] = source

    points = (
        content @ content_to_embedding
        + cfg.isotropic_noise * rng.standard_normal((len(y), d)) / np.sqrt(d)
        + cfg.common_direction_weight * common
    )
    X = _normalise_rows(points).astype(np.float32)

    text_content = _normalise_rows(
        centres + cfg.text_noise * rng.standard_normal((cfg.n_classes, r)) / np.sqrt(r)
    )
    text_vectors = _normalise_rows(
        cfg.text_alignment * (text_content @ content_to_embedding)
        + (1 - cfg.text_alignment) * modality_gap
    ).astype(np.float32)

    # Shuffle so that row order carries no label information (the simulation and
    # "newest"/"filename" orders must not get the answer from the index).
    order = rng.permutation(len(y))
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    remapped_duplicates = np.where(duplicate_of[order] >= 0, inverse[duplicate_of[order]], -1)
    return SyntheticLibrary(
        X=X[order],
        y=y[order],
        class_names=tuple(f"folder_{i:02d}" for i in range(cfg.n_classes)),
        text_vectors=text_vectors,
        duplicate_of=remapped_duplicates.astype(np.int64),
    )


def make_frame_sequence(
    *,
    duration: float,
    n_frames: int,
    true_intervals: list[tuple[float, float]],
    high: float = 0.9,
    low: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Evenly spaced frame timestamps and scores that are ``high`` inside intervals.

    Frames sit at the centres of ``n_frames`` equal slices of the video, which is how
    the frame sampler spreads them, so frame boundaries fall on slice edges.
    """
    timestamps = (np.arange(n_frames) + 0.5) * duration / n_frames
    inside = np.zeros(n_frames, dtype=bool)
    for start, end in true_intervals:
        inside |= (timestamps >= start) & (timestamps < end)
    return timestamps, np.where(inside, high, low).astype(np.float64)
