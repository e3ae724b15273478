"""Team mode endpoints: batches, votes, decisions, gold standards, stats, settings.

docs/team.md describes the rules and each shape. Every view names the least role each
method needs in ``roles_required`` (the roles permission enforces it). Service errors
carry their status: 403 bad_token, 404, 409 not_team_mode / not_enough_gold /
batch_closed / already_decided / decided, 400 not_in_batch.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.serializers import UtcDateTimeField, VideoItemSerializer
from labeling.models import Batch, Library, Video
from labeling.selectors.roles import role_at_least
from labeling.selectors.team import (
    batch_videos,
    gold_list,
    review_queue,
    team_stats,
    video_decision,
    video_votes,
)
from labeling.services.batches import (
    AnswerReport,
    batch_answer,
    batch_create,
    batch_get,
    batch_token,
    vote_cast,
)
from labeling.services.library import library_by_id_or_current
from labeling.services.sorting import folder_resolve
from labeling.services.team import (
    Decided,
    decision_by_reviewer,
    gold_mark,
    gold_unmark,
    team_settings_update,
    vote_undo,
)

# A batch's state, documented in words (an enum named "state" would clash with a job's).
BATCH_STATES = "open, accepted or discarded (a gold answer was wrong)."
LIBRARY_PARAM = OpenApiParameter("library", int, description="Library id (default: current).")

# --- shapes ------------------------------------------------------------------------------


def team_library(request: Request, data: Any = None) -> Library:
    raw = (data or {}).get("library") if isinstance(data, dict) else None
    raw = raw if raw is not None else request.query_params.get("library")
    try:
        library_id = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        raise serializers.ValidationError({"library": "must be an integer id"}) from None
    return library_by_id_or_current(library_id=library_id)


class BatchVideoSerializer(VideoItemSerializer):
    """A video in a batch: folder null and path the bare file name for every video, so a
    gold video (already in its folder) looks like any other."""

    def to_representation(self, instance: Video) -> dict[str, Any]:
        data = super().to_representation(instance)
        return data | {"folder": None, "folder_id": None, "path": instance.filename}


class BatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    token = serializers.CharField(help_text="Send it back with the answers.")
    state = serializers.CharField(help_text=BATCH_STATES)
    size = serializers.IntegerField()
    answered = serializers.IntegerField()
    videos = BatchVideoSerializer(many=True)


def batch_body(batch: Batch, answered: int) -> dict[str, Any]:
    return BatchSerializer(
        {
            "id": batch.pk,
            "token": batch_token(batch),
            "state": batch.state,
            "size": len(batch.video_ids),
            "answered": answered,
            "videos": batch_videos(batch=batch),
        }
    ).data


class LibraryInput(serializers.Serializer):
    library = serializers.IntegerField(required=False, min_value=1)


class AnswerSerializer(serializers.Serializer):
    video = serializers.IntegerField(min_value=1)
    folder = serializers.IntegerField(min_value=1, help_text="Folder id.")


class AnswersInput(serializers.Serializer):
    token = serializers.CharField(max_length=1000)
    answers = AnswerSerializer(many=True, allow_empty=False, max_length=1000)  # type: ignore[call-arg]


class DecidedSerializer(serializers.Serializer):
    video = serializers.IntegerField(source="decision.video_id")
    folder = serializers.CharField(source="decision.folder.name")
    folder_id = serializers.IntegerField(source="decision.folder_id")
    kind = serializers.CharField(source="decision.kind")
    event = serializers.IntegerField(source="decision.label_event_id", allow_null=True)
    moved = serializers.SerializerMethodField()
    error = serializers.CharField(allow_blank=True)

    def get_moved(self, decided: Decided) -> bool:
        return bool(decided.result and decided.result.moved)


class AnswerResultSerializer(serializers.Serializer):
    state = serializers.CharField(source="batch.state", help_text=BATCH_STATES)
    answered = serializers.IntegerField()
    size = serializers.IntegerField()
    message = serializers.CharField()
    decided = serializers.SerializerMethodField()
    decisions = DecidedSerializer(many=True, source="decided")

    def get_decided(self, report: AnswerReport) -> list[int]:
        return [d.decision.video_id for d in report.decided]


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


class VoteInput(AnswerSerializer):
    pass


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


class UndoneSerializer(serializers.Serializer):
    video = serializers.IntegerField()
    batch = serializers.IntegerField(allow_null=True)


class VoteUndoView(APIView):
    roles_required = {"POST": "labeller"}

    @extend_schema(request=LibraryInput, responses={200: UndoneSerializer})
    def post(self, request: Request) -> Response:
        withdrawn = vote_undo(library=team_library(request, request.data), user=request.user)
        return Response(UndoneSerializer(withdrawn).data)


# --- votes, review, decisions ------------------------------------------------------------


class VoteItemSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    folder = serializers.CharField(source="folder.name")
    folder_id = serializers.IntegerField()
    created_at = UtcDateTimeField()
    counts = serializers.BooleanField()
    batch = serializers.IntegerField(source="batch_id", allow_null=True)


class DecisionSerializer(serializers.Serializer):
    folder = serializers.CharField(source="folder.name")
    folder_id = serializers.IntegerField()
    kind = serializers.CharField()
    consensus_folder_id = serializers.IntegerField(allow_null=True)
    decided_by = serializers.IntegerField(source="decided_by_id", allow_null=True)
    event = serializers.IntegerField(source="label_event_id", allow_null=True)
    created_at = UtcDateTimeField()


class VideoVotesSerializer(serializers.Serializer):
    video = serializers.IntegerField()
    votes = VoteItemSerializer(many=True)
    decision = DecisionSerializer(allow_null=True)


class VideoVotesView(APIView):
    roles_required = {"GET": "reviewer"}

    @extend_schema(responses={200: VideoVotesSerializer})
    def get(self, request: Request, video_id: int) -> Response:
        video = get_object_or_404(Video, pk=video_id)
        body = {"video": video.pk, "votes": video_votes(video=video)}
        body["decision"] = video_decision(video=video)
        return Response(VideoVotesSerializer(body).data)


class ReviewItemSerializer(VideoItemSerializer):
    disputed = serializers.BooleanField()
    votes = VoteItemSerializer(many=True, source="team_votes")


class ReviewSerializer(serializers.Serializer):
    videos = ReviewItemSerializer(many=True)


class ReviewView(APIView):
    roles_required = {"GET": "reviewer"}

    @extend_schema(parameters=[LIBRARY_PARAM], responses={200: ReviewSerializer})
    def get(self, request: Request) -> Response:
        library = team_library(request)
        return Response(ReviewSerializer({"videos": review_queue(library=library)}).data)


class DecisionInput(serializers.Serializer):
    video = serializers.IntegerField(min_value=1)
    folder = serializers.JSONField(help_text="Folder id or name.")


class DecisionResultSerializer(DecidedSerializer):
    consensus_folder_id = serializers.IntegerField(
        source="decision.consensus_folder_id", allow_null=True
    )


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


class GoldItemSerializer(serializers.Serializer):
    video = serializers.IntegerField(source="video_id")
    filename = serializers.CharField(source="video.filename")
    folder = serializers.CharField(source="folder.name")
    folder_id = serializers.IntegerField()
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
    created_at = UtcDateTimeField()


class GoldListSerializer(serializers.Serializer):
    gold = GoldItemSerializer(many=True)
    count = serializers.IntegerField()
    needed_per_batch = serializers.IntegerField()


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


class LabellerRowSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    username = serializers.CharField()
    votes = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    batches_discarded = serializers.IntegerField()
    batches_accepted = serializers.IntegerField()
    agreement_with_decided = serializers.FloatField(allow_null=True)


class KappaSerializer(serializers.Serializer):
    a = serializers.IntegerField()
    b = serializers.IntegerField()
    kappa = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()


class DecidedCountsSerializer(serializers.Serializer):
    strong = serializers.IntegerField()
    weak = serializers.IntegerField()
    reviewer = serializers.IntegerField()


class TeamStatsSerializer(serializers.Serializer):
    labellers = LabellerRowSerializer(many=True)
    kappa = KappaSerializer(many=True)
    alpha = serializers.FloatField(allow_null=True)
    videos_with_2plus_votes = serializers.IntegerField()
    decided = DecidedCountsSerializer()


class TeamStatsView(APIView):
    roles_required = {"GET": "labeller"}

    @extend_schema(parameters=[LIBRARY_PARAM], responses={200: TeamStatsSerializer})
    def get(self, request: Request) -> Response:
        library = team_library(request)
        see_all = role_at_least(request.user, library, "reviewer")
        stats = team_stats(library=library, user=request.user, see_all=see_all)
        return Response(TeamStatsSerializer(stats).data)


class TeamSettingsSerializer(serializers.Serializer):
    library = serializers.IntegerField(source="pk", read_only=True)
    team_mode = serializers.BooleanField(required=False)
    votes_to_decide = serializers.IntegerField(required=False, min_value=1, max_value=20)
    batch_size = serializers.IntegerField(required=False, min_value=3, max_value=200)
    gold_per_batch = serializers.IntegerField(required=False, min_value=2, max_value=100)


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
