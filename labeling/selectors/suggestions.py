"""What new-folder suggestions are computed from: vectors, confidences, texts, vocabulary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeling.models import Library, Prediction, Video
from labeling.selectors.classifiers import classifier_active
from labeling.selectors.embeddings import labelled_embeddings, search_vector_rows, text_vectors
from labeling.selectors.folders import folder_names
from labeling.selectors.text import text_documents_for_videos
from mlpipeline.embeddings import unpack_vector
from mlpipeline.zeroshot import prompt_keywords


@dataclass(frozen=True)
class SuggestionInputs:
    unsorted_ids: list[int]
    U: np.ndarray
    confidence: np.ndarray | None
    labelled: np.ndarray
    labels: list[int]
    texts: list[str]
    folder_names: list[str]


def suggestion_inputs(*, library: Library, model_id: str) -> SuggestionInputs:
    """Unsorted playable videos' pooled vectors (with the active version's confidence
    when every one has a prediction), the sorted ones' vectors and folders, and texts."""
    unsorted = set(
        Video.objects.filter(
            library=library, folder__isnull=True, status=Video.Status.OK
        ).values_list("pk", flat=True)
    )
    rows = [
        (pk, unpack_vector(v))
        for pk, _, v in search_vector_rows(library=library, model_id=model_id)
        if pk in unsorted
    ]
    ids = [pk for pk, _ in rows]
    U = np.stack([v for _, v in rows]) if rows else np.zeros((0, 0), np.float32)
    _, labelled, labels = labelled_embeddings(library=library, model_id=model_id)
    return SuggestionInputs(
        unsorted_ids=ids,
        U=U,
        confidence=_confidences(library=library, ids=ids),
        labelled=labelled,
        labels=labels,
        texts=text_documents_for_videos(video_ids=ids),
        folder_names=list(folder_names(library=library).values()),
    )


def _confidences(*, library: Library, ids: list[int]) -> np.ndarray | None:
    active = classifier_active(library=library)
    if active is None or not ids:
        return None
    found = dict(
        Prediction.objects.filter(classifier_version=active.version, video_id__in=ids).values_list(
            "video_id", "confidence"
        )
    )
    if len(found) < len(ids):
        return None  # predictions not complete yet: distance alone decides
    return np.array([found[pk] for pk in ids])


def prompt_vocabulary(*, model_id: str) -> dict[str, np.ndarray]:
    """The folders' zero-shot vocabulary: each stored prompt's words -> its text vector."""
    vocabulary: dict[str, np.ndarray] = {}
    for prompt, vector in text_vectors(model_id=model_id).items():
        words = prompt_keywords([prompt]) or prompt
        vocabulary.setdefault(words, vector)
    return vocabulary


def videos_in_library(*, library: Library, video_ids: list[int]) -> dict[int, Video]:
    return {
        v.pk: v
        for v in Video.objects.filter(library=library, pk__in=video_ids).select_related("folder")
    }
