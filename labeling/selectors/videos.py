"""Reads of videos: with the active prediction, in a queue order, and their history."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db.models import (
    Exists,
    F,
    FilteredRelation,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)

from labeling.models import Embedding, LabelEvent, Library, MoveIntent, Prediction, Video
from labeling.selectors.classifiers import classifier_active
from labeling.selectors.duplicates import library_duplicates, library_duplicates_model_id
from labeling.selectors.folders import folder_ids, label_counts
from labeling.selectors.preferences import FAVOURITED_ORDER, QUEUE_ORDERS
from mlpipeline.duplicates import keep_apart
from mlpipeline.embeddings import unpack_vector
from mlpipeline.strategies import QueueCandidates, farthest_first, order_queue

DIVERSITY_POOL = 100
KEEP_APART = 50  # look-ahead past the page when keeping duplicate groups apart
PREDICTION_ORDERS = {
    # order name -> ordering of Prediction rows (best first); videos without a prediction
    # of the active version come after them, by id.
    "uncertainty": ("confidence", "video_id"),
    # The default: smallest margin first, the first DIVERSITY_POOL spread out
    # (mlpipeline.strategies.order_by_uncertainty_with_diversity).
    "uncertainty+diversity": ("margin", "video_id"),
    "margin": ("margin", "video_id"),
    "entropy": ("-entropy", "video_id"),
}
VIDEO_ORDERS = {"newest": ("-created_at", "-pk"), "filename": ("filename", "pk")}
QUEUE_FILTERS: dict[str, Any] = {"folder__isnull": True, "status": Video.Status.OK}


def videos_with_prediction(*, library: Library) -> QuerySet[Video]:
    """Videos annotated with the active classifier version's prediction (pred_* fields)."""
    active = classifier_active(library=library)
    # 0 matches nothing (versions start at 1); -1 would be out of range for the
    # PositiveIntegerField and make Django drop the whole query as empty.
    version = active.version if active else 0
    return (
        Video.objects.filter(library=library)
        .annotate(
            pred=FilteredRelation(
                "predictions", condition=Q(predictions__classifier_version=version)
            )
        )
        .annotate(
            pred_id=F("pred__id"),
            pred_confidence=F("pred__confidence"),
            pred_margin=F("pred__margin"),
            pred_entropy=F("pred__entropy"),
            pred_folder_id=F("pred__folder_id"),
            pred_source=F("pred__source"),
            pred_top=F("pred__top"),
            pred_segments=F("pred__segments"),
            pred_duration_ratio=F("pred__duration_ratio"),
        )
        .select_related("folder")
    )


def videos_with_history(*, library: Library) -> QuerySet[Video]:
    """``videos_with_prediction`` with every label event prefetched (``label_events``,
    newest first, undone ones included)."""
    events = LabelEvent.objects.select_related("user", "predicted_folder")
    return videos_with_prediction(library=library).prefetch_related(
        Prefetch("label_events", queryset=events)
    )


def queue_page(
    *,
    library: Library,
    order: str,
    limit: int,
    offset: int = 0,
    seed: int = 0,
    filters: dict[str, Any] | None = None,
) -> tuple[list[Video], int]:
    """One page of videos in a queue order, and the total count.

    ``filters`` are Video field lookups (default: unsorted and playable). Prediction
    orders read the page's ids from the (classifier_version, confidence|margin) indexes
    and stop after one page, then load just those rows: a page costs the same at 100
    videos as at 100,000. class_balance and random need every candidate's numbers and
    are ordered in Python with mlpipeline.strategies; uncertainty+diversity re-orders
    only the most uncertain DIVERSITY_POOL videos farthest-first over their embeddings.
    """
    if order not in QUEUE_ORDERS:
        raise ValueError(f"unknown queue order {order!r}; use one of {', '.join(QUEUE_ORDERS)}")
    filters = filters if filters is not None else QUEUE_FILTERS
    videos = Video.objects.filter(library=library, **filters)
    total = videos.count()
    group_of = _duplicate_groups(library)
    if group_of:
        # Members of one duplicate group never come back to back: the order up to this
        # page (plus a look-ahead) is re-ordered with mlpipeline.duplicates.keep_apart,
        # the same way for every page, so pages stay consistent.
        wanted = offset + limit + KEEP_APART
        ids = _ordered_ids(library, videos, filters, order, seed, 0, wanted)
        apart = keep_apart(ids, group_of, complete=len(ids) < wanted)
        return _load_in_order(library, apart[offset : offset + limit]), total
    if order == "uncertainty+diversity" and offset < DIVERSITY_POOL:
        pool_size = max(DIVERSITY_POOL, offset + limit)
        ids = _prediction_order_ids(library, videos, filters, order, 0, pool_size)
        return _diversified(_load_in_order(library, ids))[offset : offset + limit], total
    return _load_in_order(
        library, _page_ids(library, videos, filters, order, seed, offset, limit)
    ), total


def _duplicate_groups(library: Library) -> dict[int, int]:
    """Video id -> duplicate group of the library (empty when it has none)."""
    model_id = library_duplicates_model_id(library=library)
    if model_id is None:
        return {}
    return library_duplicates(library=library, model_id=model_id).group_of


def _ordered_ids(
    library: Library,
    videos: QuerySet[Video],
    filters: dict[str, Any],
    order: str,
    seed: int,
    offset: int,
    limit: int,
) -> list[int]:
    """The ids of ``queue_page`` before duplicates are kept apart."""
    if order == "uncertainty+diversity" and offset < DIVERSITY_POOL:
        pool_size = max(DIVERSITY_POOL, offset + limit)
        ids = _prediction_order_ids(library, videos, filters, order, 0, pool_size)
        pool = [v.pk for v in _diversified(_load_in_order(library, ids))]
        if len(pool) >= offset + limit or len(ids) < pool_size:
            return pool[offset : offset + limit]
        return pool + _page_ids(
            library, videos, filters, order, seed, len(pool), offset + limit - len(pool)
        )
    return _page_ids(library, videos, filters, order, seed, offset, limit)


def _page_ids(
    library: Library,
    videos: QuerySet[Video],
    filters: dict[str, Any],
    order: str,
    seed: int,
    offset: int,
    limit: int,
) -> list[int]:
    if order in PREDICTION_ORDERS:
        return _prediction_order_ids(library, videos, filters, order, offset, limit)
    if order in VIDEO_ORDERS:
        ordered = videos.order_by(*VIDEO_ORDERS[order]).values_list("pk", flat=True)
        return list(ordered[offset : offset + limit])
    if order == FAVOURITED_ORDER:
        return _favourited_ids(videos, offset, limit)
    base = videos_with_prediction(library=library).filter(**filters)
    return _python_order(library=library, base=base, order=order, seed=seed)[
        offset : offset + limit
    ]


def _favourited_ids(videos: QuerySet[Video], offset: int, limit: int) -> list[int]:
    """Favourited on TikTok first (newest favourite first), then liked (newest first),
    then the others by id."""
    ranked = videos.annotate(
        favourited=Max("tiktok_items__favorited_at"), liked=Max("tiktok_items__liked_at")
    ).order_by(F("favourited").desc(nulls_last=True), F("liked").desc(nulls_last=True), "pk")
    return list(ranked.values_list("pk", flat=True)[offset : offset + limit])


def _prediction_order_ids(
    library: Library,
    videos: QuerySet[Video],
    filters: dict[str, Any],
    order: str,
    offset: int,
    limit: int,
) -> list[int]:
    active = classifier_active(library=library)
    if active is None:
        return list(videos.order_by("pk").values_list("pk", flat=True)[offset : offset + limit])
    predicted = Prediction.objects.filter(
        classifier_version=active.version,
        video__library=library,
        **{f"video__{key}": value for key, value in filters.items()},
    )
    ordered = predicted.order_by(*PREDICTION_ORDERS[order]).values_list("video_id", flat=True)
    ids = list(ordered[offset : offset + limit])
    if len(ids) == limit:
        return ids
    # The page runs past the predicted videos: continue with the unpredicted ones.
    skip = max(0, offset - predicted.count())
    unpredicted = videos.exclude(
        Exists(Prediction.objects.filter(video=OuterRef("pk"), classifier_version=active.version))
    ).order_by("pk")
    return ids + list(unpredicted.values_list("pk", flat=True)[skip : skip + limit - len(ids)])


def _load_in_order(library: Library, ids: list[int]) -> list[Video]:
    rows = {v.pk: v for v in videos_with_prediction(library=library).filter(pk__in=ids)}
    return [rows[pk] for pk in ids if pk in rows]


def _diversified(pool: list[Video]) -> list[Video]:
    head = [v for v in pool[:DIVERSITY_POOL] if getattr(v, "pred_id", None) is not None]
    active = classifier_active(library=head[0].library_id) if len(head) > 2 else None
    if active is None:
        return pool
    vectors = dict(
        Embedding.objects.filter(video__in=head, model_id=active.model_id).values_list(
            "video_id", "vector"
        )
    )
    with_vectors = [v for v in head if v.pk in vectors]
    if len(with_vectors) <= 2:
        return pool
    X = np.stack([unpack_vector(vectors[v.pk]) for v in with_vectors])
    spread = [with_vectors[i] for i in farthest_first(X, first=0)]
    chosen = {v.pk for v in spread}
    return spread + [v for v in pool if v.pk not in chosen]


def _python_order(*, library: Library, base: QuerySet[Video], order: str, seed: int) -> list[int]:
    rows = list(base.order_by("pk").values_list("pk", "pred_top"))  # type: ignore[misc]  # an annotation
    ids = [pk for pk, _ in rows]
    if order == "random":
        candidates = QueueCandidates(filenames=[""] * len(ids), seed=seed)
        return [ids[i] for i in order_queue("random", candidates)]
    folders = folder_ids(library=library)
    column = {f: j for j, f in enumerate(folders)}
    probs = np.zeros((len(rows), max(len(folders), 1)))
    for i, (_, top) in enumerate(rows):
        for entry in top or []:
            if entry["folder_id"] in column:
                probs[i, column[entry["folder_id"]]] = entry["probability"]
    candidates = QueueCandidates(
        probs=probs, classes=folders or [0], label_counts=label_counts(library=library)
    )
    return [ids[i] for i in order_queue(order, candidates)]


def videos_by_ids(*, video_ids: list[int]) -> list[Video]:
    """These videos (with their library), by id; ids that are gone are left out."""
    return list(Video.objects.filter(pk__in=video_ids).select_related("library").order_by("pk"))


def videos_by_path(*, library: Library, skip: set[str]) -> dict[str, Video]:
    """Every video row of the library by relative path, except those at ``skip``."""
    return {v.path: v for v in Video.objects.filter(library=library) if v.path not in skip}


def move_paths_in_flight(*, library: Library) -> set[str]:
    """Both ends of every journalled move not yet closed (the sort service owns them)."""
    pairs = MoveIntent.objects.filter(
        video__library=library, state=MoveIntent.State.PENDING
    ).values_list("src_path", "dst_path")
    return {path for pair in pairs for path in pair}


def videos_unsorted_exist(*, library: Library | int) -> bool:
    """Whether any playable video waits for a folder."""
    return Video.objects.filter(library=library, **QUEUE_FILTERS).exists()


def video_with_library(*, video_id: int) -> Video | None:
    return Video.objects.select_related("library").filter(pk=video_id).first()
