"""Resolving a duplicate group: keep one video, move the others into a folder the user names.

Nothing is deleted. Each move is a journalled sort (labeling.services.sorting), recorded
as a label event of the user: POST /api/undo takes them back one by one, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labeling.models import Folder, LabelEvent, Library, Video
from labeling.selectors.duplicates import library_duplicates
from labeling.selectors.folders import folders_by_name
from labeling.services.errors import InvalidError, NotFoundError, ServiceError
from labeling.services.extraction import encoder_config
from labeling.services.folders import folder_create, folder_name_validate
from labeling.services.sorting import ItemOutcome, item_outcome_ok, video_sort
from mlpipeline.encoder_config import encoder_model_id


@dataclass
class ResolveReport:
    keep: int
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
        """The label events, newest first: the order in which undo takes them back."""
        return [item.event for item in reversed(self.items) if item.event is not None]


def duplicates_model_id() -> str:
    return encoder_model_id(encoder_config())


def folder_get_or_create(*, library: Library, name: str) -> tuple[Folder, bool]:
    """The library's folder of this name, made (with its directory) when there is none."""
    name = folder_name_validate(name=name)
    existing = folders_by_name(library=library).get(name)
    if existing is not None:
        return existing, False
    return folder_create(library=library, name=name, key=...), True


def duplicates_resolve(
    *, library: Library, keep: int, move_others_to: str, user: Any
) -> ResolveReport:
    """Keep ``keep`` where it is; move the other members of its group to ``move_others_to``."""
    found = library_duplicates(library=library, model_id=duplicates_model_id())
    index = found.group_of.get(keep)
    if index is None:
        if not Video.objects.filter(library=library, pk=keep).exists():
            raise NotFoundError(f"no video with id {keep} in this library")
        raise InvalidError(f"video {keep} is in no duplicate group")
    folder, created = folder_get_or_create(library=library, name=move_others_to)
    report = ResolveReport(keep=keep, folder=folder.name, folder_created=created)
    others = Video.objects.filter(library=library, pk__in=found.groups[index])
    for position, video in enumerate(
        others.exclude(pk=keep).select_related("library", "folder").order_by("pk")
    ):
        try:
            result = video_sort(video=video, folder=folder, user=user, route=LabelEvent.Route.BULK)
        except ServiceError as exc:
            report.items.append(
                ItemOutcome(
                    index=position, ok=False, video=video.pk, error=exc.code, detail=str(exc)
                )
            )
            continue
        report.items.append(item_outcome_ok(position, result))
    return report
