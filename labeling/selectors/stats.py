"""Reads for /api/stats: counts, labels over time, how the active classifier does."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from labeling.models import Classifier, Library, Video
from labeling.selectors.classifiers import classifier_active, classifiers_by_version, live_accuracy
from labeling.selectors.events import label_events_standing


def library_counts(*, library: Library) -> dict[str, int]:
    rows = Video.objects.filter(library=library).aggregate(
        total=Count("id", filter=~Q(status=Video.Status.MISSING)),
        unsorted=Count("id", filter=Q(folder__isnull=True, status=Video.Status.OK)),
        unreadable=Count("id", filter=Q(status=Video.Status.UNREADABLE)),
        missing=Count("id", filter=Q(status=Video.Status.MISSING)),
    )
    return {key: value or 0 for key, value in rows.items()}


def labels_over_time(*, library: Library) -> list[dict]:
    """Label events per day (in TIME_ZONE) that still stand, with the running total."""
    per_day = (
        label_events_standing(library=library)
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


@dataclass(frozen=True, slots=True, kw_only=True)
class LibraryStats:
    total: int
    unsorted: int
    unreadable: int
    missing: int
    labels: int
    label_events: int
    live_accuracy: dict | None
    last_retrain: Classifier | None
    accuracy_history: list[Classifier]
    labels_over_time: list[dict]
    per_folder: list[dict]


def library_stats(*, library: Library) -> LibraryStats:
    """Everything /api/stats shows; ``last_retrain`` is the active classifier."""
    active = classifier_active(library=library)
    labels = (
        Video.objects.filter(library=library, folder__isnull=False)
        .exclude(status=Video.Status.MISSING)
        .count()
    )
    return LibraryStats(
        **library_counts(library=library),
        labels=labels,
        label_events=label_events_standing(library=library).count(),
        live_accuracy=live_accuracy(classifier=active) if active else None,
        last_retrain=active,
        accuracy_history=list(classifiers_by_version(library=library)),
        labels_over_time=labels_over_time(library=library),
        per_folder=active.metrics.get("per_class", []) if active else [],
    )
