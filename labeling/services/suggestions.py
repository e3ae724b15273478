"""New-folder suggestions (mlpipeline.suggestions) and accepting one: the folder is made
and the ticked videos are filed into it, each a journalled sort (undoable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labeling.models import LabelEvent, Library, Video
from labeling.selectors.suggestions import prompt_vocabulary, suggestion_inputs
from labeling.services.duplicates import duplicates_model_id, folder_get_or_create
from labeling.services.errors import InvalidError, ServiceError
from labeling.services.extraction import encoder_config
from labeling.services.sorting import ItemOutcome, item_outcome_ok, video_sort

if TYPE_CHECKING:
    from mlpipeline.suggestions import SuggestionConfig

MAX_ACCEPT = 1000


@dataclass
class SuggestionView:
    name: str
    name_source: str
    keywords: list[str]
    size: int
    cohesion: float
    videos: list[int]  # most central first


def suggestions_compute(
    *, library: Library, config: SuggestionConfig | None = None
) -> tuple[str, list[SuggestionView]]:
    """(model id, suggestions) for the library's unsorted videos, computed now."""
    from mlpipeline.suggestions import suggest_folders  # scikit-learn: not at import time

    model_id = duplicates_model_id()
    inputs = suggestion_inputs(library=library, model_id=model_id)
    if len(inputs.unsorted_ids) == 0:
        return model_id, []
    aligned = not encoder_config().uses_random_weights
    found = suggest_folders(
        inputs.U,
        labelled=inputs.labelled if len(inputs.labels) else inputs.U[:0],
        labels=inputs.labels,
        confidence=inputs.confidence,
        texts=inputs.texts,
        vocabulary=prompt_vocabulary(model_id=model_id) if aligned else None,
        folder_names=inputs.folder_names,
        config=config,
    )
    return model_id, [
        SuggestionView(
            name=s.name,
            name_source=s.name_source,
            keywords=s.keywords,
            size=s.size,
            cohesion=s.cohesion,
            videos=[inputs.unsorted_ids[i] for i in s.members],
        )
        for s in found
    ]


@dataclass
class AcceptReport:
    folder: str
    folder_created: bool
    items: list[ItemOutcome] = field(default_factory=list)

    @property
    def moved(self) -> int:
        return sum(1 for item in self.items if item.ok and item.moved)

    @property
    def failed(self) -> int:
        return sum(1 for item in self.items if not item.ok)

    @property
    def success(self) -> bool:
        return self.failed == 0

    @property
    def events(self) -> list[int]:
        return [item.event for item in reversed(self.items) if item.event is not None]


def suggestion_accept(
    *, library: Library, name: str, video_ids: list[int], user: Any
) -> AcceptReport:
    """Make folder ``name`` (or use the one of that name) and file these unsorted videos."""
    if not video_ids:
        raise InvalidError("tick at least one video")
    if len(video_ids) > MAX_ACCEPT:
        raise InvalidError(f"at most {MAX_ACCEPT} videos at once")
    folder, created = folder_get_or_create(library=library, name=name)
    report = AcceptReport(folder=folder.name, folder_created=created)
    videos = {
        v.pk: v
        for v in Video.objects.filter(library=library, pk__in=video_ids).select_related(
            "library", "folder"
        )
    }
    for index, pk in enumerate(video_ids):
        try:
            video = videos.get(pk)
            if video is None:
                raise InvalidError(f"no video with id {pk} in this library")
            if video.folder_id is not None:
                raise InvalidError(f"video {pk} is already in a folder")
            result = video_sort(video=video, folder=folder, user=user, route=LabelEvent.Route.BULK)
        except ServiceError as exc:
            report.items.append(
                ItemOutcome(index=index, ok=False, video=pk, error=exc.code, detail=str(exc))
            )
            continue
        report.items.append(item_outcome_ok(index, result))
    return report
