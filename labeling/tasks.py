"""Celery tasks: thin wrappers that take ids and call services.

Every task is safe to run twice (acks_late re-delivers after a worker dies): stages claim
their work with conditional UPDATEs and stop quietly when the job is no longer theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ImproperlyConfigured

from labeling.models import Job, Library
from labeling.selectors.jobs import job_active_exists
from labeling.services import retrain
from labeling.services.dispatch import NextStep, steps_enqueue
from labeling.services.jobs import (
    JobStopped,
    job_create,
    job_fail,
    job_progress_writer,
    job_start,
    job_succeed,
)
from labeling.services.library import library_current
from labeling.services.reconcile import moves_reconcile
from labeling.services.scan import library_scan

logger = logging.getLogger(__name__)


@shared_task(name="labeling.tasks.library_scan_task", soft_time_limit=3600, time_limit=3700)
def library_scan_task(library_id: int, job_id: int | None = None) -> None:
    library = Library.objects.get(pk=library_id)
    if job_id is None:
        job, created = job_create(library=library, kind=Job.Kind.SCAN)
        if not created:
            logger.info("scan job %s is already active; not scanning twice", job.pk)
            return
    else:
        job = Job.objects.get(pk=job_id)
    if job.state not in Job.ACTIVE_STATES:
        logger.info("scan job %s is already %s; nothing to do", job.pk, job.state)
        return
    _scan_job_run(job, library)


def _scan_job_run(job: Job, library: Library) -> None:
    job_start(job=job, stage=Job.Stage.SCAN)
    try:
        report = library_scan(library=library, progress=job_progress_writer(job.pk))
    except JobStopped:
        logger.info("scan job %s was stopped", job.pk)
        return
    except Exception as exc:
        logger.exception("scan job %s failed", job.pk)
        job_fail(job=job, error=str(exc))
        raise
    job_succeed(job=job, metrics={"scan": asdict(report) | {"warnings": report.warnings[:50]}})


@shared_task(name="labeling.tasks.library_scan_periodic", soft_time_limit=3600, time_limit=3700)
def library_scan_periodic_task() -> str:
    """Beat's periodic scan of the configured library (VIDSORT_SCAN_INTERVAL_SECONDS).

    Takes no id: it scans VIDSORT_LIBRARY (or the only library when that is unset).
    Safe to run twice: it records a scan Job, and while a scan or a retrain (which scans
    first) of the library is active it does nothing.
    """
    try:
        library = library_current()
    except ImproperlyConfigured as exc:
        logger.info("periodic scan skipped: %s", exc)
        return "skipped: no library"
    if job_active_exists(library=library, kind=Job.Kind.RETRAIN):
        logger.info("periodic scan skipped: a retrain of %s is active", library.root)
        return "skipped: retrain active"
    job, created = job_create(library=library, kind=Job.Kind.SCAN)
    if not created:
        logger.info("periodic scan skipped: scan job %s is already active", job.pk)
        return "skipped: scan active"
    _scan_job_run(job, library)
    return f"scanned: job {job.pk}"


def _stage_run(stage: Callable[..., list[NextStep]], **kwargs: Any) -> None:
    """Run one retrain stage and queue what it says comes next; a failure ends the job."""
    job_id = kwargs["job_id"]
    try:
        steps = stage(**kwargs)
    except JobStopped as exc:
        logger.info("job %s: %s", job_id, exc)
        return
    except SoftTimeLimitExceeded:
        retrain.retrain_fail(job_id=job_id, error="the stage ran past its time limit")
        return
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        retrain.retrain_fail(job_id=job_id, error=retrain.retrain_error_message(exc))
        return
    steps_enqueue(steps=steps)


RETRAIN_STAGE_OPTIONS = {"acks_late": True, "soft_time_limit": 1800, "time_limit": 1900}


@shared_task(name=retrain.TASK_SCAN, acks_late=True, soft_time_limit=3600, time_limit=3700)
def retrain_scan_task(job_id: int) -> None:
    _stage_run(retrain.retrain_stage_scan, job_id=job_id)


@shared_task(name=retrain.TASK_EXTRACT_CHUNK, **RETRAIN_STAGE_OPTIONS)
def embeddings_extract_chunk(job_id: int, video_ids: list[int]) -> None:
    _stage_run(retrain.retrain_stage_extract_chunk, job_id=job_id, video_ids=video_ids)


@shared_task(name=retrain.TASK_TRAIN, **RETRAIN_STAGE_OPTIONS)
def retrain_train_task(job_id: int) -> None:
    _stage_run(retrain.retrain_stage_train, job_id=job_id)


@shared_task(name=retrain.TASK_PREDICT, **RETRAIN_STAGE_OPTIONS)
def predictions_compute_task(job_id: int) -> None:
    _stage_run(retrain.retrain_stage_predict, job_id=job_id)


@shared_task(name="labeling.tasks.jobs_mark_lost", soft_time_limit=60, time_limit=90)
def jobs_mark_lost_task() -> int:
    return retrain.jobs_mark_lost()


@shared_task(name="labeling.tasks.moves_reconcile_task", soft_time_limit=1800, time_limit=1900)
def moves_reconcile_task(
    library_id: int | None = None, min_age_seconds: float = 300.0, scan: bool = True
) -> dict:
    """Finish or roll back open sort journal entries (docs/sorting.md).

    Safe to run twice (and side by side: entries are claimed with SKIP LOCKED). The
    default age guard (5 minutes) keeps a periodic run away from moves in flight. Without
    ``library_id`` (beat's periodic run) it reconciles the configured library, and does
    nothing when none is configured.
    """
    if library_id is None:
        try:
            library = library_current()
        except ImproperlyConfigured as exc:
            logger.info("reconcile skipped: %s", exc)
            return {"ok": True, "skipped": str(exc)}
    else:
        library = Library.objects.get(pk=library_id)
    report = moves_reconcile(library=library, min_age_seconds=min_age_seconds, scan=scan)
    for alert in report.alerts:
        logger.error("reconcile ALERT: %s", alert)
    logger.info("reconcile %s: %s", library.root, report.summary())
    return report.as_task_result()
