"""Auto-file: sort every unsorted video the active classifier is sure enough about.

"Sure enough" is either a confidence threshold (``threshold``, ``per_folder``) or a target
precision (``target_precision``, ``per_folder_precision``): then each folder's confidence
threshold is the lowest at which the classifier's cross-validated, calibrated predictions
of that folder were right at least that share of the time (mlpipeline.precision, figures
stored with the classifier version at training). The report plans per folder: the chosen
threshold, the expected precision and how many unsorted videos it would file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from labeling.models import Classifier, Folder, LabelEvent, Library, Prediction
from labeling.selectors import classifier_active
from labeling.selectors.folders import folder_names
from labeling.selectors.predictions import predictions_unsorted_confident
from labeling.services.errors import InvalidError, NotFoundError, ServiceError
from labeling.services.sorting import (
    ItemOutcome,
    SortReport,
    folder_resolve,
    item_outcome_ok,
    video_sort,
)
from mlpipeline.precision import threshold_for_precision


@dataclass(kw_only=True)
class FolderPlan:
    """What auto-file by precision does for one folder."""

    folder_id: int
    folder: str
    target_precision: float
    # None: no confidence reaches the target on the labelled videos; nothing is filed.
    threshold: float | None
    expected_precision: float | None
    observed_precision: float | None
    # 90 % lower bound on the precision (mlpipeline.precision); also >= the target.
    lower_bound: float | None = None
    support: int  # labelled videos the estimate rests on
    count: int = 0  # unsorted videos predicted as this folder at >= threshold
    mean_confidence: float | None = None


@dataclass(kw_only=True)
class AutofileReport(SortReport):
    dry_run: bool
    threshold: float
    classifier_version: int | None
    folders: list[FolderPlan] = field(default_factory=list)


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


def _unit(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidError(f"{what} must be a number between 0 and 1")
    return float(value)


def videos_autofile(
    *,
    library: Library,
    user: Any,
    threshold: float = 0.95,
    per_folder: dict[Any, float] | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    target_precision: float | None = None,
    per_folder_precision: dict[Any, float] | None = None,
) -> AutofileReport:
    """File every unsorted video predicted (active classifier) at >= the threshold, or, with
    a target precision, at >= each folder's threshold for that precision."""
    _unit(threshold, "threshold")
    thresholds: dict[int, float] = _thresholds(
        library=library, threshold=threshold, per_folder=per_folder
    )
    by_precision = target_precision is not None or bool(per_folder_precision)
    if by_precision and per_folder:
        raise InvalidError("give per-folder confidence thresholds or target precisions, not both")
    active = classifier_active(library=library)
    report = AutofileReport(
        dry_run=dry_run,
        threshold=float(threshold),
        classifier_version=active.version if active else None,
    )
    if active is None:
        return report
    default: float | None = threshold
    if by_precision:
        report.folders = _precision_plan(
            library=library,
            classifier=active,
            target=target_precision,
            per_folder=per_folder_precision or {},
        )
        thresholds = {p.folder_id: p.threshold for p in report.folders if p.threshold is not None}
        default = None  # a folder without a reachable target is not filed
    chosen = _chosen(
        library=library, version=active.version, thresholds=thresholds, default=default
    )
    _plan_counts(report.folders, chosen)
    for index, prediction in enumerate(chosen[:limit]):
        report.items.append(
            _autofile_one(index=index, prediction=prediction, user=user, dry_run=dry_run)
        )
    if by_precision and not dry_run:
        _plan_record(classifier=active, report=report)
    return report


def _chosen(
    *, library: Library, version: int, thresholds: dict[int, float], default: float | None
) -> list[Prediction]:
    floor = [*thresholds.values(), *([] if default is None else [default])]
    if not floor:
        return []
    candidates = predictions_unsorted_confident(
        library=library, classifier_version=version, min_confidence=min(floor)
    )
    chosen = []
    for prediction in candidates:
        cut = thresholds.get(_predicted_folder(prediction).pk, default)
        if cut is not None and prediction.confidence >= cut:
            chosen.append(prediction)
    return chosen


def _precision_targets(
    *, library: Library, classes: list[int], target: float | None, per_folder: dict[Any, float]
) -> dict[int, float]:
    targets: dict[int, float] = {}
    if target is not None:
        value = _unit(target, "target_precision")
        targets = dict.fromkeys(classes, value)
    for ref, value in per_folder.items():
        targets[_threshold_folder(library=library, ref=ref).pk] = _unit(
            value, f"target precision for {ref!r}"
        )
    return targets


def _precision_plan(
    *, library: Library, classifier: Classifier, target: float | None, per_folder: dict[Any, float]
) -> list[FolderPlan]:
    curves = classifier.metrics.get("precision_curves")
    classes = [int(c) for c in classifier.metrics.get("classes") or []]
    if not curves or len(curves) != len(classes):
        raise InvalidError(
            f"classifier v{classifier.version} has no cross-validated precision figures "
            "(it predicts zero-shot only, or was trained before VidSort kept them): "
            "retrain, or auto-file by confidence",
            code="no_precision_figures",
        )
    targets = _precision_targets(
        library=library, classes=classes, target=target, per_folder=per_folder
    )
    names = folder_names(library=library)
    plans = []
    for folder_id, wanted in targets.items():
        choice = (
            threshold_for_precision(curves[classes.index(folder_id)], wanted)
            if folder_id in classes
            else None
        )
        plans.append(
            FolderPlan(
                folder_id=folder_id,
                folder=names.get(folder_id, str(folder_id)),
                target_precision=wanted,
                threshold=choice.threshold if choice else None,
                expected_precision=choice.expected_precision if choice else None,
                observed_precision=choice.observed_precision if choice else None,
                lower_bound=choice.lower_bound if choice else None,
                support=choice.support if choice else 0,
            )
        )
    return sorted(plans, key=lambda p: p.folder)


def _plan_counts(plans: list[FolderPlan], chosen: list[Prediction]) -> None:
    by_folder: dict[int, list[float]] = {}
    for prediction in chosen:
        by_folder.setdefault(_predicted_folder(prediction).pk, []).append(prediction.confidence)
    for plan in plans:
        confidences = by_folder.get(plan.folder_id, [])
        plan.count = len(confidences)
        plan.mean_confidence = (
            round(sum(confidences) / len(confidences), 4) if confidences else None
        )


def _plan_record(*, classifier: Classifier, report: AutofileReport) -> None:
    """Keep the thresholds used with the classifier version (its metrics JSON)."""
    record = {
        "at": timezone.now().isoformat(),
        "moved": report.moved,
        "folders": {
            str(p.folder_id): {
                "folder": p.folder,
                "target_precision": p.target_precision,
                "threshold": p.threshold,
                "expected_precision": p.expected_precision,
                "lower_bound": p.lower_bound,
                "support": p.support,
                "filed": p.count,
            }
            for p in report.folders
        },
    }
    with transaction.atomic():
        locked = Classifier.objects.select_for_update().get(pk=classifier.pk)
        locked.metrics = locked.metrics | {"autofile_precision": record}
        locked.save(update_fields=["metrics"])


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
