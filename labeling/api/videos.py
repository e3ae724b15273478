"""Videos, folders (read), stats and preferences."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import re_path, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.models import Classifier, LabelEvent, UserPreference, Video
from labeling.selectors import (
    QUEUE_ORDERS,
    accuracy_history,
    folders_with_counts,
    label_history,
    labels_over_time,
    library_counts,
    queue_order_for_user,
    queue_page,
    videos_with_prediction,
)
from labeling.services.learning import live_accuracy
from labeling.services.library import library_current

MAX_LIMIT = 500


# --- Response shapes (OpenAPI): what every endpoint below answers ---------------------
# Declared so that the schema documents the real keys and types and schemathesis' response
# check compares every answer against them. Fields are required unless marked otherwise.


class TopPredictionSerializer(serializers.Serializer):
    folder = serializers.CharField()
    folder_id = serializers.IntegerField()
    confidence = serializers.FloatField()


class VideoItemSerializer(serializers.Serializer):
    """A video in every API answer: the old script's keys, then VidSort's own."""

    id = serializers.IntegerField()
    filename = serializers.CharField()
    url = serializers.CharField(help_text="The stream URL (Range supported).")
    folder = serializers.CharField(allow_null=True, help_text="Folder name; null: unsorted.")
    predicted_folder = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    top_predictions = TopPredictionSerializer(many=True)
    path = serializers.CharField(help_text="Relative to the library root.")
    folder_id = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=Video.Status.values)
    error = serializers.CharField(allow_blank=True)
    duration = serializers.FloatField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField()
    predicted_folder_id = serializers.IntegerField(allow_null=True)
    margin = serializers.FloatField(allow_null=True)
    entropy = serializers.FloatField(allow_null=True)
    source = serializers.CharField(allow_null=True)
    low_confidence = serializers.BooleanField()
    segments = serializers.ListField(child=serializers.DictField())
    duration_ratio = serializers.FloatField(allow_null=True)


class VideoListSerializer(serializers.Serializer):
    videos = VideoItemSerializer(many=True)
    total = serializers.IntegerField()
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, or null.")
    order = serializers.ChoiceField(choices=list(QUEUE_ORDERS))


class LabelHistorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    route = serializers.CharField()
    user = serializers.CharField(allow_null=True)
    # "from" is a Python keyword: declared through the field's source.
    predicted_folder = serializers.CharField(allow_null=True)
    predicted_confidence = serializers.FloatField(allow_null=True)
    undone = serializers.BooleanField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(allow_null=True)
        fields["to"] = serializers.CharField(allow_null=True)
        return fields


class VideoDetailSerializer(VideoItemSerializer):
    history = LabelHistorySerializer(many=True)


class FolderItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="Videos in the folder (missing ones excluded).")
    key = serializers.IntegerField(allow_null=True, help_text="Keyboard shortcut 1-9.")
    prompts = serializers.ListField(child=serializers.CharField())


class FolderListSerializer(serializers.Serializer):
    folders = FolderItemSerializer(many=True)
    unsorted = serializers.IntegerField()


class AccuracyPointSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    at = serializers.DateTimeField()
    labels = serializers.IntegerField(allow_null=True)
    accuracy = serializers.FloatField(allow_null=True)
    balanced_accuracy = serializers.FloatField(allow_null=True)
    mean_confidence = serializers.FloatField(allow_null=True)
    calibration_error = serializers.FloatField(allow_null=True)
    label_counts = serializers.DictField(child=serializers.IntegerField(), allow_null=True)


class LabelsPerDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    labels = serializers.IntegerField(help_text="Label events that day that still stand.")
    total = serializers.IntegerField(help_text="Running total up to that day.")


class LastRetrainSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True)
    balanced_accuracy = serializers.FloatField(allow_null=True)
    n_labels = serializers.IntegerField(allow_null=True)
    at = serializers.DateTimeField()


class StatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    unsorted = serializers.IntegerField()
    unreadable = serializers.IntegerField()
    missing = serializers.IntegerField()
    labels = serializers.IntegerField()
    label_events = serializers.IntegerField()
    live_accuracy = serializers.DictField(allow_null=True)
    last_retrain = LastRetrainSerializer(allow_null=True)
    accuracy_history = AccuracyPointSerializer(many=True)
    labels_over_time = LabelsPerDaySerializer(many=True)
    per_folder = serializers.ListField(child=serializers.DictField())


def video_item(video: Video) -> dict:
    """The shape of a video in every API answer (a superset of the old script's)."""
    top = getattr(video, "pred_top", None) or []
    confidence = getattr(video, "pred_confidence", None)
    return {
        "id": video.pk,
        "filename": video.filename,
        "path": video.path,
        "url": reverse("labeling:video-stream", args=[video.pk]),
        "folder": video.folder.name if video.folder_id else None,
        "folder_id": video.folder_id,
        "status": video.status,
        "error": video.error or video.extract_error,
        "duration": video.duration,
        "width": video.width,
        "height": video.height,
        "size": video.size,
        "predicted_folder": top[0]["folder"] if top else None,
        "predicted_folder_id": top[0]["folder_id"] if top else None,
        "confidence": confidence,
        "margin": getattr(video, "pred_margin", None),
        "entropy": getattr(video, "pred_entropy", None),
        "source": getattr(video, "pred_source", None),
        "low_confidence": confidence is not None and confidence < settings.VIDSORT_LOW_CONFIDENCE,
        "top_predictions": [
            {"folder": t["folder"], "folder_id": t["folder_id"], "confidence": t["probability"]}
            for t in top
        ],
        "segments": getattr(video, "pred_segments", None) or [],
        "duration_ratio": getattr(video, "pred_duration_ratio", None),
    }


class VideoListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("folder", str, description="Folder id, or 'unsorted' (default)."),
            OpenApiParameter("status", str, enum=["ok", "unreadable", "missing"]),
            OpenApiParameter("q", str, description="Filename contains (case-insensitive)."),
            OpenApiParameter("order", str, enum=list(QUEUE_ORDERS)),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses={200: VideoListSerializer},
        operation_id="videos_list",
    )
    def get(self, request: Request) -> Response:
        library = library_current()
        params = request.query_params
        order = params.get("order") or queue_order_for_user(user=request.user)
        if order not in QUEUE_ORDERS:
            raise ValidationError({"order": f"use one of {', '.join(QUEUE_ORDERS)}"})
        limit = _int_param(params, "limit", 50, 1, MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0, 10**9)
        status_filter = params.get("status", "ok")
        if status_filter not in Video.Status.values:
            raise ValidationError({"status": f"use one of {', '.join(Video.Status.values)}"})
        filters: dict = {"status": status_filter}
        folder = params.get("folder", "unsorted")
        if folder == "unsorted":
            filters["folder__isnull"] = True
        elif folder != "all":
            if not folder.isdigit():
                raise ValidationError({"folder": "a folder id, 'unsorted' or 'all'"})
            filters["folder_id"] = int(folder)
        if params.get("q"):
            filters["filename__icontains"] = params["q"][:200]
        seed = request.user.pk or 0
        videos, total = queue_page(
            library=library, order=order, limit=limit, offset=offset, seed=seed, filters=filters
        )
        next_offset = offset + limit if offset + limit < total else None
        return Response(
            {
                "videos": [video_item(v) for v in videos],
                "total": total,
                "next": (
                    f"{request.path}?{_query(params, offset=next_offset)}"
                    if next_offset is not None
                    else None
                ),
                "order": order,
            }
        )


class VideoDetailView(APIView):
    @extend_schema(responses={200: VideoDetailSerializer})
    def get(self, request: Request, video_id: int) -> Response:
        library = library_current()
        video = get_object_or_404(videos_with_prediction(library=library), pk=video_id)
        return Response(video_item(video) | {"history": label_history(video=video)})


class FolderWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=300, required=False, trim_whitespace=False)
    prompts = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=20, required=False
    )
    key = serializers.IntegerField(min_value=1, max_value=9, required=False, allow_null=True)


def folder_item(folder) -> dict:
    count = folder.videos.exclude(status=Video.Status.MISSING).count()
    return {
        "id": folder.pk,
        "name": folder.name,
        "count": count,
        "key": folder.key,
        "prompts": folder.prompts,
    }


def _folder_errors(exc: Exception):
    from labeling.api.errors import Conflict
    from labeling.services.folders import FolderBusy, FolderNameTaken

    if isinstance(exc, FolderNameTaken | FolderBusy):
        return Conflict(str(exc))
    return ValidationError({"name": str(exc)})


class FolderListView(APIView):
    @extend_schema(request=FolderWriteSerializer, responses={201: FolderItemSerializer})
    def post(self, request: Request) -> Response:
        from labeling.services.folders import FolderError, folder_create

        serializer = FolderWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "name" not in data:
            raise ValidationError({"name": "required"})
        try:
            folder = folder_create(
                library=library_current(),
                name=data["name"],
                prompts=data.get("prompts") or [],
                key=data.get("key"),
            )
        except FolderError as exc:
            raise _folder_errors(exc) from None
        return Response(folder_item(folder), status=201)

    @extend_schema(responses={200: FolderListSerializer}, operation_id="folders_list")
    def get(self, request: Request) -> Response:
        library = library_current()
        return Response(
            {
                "folders": [
                    {
                        "id": f.pk,
                        "name": f.name,
                        "count": f.video_count,
                        "key": f.key,
                        "prompts": f.prompts,
                    }
                    for f in folders_with_counts(library=library)
                ],
                "unsorted": library_counts(library=library)["unsorted"],
            }
        )


class FolderDetailView(APIView):
    def _folder(self, folder_id: int):
        from labeling.models import Folder

        return get_object_or_404(Folder, pk=folder_id, library=library_current())

    @extend_schema(responses={200: FolderItemSerializer})
    def get(self, request: Request, folder_id: int) -> Response:
        return Response(folder_item(self._folder(folder_id)))

    @extend_schema(request=FolderWriteSerializer, responses={200: FolderItemSerializer})
    def patch(self, request: Request, folder_id: int) -> Response:
        from labeling.services.folders import FolderError, folder_rename, folder_update

        folder = self._folder(folder_id)
        serializer = FolderWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            if "name" in data:
                folder = folder_rename(folder=folder, name=data["name"])
            folder = folder_update(
                folder=folder, **{k: data[k] for k in ("prompts", "key") if k in data}
            )
        except FolderError as exc:
            raise _folder_errors(exc) from None
        return Response(folder_item(folder))

    put = patch

    @extend_schema(responses={204: None})
    def delete(self, request: Request, folder_id: int) -> Response:
        from labeling.services.folders import FolderError, folder_delete

        try:
            folder_delete(folder=self._folder(folder_id))
        except FolderError as exc:
            raise _folder_errors(exc) from None
        return Response(status=204)


class StatsView(APIView):
    @extend_schema(responses={200: StatsSerializer})
    def get(self, request: Request) -> Response:
        library = library_current()
        counts = library_counts(library=library)
        active = Classifier.objects.filter(library=library, is_active=True).first()
        labels = LabelEvent.objects.filter(video__library=library, undone_by__isnull=True).exclude(
            route=LabelEvent.Route.UNDO
        )
        return Response(
            {
                "total": counts["total"],
                "unsorted": counts["unsorted"],
                "unreadable": counts["unreadable"],
                "missing": counts["missing"],
                "labels": Video.objects.filter(library=library, folder__isnull=False)
                .exclude(status=Video.Status.MISSING)
                .count(),
                "label_events": labels.count(),
                "live_accuracy": live_accuracy(classifier=active) if active else None,
                "last_retrain": (
                    {
                        "version": active.version,
                        "accuracy": active.metrics.get("accuracy"),
                        "balanced_accuracy": active.metrics.get("balanced_accuracy"),
                        "n_labels": active.metrics.get("n_labels"),
                        "at": active.created_at,
                    }
                    if active
                    else None
                ),
                "accuracy_history": accuracy_history(library=library),
                "labels_over_time": labels_over_time(library=library),
                "per_folder": active.metrics.get("per_class", []) if active else [],
            }
        )


class PreferenceSerializer(serializers.Serializer):
    queue_order = serializers.ChoiceField(choices=QUEUE_ORDERS)


class PreferenceView(APIView):
    @extend_schema(responses={200: PreferenceSerializer})
    def get(self, request: Request) -> Response:
        return Response({"queue_order": queue_order_for_user(user=request.user)})

    @extend_schema(request=PreferenceSerializer, responses={200: PreferenceSerializer})
    def put(self, request: Request) -> Response:
        serializer = PreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        UserPreference.objects.update_or_create(
            user=request.user, defaults={"queue_order": serializer.validated_data["queue_order"]}
        )
        return Response(serializer.validated_data)

    patch = put


def _int_param(params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: "must be an integer"}) from None
    if not low <= value <= high:
        raise ValidationError({name: f"must be between {low} and {high}"})
    return value


def _query(params, **overrides) -> str:
    from urllib.parse import urlencode

    merged = {k: v for k, v in params.items()} | {
        k: v for k, v in overrides.items() if v is not None
    }
    return urlencode(merged)


urlpatterns = [
    re_path(r"^videos/?$", VideoListView.as_view(), name="video-list"),
    re_path(r"^videos/(?P<video_id>\d+)/?$", VideoDetailView.as_view(), name="video-detail"),
    re_path(r"^folders/?$", FolderListView.as_view(), name="folder-list"),
    re_path(r"^folders/(?P<folder_id>\d+)/?$", FolderDetailView.as_view(), name="folder-detail"),
    re_path(r"^stats/?$", StatsView.as_view(), name="stats"),
    re_path(r"^preferences/?$", PreferenceView.as_view(), name="preferences"),
]
