"""Label export as JSON or CSV.

- GET /api/export/events: the label history, oldest first: every move a person or a
  rule made (player, API, bulk, auto-file, vote, import, external), except moves that
  were undone and the undo moves themselves, so what is left is what was decided.
- GET /api/export/labels: the current label of every sorted video, with the event that
  put it there when there is one.

`?format=csv` (or `Accept: text/csv`) for CSV, JSON otherwise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import REVIEWER
from labeling.models import Library
from labeling.selectors.exports import label_event_rows, video_label_rows
from labeling.services.library import library_current

EVENT_FIELDS = [
    "event",
    "video",
    "path",
    "folder",
    "from_folder",
    "hash",
    "who",
    "when",
    "route",
    "predicted_folder",
    "predicted_confidence",
]
LABEL_FIELDS = [
    "video",
    "path",
    "folder",
    "hash",
    "who",
    "when",
    "route",
    "event",
    "transcript",
    "screen_text",
]


class CSVRenderer(renderers.BaseRenderer):
    """Renders {"rows": [...], "columns": [...]} as CSV; anything else (an error) as key,value."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if isinstance(data, dict) and "rows" in data and "columns" in data:
            writer.writerow(data["columns"])
            for row in data["rows"]:
                writer.writerow(
                    ["" if row.get(c) is None else _safe_cell(row.get(c)) for c in data["columns"]]
                )
        elif isinstance(data, dict):
            writer.writerow(list(data.keys()))
            writer.writerow([_safe_cell(v) for v in data.values()])
        return out.getvalue().encode(self.charset)


def _safe_cell(value: Any) -> Any:
    # A cell starting with = + - @ runs as a formula in spreadsheets (CSV injection);
    # file names are user-controlled, so prefix those with a quote.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class EventRow(serializers.Serializer):
    event = serializers.IntegerField()
    video = serializers.IntegerField()
    path = serializers.CharField()
    folder = serializers.CharField(
        allow_null=True, help_text="Where it went; null = back to unsorted."
    )
    from_folder = serializers.CharField(allow_null=True)
    hash = serializers.CharField()
    who = serializers.CharField(allow_null=True)
    when = serializers.DateTimeField()
    route = serializers.CharField()
    predicted_folder = serializers.CharField(allow_null=True)
    predicted_confidence = serializers.FloatField(allow_null=True)


class LabelRow(serializers.Serializer):
    video = serializers.IntegerField()
    path = serializers.CharField()
    folder = serializers.CharField()
    hash = serializers.CharField()
    who = serializers.CharField(allow_null=True)
    when = serializers.DateTimeField(allow_null=True)
    route = serializers.CharField(allow_null=True)
    event = serializers.IntegerField(allow_null=True)
    transcript = serializers.CharField(allow_blank=True, help_text="What is said (docs/text.md).")
    screen_text = serializers.CharField(
        allow_blank=True, help_text="What is written on screen, lines joined by ' | '."
    )


class EventExport(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField()
    rows = EventRow(many=True)


class LabelExport(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField()
    rows = LabelRow(many=True)


FORMAT_PARAM = OpenApiParameter(
    "format", str, enum=["json", "csv"], description="json (default) or csv."
)


class _ExportView(APIView):
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]
    columns: list[str] = []

    name: str = ""

    def rows(self, library: Library) -> list[dict[str, Any]]:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        rows = self.rows(library_current())
        response = Response({"columns": self.columns, "count": len(rows), "rows": rows})
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = f'attachment; filename="vidsort-{self.name}.csv"'
        return response


class EventExportView(_ExportView):
    # Everyone's sorts, who made them: a reviewer's read.
    roles_required = {"GET": REVIEWER}

    columns = EVENT_FIELDS
    name = "label-events"

    def rows(self, library: Library) -> list[dict[str, Any]]:
        return label_event_rows(library=library)

    @extend_schema(
        operation_id="export_events",
        parameters=[FORMAT_PARAM],
        responses={(200, "application/json"): EventExport, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class LabelExportView(_ExportView):
    # Every video's label (the training set): a reviewer's read.
    roles_required = {"GET": REVIEWER}

    columns = LABEL_FIELDS
    name = "labels"

    def rows(self, library: Library) -> list[dict[str, Any]]:
        return video_label_rows(library=library)

    @extend_schema(
        operation_id="export_labels",
        parameters=[FORMAT_PARAM],
        responses={(200, "application/json"): LabelExport, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


urlpatterns = [
    re_path(r"^export/events/?$", EventExportView.as_view(), name="api-export-events"),
    re_path(r"^export/labels/?$", LabelExportView.as_view(), name="api-export-labels"),
]
