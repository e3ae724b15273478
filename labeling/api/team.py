"""Team mode endpoints: batches, votes, decisions, gold standards, stats, settings.

docs/team.md describes the rules and each shape. Every view names the least role each
method needs in ``roles_required`` (the roles permission enforces it). Service errors
carry their status: 403 bad_token, 404, 409 not_team_mode / not_enough_gold /
batch_closed / already_decided / decided, 400 not_in_batch.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.team_shapes import (
    LIBRARY_PARAM,
    AnswerResultSerializer,
    AnswersInput,
    BatchSerializer,
    DecisionInput,
    DecisionResultSerializer,
    GoldItemSerializer,
    GoldListSerializer,
    LibraryInput,
    ReviewSerializer,
    TeamSettingsSerializer,
    TeamStatsSerializer,
    UndoneSerializer,
    VideoVotesSerializer,
    VoteInput,
    batch_body,
    team_library,
)
from labeling.models import Video
from labeling.selectors.roles import role_at_least
from labeling.selectors.team import gold_list, review_queue, team_stats, video_decision, video_votes
from labeling.services.batches import batch_answer, batch_create, batch_get, vote_cast
from labeling.services.sorting import folder_resolve
from labeling.services.team import (
    decision_by_reviewer,
    gold_mark,
    gold_unmark,
    team_settings_update,
    vote_undo,
)

# --- batches and votes -------------------------------------------------------------------


class BatchListView(APIView):
    roles_required = {"POST": "labeller"}

    @extend_schema(request=LibraryInput, responses={200: BatchSerializer, 201: BatchSerializer})
    def post(self, request: Request) -> Response:
        batch, created = batch_create(
            library=team_library(request, request.data), user=request.user
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(
            batch_body(batch, 0 if created else batch_get(batch_id=batch.pk, user=request.user)[1]),
            status=code,
        )


class BatchDetailView(APIView):
    roles_required = {"GET": "labeller"}

    @extend_schema(responses={200: BatchSerializer})
    def get(self, request: Request, batch_id: int) -> Response:
        batch, answered = batch_get(batch_id=int(batch_id), user=request.user)
        return Response(batch_body(batch, answered))


class BatchAnswersView(APIView):
    roles_required = {"POST": "labeller"}

    @extend_schema(request=AnswersInput, responses={200: AnswerResultSerializer})
    def post(self, request: Request, batch_id: int) -> Response:
        data = AnswersInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        report = batch_answer(
            batch_id=int(batch_id), user=request.user, token=args["token"], answers=args["answers"]
        )
        return Response(AnswerResultSerializer(report).data)


class VoteView(APIView):
    """One answer into the caller's open batch holding the video (same result as answers)."""

    roles_required = {"POST": "labeller"}

    @extend_schema(request=VoteInput, responses={200: AnswerResultSerializer})
    def post(self, request: Request) -> Response:
        data = VoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        video = get_object_or_404(Video.objects.select_related("library"), pk=args["video"])
        report = vote_cast(video=video, user=request.user, folder_id=args["folder"])
        return Response(AnswerResultSerializer(report).data)


class VoteUndoView(APIView):
    roles_required = {"POST": "labeller"}

    @extend_schema(request=LibraryInput, responses={200: UndoneSerializer})
    def post(self, request: Request) -> Response:
        withdrawn = vote_undo(library=team_library(request, request.data), user=request.user)
        return Response(UndoneSerializer(withdrawn).data)


# --- votes, review, decisions ------------------------------------------------------------


class VideoVotesView(APIView):
    roles_required = {"GET": "reviewer"}

    @extend_schema(responses={200: VideoVotesSerializer})
    def get(self, request: Request, video_id: int) -> Response:
        video = get_object_or_404(Video, pk=video_id)
        body = {"video": video.pk, "votes": video_votes(video=video)}
        body["decision"] = video_decision(video=video)
        return Response(VideoVotesSerializer(body).data)


class ReviewView(APIView):
    roles_required = {"GET": "reviewer"}

    @extend_schema(parameters=[LIBRARY_PARAM], responses={200: ReviewSerializer})
    def get(self, request: Request) -> Response:
        library = team_library(request)
        return Response(ReviewSerializer({"videos": review_queue(library=library)}).data)


class DecisionView(APIView):
    roles_required = {"POST": "reviewer"}

    @extend_schema(request=DecisionInput, responses={200: DecisionResultSerializer})
    def post(self, request: Request) -> Response:
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        video = get_object_or_404(
            Video.objects.select_related("library", "folder"), pk=data.validated_data["video"]
        )
        folder = folder_resolve(library=video.library, ref=data.validated_data["folder"])
        if folder is None:
            raise serializers.ValidationError({"folder": "a decision names a folder"})
        decided = decision_by_reviewer(video=video, folder=folder, user=request.user)
        return Response(DecisionResultSerializer(decided).data)


# --- gold standards ----------------------------------------------------------------------


class GoldView(APIView):
    roles_required = {"GET": "reviewer", "POST": "reviewer"}

    @extend_schema(parameters=[LIBRARY_PARAM], responses={200: GoldListSerializer})
    def get(self, request: Request) -> Response:
        library = team_library(request)
        gold = gold_list(library=library)
        needed = max(2, library.gold_per_batch)
        return Response(
            GoldListSerializer({"gold": gold, "count": len(gold), "needed_per_batch": needed}).data
        )

    @extend_schema(request=DecisionInput, responses={201: GoldItemSerializer})
    def post(self, request: Request) -> Response:
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        video = get_object_or_404(
            Video.objects.select_related("library", "folder"), pk=data.validated_data["video"]
        )
        folder = folder_resolve(library=video.library, ref=data.validated_data["folder"])
        if folder is None:
            raise serializers.ValidationError({"folder": "a gold standard names a folder"})
        gold, _ = gold_mark(video=video, folder=folder, user=request.user)
        return Response(GoldItemSerializer(gold).data, status=status.HTTP_201_CREATED)


class GoldDetailView(APIView):
    roles_required = {"DELETE": "reviewer"}

    @extend_schema(parameters=[LIBRARY_PARAM], responses={204: None})
    def delete(self, request: Request, video_id: int) -> Response:
        gold_unmark(library=team_library(request), video_id=int(video_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- stats and settings ------------------------------------------------------------------


class TeamStatsView(APIView):
    roles_required = {"GET": "labeller"}

    @extend_schema(parameters=[LIBRARY_PARAM], responses={200: TeamStatsSerializer})
    def get(self, request: Request) -> Response:
        library = team_library(request)
        see_all = role_at_least(request.user, library, "reviewer")
        stats = team_stats(library=library, user=request.user, see_all=see_all)
        return Response(TeamStatsSerializer(stats).data)


class TeamSettingsView(APIView):
    roles_required = {"GET": "viewer", "PATCH": "owner"}

    @extend_schema(parameters=[LIBRARY_PARAM], responses={200: TeamSettingsSerializer})
    def get(self, request: Request) -> Response:
        return Response(TeamSettingsSerializer(team_library(request)).data)

    @extend_schema(
        parameters=[LIBRARY_PARAM],
        request=TeamSettingsSerializer,
        responses={200: TeamSettingsSerializer},
    )
    def patch(self, request: Request) -> Response:
        data = TeamSettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        library = team_library(request, request.data)
        library = team_settings_update(library=library, changes=data.validated_data)
        return Response(TeamSettingsSerializer(library).data)


# Declared without a trailing slash and answering with one too, like the rest of the API.
urlpatterns = [
    re_path(r"^batches/?$", BatchListView.as_view(), name="api-batches"),
    re_path(r"^batches/(?P<batch_id>[0-9]+)/?$", BatchDetailView.as_view(), name="api-batch"),
    re_path(
        r"^batches/(?P<batch_id>[0-9]+)/answers/?$",
        BatchAnswersView.as_view(),
        name="api-batch-answers",
    ),
    re_path(r"^votes/?$", VoteView.as_view(), name="api-votes"),
    re_path(r"^votes/undo/?$", VoteUndoView.as_view(), name="api-votes-undo"),
    re_path(
        r"^videos/(?P<video_id>[0-9]+)/votes/?$", VideoVotesView.as_view(), name="api-video-votes"
    ),
    re_path(r"^review/?$", ReviewView.as_view(), name="api-review"),
    re_path(r"^decisions/?$", DecisionView.as_view(), name="api-decisions"),
    re_path(r"^gold/?$", GoldView.as_view(), name="api-gold"),
    re_path(r"^gold/(?P<video_id>[0-9]+)/?$", GoldDetailView.as_view(), name="api-gold-detail"),
    re_path(r"^team/stats/?$", TeamStatsView.as_view(), name="api-team-stats"),
    re_path(r"^team/settings/?$", TeamSettingsView.as_view(), name="api-team-settings"),
]
