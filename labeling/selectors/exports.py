"""Reads for the label exports: rows of plain values, ready for JSON or CSV.

Rows are built from ``values_list`` rather than through serializers: an export of
100,000 events stays a few seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Subquery

from labeling.models import Library, Video
from labeling.selectors.events import label_events_standing
from labeling.selectors.text import screen_texts_by_hash, transcripts_by_hash

EXPORT_CHUNK = 5000
EVENT_COLUMNS = (
    "id",
    "video_id",
    "to_path",
    "video__path",
    "to_name",
    "from_name",
    "video__content_hash",
    "user__username",
    "created_at",
    "route",
    "predicted_folder__name",
    "predicted_confidence",
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _event_row(row: tuple) -> dict[str, Any]:
    eid, vid, to_path, path, to_name, from_name, content_hash, user, at, route, predicted, p = row
    return {
        "event": eid,
        "video": vid,
        "path": to_path or path,
        "folder": to_name or None,
        "from_folder": from_name or None,
        "hash": content_hash,
        "who": user,
        "when": _iso(at),
        "route": route,
        "predicted_folder": predicted,
        "predicted_confidence": p,
    }


def label_event_rows(*, library: Library) -> list[dict[str, Any]]:
    """The label events that still stand, oldest first: what was decided, by whom, when."""
    rows = (
        label_events_standing(library=library)
        .order_by("created_at", "id")
        .values_list(*EVENT_COLUMNS)
    )
    return [_event_row(row) for row in rows.iterator(chunk_size=EXPORT_CHUNK)]


def _label_row(row: tuple) -> dict[str, Any]:
    pk, path, folder, content_hash, user, at, route, event = row
    return {
        "video": pk,
        "path": path,
        "folder": folder,
        "hash": content_hash,
        "who": user,
        "when": _iso(at),
        "route": route,
        "event": event,
    }


def video_label_rows(*, library: Library) -> list[dict[str, Any]]:
    """Every sorted video's folder, with the standing event that put it there (if any)."""
    latest = label_events_standing().filter(video=OuterRef("pk")).order_by("-created_at", "-id")
    rows = (
        Video.objects.filter(library=library, folder__isnull=False)
        .exclude(status=Video.Status.MISSING)
        .annotate(
            event_id=Subquery(latest.values("id")[:1]),
            event_user=Subquery(latest.values("user__username")[:1]),
            event_at=Subquery(latest.values("created_at")[:1]),
            event_route=Subquery(latest.values("route")[:1]),
        )
        .order_by("path")
        .values_list(
            "pk",
            "path",
            "folder__name",
            "content_hash",
            "event_user",
            "event_at",
            "event_route",
            "event_id",
        )
    )
    return _with_text([_label_row(row) for row in rows.iterator(chunk_size=EXPORT_CHUNK)])


def _with_text(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row's transcript and on-screen text as plain text ("" when there is none)."""
    hashes = [row["hash"] for row in rows if row["hash"]]
    said = transcripts_by_hash(hashes=hashes)
    written = screen_texts_by_hash(hashes=hashes)
    for row in rows:
        transcript = said.get(row["hash"])
        screen = written.get(row["hash"])
        row["transcript"] = transcript.text if transcript else ""
        row["screen_text"] = " | ".join(line["text"] for line in screen.lines) if screen else ""
    return rows
