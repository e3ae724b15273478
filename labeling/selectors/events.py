"""Reads of the label-event audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from labeling.models import LabelEvent, Library

# Routes by which a person sorted a video (and so may undo it).
SORTING_ROUTES = (
    LabelEvent.Route.PLAYER,
    LabelEvent.Route.API,
    LabelEvent.Route.BULK,
    LabelEvent.Route.AUTO_FILE,
)


def label_events_standing(*, library: Library | None = None) -> QuerySet[LabelEvent]:
    """Label events that still stand: not undone, and not undo moves themselves.

    An undone sort and the undo itself cancel out: together they taught nothing. Training
    reads ``Video.folder``; accuracy-over-time records and exports read this queryset.
    """
    events = LabelEvent.objects.filter(undone_by__isnull=True).exclude(route=LabelEvent.Route.UNDO)
    if library is not None:
        events = events.filter(video__library=library)
    return events


def label_events_new_labels(
    *, library: Library, since: datetime | None = None
) -> QuerySet[LabelEvent]:
    """Standing events that taught something new (imports of already-sorted files did not)."""
    events = label_events_standing(library=library).exclude(route=LabelEvent.Route.IMPORT)
    if since is not None:
        events = events.filter(created_at__gt=since)
    return events


def label_events_undoable(*, user: Any) -> QuerySet[LabelEvent]:
    """The user's own sorts that have not been undone, with what an undo needs loaded."""
    return LabelEvent.objects.filter(
        user=user, route__in=SORTING_ROUTES, undone_by__isnull=True
    ).select_related("video__library", "video__folder", "from_folder", "to_folder")


def label_event_latest_standing(*, video_id: int) -> LabelEvent | None:
    """The most recent event of this video that still stands."""
    return label_events_standing().filter(video_id=video_id).order_by("-created_at", "-id").first()


def label_event_of_user(*, user: Any, event_id: int) -> LabelEvent | None:
    return LabelEvent.objects.filter(pk=event_id, user=user).first()
