"""Reads of background jobs: retrain status, recent jobs, stale heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from labeling.models import Classifier, Job, Library
from labeling.selectors import classifier_active


def jobs_of_library(*, library: Library) -> QuerySet[Job]:
    return Job.objects.filter(library=library)


def jobs_recent(*, library: Library, limit: int = 100) -> QuerySet[Job]:
    return jobs_of_library(library=library).order_by("-created_at")[:limit]


def job_latest(*, library: Library, kind: str = Job.Kind.RETRAIN) -> Job | None:
    return jobs_of_library(library=library).filter(kind=kind).order_by("-created_at").first()


def job_last_finished(*, library: Library, kind: str = Job.Kind.RETRAIN) -> Job | None:
    return (
        jobs_of_library(library=library)
        .filter(kind=kind)
        .exclude(state__in=Job.ACTIVE_STATES)
        .order_by("-created_at")
        .first()
    )


def job_active_exists(*, library: Library, kind: str) -> bool:
    return Job.objects.filter(library=library, kind=kind, state__in=Job.ACTIVE_STATES).exists()


def jobs_stale(*, cutoff: datetime) -> QuerySet[Job]:
    """Active jobs whose last heartbeat (or creation, before the first beat) is older."""
    return Job.objects.filter(state__in=Job.ACTIVE_STATES).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )


def classifiers_newest_first(*, library: Library) -> QuerySet[Classifier]:
    return Classifier.objects.filter(library=library).order_by("-version")


ETA_MIN_ITEMS = 3
ETA_MIN_FRACTION = 0.05


def job_eta_seconds(*, job: Job) -> float | None:
    """Seconds left in the current stage, at the rate this stage has gone so far.

    Measured from the stage's own start: the job's total time would count earlier
    stages (scan, a long extraction) against the progress of this one. None until a few
    items are done (ETA_MIN_ITEMS, and ETA_MIN_FRACTION of the stage): the first ones carry
    the stage's start-up (loading a model), and an estimate from them is far too long.
    """
    if job.state != Job.State.RUNNING or not job.progress_done:
        return None
    if job.progress_done < max(ETA_MIN_ITEMS, ETA_MIN_FRACTION * job.progress_total):
        return None
    if job.progress_done >= job.progress_total:
        return None
    started = job.stage_started_at or job.started_at
    if started is None:
        return None
    elapsed = (timezone.now() - started).total_seconds()
    return round(elapsed / job.progress_done * (job.progress_total - job.progress_done), 1)


def retrain_status(*, library: Library, zero_shot: tuple[bool, str | None]) -> dict[str, Any]:
    """The latest retrain, how the last finished one ended, and the active classifier.

    ``zero_shot`` is (on, note) for the configured model (day-0 predictions need a
    text-aligned model; the status says so when it is off).
    """
    job = job_latest(library=library)
    return {
        **_retrain_job_status(job),
        "last_result": _last_result(job_last_finished(library=library)),
        "classifier": classifier_active(library=library),
        "zero_shot": zero_shot[0],
        "zero_shot_note": zero_shot[1],
    }


def _retrain_job_status(job: Job | None) -> dict[str, Any]:
    if job is None:
        return dict.fromkeys(("job", "state", "stage", "progress", "started", "eta_seconds")) | {
            "running": False,
            "error": "",
        }
    return {
        "running": job.state in Job.ACTIVE_STATES,
        "job": job.pk,
        "state": job.state,
        "stage": job.stage,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "started": job.started_at,
        "eta_seconds": job_eta_seconds(job=job),
        "error": job.error,
    }


def _last_result(finished: Job | None) -> str | None:
    if finished is None:
        return None
    if finished.state == Job.State.SUCCEEDED:
        return "success"
    return finished.error or f"{finished.state.capitalize()}"
