"""New-folder suggestions: GET /api/suggestions, POST /api/suggestions/accept.

Accepting makes the folder (or uses the one of that name) and files the ticked videos
through the journalled sort; POST /api/undo takes each move back.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.duplicates import DuplicateVideoSerializer, LibraryQuery
from labeling.api.sorting import ItemOutcomeSerializer
from labeling.selectors.suggestions import videos_in_library
from labeling.services.library import library_by_id_or_current
from labeling.services.suggestions import MAX_ACCEPT, suggestion_accept, suggestions_compute


class SuggestionSerializer(serializers.Serializer):
    name = serializers.CharField()
    name_source = serializers.CharField(
        allow_blank=True, help_text="'vocabulary', 'text', or '' (a numbered placeholder)."
    )
    keywords = serializers.ListField(child=serializers.CharField())
    size = serializers.IntegerField()
    cohesion = serializers.FloatField(help_text="Mean cosine of the members to their centre.")
    videos = DuplicateVideoSerializer(many=True, help_text="Most central first.")


class SuggestionsSerializer(serializers.Serializer):
    library = serializers.IntegerField()
    model_id = serializers.CharField()
    count = serializers.IntegerField()
    suggestions = SuggestionSerializer(many=True)


class AcceptInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, trim_whitespace=False)
    videos = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=MAX_ACCEPT,
    )
    library = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class AcceptResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    folder = serializers.CharField()
    folder_created = serializers.BooleanField()
    moved = serializers.IntegerField()
    failed = serializers.IntegerField()
    events = serializers.ListField(child=serializers.IntegerField())
    results = ItemOutcomeSerializer(many=True, source="items")


def suggestions_answer(*, library_id: int | None) -> dict[str, Any]:
    library = library_by_id_or_current(library_id=library_id)
    model_id, found = suggestions_compute(library=library)
    videos = videos_in_library(library=library, video_ids=[pk for s in found for pk in s.videos])
    items = [
        s.__dict__ | {"videos": [videos[pk] for pk in s.videos if pk in videos]} for s in found
    ]
    return {"library": library.pk, "model_id": model_id, "count": len(items), "suggestions": items}


class SuggestionsView(APIView):
    """Clusters of unsorted videos no folder explains well (docs/intelligence.md)."""

    roles_required: ClassVar[dict[str, str]] = {"GET": "viewer", "POST": "reviewer"}

    @extend_schema(
        operation_id="suggestions",
        parameters=[OpenApiParameter("library", OpenApiTypes.INT, description="Default: current.")],
        responses={200: SuggestionsSerializer},
    )
    def get(self, request: Request) -> Response:
        params = LibraryQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        answer = suggestions_answer(library_id=params.validated_data.get("library"))
        return Response(SuggestionsSerializer(answer).data)


class SuggestionAcceptView(APIView):
    """Create the folder `name` and file the ticked `videos` into it (journalled)."""

    roles_required: ClassVar[dict[str, str]] = {"GET": "viewer", "POST": "reviewer"}

    @extend_schema(
        request=AcceptInput, responses={200: AcceptResultSerializer, 207: AcceptResultSerializer}
    )
    def post(self, request: Request) -> Response:
        data = AcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        report = suggestion_accept(
            library=library_by_id_or_current(library_id=args.get("library")),
            name=args["name"],
            video_ids=args["videos"],
            user=request.user,
        )
        code = status.HTTP_200_OK if report.success else status.HTTP_207_MULTI_STATUS
        return Response(AcceptResultSerializer(report).data, status=code)


urlpatterns = [
    re_path(r"^suggestions/?$", SuggestionsView.as_view(), name="api-suggestions"),
    re_path(
        r"^suggestions/accept/?$", SuggestionAcceptView.as_view(), name="api-suggestions-accept"
    ),
]
