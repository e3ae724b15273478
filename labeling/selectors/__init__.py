"""Reads: queries the pages, the API and the admin share."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from labeling.models import Classifier, Folder, LabelEvent, Library, Video


def folders_with_counts(*, library: Library) -> QuerySet[Folder]:
    return Folder.objects.filter(library=library).annotate(
        video_count=Count("videos", filter=~Q(videos__status=Video.Status.MISSING))
    )


def library_counts(*, library: Library) -> dict[str, int]:
    rows = Video.objects.filter(library=library).aggregate(
        total=Count("id", filter=~Q(status=Video.Status.MISSING)),
        unsorted=Count("id", filter=Q(folder__isnull=True, status=Video.Status.OK)),
        unreadable=Count("id", filter=Q(status=Video.Status.UNREADABLE)),
        missing=Count("id", filter=Q(status=Video.Status.MISSING)),
    )
    return {key: value or 0 for key, value in rows.items()}


# --- The queue ---------------------------------------------------------------------

QUEUE_ORDERS = (
    "uncertainty+diversity",
    "uncertainty",
    "margin",
    "entropy",
    "class_balance",
    "random",
    "newest",
    "filename",
)
DEFAULT_QUEUE_ORDER = "uncertainty+diversity"
DIVERSITY_POOL = 100


def queue_order_for_user(*, user) -> str:
    """The user's saved queue order (the default for anonymous users or stale values)."""
    from labeling.models import UserPreference

    pref = UserPreference.objects.filter(user=user).first() if user.is_authenticated else None
    order = pref.queue_order if pref else DEFAULT_QUEUE_ORDER
    return order if order in QUEUE_ORDERS else DEFAULT_QUEUE_ORDER


def classifier_active(*, library: Library):
    from labeling.models import Classifier

    return Classifier.objects.filter(library=library, is_active=True).first()


def videos_with_prediction(*, library: Library) -> QuerySet[Video]:
    """Videos annotated with the active classifier version's prediction (pred_* fields)."""
    from django.db.models import F, FilteredRelation

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


PREDICTION_ORDERS = {
    # order name -> ordering of Prediction rows (best first); videos without a prediction
    # of the active version come after them, by id.
    "uncertainty": ("confidence", "video_id"),
    "uncertainty+diversity": ("confidence", "video_id"),
    "margin": ("margin", "video_id"),
    "entropy": ("-entropy", "video_id"),
}
VIDEO_ORDERS = {"newest": ("-created_at", "-pk"), "filename": ("filename", "pk")}


def queue_page(
    *,
    library: Library,
    order: str,
    limit: int,
    offset: int = 0,
    seed: int = 0,
    filters: dict | None = None,
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
    filters = (
        filters if filters is not None else {"folder__isnull": True, "status": Video.Status.OK}
    )
    videos = Video.objects.filter(library=library, **filters)
    total = videos.count()
    if order == "uncertainty+diversity" and offset < DIVERSITY_POOL:
        ids = _prediction_order_ids(
            library, videos, filters, order, 0, max(DIVERSITY_POOL, offset + limit)
        )
        pool = _load_in_order(library, ids)
        return _diversified(pool)[offset : offset + limit], total
    if order in PREDICTION_ORDERS:
        ids = _prediction_order_ids(library, videos, filters, order, offset, limit)
    elif order in VIDEO_ORDERS:
        ids = list(
            videos.order_by(*VIDEO_ORDERS[order]).values_list("pk", flat=True)[
                offset : offset + limit
            ]
        )
    else:
        base = videos_with_prediction(library=library).filter(**filters)
        ids = _python_order(library=library, base=base, order=order, seed=seed)[
            offset : offset + limit
        ]
    return _load_in_order(library, ids), total


def _prediction_order_ids(library, videos, filters, order, offset, limit) -> list[int]:
    from django.db.models import Exists, OuterRef

    from labeling.models import Prediction

    active = classifier_active(library=library)
    if active is None:
        return list(videos.order_by("pk").values_list("pk", flat=True)[offset : offset + limit])
    predicted = Prediction.objects.filter(
        classifier_version=active.version,
        video__library=library,
        **{f"video__{key}": value for key, value in filters.items()},
    )
    ids = list(
        predicted.order_by(*PREDICTION_ORDERS[order]).values_list("video_id", flat=True)[
            offset : offset + limit
        ]
    )
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
    import numpy as np

    from labeling.models import Embedding
    from mlpipeline.embeddings import unpack_vector
    from mlpipeline.strategies import farthest_first

    head = [v for v in pool[:DIVERSITY_POOL] if v.pred_id is not None]
    if len(head) <= 2:
        return pool
    active = classifier_active(library=head[0].library)
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
    import numpy as np

    from mlpipeline.strategies import QueueCandidates, order_queue

    rows = list(base.order_by("pk").values_list("pk", "pred_top"))
    ids = [pk for pk, _ in rows]
    if order == "random":
        candidates = QueueCandidates(filenames=[""] * len(ids), seed=seed)
        return [ids[i] for i in order_queue("random", candidates)]
    folders = list(
        Folder.objects.filter(library=library).order_by("pk").values_list("pk", flat=True)
    )
    column = {f: j for j, f in enumerate(folders)}
    probs = np.zeros((len(rows), max(len(folders), 1)))
    for i, (_, top) in enumerate(rows):
        for entry in top or []:
            if entry["folder_id"] in column:
                probs[i, column[entry["folder_id"]]] = entry["probability"]
    counts = dict(
        Video.objects.filter(library=library, folder__isnull=False, status=Video.Status.OK)
        .values_list("folder_id")
        .annotate(n=Count("id"))
    )
    candidates = QueueCandidates(probs=probs, classes=folders or [0], label_counts=counts)
    return [ids[i] for i in order_queue(order, candidates)]


def label_history(*, video: Video) -> list[dict]:
    from labeling.models import LabelEvent

    return [
        {
            "id": e.pk,
            "at": e.created_at,
            "route": e.route,
            "user": e.user.username if e.user else None,
            "from": e.from_name or None,
            "to": e.to_name or None,
            "predicted_folder": e.predicted_folder.name if e.predicted_folder else None,
            "predicted_confidence": e.predicted_confidence,
            "undone": e.undone_by_id is not None,
        }
        for e in LabelEvent.objects.filter(video=video).select_related("user", "predicted_folder")
    ]


def accuracy_history(*, library: Library) -> list[dict]:
    """One point per classifier version: how good it was and on how many labels."""
    return [
        {
            "version": c.version,
            "at": c.created_at,
            "labels": c.metrics.get("n_labels"),
            "accuracy": c.metrics.get("accuracy"),
            "balanced_accuracy": c.metrics.get("balanced_accuracy"),
            "mean_confidence": c.metrics.get("mean_confidence"),
            "calibration_error": c.metrics.get("ece_after_calibration"),
            "label_counts": c.metrics.get("label_counts"),
        }
        for c in Classifier.objects.filter(library=library).order_by("version")
    ]


def labels_over_time(*, library: Library) -> list[dict]:
    """Label events per day (in TIME_ZONE) that still stand, with the running total.

    An undone sort and the undo itself are left out: together they taught nothing.
    """
    per_day = (
        LabelEvent.objects.filter(video__library=library, undone_by__isnull=True)
        .exclude(route=LabelEvent.Route.UNDO)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(labels=Count("pk"))
        .order_by("day")
    )
    total = 0
    series = []
    for row in per_day:
        total += row["labels"]
        series.append({"day": row["day"], "labels": row["labels"], "total": total})
    return series
