"""Reads: queries the pages, the API and the admin share."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from labeling.models import Folder, Library, Video


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
    "uncertainty+diversity", "uncertainty", "margin", "entropy", "class_balance", "random",
    "newest", "filename",
)
DEFAULT_QUEUE_ORDER = "uncertainty+diversity"
DIVERSITY_POOL = 100


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
            pred=FilteredRelation("predictions", condition=Q(predictions__classifier_version=version))
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


def queue_page(
    *, library: Library, order: str, limit: int, offset: int = 0, seed: int = 0,
    queryset: QuerySet[Video] | None = None,
) -> tuple[list[Video], int]:
    """One page of unsorted playable videos in a queue order, and the total count.

    Orders that the database can sort (uncertainty, margin, entropy, newest, filename)
    are sorted there, so a page costs one indexed query whatever the library size.
    class_balance and random need every candidate's numbers and are ordered in Python
    with mlpipeline.strategies; uncertainty+diversity re-orders only the most
    uncertain DIVERSITY_POOL videos farthest-first over their embeddings.
    """
    from django.db.models import F

    if order not in QUEUE_ORDERS:
        raise ValueError(f"unknown queue order {order!r}; use one of {', '.join(QUEUE_ORDERS)}")
    base = queryset if queryset is not None else videos_with_prediction(library=library).filter(
        folder__isnull=True, status=Video.Status.OK
    )
    total = base.count()
    db_orders = {
        "uncertainty": [F("pred_confidence").asc(nulls_last=True), "pk"],
        "uncertainty+diversity": [F("pred_confidence").asc(nulls_last=True), "pk"],
        "margin": [F("pred_margin").asc(nulls_last=True), "pk"],
        "entropy": [F("pred_entropy").desc(nulls_last=True), "pk"],
        "newest": ["-created_at", "-pk"],
        "filename": ["filename", "pk"],
    }
    if order in db_orders and not (order == "uncertainty+diversity" and offset < DIVERSITY_POOL):
        return list(base.order_by(*db_orders[order])[offset : offset + limit]), total
    if order == "uncertainty+diversity":
        pool = list(base.order_by(*db_orders[order])[: max(DIVERSITY_POOL, offset + limit)])
        ordered = _diversified(pool)
        return ordered[offset : offset + limit], total
    ids = _python_order(library=library, base=base, order=order, seed=seed)
    page_ids = ids[offset : offset + limit]
    rows = {v.pk: v for v in base.filter(pk__in=page_ids)}
    return [rows[pk] for pk in page_ids if pk in rows], total


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
        Embedding.objects.filter(video__in=head, model_id=active.model_id).values_list("video_id", "vector")
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
    folders = list(Folder.objects.filter(library=library).order_by("pk").values_list("pk", flat=True))
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
            "id": e.pk, "at": e.created_at, "route": e.route,
            "user": e.user.username if e.user else None,
            "from": e.from_name or None, "to": e.to_name or None,
            "predicted_folder": e.predicted_folder.name if e.predicted_folder else None,
            "predicted_confidence": e.predicted_confidence,
            "undone": e.undone_by_id is not None,
        }
        for e in LabelEvent.objects.filter(video=video).select_related("user", "predicted_folder")
    ]
