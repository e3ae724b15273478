"""GET /api/search: rank videos by CLIP similarity to a text (?q=) or to a video (?like=).

The search runs in labeling.services.search (the ranking and its per-process embedding
matrix in labeling.selectors.search); its errors (422: the search cannot be done as asked; 503: no text encoder) are service errors.
"""

from __future__ import annotations

from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import VIEWER
from labeling.api.serializers import SearchResultsSerializer
from labeling.selectors.search import FILTER_POOL
from labeling.services.library import library_current
from labeling.services.search import videos_search

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_QUERY_CHARS = 300


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=MAX_QUERY_CHARS, trim_whitespace=True)
    like = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT
    )
    folder = serializers.RegexField(r"^(all|unsorted|\d{1,18})$", required=False, default="all")

    def validate(self, attrs: dict) -> dict:
        if ("q" in attrs) == ("like" in attrs):
            raise serializers.ValidationError(
                "give exactly one of 'q' (a text) or 'like' (a video id)"
            )
        return attrs


class SearchView(APIView):
    roles_required = {"GET": VIEWER}

    @extend_schema(
        operation_id="search",
        parameters=[
            OpenApiParameter(
                "q", str, description="Text to match (needs a pretrained CLIP model)."
            ),
            OpenApiParameter(
                "like", OpenApiTypes.INT, description="Find videos similar to this video id."
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description=f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}."
            ),
            OpenApiParameter(
                "folder",
                str,
                pattern=r"^(all|unsorted|\d{1,18})$",
                description=f"'all' (default), 'unsorted' or a folder id; applied to the best {FILTER_POOL} matches.",
            ),
        ],
        responses={200: SearchResultsSerializer},
    )
    def get(self, request: Request) -> Response:
        params = SearchQuery(data=request.query_params)
        params.is_valid(raise_exception=True)
        args = params.validated_data
        found = videos_search(
            library=library_current(),
            text=args.get("q"),
            like=args.get("like"),
            limit=args["limit"],
            folder=args["folder"],
        )
        return Response(SearchResultsSerializer(found).data)


urlpatterns = [
    re_path(r"^search/?$", SearchView.as_view(), name="api-search"),
]
