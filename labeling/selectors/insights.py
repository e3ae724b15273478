"""Reads for the insights page (/overview): what the charts draw, from stored data only.

- learning curve: each classifier version's cross-validated accuracy and the live
  accuracy of the sorts made while it was the newest, against its number of labels;
- per folder: the active version's cross-validated precision, recall and average precision;
- filed vs predicted: standing sorts with a prediction shown, by (folder filed into,
  folder predicted) — each cell's videos can be listed (``confusion_videos``);
- labels per day, the queue's confidence histogram, folder sizes, unreadable files.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q

from labeling.models import Classifier, Library, Prediction, Video
from labeling.selectors.classifiers import PREDICTION_SHOWN_ROUTES, classifier_active
from labeling.selectors.events import label_events_standing
from labeling.selectors.folders import folders_with_counts
from labeling.selectors.stats import labels_over_time, library_counts

HISTOGRAM_BINS = 10
UNREADABLE_LIMIT = 200
CELL_VIDEOS_LIMIT = 100


def insights_for(*, library: Library) -> dict[str, Any]:
    active = classifier_active(library=library)
    return {
        "counts": library_counts(library=library),
        "learning_curve": learning_curve(library=library),
        "per_folder": _per_folder(active),
        "confusion": confusion(library=library),
        "labels_per_day": [
            {"day": row["day"].isoformat(), "labels": row["labels"], "total": row["total"]}
            for row in labels_over_time(library=library)
        ],
        "confidence_histogram": confidence_histogram(library=library, classifier=active),
        "folder_sizes": [
            {"id": f.pk, "name": f.name, "key": f.key, "count": f.video_count}  # type: ignore[attr-defined]
            for f in folders_with_counts(library=library).order_by("name")
        ],
        "unreadable": [
            {"id": v.pk, "filename": v.filename, "path": v.path, "error": v.error}
            for v in Video.objects.filter(library=library, status=Video.Status.UNREADABLE)
            .only("pk", "filename", "path", "error")
            .order_by("path")[:UNREADABLE_LIMIT]
        ],
    }


def _shown_sorts(library: Library) -> Any:
    return label_events_standing(library=library).filter(
        route__in=PREDICTION_SHOWN_ROUTES,
        predicted_folder__isnull=False,
        to_folder__isnull=False,
    )


def learning_curve(*, library: Library) -> list[dict[str, Any]]:
    versions = list(
        Classifier.objects.filter(library=library)
        .order_by("version")
        .only("version", "created_at", "metrics")
    )
    points = []
    for i, classifier in enumerate(versions):
        sorts = _shown_sorts(library).filter(created_at__gte=classifier.created_at)
        if i + 1 < len(versions):
            sorts = sorts.filter(created_at__lt=versions[i + 1].created_at)
        counted = sorts.aggregate(total=Count("pk"), agreed=Count("pk", filter=_agreed()))
        metrics = classifier.metrics or {}
        points.append(
            {
                "version": classifier.version,
                "at": classifier.created_at.isoformat(),
                "n_labels": metrics.get("n_labels"),
                "cv_accuracy": metrics.get("accuracy"),
                "balanced_accuracy": metrics.get("balanced_accuracy"),
                "live_accuracy": counted["agreed"] / counted["total"] if counted["total"] else None,
                "live_sorts": counted["total"],
            }
        )
    return points


def _agreed() -> Q:
    return Q(to_folder=F("predicted_folder"))


def _per_folder(active: Classifier | None) -> list[dict[str, Any]]:
    if active is None:
        return []
    return [
        {
            "folder": entry.get("folder", str(entry.get("label"))),
            "folder_id": entry.get("label"),
            "precision": entry.get("precision"),
            "recall": entry.get("recall"),
            "average_precision": entry.get("average_precision"),
            "support": entry.get("support"),
        }
        for entry in (active.metrics or {}).get("per_class", [])
    ]


def confusion(*, library: Library) -> dict[str, Any]:
    """Sorts with a prediction shown: rows the folder filed into, columns the prediction."""
    rows = (
        _shown_sorts(library)
        .values("to_folder", "predicted_folder")
        .annotate(n=Count("pk"))
        .order_by()
    )
    cells = {(r["to_folder"], r["predicted_folder"]): r["n"] for r in rows}
    used = {f for pair in cells for f in pair}
    folders = [
        {"id": f.pk, "name": f.name}
        for f in folders_with_counts(library=library).order_by("name")
        if f.pk in used
    ]
    ids = [f["id"] for f in folders]
    return {
        "folders": folders,
        "cells": [[cells.get((filed, predicted), 0) for predicted in ids] for filed in ids],
    }


def confusion_videos(*, library: Library, filed: int, predicted: int) -> list[Video]:
    """The videos of one cell: filed into ``filed`` while ``predicted`` was shown."""
    video_ids = (
        _shown_sorts(library)
        .filter(to_folder=filed, predicted_folder=predicted)
        .values_list("video_id", flat=True)
    )
    return list(
        Video.objects.filter(pk__in=video_ids)
        .select_related("folder")
        .order_by("path")[:CELL_VIDEOS_LIMIT]
    )


def confidence_histogram(
    *, library: Library, classifier: Classifier | None
) -> list[dict[str, Any]]:
    """The queue's (unsorted, playable videos') top confidence in ten bins of 10 %."""
    bins = [
        {"from": i / HISTOGRAM_BINS, "to": (i + 1) / HISTOGRAM_BINS, "videos": 0}
        for i in range(HISTOGRAM_BINS)
    ]
    if classifier is None:
        return bins
    confidences = Prediction.objects.filter(
        classifier_version=classifier.version,
        video__library=library,
        video__folder__isnull=True,
        video__status=Video.Status.OK,
    ).values_list("confidence", flat=True)
    for value in confidences:
        index = min(HISTOGRAM_BINS - 1, max(0, int(value * HISTOGRAM_BINS)))
        bins[index]["videos"] += 1
    return bins


__all__ = ["confusion_videos", "insights_for"]
