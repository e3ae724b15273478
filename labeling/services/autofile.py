"""Auto-file: sort every unsorted video the active classifier is sure enough about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labeling.models import Folder, LabelEvent, Library, Prediction
from labeling.selectors import classifier_active
from labeling.selectors.predictions import predictions_unsorted_confident
from labeling.services.errors import InvalidError, NotFoundError, ServiceError
from labeling.services.sorting import (
    ItemOutcome,
    SortReport,
    folder_resolve,
    item_outcome_ok,
    video_sort,
)


@dataclass(kw_only=True)
class AutofileReport(SortReport):
    dry_run: bool
    threshold: float
    classifier_version: int | None


def _thresholds(
    *, library: Library, threshold: float, per_folder: dict[Any, float] | None
) -> dict[int, float]:
    result: dict[int, float] = {}
    for ref, value in (per_folder or {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise InvalidError(f"threshold for {ref!r} must be a number between 0 and 1")
        result[_threshold_folder(library=library, ref=ref).pk] = float(value)
    return result


def _threshold_folder(*, library: Library, ref: object) -> Folder:
    """The folder a per-folder threshold names, by id or by name (or by id in a string)."""
    folder: Folder | None
    if isinstance(ref, int) and not isinstance(ref, bool):
        folder = folder_resolve(library=library, ref=ref)
    elif isinstance(ref, str):
        folder = Folder.objects.filter(library=library, name=ref).first()
        if folder is None and ref.isdigit():
            folder = Folder.objects.filter(library=library, pk=int(ref)).first()
    else:
        raise InvalidError(f"per_folder key {ref!r} must be a folder name or id")
    if folder is None:
        raise NotFoundError(f"per_folder: no folder named {ref!r}")
    return folder


def _predicted_folder(prediction: Prediction) -> Folder:
    # predictions_unsorted_confident keeps only the predictions that name a folder.
    assert prediction.folder is not None
    return prediction.folder


def videos_autofile(
    *,
    library: Library,
    user: Any,
    threshold: float = 0.95,
    per_folder: dict[Any, float] | None = None,
    dry_run: bool = False,
    limit: int | None = None,
) -> AutofileReport:
    """File every unsorted video predicted (active classifier) at >= the threshold."""
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        raise InvalidError("threshold must be a number between 0 and 1")
    thresholds = _thresholds(library=library, threshold=threshold, per_folder=per_folder)
    active = classifier_active(library=library)
    report = AutofileReport(
        dry_run=dry_run,
        threshold=float(threshold),
        classifier_version=active.version if active else None,
    )
    if active is None:
        return report
    candidates = predictions_unsorted_confident(
        library=library,
        classifier_version=active.version,
        min_confidence=min([threshold, *thresholds.values()]),
    )
    chosen = [
        p for p in candidates if p.confidence >= thresholds.get(_predicted_folder(p).pk, threshold)
    ]
    for index, prediction in enumerate(chosen[:limit]):
        report.items.append(
            _autofile_one(index=index, prediction=prediction, user=user, dry_run=dry_run)
        )
    return report


def _autofile_one(*, index: int, prediction: Prediction, user: Any, dry_run: bool) -> ItemOutcome:
    video, folder, confidence = (
        prediction.video,
        _predicted_folder(prediction),
        prediction.confidence,
    )
    if dry_run:
        return ItemOutcome(
            index=index,
            ok=True,
            video=video.pk,
            filename=video.filename,
            folder=folder.name,
            path=video.path,
            moved=False,
            confidence=confidence,
        )
    try:
        result = video_sort(
            video=video,
            folder=folder,
            user=user,
            route=LabelEvent.Route.AUTO_FILE,
            predicted_folder=folder,
            predicted_confidence=confidence,
        )
    except ServiceError as exc:
        return ItemOutcome(
            index=index,
            ok=False,
            video=video.pk,
            filename=video.filename,
            folder=folder.name,
            confidence=confidence,
            error=exc.code,
            detail=str(exc),
        )
    return item_outcome_ok(index, result, confidence=confidence)
