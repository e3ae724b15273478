"""Request and answer shapes of the team endpoints (labeling/api/team.py), declared once:
they parse, serialize and document in the OpenAPI schema. docs/team.md lists them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from labeling.api.serializers import UtcDateTimeField, VideoItemSerializer
from labeling.models import Batch, Library, Video
from labeling.selectors.team import batch_videos
from labeling.services.batches import AnswerReport, batch_token
from labeling.services.library import library_by_id_or_current
from labeling.services.team import Decided

# A batch's state, documented in words (an enum named "state" would clash with a job's).
BATCH_STATES = "open, accepted or discarded (a gold answer was wrong)."
LIBRARY_PARAM = OpenApiParameter("library", int, description="Library id (default: current).")


def team_library(request: Request, data: Any = None) -> Library:
    """The library a request names (``library`` in the body, then the query) or the current one."""
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


class VoteInput(AnswerSerializer):
    pass


class UndoneSerializer(serializers.Serializer):
    video = serializers.IntegerField()
    batch = serializers.IntegerField(allow_null=True)


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


class ReviewItemSerializer(VideoItemSerializer):
    disputed = serializers.BooleanField()
    votes = VoteItemSerializer(many=True, source="team_votes")


class ReviewSerializer(serializers.Serializer):
    videos = ReviewItemSerializer(many=True)


class DecisionInput(serializers.Serializer):
    video = serializers.IntegerField(min_value=1)
    folder = serializers.JSONField(help_text="Folder id or name.")


class DecisionResultSerializer(DecidedSerializer):
    consensus_folder_id = serializers.IntegerField(
        source="decision.consensus_folder_id", allow_null=True
    )


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


class TeamSettingsSerializer(serializers.Serializer):
    library = serializers.IntegerField(source="pk", read_only=True)
    team_mode = serializers.BooleanField(required=False)
    votes_to_decide = serializers.IntegerField(required=False, min_value=1, max_value=20)
    batch_size = serializers.IntegerField(required=False, min_value=3, max_value=200)
    gold_per_batch = serializers.IntegerField(required=False, min_value=2, max_value=100)
