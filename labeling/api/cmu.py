"""Compatibility with scripts written for the CMU CREATE Lab video-labeling-tool.

Three of its calls, with its JSON shapes where they make sense for folders (a label is a
folder id); docs/api.md describes them. Authentication is VidSort's (an API token or a
session): the tool's ``user_token`` field is accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.team_shapes import BATCH_STATES, BatchVideoSerializer, team_library
from labeling.models import Batch
from labeling.selectors.team import batch_videos, label_statistics
from labeling.services.batches import (
    AnswerReport,
    batch_answer,
    batch_create,
    batch_id_of_token,
    batch_token,
)


class CmuVideoSerializer(BatchVideoSerializer):
    """A batch video with the tool's keys beside VidSort's: url_root + url_part = the
    stream URL, file_name."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        root = self.context["url_root"]
        return data | {"url_root": root, "url_part": data["url"], "file_name": data["filename"]}


class GetBatchInput(serializers.Serializer):
    user_token = serializers.CharField(required=False, help_text="Ignored (VidSort auth).")
    library = serializers.IntegerField(required=False, min_value=1)


class GetBatchSerializer(serializers.Serializer):
    # Fields named like Serializer.data / Field.label: the tool's keys.
    data = CmuVideoSerializer(many=True)  # type: ignore[assignment]
    video_token = serializers.CharField()


class GetBatchView(APIView):
    roles_required = {"POST": "labeller"}

    @extend_schema(request=GetBatchInput, responses={200: GetBatchSerializer})
    def post(self, request: Request) -> Response:
        batch, _ = batch_create(library=team_library(request, request.data), user=request.user)
        context = {"url_root": request.build_absolute_uri("/").rstrip("/")}
        body = {"data": batch_videos(batch=batch), "video_token": batch_token(batch)}
        return Response(GetBatchSerializer(body, context=context).data)


class CmuLabelSerializer(serializers.Serializer):
    video_id = serializers.IntegerField(min_value=1)
    label = serializers.IntegerField(min_value=1, help_text="Folder id.")  # type: ignore[assignment]


class SendBatchInput(serializers.Serializer):
    video_token = serializers.CharField(max_length=1000)
    user_token = serializers.CharField(required=False, help_text="Ignored (VidSort auth).")
    data = CmuLabelSerializer(many=True, allow_empty=False)  # type: ignore[assignment]


class CmuScoreSerializer(serializers.Serializer):
    batch = serializers.IntegerField(
        allow_null=True, help_text="1 accepted, 0 discarded (a gold answer wrong), null open."
    )
    user = serializers.FloatField(allow_null=True, help_text="Your gold accuracy so far.")


class SendBatchSerializer(serializers.Serializer):
    data = CmuScoreSerializer()  # type: ignore[assignment]
    state = serializers.CharField(help_text=BATCH_STATES)
    answered = serializers.IntegerField()
    size = serializers.IntegerField()
    message = serializers.CharField()
    decided = serializers.ListField(child=serializers.IntegerField())


def _send_answer(report: AnswerReport) -> dict[str, Any]:
    batch = report.batch
    score = {Batch.State.ACCEPTED.value: 1, Batch.State.DISCARDED.value: 0}.get(batch.state)
    accuracy = (
        batch.gold_correct / batch.gold_total if score is not None and batch.gold_total else None
    )
    return {
        "data": {"batch": score, "user": accuracy},
        "state": batch.state,
        "answered": report.answered,
        "size": report.size,
        "message": report.message,
        "decided": [d.decision.video_id for d in report.decided],
    }


class SendBatchView(APIView):
    roles_required = {"POST": "labeller"}

    @extend_schema(request=SendBatchInput, responses={200: SendBatchSerializer})
    def post(self, request: Request) -> Response:
        data = SendBatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        token = data.validated_data["video_token"]
        answers = [
            {"video": a["video_id"], "folder": a["label"]} for a in data.validated_data["data"]
        ]
        report = batch_answer(
            batch_id=batch_id_of_token(token), user=request.user, token=token, answers=answers
        )
        return Response(SendBatchSerializer(_send_answer(report)).data)


class LabelStatisticsSerializer(serializers.Serializer):
    num_all_videos = serializers.IntegerField()
    num_fully_labeled = serializers.IntegerField(help_text="Decided videos.")
    num_partially_labeled = serializers.IntegerField(help_text="Undecided, with counting votes.")


class LabelStatisticsView(APIView):
    roles_required = {"GET": "viewer"}

    @extend_schema(
        parameters=[OpenApiParameter("library", int)],
        responses={200: LabelStatisticsSerializer},
    )
    def get(self, request: Request) -> Response:
        stats = label_statistics(library=team_library(request))
        return Response(LabelStatisticsSerializer(stats).data)


urlpatterns = [
    re_path(r"^v1/get_batch/?$", GetBatchView.as_view(), name="api-cmu-get-batch"),
    re_path(r"^v1/send_batch/?$", SendBatchView.as_view(), name="api-cmu-send-batch"),
    re_path(
        r"^v1/get_label_statistics/?$",
        LabelStatisticsView.as_view(),
        name="api-cmu-label-statistics",
    ),
]
