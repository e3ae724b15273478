"""Duplicates: GET /api/duplicates (the library's groups), POST /api/duplicates/resolve.

Resolving keeps one member and moves the others into a named folder (made when missing)
through the journalled sort; nothing is deleted, and POST /api/undo takes the moves back.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import re_path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.serializers import UtcDateTimeField, computed
from labeling.api.sorting import ItemOutcomeSerializer
from labeling.models import Video
from labeling.selectors.duplicates import duplicate_group_videos, library_duplicates
from labeling.services.duplicates import duplicates_model_id, duplicates_resolve
from labeling.services.library import library_by_id_or_current


class LibraryQuery(serializers.Serializer):
    library = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class DuplicateVideoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    path = serializers.CharField()
    url = computed(serializers.CharField, lambda v: reverse("labeling:video-stream", args=[v.pk]))
    folder = serializers.CharField(source="folder.name", allow_null=True)
    status = serializers.ChoiceField(choices=Video.Status.values)
    size = serializers.IntegerField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    codec = serializers.CharField(allow_blank=True)
    created_at = UtcDateTimeField()
    content_hash = serializers.CharField(allow_blank=True)


class DuplicateGroupSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    exact = serializers.BooleanField(help_text="Every member has the same content hash.")
    videos = DuplicateVideoSerializer(many=True)


class DuplicatesSerializer(serializers.Serializer):
    library = serializers.IntegerField()
    model_id = serializers.CharField()
    count = serializers.IntegerField()
    groups = DuplicateGroupSerializer(many=True)


class ResolveInput(serializers.Serializer):
    keep = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    move_others_to = serializers.CharField(max_length=100, trim_whitespace=False)
    library = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class ResolveResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    keep = serializers.IntegerField()
    folder = serializers.CharField()
    folder_created = serializers.BooleanField()
    moved = serializers.IntegerField()
    failed = serializers.IntegerField()
    events = serializers.ListField(
        child=serializers.IntegerField(), help_text="Label events, newest first: undo order."
    )
    results = ItemOutcomeSerializer(many=True, source="items")


def duplicates_answer(*, library_id: int | None) -> dict[str, Any]:
    library = library_by_id_or_current(library_id=library_id)
    found = library_duplicates(library=library, model_id=duplicates_model_id())
    videos = duplicate_group_videos(
        library=library, video_ids=[pk for group in found.groups for pk in group]
    )
    groups = [
        {"index": i, "exact": found.exact[i], "videos": [videos[pk] for pk in g if pk in videos]}
        for i, g in enumerate(found.groups)
    ]
    return {
        "library": library.pk,
        "model_id": found.model_id,
        "count": len(groups),
        "groups": groups,
    }


class DuplicatesView(APIView):
    """The library's duplicate groups: exact copies and near-duplicates (docs/intelligence.md)."""

    roles_required: ClassVar[dict[str, str]] = {"GET": "viewer", "POST": "reviewer"}

    @extend_schema(
        operation_id="duplicates",
        parameters=[OpenApiParameter("library", OpenApiTypes.INT, description="Default: current.")],
        responses={200: DuplicatesSerializer},
    )
    def get(self, request: Request) -> Response:
        params = LibraryQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        answer = duplicates_answer(library_id=params.validated_data.get("library"))
        return Response(DuplicatesSerializer(answer).data)


class DuplicatesResolveView(APIView):
    """Keep one member of its group; move the others into `move_others_to` (never deletes)."""

    roles_required: ClassVar[dict[str, str]] = {"GET": "viewer", "POST": "reviewer"}

    @extend_schema(
        request=ResolveInput,
        responses={200: ResolveResultSerializer, 207: ResolveResultSerializer},
    )
    def post(self, request: Request) -> Response:
        data = ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        report = duplicates_resolve(
            library=library_by_id_or_current(library_id=args.get("library")),
            keep=args["keep"],
            move_others_to=args["move_others_to"],
            user=request.user,
        )
        code = status.HTTP_200_OK if report.success else status.HTTP_207_MULTI_STATUS
        return Response(ResolveResultSerializer(report).data, status=code)


urlpatterns = [
    re_path(r"^duplicates/?$", DuplicatesView.as_view(), name="api-duplicates"),
    re_path(
        r"^duplicates/resolve/?$", DuplicatesResolveView.as_view(), name="api-duplicates-resolve"
    ),
]
