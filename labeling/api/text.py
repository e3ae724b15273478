"""GET /api/videos/<id>/text: what is said (transcript) and written (on-screen lines) in a
video, with times, for the player's panel. State "pending" until the text stage ran.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import VIEWER
from labeling.api.serializers import VideoTextSerializer
from labeling.models import Video
from labeling.selectors.text import video_text
from labeling.services.library import library_current


class VideoTextView(APIView):
    roles_required = {"GET": VIEWER}

    @extend_schema(responses={200: VideoTextSerializer}, operation_id="video_text")
    def get(self, request: Request, video_id: int) -> Response:
        video = get_object_or_404(Video, pk=video_id, library=library_current())
        return Response(VideoTextSerializer(video_text(video=video)).data)


urlpatterns = [
    re_path(r"^videos/(?P<video_id>\d+)/text/?$", VideoTextView.as_view(), name="video-text"),
]
