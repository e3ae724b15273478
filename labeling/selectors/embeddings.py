"""Reads of stored embeddings: training data, videos still to embed, search vectors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from django.db.models import Count, Exists, F, Max, OuterRef, QuerySet

from labeling.models import Embedding, Library, Prediction, TextEmbedding, Video
from mlpipeline.embeddings import unpack_vector

PREDICT_BATCH = 2000


def _current_embeddings(*, library: Library, model_id: str) -> QuerySet[Embedding]:
    """Embeddings of the files' current content (a changed file awaits re-extraction)."""
    return Embedding.objects.filter(
        video__library=library, model_id=model_id, content_hash=F("video__content_hash")
    )


def unpredicted_embeddings(*, library: Library, model_id: str, version: int) -> QuerySet[Embedding]:
    """Current embeddings of playable unsorted videos with no prediction of ``version``."""
    predicted = Prediction.objects.filter(video_id=OuterRef("video_id"), classifier_version=version)
    return (
        _current_embeddings(library=library, model_id=model_id)
        .filter(video__folder__isnull=True, video__status=Video.Status.OK)
        .filter(~Exists(predicted))
    )


def labelled_embeddings(
    *, library: Library, model_id: str
) -> tuple[list[int], np.ndarray, list[int]]:
    """(video ids, X, folder ids) of sorted videos with a current embedding, by video id.

    Undone sorts need no special case: undo moves the file back, so Video.folder no
    longer carries the undone label.
    """
    rows = (
        _current_embeddings(library=library, model_id=model_id)
        .filter(video__folder__isnull=False, video__status=Video.Status.OK)
        .order_by("video_id")
        .values_list("video_id", "video__folder_id", "vector")
    )
    ids, folders, vectors = [], [], []
    for video_id, folder_id, vector in rows:
        ids.append(video_id)
        folders.append(folder_id)
        vectors.append(unpack_vector(vector))
    X = np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)
    return ids, X, folders


def unsorted_embeddings(
    *, library: Library, model_id: str, batch: int = PREDICT_BATCH
) -> Iterator[list[tuple[Video, Embedding]]]:
    """Playable unsorted videos with a current embedding, in chunks of ``batch``."""
    queryset = (
        _current_embeddings(library=library, model_id=model_id)
        .filter(video__folder__isnull=True, video__status=Video.Status.OK)
        .select_related("video")
        .order_by("video_id")
    )
    chunk: list[tuple[Video, Embedding]] = []
    for embedding in queryset.iterator(chunk_size=batch):
        chunk.append((embedding.video, embedding))
        if len(chunk) == batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def videos_needing_embeddings(*, library: Library, model_id: str) -> QuerySet[Video]:
    """Playable videos with no embedding of the current content for ``model_id``.

    A video whose extraction failed is not retried until its file changes (the scan then
    clears ``extract_error``).
    """
    current = Embedding.objects.filter(
        video=OuterRef("pk"), model_id=model_id, content_hash=OuterRef("content_hash")
    )
    return (
        Video.objects.filter(library=library, status=Video.Status.OK, extract_error="")
        .exclude(Exists(current))
        .order_by("pk")
    )


def embedded_video_ids(*, videos: list[Video], model_id: str) -> set[int]:
    """Those of ``videos`` that have an embedding of their current content."""
    return set(
        Embedding.objects.filter(
            video__in=videos, model_id=model_id, content_hash=F("video__content_hash")
        ).values_list("video_id", flat=True)
    )


def embeddings_by_hash(*, model_id: str, hashes: list[str]) -> dict[str, Embedding]:
    """An embedding per content hash, from any video (duplicates share one decode)."""
    return {
        e.content_hash: e
        for e in Embedding.objects.filter(model_id=model_id, content_hash__in=hashes)
    }


def text_vectors(*, model_id: str) -> dict[str, np.ndarray]:
    """Stored prompt -> text vector of ``model_id``."""
    return {
        t.prompt: unpack_vector(t.vector) for t in TextEmbedding.objects.filter(model_id=model_id)
    }


def embedding_table_stamp() -> tuple[int, int]:
    """(row count, highest id) of the whole Embedding table: changes when rows come or go."""
    # Over the whole table: count(*) is an index-only scan and max(id) one index probe,
    # a couple of milliseconds at 100k rows, where a filter on model_id would read the
    # (wide) heap.
    row = Embedding.objects.aggregate(n=Count("id"), top=Max("id"))
    return int(row["n"] or 0), int(row["top"] or 0)


def search_vector_rows(*, library: Library, model_id: str) -> QuerySet:
    """(video id, dim, vector) of every present video's current embedding, by video id."""
    return (
        _current_embeddings(library=library, model_id=model_id)
        .exclude(video__status=Video.Status.MISSING)
        .order_by("video_id")
        .values_list("video_id", "dim", "vector")
    )


def embedding_vector(*, video: Video, model_id: str) -> np.ndarray | None:
    """The stored vector of the video's current content, or None."""
    stored = (
        Embedding.objects.filter(video=video, model_id=model_id, content_hash=video.content_hash)
        .values_list("vector", flat=True)
        .first()
    )
    return None if stored is None else unpack_vector(stored)
