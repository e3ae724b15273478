"""Reads of predictions for sorting decisions."""

from __future__ import annotations

from django.db.models import QuerySet

from labeling.models import Library, Prediction, Video


def predictions_unsorted_confident(
    *, library: Library, classifier_version: int, min_confidence: float
) -> QuerySet[Prediction]:
    """Predictions of this version for unsorted, readable videos, surest first."""
    return (
        Prediction.objects.filter(
            classifier_version=classifier_version,
            video__library=library,
            video__folder__isnull=True,
            video__status=Video.Status.OK,
            folder__isnull=False,
            confidence__gte=min_confidence,
        )
        .select_related("video__library", "video__folder", "folder")
        .order_by("-confidence", "video_id")
    )
