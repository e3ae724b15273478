"""Sorting endpoints: POST /api/sort, /api/sort/bulk, /api/undo, /api/autofile.

Thin views: parse, call labeling.services.sorting, shape the answer. Service errors map
to the API's one error shape (labeling/api/errors.py): 400 bad input, 404 unknown video
or folder, 409 conflict (moved meanwhile, being moved, undo refused), 503 when the disk
failed (the move was rolled back) or the database failed after the move (reconcile
finishes it).
"""

from __future__ import annotations

from typing import Any

from django.urls import re_path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.errors import Conflict, TooLarge
from labeling.models import LabelEvent, Library
from labeling.selectors import folders_with_counts
from labeling.services.library import library_current
from labeling.services.sorting import (
    SortConflict,
    SortError,
    SortFailed,
    SortIncomplete,
    SortInvalid,
    SortNotFound,
    SortRefused,
    SortResult,
    folder_resolve,
    label_event_undo,
    video_resolve,
    video_sort,
    videos_autofile,
    videos_sort_bulk,
)

BULK_MAX_ITEMS = 1000


class DiskUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "disk_error"
    default_detail = "The library's disk refused the operation; nothing was changed."


def _api_error(exc: SortError) -> exceptions.APIException:
    if isinstance(exc, SortNotFound):
        return exceptions.NotFound(str(exc), code=exc.code)
    if isinstance(exc, SortInvalid):
        return exceptions.ParseError(str(exc), code=exc.code)
    if isinstance(exc, SortConflict | SortRefused):
        return Conflict(str(exc), code=exc.code)
    if isinstance(exc, SortFailed | SortIncomplete):
        return DiskUnavailable(str(exc), code=exc.code)
    return exceptions.APIException(str(exc), code=exc.code)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True})
class _IdOrName(serializers.Field):
    """A JSON integer (an id), a string (a name) or null."""

    def to_internal_value(self, data: Any) -> Any:
        if (
            data is None
            or isinstance(data, str)
            or (isinstance(data, int) and not isinstance(data, bool))
        ):
            return data
        raise serializers.ValidationError("must be an id, a name or null")

    def to_representation(self, value: Any) -> Any:
        return value


class SortInput(serializers.Serializer):
    video = serializers.IntegerField(required=False, min_value=1)
    filename = serializers.CharField(required=False, max_length=1024, trim_whitespace=False)
    folder = _IdOrName(allow_null=True)
    expected_folder = _IdOrName(allow_null=True, required=False)
    route = serializers.ChoiceField(
        choices=[LabelEvent.Route.API, LabelEvent.Route.PLAYER], default=LabelEvent.Route.API
    )

    def validate(self, attrs: dict) -> dict:
        if "video" not in attrs and "filename" not in attrs:
            raise serializers.ValidationError("give 'video' (an id) or 'filename'")
        return attrs


# --- Response shapes (OpenAPI) -----------------------------------------------------------


class SortFolderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField()
    key = serializers.IntegerField(allow_null=True)


class SortResultSerializer(serializers.Serializer):
    """The old script's {success, filename, folder, folders}, then VidSort's own keys."""

    success = serializers.BooleanField()
    filename = serializers.CharField()
    folder = serializers.CharField(allow_null=True, help_text="Its folder now; null: unsorted.")
    folders = SortFolderSerializer(many=True)
    video = serializers.IntegerField()
    path = serializers.CharField()
    moved = serializers.BooleanField()
    renamed = serializers.BooleanField()
    event = serializers.IntegerField(allow_null=True)


class UndoResultSerializer(SortResultSerializer):
    undone = serializers.IntegerField(allow_null=True, help_text="The event that was undone.")


class ItemOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    ok = serializers.BooleanField()
    video = serializers.IntegerField(allow_null=True)
    filename = serializers.CharField(allow_blank=True)
    folder = serializers.CharField(allow_null=True)
    path = serializers.CharField(allow_blank=True)
    moved = serializers.BooleanField()
    event = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField(allow_null=True)


class BulkResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    moved = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = ItemOutcomeSerializer(many=True)


class AutofileResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    threshold = serializers.FloatField()
    classifier_version = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField()
    moved = serializers.IntegerField()
    failed = serializers.IntegerField()
    items = ItemOutcomeSerializer(many=True)


def _folders_payload(library: Library) -> list[dict[str, Any]]:
    return [
        {"id": f.pk, "name": f.name, "count": f.video_count, "key": f.key}
        for f in folders_with_counts(library=library)
    ]


def _sort_payload(result: SortResult) -> dict[str, Any]:
    video = result.video
    return {
        "success": True,
        "filename": video.filename,
        "folder": result.to_folder.name if result.to_folder else None,
        "folders": _folders_payload(video.library),
        "video": video.pk,
        "path": video.path,
        "moved": result.moved,
        "renamed": result.renamed,
        "event": result.event.pk if result.event else None,
    }


class SortView(APIView):
    """Sort one video: {"video": id, "folder": id | name | null} or {"filename", "folder"}."""

    @extend_schema(request=SortInput, responses={200: SortResultSerializer})
    def post(self, request: Request) -> Response:
        data = SortInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        try:
            video = video_resolve(video_id=args.get("video"), filename=args.get("filename"))
            folder = folder_resolve(library=video.library, ref=args["folder"])
            extra: dict[str, Any] = {}
            if "expected_folder" in args:
                extra["expected_folder"] = folder_resolve(
                    library=video.library, ref=args["expected_folder"]
                )
            result = video_sort(
                video=video, folder=folder, user=request.user, route=args["route"], **extra
            )
        except SortError as exc:
            raise _api_error(exc) from exc
        return Response(_sort_payload(result))


class BulkInput(serializers.Serializer):
    items = serializers.ListField(child=serializers.DictField(), allow_empty=False)


class BulkSortView(APIView):
    """Sort many videos; 200 when every item succeeded, 207 with per-item outcomes if not."""

    @extend_schema(
        request=BulkInput, responses={200: BulkResultSerializer, 207: BulkResultSerializer}
    )
    def post(self, request: Request) -> Response:
        data = BulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        items = data.validated_data["items"]
        if len(items) > BULK_MAX_ITEMS:
            raise TooLarge(f"at most {BULK_MAX_ITEMS} items per request")
        outcomes = videos_sort_bulk(items=items, user=request.user)
        failed = sum(1 for o in outcomes if not o.ok)
        body = {
            "success": failed == 0,
            "moved": sum(1 for o in outcomes if o.ok and o.moved),
            "failed": failed,
            "results": [o.as_dict() for o in outcomes],
        }
        return Response(
            body, status=status.HTTP_200_OK if failed == 0 else status.HTTP_207_MULTI_STATUS
        )


class UndoInput(serializers.Serializer):
    event = serializers.IntegerField(required=False, min_value=1)


class UndoView(APIView):
    """Undo the caller's latest sort (or {"event": id}, which must be theirs and latest)."""

    @extend_schema(request=UndoInput, responses={200: UndoResultSerializer})
    def post(self, request: Request) -> Response:
        data = UndoInput(data=request.data)
        data.is_valid(raise_exception=True)
        event_id = data.validated_data.get("event")
        try:
            event = None
            if event_id is not None:
                event = LabelEvent.objects.filter(pk=event_id, user=request.user).first()
                if event is None:
                    raise SortNotFound(f"no sort of yours with event id {event_id}")
            result = label_event_undo(user=request.user, event=event)
        except SortError as exc:
            raise _api_error(exc) from exc
        payload = _sort_payload(result)
        payload["undone"] = result.event.undoes.pk if result.event else None
        return Response(payload)


class AutofileInput(serializers.Serializer):
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.95)
    # Safe by default: moving needs an explicit "dry_run": false.
    dry_run = serializers.BooleanField(default=True)
    per_folder = serializers.DictField(
        child=serializers.FloatField(min_value=0.0, max_value=1.0), required=False
    )
    library = serializers.IntegerField(required=False, min_value=1)
    limit = serializers.IntegerField(required=False, min_value=1)


class AutofileView(APIView):
    """File every unsorted video predicted at >= threshold; "dry_run" (default true) only lists."""

    @extend_schema(
        request=AutofileInput,
        responses={200: AutofileResultSerializer, 207: AutofileResultSerializer},
    )
    def post(self, request: Request) -> Response:
        data = AutofileInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        if "library" in args:
            library = Library.objects.filter(pk=args["library"]).first()
            if library is None:
                raise exceptions.NotFound(f"no library with id {args['library']}")
        else:
            library = library_current()
        try:
            report = videos_autofile(
                library=library,
                user=request.user,
                threshold=args["threshold"],
                per_folder=args.get("per_folder"),
                dry_run=args["dry_run"],
                limit=args.get("limit"),
            )
        except SortError as exc:
            raise _api_error(exc) from exc
        body = {
            "success": report.success,
            "dry_run": report.dry_run,
            "threshold": report.threshold,
            "classifier_version": report.classifier_version,
            "count": len(report.items),
            "moved": report.moved,
            "failed": report.failed,
            "items": [i.as_dict() for i in report.items],
        }
        return Response(
            body, status=status.HTTP_200_OK if report.success else status.HTTP_207_MULTI_STATUS
        )


# Declared without a trailing slash and answering with one too (the old script's paths).
urlpatterns = [
    re_path(r"^sort/?$", SortView.as_view(), name="api-sort"),
    re_path(r"^sort/bulk/?$", BulkSortView.as_view(), name="api-sort-bulk"),
    re_path(r"^undo/?$", UndoView.as_view(), name="api-undo"),
    re_path(r"^autofile/?$", AutofileView.as_view(), name="api-autofile"),
]
