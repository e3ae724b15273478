"""Celery tasks: thin wrappers that take ids and call services.

Every task is safe to run twice (acks_late re-delivers after a worker dies): stages claim
their work with conditional UPDATEs and stop quietly when the job is no longer theirs.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ImproperlyConfigured

from labeling.models import Job, Library
from labeling.services import retrain
from labeling.services.jobs import (
    JobStopped,
    job_create,
    job_fail,
    job_progress_writer,
    job_start,
    job_succeed,
)
from labeling.services.library import library_current
from labeling.services.scan import library_scan
from labeling.tasks_sorting import moves_reconcile_task  # noqa: F401  (registers the task)

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
    active = Job.objects.filter(library=library, state__in=Job.ACTIVE_STATES)
    if active.filter(kind=Job.Kind.RETRAIN).exists():
        logger.info("periodic scan skipped: a retrain of %s is active", library.root)
        return "skipped: retrain active"
    job, created = job_create(library=library, kind=Job.Kind.SCAN)
    if not created:
        logger.info("periodic scan skipped: scan job %s is already active", job.pk)
        return "skipped: scan active"
    _scan_job_run(job, library)
    return f"scanned: job {job.pk}"


def _run_stage(job_id: int, stage, *args):
    try:
        return stage(job_id, *args)
    except retrain.JobStopped as exc:
        logger.info("job %s: %s", job_id, exc)
        return None
    except SoftTimeLimitExceeded:
        retrain.stage_fail(job_id, "the stage ran past its time limit")
        return None
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        retrain.stage_fail(job_id, retrain.human_error(exc))
        return None


@shared_task(
    name="labeling.tasks.retrain_scan_task", acks_late=True, soft_time_limit=3600, time_limit=3700
)
def retrain_scan_task(job_id: int) -> None:
    chunks = _run_stage(job_id, retrain.stage_scan)
    if chunks is None:
        return
    if not chunks:
        if _run_stage(job_id, retrain.extract_finish_if_done):
            retrain_train_task.delay(job_id)
        return
    for video_ids in chunks:
        embeddings_extract_chunk.delay(job_id, video_ids)


@shared_task(
    name="labeling.tasks.embeddings_extract_chunk",
    acks_late=True,
    soft_time_limit=1800,
    time_limit=1900,
)
def embeddings_extract_chunk(job_id: int, video_ids: list[int]) -> None:
    if _run_stage(job_id, retrain.stage_extract_chunk, video_ids):
        retrain_train_task.delay(job_id)


@shared_task(
    name="labeling.tasks.retrain_train_task", acks_late=True, soft_time_limit=1800, time_limit=1900
)
def retrain_train_task(job_id: int) -> None:
    _run_stage(job_id, retrain.stage_train)
    job = Job.objects.filter(pk=job_id).first()
    if job is not None and job.state == Job.State.RUNNING and job.stage == Job.Stage.PREDICT:
        predictions_compute_task.delay(job_id)


@shared_task(
    name="labeling.tasks.predictions_compute", acks_late=True, soft_time_limit=1800, time_limit=1900
)
def predictions_compute_task(job_id: int) -> None:
    _run_stage(job_id, retrain.stage_predict)


@shared_task(name="labeling.tasks.jobs_mark_lost", soft_time_limit=60, time_limit=90)
def jobs_mark_lost_task() -> int:
    return retrain.jobs_mark_lost()
