"""Near-duplicate videos from per-frame embeddings, with a temporal alignment.

Two clips are near-duplicates when their frame sequences line up: a re-encode, a resize, a
crop of a few percent, a watermark or a speed change keep every sampled frame close to
its counterpart, in order. Comparing only the pooled vector or the first frame is not
enough: two different clips that share an intro (or a black first second) agree on their
first frames and nowhere else, and the alignment score, a mean over the whole aligned
path, sees that.

Steps (docs/intelligence.md has the measured thresholds):

1. Centre: subtract the collection's mean frame vector and re-normalise. CLIP-like
   features share a large common direction (random-weight models even more so), which
   makes every cosine high; centring compares what distinguishes clips.
2. Candidates: each clip's nearest neighbours by pooled (centred) vector, in blocks,
   kept when the cosine is at least ``candidate_min``: O(n * k) pairs, not O(n^2).
3. Duration: the shorter clip must last at least ``duration_ratio_min`` of the longer.
4. Alignment: dynamic time warping over the frame-by-frame cosine matrix (steps
   (1,1), (1,0), (0,1)); the score is the mean similarity along the best path, and the
   pair is a duplicate when it is at least ``align_min`` and the worst aligned frame is
   at least ``frame_min``.
5. Groups: duplicate pairs merged best first with average linkage (two groups join when
   most of their cross pairs are duplicates), exact copies (same content hash) first.

Pure numpy; no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DuplicateConfig:
    candidate_k: int = 10  # nearest neighbours per clip by pooled vector
    candidate_min: float = 0.3  # centred pooled cosine to become a candidate
    align_min: float = 0.75  # mean centred cosine along the DTW path
    frame_min: float = 0.3  # no aligned frame pair below this
    duration_ratio_min: float = 0.7  # shorter / longer duration
    block: int = 1024  # rows per block of the neighbour search


@dataclass(frozen=True)
class Clip:
    """One video's frame vectors (frames x dim, any norm) and its duration in seconds."""

    frames: np.ndarray
    duration: float | None = None


@dataclass(frozen=True)
class PairScore:
    i: int
    j: int
    pooled: float
    align: float
    worst: float
    duration_ratio: float
    duplicate: bool


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def frame_mean(clips: Sequence[Clip]) -> np.ndarray:
    """The mean of every clip's unit frame vectors (the direction all clips share)."""
    total: np.ndarray | None = None
    count = 0
    for clip in clips:
        frames = _unit_rows(clip.frames)
        summed = frames.sum(axis=0)
        total = summed if total is None else total + summed
        count += len(frames)
    if total is None or count == 0:
        raise ValueError("no frames")
    return (total / count).astype(np.float32)


def centred_frames(frames: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Unit frame vectors minus ``mean``, re-normalised: rows of unit length."""
    return _unit_rows(_unit_rows(frames) - mean)


def pooled(frames_centred: np.ndarray) -> np.ndarray:
    return _unit_rows(frames_centred.mean(axis=0, keepdims=True))[0]


def dtw_alignment(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean, worst) cosine along the best monotone alignment of unit rows ``a`` and ``b``.

    Dynamic time warping on the cost 1 - cosine with steps (1,1), (1,0), (0,1); the path
    runs from the first frames to the last frames of both, so every frame of each clip is
    matched to some frame of the other.
    """
    sim = np.asarray(a @ b.T, dtype=np.float64)
    n, m = sim.shape
    cost = 1.0 - sim
    acc = np.full((n + 1, m + 1), np.inf)
    steps = np.zeros((n + 1, m + 1), dtype=np.int32)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            options = (acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
            best = int(np.argmin(options))
            acc[i, j] = cost[i - 1, j - 1] + options[best]
            steps[i, j] = best
    path: list[float] = []
    i, j = n, m
    while i > 0 and j > 0:
        path.append(float(sim[i - 1, j - 1]))
        step = int(steps[i, j])
        if step == 0:
            i, j = i - 1, j - 1
        elif step == 1:
            i -= 1
        else:
            j -= 1
    return float(np.mean(path)), float(np.min(path))


def candidate_pairs(
    vectors: np.ndarray, *, k: int, minimum: float, block: int = 1024
) -> list[tuple[int, int, float]]:
    """(i, j, cosine) with i < j: each row's ``k`` nearest rows with cosine >= ``minimum``.

    ``vectors`` are unit rows. Blocked matrix products: memory O(block * n).
    """
    n = len(vectors)
    found: dict[tuple[int, int], float] = {}
    if n < 2:
        return []
    k = min(k, n - 1)
    for start in range(0, n, block):
        sims = vectors[start : start + block] @ vectors.T
        rows = np.arange(len(sims))
        sims[rows, rows + start] = -np.inf  # not itself
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for row, columns in zip(rows, top, strict=True):
            for column in columns:
                score = float(sims[row, column])
                if score >= minimum:
                    a, b = int(row) + start, int(column)
                    i, j = min(a, b), max(a, b)
                    found[(i, j)] = score
    return [(i, j, score) for (i, j), score in sorted(found.items())]


def duration_ratio(a: float | None, b: float | None) -> float:
    """Shorter over longer; 1.0 when a duration is unknown (the frames decide alone)."""
    if not a or not b or a <= 0 or b <= 0:
        return 1.0
    return min(a, b) / max(a, b)


def score_pair(
    a: np.ndarray,
    b: np.ndarray,
    *,
    durations: tuple[float | None, float | None],
    config: DuplicateConfig,
    i: int = 0,
    j: int = 1,
) -> PairScore:
    """Score two clips' centred frame vectors (unit rows)."""
    ratio = duration_ratio(*durations)
    pooled_cos = float(pooled(a) @ pooled(b))
    align, worst = dtw_alignment(a, b)
    duplicate = (
        ratio >= config.duration_ratio_min
        and align >= config.align_min
        and worst >= config.frame_min
    )
    return PairScore(i, j, pooled_cos, align, worst, ratio, duplicate)


def near_duplicate_pairs(
    clips: Sequence[Clip],
    *,
    config: DuplicateConfig | None = None,
    mean: np.ndarray | None = None,
) -> list[PairScore]:
    """Candidate pairs of ``clips`` with their scores (``duplicate`` says the verdict)."""
    config = config or DuplicateConfig()
    if len(clips) < 2:
        return []
    return _scored_candidates(clips, _centred(clips, mean), config)


def _centred(clips: Sequence[Clip], mean: np.ndarray | None) -> list[np.ndarray]:
    if mean is None:
        mean = frame_mean(clips)
    return [centred_frames(clip.frames, mean) for clip in clips]


def _scored_candidates(
    clips: Sequence[Clip], frames: list[np.ndarray], config: DuplicateConfig
) -> list[PairScore]:
    vectors = np.stack([pooled(f) for f in frames])
    pairs = candidate_pairs(
        vectors, k=config.candidate_k, minimum=config.candidate_min, block=config.block
    )
    scored = []
    for i, j, _ in pairs:
        if duration_ratio(clips[i].duration, clips[j].duration) < config.duration_ratio_min:
            continue  # cheap check first: no alignment needed
        scored.append(
            score_pair(
                frames[i],
                frames[j],
                durations=(clips[i].duration, clips[j].duration),
                config=config,
                i=i,
                j=j,
            )
        )
    return scored


def duplicate_groups(
    clips: Sequence[Clip],
    *,
    exact_keys: Sequence[str] | None = None,
    config: DuplicateConfig | None = None,
    mean: np.ndarray | None = None,
) -> list[list[int]]:
    """Groups of clip indices: equal ``exact_keys`` (content hashes) or near-duplicates.

    Exact copies are merged first. Near-duplicate pairs are then merged best first, with
    average linkage: two groups join when the mean verdict over *all* their cross pairs
    says duplicate, so one borderline pair cannot chain two families into one group (as
    connected components of the pairs would).
    """
    config = config or DuplicateConfig()
    groups = _Groups(len(clips))
    keys = list(exact_keys) if exact_keys is not None else [""] * len(clips)
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key:
            groups.union(first.setdefault(key, index), index)
    if len(clips) < 2:
        return groups.members()
    frames = _centred(clips, mean)
    verdict = _Verdicts(clips, frames, keys, config)
    scored = [p for p in _scored_candidates(clips, frames, config) if p.duplicate]
    for pair in sorted(scored, key=lambda p: -p.align):
        verdict.known[(pair.i, pair.j)] = True
        a, b = groups.members_of(pair.i), groups.members_of(pair.j)
        if a is b:
            continue
        votes = [verdict(x, y) for x in a for y in b]
        if sum(votes) * 2 > len(votes):
            groups.union(pair.i, pair.j)
    return groups.members()


class _Verdicts:
    """Is (i, j) a duplicate pair? Scored once, on demand."""

    def __init__(
        self,
        clips: Sequence[Clip],
        frames: list[np.ndarray],
        keys: list[str],
        config: DuplicateConfig,
    ) -> None:
        self.clips, self.frames, self.keys, self.config = clips, frames, keys, config
        self.known: dict[tuple[int, int], bool] = {}

    def __call__(self, i: int, j: int) -> bool:
        key = (min(i, j), max(i, j))
        if key not in self.known:
            if self.keys[i] and self.keys[i] == self.keys[j]:
                self.known[key] = True
            else:
                durations = (self.clips[i].duration, self.clips[j].duration)
                self.known[key] = score_pair(
                    self.frames[i], self.frames[j], durations=durations, config=self.config
                ).duplicate
        return self.known[key]


class _Groups:
    """Union-find that also keeps each root's member list."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.lists: dict[int, list[int]] = {x: [x] for x in range(n)}

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def members_of(self, x: int) -> list[int]:
        return self.lists[self.find(x)]

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        keep, gone = min(ra, rb), max(ra, rb)
        self.parent[gone] = keep
        self.lists[keep] += self.lists.pop(gone)

    def members(self) -> list[list[int]]:
        found = [sorted(group) for group in self.lists.values() if len(group) > 1]
        return sorted(found, key=lambda group: (-len(group), group[0]))


def group_labels(n: int, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """One group id per item: members of a group share their group's id, others their own."""
    labels = np.arange(n)
    for group in groups:
        labels[list(group)] = min(group)
    return labels


def keep_apart(
    items: Sequence[int], group_of: dict[int, int], *, complete: bool = True
) -> list[int]:
    """``items`` re-ordered so that no two members of one group come back to back.

    Greedy and stable: each position takes the earliest remaining item whose group
    differs from the previous item's. When ``items`` is the whole queue (``complete``),
    a group holding half of what remains goes next, so that the end of the queue is not
    left to one group whenever any order could avoid it. Items absent from ``group_of``
    are groups of their own.
    """
    remaining = list(items)
    ordered: list[int] = []
    previous: int | None = None
    while remaining:
        groups = [group_of.get(item, -1 - item) for item in remaining]
        pick = next((k for k, g in enumerate(groups) if g != previous), 0)
        if complete:
            largest = max(set(groups), key=groups.count)
            if largest != previous and 2 * groups.count(largest) >= len(remaining):
                pick = groups.index(largest)
        ordered.append(remaining.pop(pick))
        previous = groups[pick]
    return ordered
