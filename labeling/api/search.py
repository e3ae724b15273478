"""GET /api/search: rank videos by CLIP similarity to a text (?q=) or to a video (?like=).

Speed at 100,000 videos comes from one per-process float32 matrix of every current
embedding of the configured model (loaded lazily on the first search, rebuilt when the
Embedding table's row count or highest id changes, or after SEARCH_MATRIX_MAX_AGE
seconds to catch vectors re-extracted in place) and one matrix-vector product per
request. Nothing unpacks BinaryFields per request.

The query text is encoded here, in the web process, with the same encoder the workers
use (encoder_get(): loaded once per process, on the first text search, never at start):
a text-tower forward pass is a few milliseconds on a CPU, while a Celery round trip
would add broker latency and make search depend on a free worker during a retrain.
docs/api.md has the measurements and the memory cost.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import Count, F, Max
from django.shortcuts import get_object_or_404
from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.errors import Unprocessable
from labeling.api.videos import VideoItemSerializer, video_item
from labeling.models import Embedding, Library, Video
from labeling.selectors import videos_with_prediction
from labeling.services.extraction import encoder_config, encoder_get
from labeling.services.library import library_current
from mlpipeline.embeddings import VECTOR_DTYPE, unpack_vector
from mlpipeline.encoder import EncoderConfig, EncoderUnavailableError

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_QUERY_CHARS = 300
# With a folder filter, the filter is applied to this many best matches (folders change
# with every sort, so they are not part of the cached matrix).
FILTER_POOL = 2000
SEARCH_MATRIX_MAX_AGE = 600.0
LOAD_CHUNK = 5000


class SearchUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "encoder_unavailable"
    default_detail = "The CLIP text encoder could not be loaded."


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


_matrices: dict[tuple[int, str], EmbeddingMatrix] = {}
_matrix_lock = threading.Lock()


def _table_stamp() -> tuple[int, int]:
    # Over the whole table: count(*) is an index-only scan and max(id) one index probe,
    # a couple of milliseconds at 100k rows, where a filter on model_id would read the
    # (wide) heap.
    row = Embedding.objects.aggregate(n=Count("id"), top=Max("id"))
    return int(row["n"] or 0), int(row["top"] or 0)


def _matrix_load(*, library: Library, model_id: str, stamp: tuple[int, int]) -> EmbeddingMatrix:
    started = time.monotonic()
    rows = (
        Embedding.objects.filter(
            video__library=library,
            model_id=model_id,
            # Only vectors of the file's current content: a changed file awaits re-extraction.
            content_hash=F("video__content_hash"),
        )
        .exclude(video__status=Video.Status.MISSING)
        .order_by("video_id")
        .values_list("video_id", "dim", "vector")
    )
    ids: list[int] = []
    blocks: list[np.ndarray] = []
    chunk_ids: list[int] = []
    chunk_bytes: list[bytes] = []
    dim: int | None = None

    def flush() -> None:
        if chunk_ids:
            block = np.frombuffer(b"".join(chunk_bytes), dtype=VECTOR_DTYPE).reshape(-1, dim)
            blocks.append(block.astype(np.float32, copy=False))
            ids.extend(chunk_ids)
            chunk_ids.clear()
            chunk_bytes.clear()

    for video_id, row_dim, vector in rows.iterator(chunk_size=LOAD_CHUNK):
        data = bytes(vector)
        if dim is None:
            dim = row_dim
        if row_dim != dim or len(data) != dim * VECTOR_DTYPE.itemsize:
            continue  # a corrupt or foreign row must not break search for everyone
        chunk_ids.append(video_id)
        chunk_bytes.append(data)
        if len(chunk_ids) >= LOAD_CHUNK:
            flush()
    flush()
    vectors = np.concatenate(blocks) if blocks else np.zeros((0, dim or 1), np.float32)
    video_ids = np.asarray(ids, dtype=np.int64)
    matrix = EmbeddingMatrix(
        library_id=library.pk,
        model_id=model_id,
        stamp=stamp,
        loaded_at=time.monotonic(),
        video_ids=video_ids,
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
    stamp = _table_stamp()
    current = _matrices.get(key)
    if (
        current is not None
        and current.stamp == stamp
        and (time.monotonic() - current.loaded_at < SEARCH_MATRIX_MAX_AGE)
    ):
        return current
    with _matrix_lock:  # one thread of this process rebuilds; the others wait for it
        current = _matrices.get(key)
        if (
            current is not None
            and current.stamp == stamp
            and (time.monotonic() - current.loaded_at < SEARCH_MATRIX_MAX_AGE)
        ):
            return current
        matrix = _matrix_load(library=library, model_id=model_id, stamp=stamp)
        _matrices[key] = matrix
        return matrix


def matrix_cache_clear() -> None:
    with _matrix_lock:
        _matrices.clear()


@functools.lru_cache(maxsize=8)
def _configured_model_id(config: EncoderConfig) -> str:
    """The model id the configured encoder writes, without loading the model."""
    from mlpipeline.encoder import _pretrained_id  # the one definition of the id scheme

    return f"{config.model_name}/{_pretrained_id(config)}"


def text_search_allowed(config: EncoderConfig) -> bool:
    # VIDSORT_SEARCH_RANDOM_TEXT exists for bench/api.py only: it times text search with a
    # random-weight model, whose rankings are meaningless.
    return not config.uses_random_weights or settings.VIDSORT_SEARCH_RANDOM_TEXT


def encode_query(encoder, text: str) -> np.ndarray:
    """One text -> L2-normalised float32 vector, equal to encoder.encode_text([text])[0].

    Faster for a single short query: open_clip pads every text to 77 tokens, but CLIP's
    text transformer is causal and pools at the end-of-text token, so the positions after
    it cannot change the result. Running only the first (EOT + 1) positions gives the same
    vector (to float rounding) in a fraction of the time (a 5-word query: ~10 of 77
    positions). Models of another shape fall back to encode_text.
    """
    import torch
    import torch.nn.functional as F

    model = encoder.model
    shaped = all(
        hasattr(model, name)
        for name in (
            "token_embedding",
            "positional_embedding",
            "transformer",
            "attn_mask",
            "ln_final",
        )
    )
    if (
        not shaped
        or model.attn_mask is None
        or getattr(model, "text_pool_type", "argmax") != "argmax"
    ):
        return encoder.encode_text([text])[0]
    with torch.inference_mode():
        tokens = encoder.tokenizer([text]).to(encoder.device)
        length = int(tokens.argmax(dim=-1).max()) + 1  # argmax: the EOT id is the largest
        tokens = tokens[:, :length]
        cast = model.transformer.get_cast_dtype()
        x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
        x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
        x = model.ln_final(x)
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
        if model.text_projection is not None:
            x = (
                model.text_projection(x)
                if isinstance(model.text_projection, torch.nn.Linear)
                else x @ model.text_projection
            )
        return F.normalize(x.float(), dim=-1)[0].cpu().numpy().astype(np.float32, copy=False)


@functools.lru_cache(maxsize=512)
def _text_vector(model_id: str, text: str) -> np.ndarray:
    vector = encode_query(encoder_get(), text)
    vector.setflags(write=False)
    return vector


def rank(matrix: EmbeddingMatrix, query: np.ndarray, *, top: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the `top` rows most similar to `query`, best first."""
    n = len(matrix.video_ids)
    if n == 0 or top <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    scores = matrix.vectors @ query.astype(np.float32, copy=False)
    top = min(top, n)
    if top < n:
        rows = np.argpartition(-scores, top - 1)[:top]
    else:
        rows = np.arange(n)
    # Stable, deterministic order: best score first, then lower video id.
    rows = rows[np.lexsort((matrix.video_ids[rows], -scores[rows]))]
    return rows, scores[rows]


# --- The view ----------------------------------------------------------------------


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=MAX_QUERY_CHARS, trim_whitespace=True)
    like = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT
    )
    folder = serializers.RegexField(r"^(all|unsorted|\d{1,18})$", required=False, default="all")

    def validate(self, attrs: dict) -> dict:
        if ("q" in attrs) == ("like" in attrs):
            raise serializers.ValidationError(
                "give exactly one of 'q' (a text) or 'like' (a video id)"
            )
        return attrs


class SearchHitSerializer(VideoItemSerializer):
    score = serializers.FloatField(help_text="Cosine similarity to the query.")


SearchResult = inline_serializer(
    "SearchResults",
    {
        "query": serializers.CharField(allow_null=True),
        "like": serializers.IntegerField(allow_null=True),
        "model_id": serializers.CharField(),
        "searched": serializers.IntegerField(help_text="Embeddings compared."),
        "count": serializers.IntegerField(),
        "results": SearchHitSerializer(
            many=True, help_text="Videos (the /api/videos item shape) with 'score'."
        ),
    },
)


class SearchView(APIView):
    @extend_schema(
        operation_id="search",
        parameters=[
            OpenApiParameter(
                "q", str, description="Text to match (needs a pretrained CLIP model)."
            ),
            OpenApiParameter(
                "like", OpenApiTypes.INT, description="Find videos similar to this video id."
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description=f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}."
            ),
            OpenApiParameter(
                "folder",
                str,
                pattern=r"^(all|unsorted|\d{1,18})$",
                description=f"'all' (default), 'unsorted' or a folder id; applied to the best {FILTER_POOL} matches.",
            ),
        ],
        responses={200: SearchResult},
    )
    def get(self, request: Request) -> Response:
        params = SearchQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        args = params.validated_data
        library = library_current()
        config = encoder_config()
        if "q" in args:
            if not args["q"]:
                raise exceptions.ValidationError({"q": "must not be empty"})
            if not text_search_allowed(config):
                raise Unprocessable(
                    f"text search needs a CLIP model with pretrained weights; {config.model_name} "
                    "has none (VIDSORT_CLIP_PRETRAINED is empty). ?like=<video id> works with any model."
                )
            try:
                model_id = encoder_get().model_id
                query = _text_vector(model_id, args["q"])
            except EncoderUnavailableError as exc:
                raise SearchUnavailable(str(exc)) from None
            matrix = embedding_matrix(library=library, model_id=model_id)
            exclude = None
        else:
            model_id = _configured_model_id(config)
            video = get_object_or_404(Video, pk=args["like"], library=library)
            matrix = embedding_matrix(library=library, model_id=model_id)
            row = matrix.row_of.get(video.pk)
            if row is not None:
                query = matrix.vectors[row]
            else:
                stored = (
                    Embedding.objects.filter(
                        video=video, model_id=model_id, content_hash=video.content_hash
                    )
                    .values_list("vector", flat=True)
                    .first()
                )
                if stored is None:
                    raise Unprocessable(
                        f"video {video.pk} has no embedding for {model_id} yet; run a retrain "
                        "(it extracts features first) and try again"
                    )
                query = unpack_vector(stored)
            exclude = video.pk
        if query.shape[0] != matrix.vectors.shape[1] and len(matrix.video_ids):
            raise Unprocessable(
                f"the query vector has {query.shape[0]} dimensions but the stored embeddings "
                f"have {matrix.vectors.shape[1]}"
            )
        limit = args["limit"]
        folder = args["folder"]
        pool = limit + 1 if folder == "all" else max(FILTER_POOL, limit + 1)
        rows, scores = rank(matrix, query, top=pool)
        candidates = [
            (int(matrix.video_ids[r]), float(s)) for r, s in zip(rows, scores, strict=True)
        ]
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
        results = [
            video_item(videos[vid]) | {"score": round(score, 6)}
            for vid, score in candidates
            if vid in videos
        ][:limit]
        return Response(
            {
                "query": args.get("q"),
                "like": args.get("like"),
                "model_id": model_id,
                "searched": len(matrix.video_ids),
                "count": len(results),
                "results": results,
            }
        )


urlpatterns = [
    re_path(r"^search/?$", SearchView.as_view(), name="api-search"),
]
