"""Playable proxies of videos a browser cannot play (docs/player.md).

GET answers whether the video needs one and its state; POST asks a worker to make one
(also for a file the probe thought playable, when the browser says otherwise).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.serializers import PlaybackSerializer, playback_answer
from labeling.models import Video
from labeling.selectors.proxies import playback_for, proxies_summary
from labeling.services.library import library_current
from labeling.services.proxies import proxies_ahead_set, proxy_request


class VideoProxyView(APIView):
    roles_required = {"GET": "viewer", "POST": "labeller"}

    @extend_schema(responses={200: PlaybackSerializer}, operation_id="videos_proxy_read")
    def get(self, request: Request, video_id: int) -> Response:
        video = get_object_or_404(Video, pk=video_id, library=library_current())
        playback = playback_for(video=video, check_files=True)
        return Response(playback_answer(video_id=video.pk, playback=playback))

    @extend_schema(request=None, responses={202: PlaybackSerializer})
    def post(self, request: Request, video_id: int) -> Response:
        playback = proxy_request(video_id=video_id, library=library_current())
        return Response(playback_answer(video_id=video_id, playback=playback), status=202)


class ProxySettingsSerializer(serializers.Serializer):
    proxies_ahead = serializers.BooleanField(
        help_text="Make a copy of every file that needs one after each scan (and now)."
    )
    needing = serializers.IntegerField(read_only=True, help_text="Playable files needing one.")
    ready = serializers.IntegerField(read_only=True, help_text="Of those, with a copy made.")


class ProxySettingsView(APIView):
    roles_required = {"GET": "viewer", "PATCH": "reviewer", "PUT": "reviewer"}

    @extend_schema(responses={200: ProxySettingsSerializer}, operation_id="proxies_settings_read")
    def get(self, request: Request) -> Response:
        return Response(ProxySettingsSerializer(proxies_summary(library=library_current())).data)

    @extend_schema(request=ProxySettingsSerializer, responses={200: ProxySettingsSerializer})
    def patch(self, request: Request) -> Response:
        given = ProxySettingsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        library = library_current()
        proxies_ahead_set(library=library, on=given.validated_data["proxies_ahead"])
        return Response(ProxySettingsSerializer(proxies_summary(library=library)).data)

    put = patch


urlpatterns = [
    re_path(r"^videos/(?P<video_id>\d+)/proxy/?$", VideoProxyView.as_view(), name="video-proxy"),
    re_path(r"^proxies/settings/?$", ProxySettingsView.as_view(), name="proxies-settings"),
]
