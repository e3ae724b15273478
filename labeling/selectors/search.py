"""Search reads: rank videos by CLIP similarity to a query vector.

Speed at 100,000 videos comes from one per-process float32 matrix of every current
embedding of the configured model (loaded lazily on the first search, rebuilt when the
Embedding table's row count or highest id changes, or after SEARCH_MATRIX_MAX_AGE
seconds to catch vectors re-extracted in place) and one matrix-vector product per
request. Nothing unpacks BinaryFields per request.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from labeling.models import Library, Video
from labeling.selectors.embeddings import (
    embedding_table_stamp,
    embedding_vector,
    search_vector_rows,
)
from labeling.selectors.videos import videos_with_prediction
from labeling.services.errors import ServiceError
from mlpipeline.embeddings import VECTOR_DTYPE

logger = logging.getLogger(__name__)

# With a folder filter, the filter is applied to this many best matches (folders change
# with every sort, so they are not part of the cached matrix).
FILTER_POOL = 2000
SEARCH_MATRIX_MAX_AGE = 600.0
LOAD_CHUNK = 5000


class SearchRefused(ServiceError):
    """The search cannot be carried out as asked; the message is for the user."""

    code = "unprocessable"
    http_status = 422


# --- The per-process embedding matrix -----------------------------------------------


@dataclass(frozen=True, slots=True)
class EmbeddingMatrix:
    library_id: int
    model_id: str
    stamp: tuple[int, int]  # (row count, max id) of the whole Embedding table when loaded
    loaded_at: float
    video_ids: np.ndarray  # (n,) int64
    row_of: dict[int, int]  # video id -> row
    vectors: np.ndarray  # (n, dim) float32, L2-normalised rows

    def is_fresh(self, stamp: tuple[int, int]) -> bool:
        return self.stamp == stamp and time.monotonic() - self.loaded_at < SEARCH_MATRIX_MAX_AGE


_matrices: dict[tuple[int, str], EmbeddingMatrix] = {}
_matrix_lock = threading.Lock()


def _vector_blocks(*, library: Library, model_id: str) -> tuple[list[int], np.ndarray]:
    """(video ids, vectors) of the stored embeddings, read in chunks of raw bytes."""
    ids: list[int] = []
    blocks: list[np.ndarray] = []
    chunk_ids: list[int] = []
    chunk_bytes: list[bytes] = []
    dim: int | None = None
    rows = search_vector_rows(library=library, model_id=model_id)
    for video_id, row_dim, vector in rows.iterator(chunk_size=LOAD_CHUNK):
        data = bytes(vector)
        dim = row_dim if dim is None else dim
        if row_dim != dim or len(data) != dim * VECTOR_DTYPE.itemsize:
            continue  # a corrupt or foreign row must not break search for everyone
        chunk_ids.append(video_id)
        chunk_bytes.append(data)
        if len(chunk_ids) >= LOAD_CHUNK:
            blocks.append(_block(chunk_bytes, row_dim))
            ids.extend(chunk_ids)
            chunk_ids, chunk_bytes = [], []
    if chunk_ids and dim is not None:
        blocks.append(_block(chunk_bytes, dim))
        ids.extend(chunk_ids)
    vectors = np.concatenate(blocks) if blocks else np.zeros((0, dim or 1), np.float32)
    return ids, vectors


def _block(chunk: list[bytes], dim: int) -> np.ndarray:
    block = np.frombuffer(b"".join(chunk), dtype=VECTOR_DTYPE).reshape(-1, dim)
    return block.astype(np.float32, copy=False)


def _matrix_load(*, library: Library, model_id: str, stamp: tuple[int, int]) -> EmbeddingMatrix:
    started = time.monotonic()
    ids, vectors = _vector_blocks(library=library, model_id=model_id)
    matrix = EmbeddingMatrix(
        library_id=library.pk,
        model_id=model_id,
        stamp=stamp,
        loaded_at=time.monotonic(),
        video_ids=np.asarray(ids, dtype=np.int64),
        row_of={int(v): i for i, v in enumerate(ids)},
        vectors=vectors,
    )
    logger.info(
        "search matrix for %s loaded: %d vectors in %.2f s",
        model_id,
        len(ids),
        time.monotonic() - started,
    )
    return matrix


def embedding_matrix(*, library: Library, model_id: str) -> EmbeddingMatrix:
    """The cached matrix for (library, model), rebuilt when the Embedding table changed."""
    key = (library.pk, model_id)
    stamp = embedding_table_stamp()
    current = _matrices.get(key)
    if current is not None and current.is_fresh(stamp):
        return current
    with _matrix_lock:  # one thread of this process rebuilds; the others wait for it
        current = _matrices.get(key)
        if current is not None and current.is_fresh(stamp):
            return current
        matrix = _matrix_load(library=library, model_id=model_id, stamp=stamp)
        _matrices[key] = matrix
        return matrix


def matrix_cache_clear() -> None:
    with _matrix_lock:
        _matrices.clear()


def rank(matrix: EmbeddingMatrix, query: np.ndarray, *, top: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the `top` rows most similar to `query`, best first."""
    n = len(matrix.video_ids)
    if n == 0 or top <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    scores = matrix.vectors @ query.astype(np.float32, copy=False)
    top = min(top, n)
    rows = np.argpartition(-scores, top - 1)[:top] if top < n else np.arange(n)
    # Stable, deterministic order: best score first, then lower video id.
    rows = rows[np.lexsort((matrix.video_ids[rows], -scores[rows]))]
    return rows, scores[rows]


# --- Query vectors -------------------------------------------------------------------


def video_query_vector(*, video: Video, matrix: EmbeddingMatrix) -> np.ndarray:
    """The video's own vector: from the matrix, or stored but newer than the matrix."""
    row = matrix.row_of.get(video.pk)
    if row is not None:
        return matrix.vectors[row]
    vector = embedding_vector(video=video, model_id=matrix.model_id)
    if vector is None:
        raise SearchRefused(
            f"video {video.pk} has no embedding for {matrix.model_id} yet; run a retrain "
            "(it extracts features first) and try again"
        )
    return vector


# --- Search --------------------------------------------------------------------------


def search_results(
    *,
    library: Library,
    matrix: EmbeddingMatrix,
    query: np.ndarray,
    limit: int,
    folder: str,
    exclude: int | None = None,
) -> list[Video]:
    """The ``limit`` videos most like ``query``, best first, each with its ``score``.

    ``folder``: 'all', 'unsorted' or a folder id, applied to the best FILTER_POOL matches.
    """
    if query.shape[0] != matrix.vectors.shape[1] and len(matrix.video_ids):
        raise SearchRefused(
            f"the query vector has {query.shape[0]} dimensions but the stored embeddings "
            f"have {matrix.vectors.shape[1]}"
        )
    pool = limit + 1 if folder == "all" else max(FILTER_POOL, limit + 1)
    return _best_videos(library, matrix, query, pool=pool, exclude=exclude, folder=folder)[:limit]


def _best_videos(
    library: Library,
    matrix: EmbeddingMatrix,
    query: np.ndarray,
    *,
    pool: int,
    exclude: int | None,
    folder: str,
) -> list[Video]:
    rows, scores = rank(matrix, query, top=pool)
    candidates = [(int(matrix.video_ids[r]), float(s)) for r, s in zip(rows, scores, strict=True)]
    candidates = [(vid, s) for vid, s in candidates if vid != exclude]
    queryset = (
        videos_with_prediction(library=library)
        .filter(pk__in=[vid for vid, _ in candidates])
        .exclude(status=Video.Status.MISSING)
    )
    if folder == "unsorted":
        queryset = queryset.filter(folder__isnull=True)
    elif folder != "all":
        queryset = queryset.filter(folder_id=int(folder))
    videos = {v.pk: v for v in queryset}
    found = []
    for vid, score in candidates:
        if vid in videos:
            videos[vid].score = round(score, 6)  # type: ignore[attr-defined]  # read by SearchHitSerializer
            found.append(videos[vid])
    return found


def text_hit_videos(
    *, library: Library, matches: dict[int, list[dict]], folder: str
) -> list[Video]:
    """The videos of ``matches`` (video id -> where the text matched), in its order, each
    with ``text_matches`` and a ``score`` of 0 (set by the caller when it has one)."""
    queryset = videos_with_prediction(library=library).filter(pk__in=list(matches))
    if folder == "unsorted":
        queryset = queryset.filter(folder__isnull=True)
    elif folder != "all":
        queryset = queryset.filter(folder_id=int(folder))
    videos = {v.pk: v for v in queryset}
    found = []
    for video_id, where in matches.items():
        video = videos.get(video_id)
        if video is not None:
            video.text_matches = where  # type: ignore[attr-defined]  # read by SearchHitSerializer
            video.score = 0.0  # type: ignore[attr-defined]
            found.append(video)
    return found
