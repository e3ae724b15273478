"""Reads of classifier versions: the active one, their history, how the active one does."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.utils import timezone

from labeling.models import Classifier, LabelEvent, Library, Prediction
from labeling.selectors.events import label_events_standing

# Routes where a person saw a prediction before sorting (so agreeing with it means something).
PREDICTION_SHOWN_ROUTES = (LabelEvent.Route.PLAYER, LabelEvent.Route.API, LabelEvent.Route.BULK)


def classifier_active(*, library: Library | int) -> Classifier | None:
    """The version the player and the API read (at most one per library)."""
    return Classifier.objects.filter(library=library, is_active=True).first()


def classifier_latest(*, library: Library) -> Classifier | None:
    """The newest version, active or not."""
    return Classifier.objects.filter(library=library).order_by("-version").first()


def classifiers_by_version(*, library: Library) -> QuerySet[Classifier]:
    """Every version, oldest first: one point each of accuracy against labels."""
    return Classifier.objects.filter(library=library).order_by("version")


def live_accuracy(*, classifier: Classifier) -> dict:
    """Share of sorts since this version was trained that agreed with the shown prediction."""
    events = label_events_standing(library=classifier.library).filter(
        created_at__gte=classifier.created_at,
        predicted_folder__isnull=False,
        route__in=PREDICTION_SHOWN_ROUTES,
    )
    total = events.count()
    agreed = events.filter(to_folder=F("predicted_folder")).count()
    return {
        "sorts": total,
        "agreed": agreed,
        "accuracy": agreed / total if total else None,
        "since": classifier.created_at.isoformat() if classifier.created_at else None,
        "computed_at": timezone.now().isoformat(),
    }


def predictions_of_version(*, classifier: Classifier) -> QuerySet[Prediction]:
    """This version's predictions, with their videos, by video path."""
    return (
        Prediction.objects.filter(
            video__library=classifier.library_id, classifier_version=classifier.version
        )
        .select_related("video")
        .order_by("video__path")
    )


def classifier_versions_newest(*, library: Library, limit: int) -> list[int]:
    return list(
        Classifier.objects.filter(library=library)
        .order_by("-version")
        .values_list("version", flat=True)[:limit]
    )


def classifier_has_predictions(*, classifier: Classifier) -> bool:
    return Prediction.objects.filter(
        video__library=classifier.library_id, classifier_version=classifier.version
    ).exists()
