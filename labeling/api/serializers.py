"""The API's response shapes, declared once: they serialize the answers and document them.

The OpenAPI schema and schemathesis' response checks read these same classes, so what is
documented is what is sent. Fields are required unless marked otherwise; declaration order
is the order of the keys in the JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from labeling.models import LabelEvent, Video
from labeling.selectors.preferences import QUEUE_ORDERS
from labeling.selectors.proxies import Playback, playback_for

FieldT = TypeVar("FieldT", bound=serializers.Field)


def computed(field_class: type[FieldT], read: Callable[[Any], Any], **kwargs: Any) -> FieldT:
    """A ``field_class`` (its type documents the value) whose value ``read`` takes from the
    whole object: for values that are not one attribute."""

    class Computed(field_class):  # type: ignore[valid-type, misc]
        def to_representation(self, instance: Any) -> Any:
            return read(instance)

    return Computed(source="*", **kwargs)


class UtcDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC ('Z'), whatever TIME_ZONE says: what JSONRenderer writes for a datetime."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=dt.UTC, **kwargs)


# --- Videos ---------------------------------------------------------------------------


class _TopPredictionList(serializers.ListSerializer):
    def get_attribute(self, instance: Video) -> list[dict]:
        return getattr(instance, "pred_top", None) or []


class TopPredictionSerializer(serializers.Serializer):
    folder = serializers.CharField()
    folder_id = serializers.IntegerField()
    confidence = serializers.FloatField(source="probability")

    class Meta:
        list_serializer_class = _TopPredictionList


def _top(video: Video) -> dict | None:
    top = getattr(video, "pred_top", None)
    return top[0] if top else None


def _low_confidence(video: Video) -> bool:
    confidence = getattr(video, "pred_confidence", None)
    return confidence is not None and confidence < settings.VIDSORT_LOW_CONFIDENCE


class PlaybackSerializer(serializers.Serializer):
    """Whether a browser can play the file as it is, and its playable copy (docs/player.md)."""

    needs_proxy = serializers.BooleanField(help_text="A browser cannot play the file as it is.")
    reason = serializers.CharField(
        allow_blank=True, help_text="What it cannot play ('H.265 (HEVC) video'); '' if none."
    )
    proxy = serializers.ChoiceField(choices=["none", "pending", "ready", "failed"])
    proxy_error = serializers.CharField(allow_blank=True)
    proxy_url = serializers.CharField(allow_null=True, help_text="Set when the proxy is ready.")


def playback_answer(*, video_id: int, playback: Playback) -> dict:
    ready = playback.proxy == "ready"
    url = reverse("labeling:video-proxy-stream", args=[video_id]) if ready else None
    return dict(PlaybackSerializer({**playback.__dict__, "proxy_url": url}).data)


def _playback(video: Video) -> dict:
    return playback_answer(video_id=video.pk, playback=playback_for(video=video))


# Serializes a Video from videos_with_prediction (the pred_* annotations).
class VideoItemSerializer(serializers.Serializer):
    """A video in every API answer: the old script's keys, then VidSort's own."""

    id = serializers.IntegerField()
    filename = serializers.CharField()
    path = serializers.CharField(help_text="Relative to the library root.")
    url = computed(
        serializers.CharField,
        lambda v: reverse("labeling:video-stream", args=[v.pk]),
        help_text="The stream URL (Range supported).",
    )
    folder = serializers.CharField(
        source="folder.name", allow_null=True, help_text="Folder name; null: unsorted."
    )
    folder_id = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=Video.Status.values)
    error = computed(serializers.CharField, lambda v: v.error or v.extract_error, allow_blank=True)
    duration = serializers.FloatField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField()
    predicted_folder = computed(
        serializers.CharField, lambda v: (_top(v) or {}).get("folder"), allow_null=True
    )
    predicted_folder_id = computed(
        serializers.IntegerField, lambda v: (_top(v) or {}).get("folder_id"), allow_null=True
    )
    confidence = serializers.FloatField(source="pred_confidence", allow_null=True)
    margin = serializers.FloatField(source="pred_margin", allow_null=True)
    entropy = serializers.FloatField(source="pred_entropy", allow_null=True)
    # A field named like Field.source: DRF's metaclass moves it into the declared fields.
    source = serializers.CharField(source="pred_source", allow_null=True)  # type: ignore[assignment]
    low_confidence = computed(serializers.BooleanField, _low_confidence)
    top_predictions = TopPredictionSerializer(many=True)
    segments = computed(
        serializers.ListField,
        lambda v: getattr(v, "pred_segments", None) or [],
        child=serializers.DictField(),
    )
    duration_ratio = serializers.FloatField(source="pred_duration_ratio", allow_null=True)
    playback = computed(PlaybackSerializer, _playback)


class VideoListSerializer(serializers.Serializer):
    videos = VideoItemSerializer(many=True)
    total = serializers.IntegerField()
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, or null.")
    order = serializers.ChoiceField(choices=list(QUEUE_ORDERS))


# Serializes a LabelEvent.
class LabelHistorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = UtcDateTimeField(source="created_at")
    route = serializers.CharField()
    user = serializers.CharField(source="user.username", allow_null=True)
    # "from" is a Python keyword: "from" and "to" are declared in get_fields.
    predicted_folder = serializers.CharField(source="predicted_folder.name", allow_null=True)
    predicted_confidence = serializers.FloatField(allow_null=True)
    undone = computed(serializers.BooleanField, lambda e: e.undone_by_id is not None)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        moved = {
            "from": computed(serializers.CharField, _from_name, allow_null=True),
            "to": computed(serializers.CharField, _to_name, allow_null=True),
        }
        order = ["id", "at", "route", "user", "from", "to"]
        return {name: (moved | fields)[name] for name in order} | fields


def _from_name(event: LabelEvent) -> str | None:
    return event.from_name or None


def _to_name(event: LabelEvent) -> str | None:
    return event.to_name or None


# Serializes a Video from videos_with_history.
class VideoDetailSerializer(VideoItemSerializer):
    history = LabelHistorySerializer(many=True, source="label_events")


class TextMatchSerializer(serializers.Serializer):
    # A field named like Field.source: DRF's metaclass moves it into the declared fields.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["transcript", "screen"], help_text="Said (transcript) or written (on screen)."
    )
    time = serializers.FloatField(help_text="Seconds into the video.")
    text = serializers.CharField(help_text="The matching segment or line.")


class SearchHitSerializer(VideoItemSerializer):
    score = serializers.FloatField(help_text="Cosine similarity to the query.")
    text_matches = TextMatchSerializer(
        many=True,
        default=list,
        help_text="Where the query is said or written in the video (empty: a visual match).",
    )


# Serializes a labeling.services.search.SearchResults.
class SearchResultsSerializer(serializers.Serializer):
    query = serializers.CharField(allow_null=True)
    like = serializers.IntegerField(allow_null=True)
    model_id = serializers.CharField()
    searched = serializers.IntegerField(help_text="Embeddings compared.")
    count = serializers.IntegerField()
    results = SearchHitSerializer(
        many=True, help_text="Videos (the /api/videos item shape) with 'score'."
    )


# --- Folders --------------------------------------------------------------------------


# Serializes a Folder from folders_with_counts (video_count).
class FolderItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField(
        source="video_count", help_text="Videos in the folder (missing ones excluded)."
    )
    key = serializers.IntegerField(allow_null=True, help_text="Keyboard shortcut 1-9.")
    prompts = serializers.ListField(child=serializers.CharField())


class FolderKeyHolderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    key = serializers.IntegerField(
        allow_null=True, help_text="Its key now: the changed folder's old one, or null."
    )


# A changed folder (PATCH/PUT): FolderItem plus the folder whose key it took.
class FolderUpdatedSerializer(FolderItemSerializer):
    key_taken_from = FolderKeyHolderSerializer(
        allow_null=True,
        help_text="The folder that held the requested key (keys are swapped); null if none.",
    )


class FolderListSerializer(serializers.Serializer):
    folders = FolderItemSerializer(many=True)
    unsorted = serializers.IntegerField()


class FolderWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=300, required=False, trim_whitespace=False)
    prompts = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=20, required=False
    )
    key = serializers.IntegerField(min_value=1, max_value=9, required=False, allow_null=True)


# --- Stats ----------------------------------------------------------------------------


# Serializes a Classifier: how good that version was and on how many labels.
class AccuracyPointSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    at = UtcDateTimeField(source="created_at")
    labels = serializers.IntegerField(source="metrics.n_labels", allow_null=True)
    accuracy = serializers.FloatField(source="metrics.accuracy", allow_null=True)
    balanced_accuracy = serializers.FloatField(source="metrics.balanced_accuracy", allow_null=True)
    mean_confidence = serializers.FloatField(source="metrics.mean_confidence", allow_null=True)
    calibration_error = serializers.FloatField(
        source="metrics.ece_after_calibration", allow_null=True
    )
    label_counts = serializers.DictField(
        source="metrics.label_counts", child=serializers.IntegerField(), allow_null=True
    )


class LabelsPerDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    labels = serializers.IntegerField(help_text="Label events that day that still stand.")
    total = serializers.IntegerField(help_text="Running total up to that day.")


# Serializes the active Classifier.
class LastRetrainSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    accuracy = serializers.FloatField(source="metrics.accuracy", allow_null=True)
    balanced_accuracy = serializers.FloatField(source="metrics.balanced_accuracy", allow_null=True)
    n_labels = serializers.IntegerField(source="metrics.n_labels", allow_null=True)
    at = UtcDateTimeField(source="created_at")


# Serializes a labeling.selectors.stats.LibraryStats.
class StatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    unsorted = serializers.IntegerField()
    unreadable = serializers.IntegerField()
    missing = serializers.IntegerField()
    labels = serializers.IntegerField()
    label_events = serializers.IntegerField()
    live_accuracy = serializers.DictField(allow_null=True)
    last_retrain = LastRetrainSerializer(allow_null=True)
    accuracy_history = AccuracyPointSerializer(many=True)
    labels_over_time = LabelsPerDaySerializer(many=True)
    per_folder = serializers.ListField(child=serializers.DictField())


# --- Preferences ----------------------------------------------------------------------


class PreferenceSerializer(serializers.Serializer):
    queue_order = serializers.ChoiceField(choices=QUEUE_ORDERS)


# --- Query parameters -----------------------------------------------------------------

MAX_LIMIT = 500


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise serializers.ValidationError({name: "must be an integer"}) from None
    if not low <= value <= high:
        raise serializers.ValidationError({name: f"must be between {low} and {high}"})
    return value


def _video_filters(params: Mapping[str, str]) -> dict[str, Any]:
    status = params.get("status", "ok")
    if status not in Video.Status.values:
        raise serializers.ValidationError(
            {"status": f"use one of {', '.join(Video.Status.values)}"}
        )
    filters: dict[str, Any] = {"status": status}
    folder = params.get("folder", "unsorted")
    if folder == "unsorted":
        filters["folder__isnull"] = True
    elif folder != "all":
        if not folder.isdigit():
            raise serializers.ValidationError({"folder": "a folder id, 'unsorted' or 'all'"})
        filters["folder_id"] = int(folder)
    if params.get("q"):
        filters["filename__icontains"] = params["q"][:200]
    return filters


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoListQuery:
    """GET /api/videos' parameters, checked (ValidationError names the bad one)."""

    order: str
    limit: int
    offset: int
    filters: dict[str, Any]

    @classmethod
    def parse(cls, params: Mapping[str, str], *, default_order: str) -> VideoListQuery:
        order = params.get("order") or default_order
        if order not in QUEUE_ORDERS:
            raise serializers.ValidationError({"order": f"use one of {', '.join(QUEUE_ORDERS)}"})
        return cls(
            order=order,
            limit=_int_param(params, "limit", 50, 1, MAX_LIMIT),
            offset=_int_param(params, "offset", 0, 0, 10**9),
            filters=_video_filters(params),
        )

    def next_url(self, *, path: str, params: Mapping[str, str], total: int) -> str | None:
        """This listing's next page, or None on the last one."""
        next_offset = self.offset + self.limit
        if next_offset >= total:
            return None
        return f"{path}?{urlencode(dict(params.items()) | {'offset': next_offset})}"


# --- What is said and written (docs/text.md) -----------------------------------------


class TranscriptSegmentSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    text = serializers.CharField(allow_blank=True)


class TranscriptSerializer(serializers.Serializer):
    state = serializers.CharField(
        help_text="pending, transcribed, no_audio, silent, off or failed."
    )
    engine = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    segments = TranscriptSegmentSerializer(many=True)


class ScreenLineSerializer(serializers.Serializer):
    time = serializers.FloatField(help_text="First sampled frame it was seen in (seconds).")
    end = serializers.FloatField(help_text="Last sampled frame it was seen in (seconds).")
    text = serializers.CharField()
    confidence = serializers.FloatField()


class ScreenTextSerializer(serializers.Serializer):
    state = serializers.CharField(help_text="pending, read, no_video, off or failed.")
    engine = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    lines = ScreenLineSerializer(many=True)


# Serializes labeling.selectors.text.video_text.
class VideoTextSerializer(serializers.Serializer):
    video = serializers.IntegerField()
    transcript = TranscriptSerializer()
    screen_text = ScreenTextSerializer()
