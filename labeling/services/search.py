"""Search: a text or a video becomes a query vector, ranked against the stored embeddings.

The query text is encoded in the web process, with the same encoder the workers use
(encoder_get(): loaded once per process, on the first text search, never at start): a
text-tower forward pass is a few milliseconds on a CPU, while a Celery round trip would
add broker latency and make search depend on a free worker during a retrain.
docs/api.md has the measurements and the memory cost.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.shortcuts import get_object_or_404

from labeling.models import Library, Video
from labeling.selectors.search import (
    EmbeddingMatrix,
    SearchRefused,
    embedding_matrix,
    search_results,
    text_hit_videos,
    video_query_vector,
)
from labeling.selectors.text import text_matches
from labeling.services.errors import ServiceError
from labeling.services.extraction import encoder_config, encoder_get
from mlpipeline.encoder_config import EncoderConfig, EncoderUnavailableError, encoder_model_id


class SearchUnavailable(ServiceError):
    """The text encoder cannot be loaded (weights missing, offline…); nothing to search with."""

    code = "encoder_unavailable"
    http_status = 503


@functools.lru_cache(maxsize=8)
def configured_model_id(config: EncoderConfig) -> str:
    """The model id the configured encoder writes, without loading the model (cached: a
    local weights file is hashed to make the id)."""
    return encoder_model_id(config)


def text_search_allowed(config: EncoderConfig) -> bool:
    # VIDSORT_SEARCH_RANDOM_TEXT exists for bench/api.py only: it times text search with a
    # random-weight model, whose rankings are meaningless.
    return not config.uses_random_weights or settings.VIDSORT_SEARCH_RANDOM_TEXT


@functools.lru_cache(maxsize=512)
def _text_vector(model_id: str, text: str) -> np.ndarray:
    vector = encoder_get().encode_query(text)
    vector.setflags(write=False)
    return vector


def text_query_vector(*, text: str) -> tuple[str, np.ndarray]:
    """(model id, vector) of a text."""
    config = encoder_config()
    if not text_search_allowed(config):
        raise SearchRefused(
            f"text search needs a CLIP model with pretrained weights; {config.model_name} "
            "has none (VIDSORT_CLIP_PRETRAINED is empty). ?like=<video id> works with any model."
        )
    try:
        model_id = encoder_get().model_id
        return model_id, _text_vector(model_id, text)
    except EncoderUnavailableError as exc:
        raise SearchUnavailable(str(exc)) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResults:
    query: str | None
    like: int | None
    model_id: str
    searched: int  # embeddings compared
    count: int
    results: list[Video]  # with the prediction annotations and ``score``


def videos_search(
    *, library: Library, text: str | None, like: int | None, limit: int, folder: str
) -> SearchResults:
    """The ``limit`` videos most like the text or the video ``like``, best first.

    ``folder``: 'all', 'unsorted' or a folder id, applied to the best matches only.
    """
    if text is not None:
        return _text_search(library=library, text=text, limit=limit, folder=folder)
    else:
        video = get_object_or_404(Video, pk=like, library=library)
        matrix = embedding_matrix(library=library, model_id=configured_model_id(encoder_config()))
        query = _like_vector(video=video, matrix=matrix)
    results = search_results(
        library=library, matrix=matrix, query=query, limit=limit, folder=folder, exclude=like
    )
    return SearchResults(
        query=text,
        like=like,
        model_id=matrix.model_id,
        searched=len(matrix.video_ids),
        count=len(results),
        results=results,
    )


def _like_vector(*, video: Video, matrix: EmbeddingMatrix) -> np.ndarray:
    """The video's vector; a video a retrain will never embed says why instead."""
    try:
        return video_query_vector(video=video, matrix=matrix)
    except SearchRefused:
        reason = _never_embedded_reason(video=video)
        if reason is None:
            raise
        raise SearchRefused(f"video {video.pk} ({video.filename!r}) {reason}") from None


def _never_embedded_reason(*, video: Video) -> str | None:
    """Why a retrain skips this video (it extracts playable files only), or None."""
    if video.status == Video.Status.UNREADABLE:
        why = f": {video.error}" if video.error else ""
        return f"is unreadable{why}; a similar-video search needs a playable file"
    if video.status == Video.Status.MISSING:
        return "is missing on disk; a similar-video search needs the file"
    if video.extract_error:
        return (
            f"could not be read for features ({video.extract_error}); it is retried when "
            "the file changes"
        )
    return None


def _text_search(*, library: Library, text: str, limit: int, folder: str) -> SearchResults:
    """Videos whose transcript or on-screen text holds the words first (docs/text.md), then
    the CLIP ranking. Without a usable text encoder (the tiny model) only the former; the
    encoder's refusal stands when no stored text matches either."""
    hits = text_hit_videos(
        library=library,
        matches=text_matches(library=library, query=text, limit=limit),
        folder=folder,
    )
    try:
        model_id, query = text_query_vector(text=text)
    except (SearchRefused, SearchUnavailable):
        if not hits:
            raise
        return SearchResults(
            query=text, like=None, model_id="", searched=0, count=len(hits), results=hits[:limit]
        )
    matrix = embedding_matrix(library=library, model_id=model_id)
    ranked = search_results(library=library, matrix=matrix, query=query, limit=limit, folder=folder)
    results = _merged(hits=hits, ranked=ranked, limit=limit)
    return SearchResults(
        query=text,
        like=None,
        model_id=matrix.model_id,
        searched=len(matrix.video_ids),
        count=len(results),
        results=results,
    )


def _merged(*, hits: list[Video], ranked: list[Video], limit: int) -> list[Video]:
    """Text hits (with their CLIP score when ranked) then the other ranked videos."""
    scores = {video.pk: video.score for video in ranked}  # type: ignore[attr-defined]
    for video in hits:
        video.score = scores.get(video.pk, 0.0)  # type: ignore[attr-defined]
    seen = {video.pk for video in hits}
    return (hits + [video for video in ranked if video.pk not in seen])[:limit]
