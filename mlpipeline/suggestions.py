"""New-folder suggestions: clusters of unsorted videos that no folder explains well.

1. Unexplained: an unsorted video whose best folder's confidence is below
   ``max_confidence`` *and* whose pooled vector is farther from every folder's centroid
   than ``far_quantile`` of the sorted videos are from their own folder's centroid.
   (Either test alone proposes existing folders again: a folder with few labels gives
   its own videos low confidence, and a spread-out folder has far members.)
2. Cluster them with scikit-learn's HDBSCAN (density based: the number of clusters is
   not given, and videos in no dense region stay unclustered) on centred unit vectors.
3. Drop clusters whose centroid is as close to an existing folder's centroid as that
   folder's own members typically are: an existing category is not proposed again.
4. Purge each grown cluster of the videos that sit where sorted videos are: a member
   whose ``neighbours`` nearest videos (sorted and unsorted) hold sorted ones at more
   than ``max_sorted_share`` times the library's sorted share is an existing folder's
   stray, not part of a new category (a category without a folder has no sorted video
   anywhere near it). Mixed clusters of a small new category and strays of big folders
   otherwise end up more existing than new.
5. Describe each: size, cohesion (mean cosine of the members to their centroid, centred
   space), the most central members first, and a name: the vocabulary word (a text
   vector, when the model is text-aligned) nearest the centroid, else the words that
   the members' transcripts and on-screen text use much more than other videos.

Pure numpy + scikit-learn (imported inside the function); no Django.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

STOPWORDS = frozenset(
    "the and for you that this with are was have not but all can your what when out "
    "just from they will his her she him its our their there here about like get got "
    "one two how who why which would could should into then than them these those some "
    "more very also been were has had did does don now new see let yes well okay video".split()
)
WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


@dataclass(frozen=True)
class SuggestionConfig:
    max_confidence: float = 0.6
    far_quantile: float = 0.9
    min_cluster_size: int = 5  # HDBSCAN's
    min_size: int = 15  # smaller suggestions (after growing) are not shown
    grow_quantile: float = 0.25  # members' cosine quantile that admits more videos
    neighbours: int = (
        30  # neighbourhood of a member for the sorted-share purge (at most the cluster's size - 1)
    )
    max_sorted_share: float = 0.6  # x the library's sorted share; above: purged
    min_samples: int | None = None
    max_suggestions: int = 8
    preview: int = 12  # most central members listed first


@dataclass
class Suggestion:
    members: list[int]  # indices into the unsorted rows, most central first
    size: int
    cohesion: float
    name: str
    keywords: list[str] = field(default_factory=list)
    name_source: str = ""  # "vocabulary", "text" or "" (numbered)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def folder_centroids(X: np.ndarray, labels: Sequence[int]) -> tuple[list[int], np.ndarray]:
    """(folder ids, unit centroids) of labelled rows ``X`` (already centred)."""
    y = np.asarray(labels)
    folders = sorted(set(y.tolist()))
    return folders, _unit_rows(np.stack([X[y == f].mean(axis=0) for f in folders]))


def unexplained(
    U: np.ndarray,
    *,
    centroids: np.ndarray,
    own_distances: np.ndarray,
    confidence: np.ndarray | None,
    config: SuggestionConfig,
) -> np.ndarray:
    """Mask over the unsorted rows ``U``: low confidence and far from every folder."""
    if len(centroids) == 0:
        return np.ones(len(U), dtype=bool)
    nearest = 1.0 - (U @ centroids.T).max(axis=1)  # cosine distance to the closest folder
    far = nearest > np.quantile(own_distances, config.far_quantile)
    if confidence is None:
        return far
    return far & (np.asarray(confidence) < config.max_confidence)


def frequent_words(
    member_texts: Sequence[str], other_texts: Sequence[str], *, exclude: set[str], top: int = 3
) -> list[str]:
    """Words in many members' texts and few others': document-frequency difference."""

    def frequencies(texts: Sequence[str]) -> Counter:
        counts: Counter = Counter()
        for text in texts:
            counts.update({w for w in WORD.findall(text.lower()) if w not in STOPWORDS})
        return counts

    inside, outside = frequencies(member_texts), frequencies(other_texts)
    n_in, n_out = max(len(member_texts), 1), max(len(other_texts), 1)
    scored = [
        (inside[w] / n_in - outside[w] / n_out, w)
        for w in inside
        if w not in exclude and inside[w] / n_in >= 0.3
    ]
    return [w for score, w in sorted(scored, key=lambda s: (-s[0], s[1]))[:top] if score > 0]


def suggest_folders(
    U: np.ndarray,
    *,
    labelled: np.ndarray,
    labels: Sequence[int],
    confidence: np.ndarray | None = None,
    texts: Sequence[str] | None = None,
    vocabulary: Mapping[str, np.ndarray] | None = None,
    folder_names: Sequence[str] = (),
    config: SuggestionConfig | None = None,
) -> list[Suggestion]:
    """Suggested new folders among the unsorted pooled vectors ``U``.

    ``labelled``/``labels``: the sorted videos' vectors and folder ids. ``confidence``:
    each unsorted video's top prediction (None: distance alone). ``texts``: each
    unsorted video's transcript + on-screen text. ``vocabulary``: word -> text vector
    (only for a text-aligned model). ``folder_names`` are never suggested as names.
    """
    config = config or SuggestionConfig()
    mean = np.vstack([U, labelled]).mean(axis=0) if len(labelled) else U.mean(axis=0)
    Uc = _unit_rows(U - mean)
    folders: list[int] = []
    centroids = np.zeros((0, U.shape[1]))
    own = np.zeros(1)
    Lc = np.zeros((0, U.shape[1]))
    if len(labelled):
        Lc = _unit_rows(labelled - mean)
        folders, centroids = folder_centroids(Lc, labels)
        index = {f: i for i, f in enumerate(folders)}
        own = 1.0 - np.einsum("ij,ij->i", Lc, centroids[[index[f] for f in labels]])
    candidates = np.flatnonzero(
        unexplained(
            Uc, centroids=centroids, own_distances=own, confidence=confidence, config=config
        )
    )
    if len(candidates) < config.min_cluster_size:
        return []
    clusters = _hdbscan(Uc[candidates], config)
    exclude = {w for name in folder_names for w in WORD.findall(name.lower())}
    taken = {name.lower() for name in folder_names}
    kept = []
    for cluster in clusters:
        rows = candidates[cluster]
        centroid = _unit_rows(Uc[rows].mean(axis=0, keepdims=True))[0]
        if not (len(centroids) and _is_existing(centroid, centroids, own, labels, folders)):
            kept.append((rows, centroid))
    found = []
    for grown_rows, _ in _grown(kept, Uc, centroids, config):
        rows = _purged(grown_rows, Uc, Lc, config)
        if len(rows) < config.min_size:
            continue
        centroid = _unit_rows(Uc[rows].mean(axis=0, keepdims=True))[0]
        raw = _unit_rows(U[rows].mean(axis=0, keepdims=True))[0]
        vocab = {w: v for w, v in (vocabulary or {}).items() if w.lower() not in taken}
        found.append(_describe(rows, centroid, raw, Uc, texts, vocab, exclude))
    found = [s for s in found if s.size >= config.min_size]
    found.sort(key=lambda s: (-s.size, -s.cohesion))
    for number, suggestion in enumerate(found, start=1):
        suggestion.name = suggestion.name or f"Suggestion {number}"
    return found[: config.max_suggestions]


def _hdbscan(X: np.ndarray, config: SuggestionConfig) -> list[np.ndarray]:
    from sklearn.cluster import HDBSCAN

    model = HDBSCAN(
        min_cluster_size=config.min_cluster_size,
        min_samples=config.min_samples,
        metric="euclidean",  # on unit rows: a monotone function of the cosine
        allow_single_cluster=True,
        copy=True,
    )
    labels = model.fit_predict(X)
    return [np.flatnonzero(labels == k) for k in sorted(set(labels.tolist()) - {-1})]


def _grown(
    kept: list[tuple[np.ndarray, np.ndarray]],
    Uc: np.ndarray,
    centroids: np.ndarray,
    config: SuggestionConfig,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each cluster plus the unsorted videos nearer its centroid than any folder's or
    other cluster's, and at least as near as most of its core members (HDBSCAN keeps
    only the dense core; the filter in step 1 was strict on purpose)."""
    if not kept:
        return []
    anchors = np.vstack([np.stack([c for _, c in kept]), centroids])
    nearest = np.argmax(Uc @ anchors.T, axis=1)
    grown = []
    for k, (rows, centroid) in enumerate(kept):
        floor = np.quantile(Uc[rows] @ centroid, config.grow_quantile)
        extra = np.flatnonzero((nearest == k) & (Uc @ centroid >= floor))
        grown.append((np.union1d(rows, extra), centroid))
    return grown


def _purged(
    rows: np.ndarray, Uc: np.ndarray, Lc: np.ndarray, config: SuggestionConfig
) -> np.ndarray:
    """``rows`` less the members whose nearest videos hold too many sorted ones."""
    total = len(Uc) + len(Lc)
    # No wider than the cluster itself: a small category's own members fill it.
    k = min(config.neighbours, len(rows) - 1)
    if len(Lc) == 0 or k < 1:
        return rows
    ceiling = config.max_sorted_share * len(Lc) / total
    pooled = np.vstack([Uc, Lc])
    keep = np.zeros(len(rows), dtype=bool)
    for start in range(0, len(rows), 256):  # bounded memory on big libraries
        chunk = rows[start : start + 256]
        similarity = Uc[chunk] @ pooled.T
        similarity[np.arange(len(chunk)), chunk] = -np.inf  # not its own neighbour
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        keep[start : start + len(chunk)] = (nearest >= len(Uc)).mean(axis=1) <= ceiling
    return rows[keep]


def _is_existing(
    centroid: np.ndarray,
    centroids: np.ndarray,
    own: np.ndarray,
    labels: Sequence[int],
    folders: list[int],
) -> bool:
    """The cluster sits where a folder's own members typically sit."""
    k = int(np.argmax(centroids @ centroid))
    members = np.asarray(labels) == folders[k]
    return bool(1.0 - float(centroids[k] @ centroid) <= np.median(own[members]))


def _describe(
    rows: np.ndarray,
    centroid: np.ndarray,
    raw: np.ndarray,
    Uc: np.ndarray,
    texts: Sequence[str] | None,
    vocabulary: Mapping[str, np.ndarray] | None,
    exclude: set[str],
) -> Suggestion:
    similarity = Uc[rows] @ centroid
    ordered = rows[np.argsort(-similarity, kind="stable")]
    suggestion = Suggestion(
        members=[int(i) for i in ordered],
        size=len(rows),
        cohesion=round(float(similarity.mean()), 4),
        name="",
    )
    if texts is not None:
        inside = set(rows.tolist())
        suggestion.keywords = frequent_words(
            [texts[i] for i in rows],
            [t for i, t in enumerate(texts) if i not in inside],
            exclude=exclude,
        )
    if vocabulary:
        words = [w for w in vocabulary if w.lower() not in exclude]
        if words:
            # Raw (uncentred) directions: text vectors live on their own side of the sphere.
            vectors = _unit_rows(np.stack([vocabulary[w] for w in words]))
            suggestion.name = words[int(np.argmax(vectors @ raw))]
            suggestion.name_source = "vocabulary"
    if not suggestion.name and suggestion.keywords:
        suggestion.name = " ".join(suggestion.keywords[:2])
        suggestion.name_source = "text"
    return suggestion
