"""Videos, folders, stats and preferences.

Each handler: parameters checked -> a selector or service -> the response serializer
(labeling/api/serializers.py, which also documents the shape in the OpenAPI schema).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import REVIEWER, SIGNED_IN, VIEWER
from labeling.api.serializers import (
    FolderItemSerializer,
    FolderKeyHolderSerializer,
    FolderListSerializer,
    FolderUpdatedSerializer,
    FolderWriteSerializer,
    PreferenceSerializer,
    StatsSerializer,
    VideoDetailSerializer,
    VideoListQuery,
    VideoListSerializer,
)
from labeling.models import Folder
from labeling.selectors import (
    QUEUE_ORDERS,
    folder_with_count,
    folders_with_counts,
    library_counts,
    library_stats,
    queue_order_for_user,
    queue_page,
    videos_with_history,
)
from labeling.services.folders import (
    FolderUpdated,
    folder_create,
    folder_delete,
    folder_rename,
    folder_update,
)
from labeling.services.library import library_current
from labeling.services.preferences import user_preference_set

# --- Videos ---------------------------------------------------------------------------


class VideoListView(APIView):
    roles_required = {"GET": VIEWER}

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
        params = request.query_params
        query = VideoListQuery.parse(params, default_order=queue_order_for_user(user=request.user))
        videos, total = queue_page(
            library=library_current(),
            order=query.order,
            limit=query.limit,
            offset=query.offset,
            seed=request.user.pk or 0,
            filters=query.filters,
        )
        next_url = query.next_url(path=request.path, params=params, total=total)
        page = {"videos": videos, "total": total, "next": next_url, "order": query.order}
        return Response(VideoListSerializer(page).data)


class VideoDetailView(APIView):
    roles_required = {"GET": VIEWER}

    @extend_schema(responses={200: VideoDetailSerializer})
    def get(self, request: Request, video_id: int) -> Response:
        video = get_object_or_404(videos_with_history(library=library_current()), pk=video_id)
        return Response(VideoDetailSerializer(video).data)


# --- Folders (service errors become API errors in labeling/api/errors.py) ------------


def _folder_answer(folder: Folder, *, status: int = 200) -> Response:
    counted = folder_with_count(library=folder.library_id, folder_id=folder.pk)
    return Response(FolderItemSerializer(counted).data, status=status)


def _folder_updated_answer(updated: FolderUpdated) -> Response:
    """FolderUpdatedSerializer's shape: the folder, and the one whose key it took."""
    folder, holder = updated.folder, updated.key_taken_from
    answer = dict(_folder_answer(folder).data)
    answer["key_taken_from"] = FolderKeyHolderSerializer(holder).data if holder else None
    return Response(answer)


class FolderListView(APIView):
    roles_required = {"GET": VIEWER, "POST": REVIEWER}

    @extend_schema(request=FolderWriteSerializer, responses={201: FolderItemSerializer})
    def post(self, request: Request) -> Response:
        serializer = FolderWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "name" not in data:
            raise ValidationError({"name": "required"})
        folder = folder_create(
            library=library_current(),
            name=data["name"],
            prompts=data.get("prompts") or [],
            # Not given: the first free key, as the scan gives new folders.
            key=data["key"] if "key" in data else ...,
        )
        return _folder_answer(folder, status=201)

    @extend_schema(responses={200: FolderListSerializer}, operation_id="folders_list")
    def get(self, request: Request) -> Response:
        library = library_current()
        folders = folders_with_counts(library=library)
        unsorted = library_counts(library=library)["unsorted"]
        return Response(FolderListSerializer({"folders": folders, "unsorted": unsorted}).data)


class FolderDetailView(APIView):
    roles_required = {"GET": VIEWER, "PATCH": REVIEWER, "PUT": REVIEWER, "DELETE": REVIEWER}

    def _folder(self, folder_id: int) -> Folder:
        return get_object_or_404(folders_with_counts(library=library_current()), pk=folder_id)

    @extend_schema(responses={200: FolderItemSerializer})
    def get(self, request: Request, folder_id: int) -> Response:
        return Response(FolderItemSerializer(self._folder(folder_id)).data)

    @extend_schema(request=FolderWriteSerializer, responses={200: FolderUpdatedSerializer})
    def patch(self, request: Request, folder_id: int) -> Response:
        folder = self._folder(folder_id)
        serializer = FolderWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "name" in data:
            folder = folder_rename(folder=folder, name=data["name"])
        changes = {k: data[k] for k in ("prompts", "key") if k in data}
        return _folder_updated_answer(folder_update(folder=folder, **changes))

    put = patch

    @extend_schema(responses={204: None})
    def delete(self, request: Request, folder_id: int) -> Response:
        folder_delete(folder=self._folder(folder_id))
        return Response(status=204)


# --- Stats and preferences ------------------------------------------------------------


class StatsView(APIView):
    roles_required = {"GET": VIEWER}

    @extend_schema(responses={200: StatsSerializer})
    def get(self, request: Request) -> Response:
        return Response(StatsSerializer(library_stats(library=library_current())).data)


class PreferenceView(APIView):
    # Each user's own player settings, in no library.
    roles_required = {"GET": SIGNED_IN, "PUT": SIGNED_IN, "PATCH": SIGNED_IN}

    @extend_schema(responses={200: PreferenceSerializer})
    def get(self, request: Request) -> Response:
        return Response({"queue_order": queue_order_for_user(user=request.user)})

    @extend_schema(request=PreferenceSerializer, responses={200: PreferenceSerializer})
    def put(self, request: Request) -> Response:
        serializer = PreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_preference_set(user=request.user, **serializer.validated_data)
        return Response(serializer.validated_data)

    patch = put


urlpatterns = [
    re_path(r"^videos/?$", VideoListView.as_view(), name="video-list"),
    re_path(r"^videos/(?P<video_id>\d+)/?$", VideoDetailView.as_view(), name="video-detail"),
    re_path(r"^folders/?$", FolderListView.as_view(), name="folder-list"),
    re_path(r"^folders/(?P<folder_id>\d+)/?$", FolderDetailView.as_view(), name="folder-detail"),
    re_path(r"^stats/?$", StatsView.as_view(), name="stats"),
    re_path(r"^preferences/?$", PreferenceView.as_view(), name="preferences"),
]
