"""The insights page's data (docs/api.md): GET /api/insights, and the videos of one cell of
the filed-vs-predicted matrix, GET /api/insights/confusion?filed=<id>&predicted=<id>."""

from __future__ import annotations

from django.urls import re_path, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.selectors.insights import confusion_videos, insights_for
from labeling.services.library import library_current

_ROWS = serializers.ListField(child=serializers.DictField())


class InsightsSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    learning_curve = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per classifier version: n_labels, cv_accuracy, live_accuracy, live_sorts.",
    )
    per_folder = serializers.ListField(
        child=serializers.DictField(), help_text="precision, recall, average_precision, support."
    )
    confusion = serializers.DictField(
        help_text="folders [{id, name}] and cells[filed][predicted] (sorts with a prediction)."
    )
    labels_per_day = serializers.ListField(child=serializers.DictField())
    confidence_histogram = serializers.ListField(child=serializers.DictField())
    folder_sizes = serializers.ListField(child=serializers.DictField())
    unreadable = serializers.ListField(child=serializers.DictField())


class CellVideoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    path = serializers.CharField()
    folder = serializers.CharField(source="folder.name", allow_null=True)
    url = serializers.SerializerMethodField()

    def get_url(self, video: object) -> str:
        return reverse("labeling:video-stream", args=[video.pk])  # type: ignore[attr-defined]


class CellQuery(serializers.Serializer):
    filed = serializers.IntegerField(min_value=1)
    predicted = serializers.IntegerField(min_value=1)


class InsightsView(APIView):
    roles_required = {"GET": "viewer"}

    @extend_schema(responses={200: InsightsSerializer}, operation_id="insights_read")
    def get(self, request: Request) -> Response:
        return Response(InsightsSerializer(insights_for(library=library_current())).data)


class InsightsCellView(APIView):
    roles_required = {"GET": "viewer"}

    @extend_schema(
        parameters=[OpenApiParameter("filed", int), OpenApiParameter("predicted", int)],
        responses={200: CellVideoSerializer(many=True)},
        operation_id="insights_confusion_videos",
    )
    def get(self, request: Request) -> Response:
        query = CellQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        videos = confusion_videos(library=library_current(), **query.validated_data)
        return Response(CellVideoSerializer(videos, many=True).data)


urlpatterns = [
    re_path(r"^insights/?$", InsightsView.as_view(), name="insights"),
    re_path(r"^insights/confusion/?$", InsightsCellView.as_view(), name="insights-confusion"),
]
