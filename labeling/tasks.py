"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task

from labeling.models import Job, Library
from labeling.services.jobs import JobProgress, job_create, job_fail, job_start, job_succeed
from labeling.services.scan import library_scan

logger = logging.getLogger(__name__)


@shared_task(name="labeling.tasks.library_scan_task", soft_time_limit=3600, time_limit=3700)
def library_scan_task(library_id: int, job_id: int | None = None) -> None:
    library = Library.objects.get(pk=library_id)
    if job_id is None:
        job, _ = job_create(library=library, kind=Job.Kind.SCAN)
    else:
        job = Job.objects.get(pk=job_id)
    if job.state not in Job.ACTIVE_STATES:
        logger.info("scan job %s is already %s; nothing to do", job.pk, job.state)
        return
    job_start(job=job, stage=Job.Stage.SCAN)
    try:
        report = library_scan(library=library, progress=JobProgress(job=job))
    except Exception as exc:
        logger.exception("scan job %s failed", job.pk)
        job_fail(job=job, error=str(exc))
        raise
    job_succeed(job=job, metrics={"scan": asdict(report) | {"warnings": report.warnings[:50]}})
