"""Queue orders for active learning: which unsorted video to show next.

Each strategy takes a ``QueueCandidates`` (the unsorted videos' predictions and
whatever else it needs) and returns an ordering: a permutation of row indices, first
to show first. All are deterministic (stable sorts, ties by row order; "random" is
seeded), so the same inputs give the same queue on every worker.

Registry: ``STRATEGIES[name](candidates)``; ``DEFAULT_STRATEGY`` is
"uncertainty+diversity" (measured in bench/active_learning.py, see docs/learning.md).

No Django imports here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mlpipeline.blend import uncertainty_measures

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "QueueCandidates",
    "order_by_class_balance",
    "order_by_entropy",
    "order_by_filename",
    "order_by_margin",
    "order_by_newest",
    "order_by_uncertainty",
    "order_by_uncertainty_with_diversity",
    "order_queue",
    "order_randomly",
    "farthest_first",
]

Label = int | str


@dataclass(frozen=True, eq=False, kw_only=True)
class QueueCandidates:
    """Unsorted videos, row i the same video in every array."""

    probs: np.ndarray | None = None  # (n, k) blended folder probabilities
    classes: Sequence[Label] = ()  # column order of ``probs``
    embeddings: np.ndarray | None = None  # (n, d) pooled embeddings, for diversity
    label_counts: Mapping[Label, int] = field(default_factory=dict)  # labels per folder
    created_at: np.ndarray | None = None  # (n,) any sortable number, e.g. epoch seconds
    filenames: Sequence[str] | None = None
    seed: int = 0
    # Diversity re-orders only the most uncertain ``diversity_pool_size`` videos: the
    # point is to spread a labelling session over distinct uncertain videos, not to
    # surface confident outliers.
    diversity_pool_size: int = 100

    def __len__(self) -> int:
        for values in (self.probs, self.embeddings, self.created_at, self.filenames):
            if values is not None:
                return len(values)
        return 0

    def require_probs(self) -> np.ndarray:
        if self.probs is None:
            raise ValueError("this queue order needs predicted probabilities")
        return np.asarray(self.probs, dtype=np.float64)


OrderFunction = Callable[[QueueCandidates], np.ndarray]


def _stable_ascending(keys: np.ndarray) -> np.ndarray:
    return np.argsort(keys, kind="stable").astype(np.int64)


def order_by_uncertainty(candidates: QueueCandidates) -> np.ndarray:
    """Least confident first (lowest top-1 probability)."""
    confidence, _, _ = uncertainty_measures(candidates.require_probs())
    return _stable_ascending(confidence)


def order_by_margin(candidates: QueueCandidates) -> np.ndarray:
    """Smallest gap between the two best folders first."""
    _, margin, _ = uncertainty_measures(candidates.require_probs())
    return _stable_ascending(margin)


def order_by_entropy(candidates: QueueCandidates) -> np.ndarray:
    """Highest entropy over all folders first."""
    _, _, entropy = uncertainty_measures(candidates.require_probs())
    return _stable_ascending(-entropy)


def order_by_class_balance(candidates: QueueCandidates) -> np.ndarray:
    """Videos likely to belong to folders with few labels first.

    Score: sum over folders of p(f) / (1 + labels_f), the expected "rarity" of the
    video's folder; soft, so a video split between a rare and a big folder still
    ranks above one surely in a big folder. Ties: least confident first.
    """
    probs = candidates.require_probs()
    counts = np.array(
        [max(candidates.label_counts.get(c, 0), 0) for c in candidates.classes], np.float64
    )
    if len(counts) != probs.shape[1]:
        raise ValueError("classes must name every column of probs")
    rarity = probs @ (1.0 / (1.0 + counts))
    confidence, _, _ = uncertainty_measures(probs)
    return np.lexsort((confidence, -rarity)).astype(np.int64)


def farthest_first(embeddings: np.ndarray, *, first: int = 0) -> np.ndarray:
    """Greedy k-center order of all rows: each next row is the one farthest (cosine
    distance) from every row already chosen. Near-duplicates end up far apart in the
    order, since a copy of a chosen video has distance ~0 and waits until the end."""
    X = np.asarray(embeddings, dtype=np.float32)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), np.float32(1e-12))
    n = len(X)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    chosen = np.zeros(n, dtype=bool)
    nearest_distance = np.full(n, np.inf, dtype=np.float32)
    current = first
    for step in range(n):
        order[step] = current
        chosen[current] = True
        nearest_distance = np.minimum(nearest_distance, 1.0 - X @ X[current])
        nearest_distance[chosen] = -np.inf
        # argmax returns the first maximum: ties go to the earlier (more uncertain) row.
        current = int(np.argmax(nearest_distance))
    return order


def order_by_uncertainty_with_diversity(candidates: QueueCandidates) -> np.ndarray:
    """Most uncertain first, with the top of the queue spread out.

    Uncertain here means the smallest margin between the two best folders: the videos
    a label moves the boundary for. The ``diversity_pool_size`` smallest-margin videos
    are re-ordered farthest-first (starting from the smallest margin), then the rest
    follow by margin. Without embeddings this is plain margin order. Margin rather than
    top-1 confidence measured better (bench/active_learning.py, docs/intelligence.md):
    on scikit-learn's digits 95 % of the final accuracy took 0.44x random's labels
    instead of 0.67x (5 seeds), on the synthetic library the same. On 20 seeds this
    order needs 0.56x random's labels on digits and 0.63x on the synthetic library.
    """
    by_uncertainty = order_by_margin(candidates)
    if candidates.embeddings is None or len(by_uncertainty) <= 2:
        return by_uncertainty
    pool = by_uncertainty[: max(candidates.diversity_pool_size, 1)]
    embeddings = np.asarray(candidates.embeddings)[pool]
    spread = pool[farthest_first(embeddings, first=0)]
    return np.concatenate([spread, by_uncertainty[len(pool) :]])


def order_randomly(candidates: QueueCandidates) -> np.ndarray:
    """A seeded shuffle: the baseline every other order must beat."""
    return np.random.default_rng(candidates.seed).permutation(len(candidates)).astype(np.int64)


def order_by_newest(candidates: QueueCandidates) -> np.ndarray:
    """Most recently added first (ties: row order)."""
    if candidates.created_at is None:
        raise ValueError("the 'newest' order needs created_at")
    return _stable_ascending(-np.asarray(candidates.created_at, dtype=np.float64))


_DIGITS = re.compile(r"(\d+)")


def _natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    # "clip2" before "clip10", case-insensitive: the order a file manager shows.
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in _DIGITS.split(name.casefold())
        if part
    )


def order_by_filename(candidates: QueueCandidates) -> np.ndarray:
    """Natural, case-insensitive filename order (the order a file manager shows)."""
    if candidates.filenames is None:
        raise ValueError("the 'filename' order needs filenames")
    names = list(candidates.filenames)
    return np.array(
        sorted(range(len(names)), key=lambda i: (_natural_key(names[i]), names[i], i)),
        dtype=np.int64,
    )


STRATEGIES: dict[str, OrderFunction] = {
    "uncertainty": order_by_uncertainty,
    "margin": order_by_margin,
    "entropy": order_by_entropy,
    "class_balance": order_by_class_balance,
    "uncertainty+diversity": order_by_uncertainty_with_diversity,
    "random": order_randomly,
    "newest": order_by_newest,
    "filename": order_by_filename,
}

DEFAULT_STRATEGY = "uncertainty+diversity"


def order_queue(name: str, candidates: QueueCandidates) -> np.ndarray:
    """Ordering (row indices) of ``candidates`` by the strategy called ``name``."""
    try:
        strategy = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown queue order {name!r}; known: {sorted(STRATEGIES)}") from None
    return strategy(candidates)
