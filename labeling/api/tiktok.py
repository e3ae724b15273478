"""TikTok data export: GET /api/tiktok (what was imported, what has no file yet),
POST /api/tiktok/import (multipart field ``export``: the zip or its user_data*.json).

An export that is refused answers 400 ``tiktok_export`` with the reason; entries left out
come back in ``skipped`` with theirs (docs/intelligence.md).
"""

from __future__ import annotations

from typing import ClassVar

from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import REVIEWER, VIEWER
from labeling.selectors.tiktok import tiktok_items_unmatched, tiktok_summary
from labeling.services.library import library_by_id_or_current
from labeling.services.tiktok import tiktok_import
from labeling.services.tiktok_export import TikTokExportError

MISSING_LIMIT = 1000


class LibraryQuery(serializers.Serializer):
    library = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class MissingLinkSerializer(serializers.Serializer):
    tiktok_id = serializers.CharField()
    link = serializers.CharField()


class TikTokStateSerializer(serializers.Serializer):
    items = serializers.IntegerField()
    favorites = serializers.IntegerField()
    likes = serializers.IntegerField()
    matched = serializers.IntegerField()
    missing = serializers.IntegerField()
    missing_links = MissingLinkSerializer(many=True, help_text=f"At most {MISSING_LIMIT}.")


class ImportInput(serializers.Serializer):
    export = serializers.FileField(
        help_text="The export: .zip, user_data.json or user_data_tiktok.json."
    )
    library = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class SkippedSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="favorite or like")
    index = serializers.IntegerField(help_text="Position in its list, from 0.")
    link = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    shape = serializers.CharField(help_text="older (Activity) or newer (Your Activity)")
    favorites = serializers.IntegerField()
    likes = serializers.IntegerField()
    items = serializers.IntegerField()
    created = serializers.IntegerField()
    matched = serializers.IntegerField()
    missing = serializers.IntegerField()
    skipped = SkippedSerializer(many=True)


class TikTokView(APIView):
    roles_required: ClassVar[dict[str, str]] = {"GET": VIEWER}

    @extend_schema(parameters=[LibraryQuery], responses={200: TikTokStateSerializer})
    def get(self, request: Request) -> Response:
        query = LibraryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        library = library_by_id_or_current(library_id=query.validated_data.get("library"))
        summary = tiktok_summary(library=library)
        missing = tiktok_items_unmatched(library=library, limit=MISSING_LIMIT)
        body = {
            **{
                k: getattr(summary, k)
                for k in ("items", "favorites", "likes", "matched", "missing")
            },
            "missing_links": [{"tiktok_id": i, "link": link} for i, link in missing],
        }
        return Response(TikTokStateSerializer(body).data)


class TikTokImportView(APIView):
    # Like the page: importing writes the library's data.
    roles_required: ClassVar[dict[str, str]] = {"POST": REVIEWER}
    # JSON too, so a request without a file gets the API's 400 (and role checks read it).
    parser_classes = (MultiPartParser, FormParser, JSONParser)

    @extend_schema(
        request={"multipart/form-data": ImportInput}, responses={200: ImportResultSerializer}
    )
    def post(self, request: Request) -> Response:
        data = ImportInput(data=request.data)
        if not data.is_valid():
            raise TikTokExportError("send the export as the multipart field 'export'")
        args = data.validated_data
        library = library_by_id_or_current(library_id=args.get("library"))
        upload = args["export"]
        report = tiktok_import(library=library, stream=upload, name=upload.name or "export")
        return Response(ImportResultSerializer(report).data)


urlpatterns = [
    re_path(r"^tiktok/?$", TikTokView.as_view(), name="api-tiktok"),
    re_path(r"^tiktok/import/?$", TikTokImportView.as_view(), name="api-tiktok-import"),
]
