"""Sorting endpoints: POST /api/sort, /api/sort/bulk, /api/undo, /api/autofile.

Thin views: parse, call the sorting services, serialize the answer. Service errors
propagate to the API's one error shape (labeling/api/errors.py): 400 bad input, 404
unknown video or folder, 409 conflict (moved meanwhile, being moved, undo refused), 503
when the disk failed (the move was rolled back) or the database failed after the move
(reconcile finishes it).
"""

from __future__ import annotations

from typing import Any

from django.urls import re_path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import LABELLER, REVIEWER, library_of_request, require_role
from labeling.api.errors import TooLarge
from labeling.models import LabelEvent
from labeling.selectors import folders_with_counts
from labeling.selectors.events import label_event_of_user
from labeling.services.autofile import videos_autofile
from labeling.services.errors import NotFoundError
from labeling.services.library import library_by_id_or_current
from labeling.services.moves import MoveResult
from labeling.services.sorting import folder_resolve, video_resolve, video_sort, videos_sort_bulk
from labeling.services.undo import label_event_undo

BULK_MAX_ITEMS = 1000


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
    count = serializers.IntegerField(source="video_count")
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
    results = ItemOutcomeSerializer(many=True, source="items")


class FolderPlanSerializer(serializers.Serializer):
    folder_id = serializers.IntegerField()
    folder = serializers.CharField()
    target_precision = serializers.FloatField()
    threshold = serializers.FloatField(allow_null=True)
    expected_precision = serializers.FloatField(allow_null=True)
    observed_precision = serializers.FloatField(allow_null=True)
    lower_bound = serializers.FloatField(allow_null=True)
    support = serializers.IntegerField()
    count = serializers.IntegerField()
    mean_confidence = serializers.FloatField(allow_null=True)


class AutofileResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    threshold = serializers.FloatField()
    classifier_version = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField()
    moved = serializers.IntegerField()
    failed = serializers.IntegerField()
    items = ItemOutcomeSerializer(many=True)
    # By target precision only: per folder, the threshold chosen and what to expect.
    folders = FolderPlanSerializer(many=True)


def _sort_answer(result: MoveResult) -> dict[str, Any]:
    video = result.video
    return {
        "success": True,
        "filename": video.filename,
        "folder": result.to_folder.name if result.to_folder else None,
        "folders": folders_with_counts(library=video.library),
        "video": video.pk,
        "path": video.path,
        "moved": result.moved,
        "renamed": result.renamed,
        "event": result.event.pk if result.event else None,
    }


def _all_or_multi(success: bool) -> int:
    return status.HTTP_200_OK if success else status.HTTP_207_MULTI_STATUS


class SortView(APIView):
    """Sort one video: {"video": id, "folder": id | name | null} or {"filename", "folder"}."""

    roles_required = {"POST": LABELLER}

    @extend_schema(request=SortInput, responses={200: SortResultSerializer})
    def post(self, request: Request) -> Response:
        data = SortInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        video = video_resolve(video_id=args.get("video"), filename=args.get("filename"))
        require_role(request, video.library, LABELLER)  # the video's library may be another
        folder = folder_resolve(library=video.library, ref=args["folder"])
        extra: dict[str, Any] = {}
        if "expected_folder" in args:
            extra["expected_folder"] = folder_resolve(
                library=video.library, ref=args["expected_folder"]
            )
        result = video_sort(
            video=video, folder=folder, user=request.user, route=args["route"], **extra
        )
        return Response(SortResultSerializer(_sort_answer(result)).data)


class BulkInput(serializers.Serializer):
    items = serializers.ListField(child=serializers.DictField(), allow_empty=False)

    def validate_items(self, items: list[dict]) -> list[dict]:
        if len(items) > BULK_MAX_ITEMS:
            raise TooLarge(f"at most {BULK_MAX_ITEMS} items per request")
        return items


class BulkSortView(APIView):
    """Sort many videos; 200 when every item succeeded, 207 with per-item outcomes if not."""

    roles_required = {"POST": LABELLER}

    @extend_schema(
        request=BulkInput, responses={200: BulkResultSerializer, 207: BulkResultSerializer}
    )
    def post(self, request: Request) -> Response:
        data = BulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = videos_sort_bulk(
            # Videos of the library the role was checked in; others are "not found".
            items=data.validated_data["items"],
            user=request.user,
            library=library_of_request(request),
        )
        return Response(BulkResultSerializer(report).data, status=_all_or_multi(report.success))


class UndoInput(serializers.Serializer):
    event = serializers.IntegerField(required=False, min_value=1)


class UndoView(APIView):
    """Undo the caller's latest sort (or {"event": id}, which must be theirs and latest)."""

    roles_required = {"POST": LABELLER}

    @extend_schema(request=UndoInput, responses={200: UndoResultSerializer})
    def post(self, request: Request) -> Response:
        data = UndoInput(data=request.data)
        data.is_valid(raise_exception=True)
        event_id = data.validated_data.get("event")
        event = None
        if event_id is not None:
            event = label_event_of_user(user=request.user, event_id=event_id)
            if event is None:
                raise NotFoundError(f"no sort of yours with event id {event_id}")
        result = label_event_undo(user=request.user, event=event)
        undone = result.event.undoes.pk if result.event else None
        return Response(UndoResultSerializer(_sort_answer(result) | {"undone": undone}).data)


class AutofileInput(serializers.Serializer):
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.95)
    # Safe by default: moving needs an explicit "dry_run": false.
    dry_run = serializers.BooleanField(default=True)
    per_folder = serializers.DictField(
        child=serializers.FloatField(min_value=0.0, max_value=1.0), required=False
    )
    library = serializers.IntegerField(required=False, min_value=1)
    limit = serializers.IntegerField(required=False, min_value=1)
    # Instead of confidence thresholds: the precision wanted (all folders, or per folder).
    target_precision = serializers.FloatField(required=False, min_value=0.5, max_value=1.0)
    per_folder_precision = serializers.DictField(
        child=serializers.FloatField(min_value=0.5, max_value=1.0), required=False
    )


class AutofileView(APIView):
    """File every unsorted video predicted at >= threshold; "dry_run" (default true) only lists."""

    # A dry run lists; moving (dry_run false) needs a reviewer (checked in post).
    roles_required = {"POST": LABELLER}

    @extend_schema(
        request=AutofileInput,
        responses={200: AutofileResultSerializer, 207: AutofileResultSerializer},
    )
    def post(self, request: Request) -> Response:
        data = AutofileInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        library = library_by_id_or_current(library_id=args.get("library"))
        if not args["dry_run"]:
            require_role(request, library, REVIEWER)  # moving files for real
        report = videos_autofile(
            library=library,
            user=request.user,
            threshold=args["threshold"],
            per_folder=args.get("per_folder"),
            target_precision=args.get("target_precision"),
            per_folder_precision=args.get("per_folder_precision"),
            dry_run=args["dry_run"],
            limit=args.get("limit"),
        )
        body = AutofileResultSerializer(report).data
        return Response(body, status=_all_or_multi(report.success))


# Declared without a trailing slash and answering with one too (the old script's paths).
urlpatterns = [
    re_path(r"^sort/?$", SortView.as_view(), name="api-sort"),
    re_path(r"^sort/bulk/?$", BulkSortView.as_view(), name="api-sort-bulk"),
    re_path(r"^undo/?$", UndoView.as_view(), name="api-undo"),
    re_path(r"^autofile/?$", AutofileView.as_view(), name="api-autofile"),
]
