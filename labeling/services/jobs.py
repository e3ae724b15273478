"""Job rows: the database is the truth about background runs (not Celery's results)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from labeling.models import Job, Library
from labeling.selectors.jobs import job_active_exists
from labeling.services.errors import BrokerUnavailableError
from labeling.services.library import library_current
from labeling.services.proxies import proxies_ahead, proxies_prune
from labeling.services.scan import library_scan

logger = logging.getLogger(__name__)


class JobStopped(Exception):
    """The job is no longer running (cancelled, lost or failed elsewhere): stop quietly."""


# A task is delivered again when its worker dies (acks late, reject on worker lost). A
# file that kills the worker would loop forever, each delivery refreshing the heartbeat;
# after this many starts of one stage the job fails instead.
MAX_STAGE_ATTEMPTS = 3
STAGE_ATTEMPTS_ERROR = (
    f"its worker died {MAX_STAGE_ATTEMPTS} times running this stage (see the worker log); "
    "start it again once the cause is fixed"
)


def job_attempt_begin(*, job_id: int, stage: str) -> int:
    """Count a start of the running job's ``stage`` task; returns the count so far."""
    Job.objects.filter(pk=job_id, state=Job.State.RUNNING, stage=stage).update(
        attempts=F("attempts") + 1
    )
    attempts = Job.objects.filter(pk=job_id).values_list("attempts", flat=True).first() or 0
    if attempts > 1:
        logger.warning("job %s: %s started again (attempt %d)", job_id, stage, attempts)
    return attempts


CHUNK_ATTEMPTS_ERROR = (
    f"the worker died {MAX_STAGE_ATTEMPTS} times on the batch holding this file "
    "(see the worker log); it is left out until the file changes"
)


def job_chunk_attempt_begin(*, job_id: int, stage: str, video_ids: list[int]) -> int:
    """Count a start of one chunk task of ``stage``; returns its count so far.

    Chunks of a stage share the job row, so each keeps its own count in the job's
    metrics (keyed by its first video: chunks never overlap). A chunk whose worker keeps
    dying is then given up alone, and the stage goes on without it.
    """
    key = f"{stage}:{video_ids[0]}" if video_ids else stage
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return 0
        starts = dict(job.metrics.get("chunk_starts", {}))
        starts[key] = int(starts.get(key, 0)) + 1
        Job.objects.filter(pk=job_id).update(metrics=job.metrics | {"chunk_starts": starts})
    if starts[key] > 1:
        logger.warning(
            "job %s: %s chunk %s started again (attempt %d)", job_id, stage, key, starts[key]
        )
    return starts[key]


def job_create(*, library: Library, kind: str, requested_by: Any = None) -> tuple[Job, bool]:
    """Create a queued job, or return the active one of that kind (created=False).

    The partial unique constraint `job_one_active_per_kind` makes this race-free: of two
    concurrent requests one insert fails and that caller gets the winner's row.
    """
    try:
        with transaction.atomic():
            job = Job.objects.create(library=library, kind=kind, requested_by=requested_by)
        return job, True
    except IntegrityError:
        active = Job.objects.filter(library=library, kind=kind, state__in=Job.ACTIVE_STATES).first()
        if active is None:  # it finished between our insert and this read: try once more
            return job_create(library=library, kind=kind, requested_by=requested_by)
        return active, False


def job_start(*, job: Job, stage: str) -> None:
    now = timezone.now()
    job.state = Job.State.RUNNING
    job.stage = stage
    job.started_at = job.started_at or now
    job.stage_started_at = now
    job.heartbeat_at = now
    job.save(update_fields=["state", "stage", "started_at", "stage_started_at", "heartbeat_at"])


def job_progress_writer(job_id: int, *, additive: bool = False) -> Callable[[int, int], None]:
    """Progress callback; raises JobStopped once the job is cancelled or lost."""
    last_write = 0.0
    last_done = 0

    def write(done: int, total: int) -> None:
        nonlocal last_write, last_done
        now = time.monotonic()
        if done < total and now - last_write < 0.5:
            return
        last_write = now
        fields: dict[str, Any]
        if additive:  # several chunks add to one counter
            delta, last_done = done - last_done, done
            fields = {"progress_done": F("progress_done") + delta}
        else:
            fields = {"progress_done": done, "progress_total": total}
        updated = Job.objects.filter(pk=job_id, state=Job.State.RUNNING).update(
            heartbeat_at=timezone.now(), **fields
        )
        if not updated:
            raise JobStopped(f"job {job_id} stopped")

    return write


def job_succeed(*, job: Job, metrics: dict | None = None) -> None:
    job.state = Job.State.SUCCEEDED
    job.finished_at = timezone.now()
    job.heartbeat_at = job.finished_at
    if metrics is not None:
        job.metrics = metrics
    job.save(update_fields=["state", "finished_at", "heartbeat_at", "metrics"])


def job_fail(*, job: Job, error: str) -> None:
    job.state = Job.State.FAILED
    job.finished_at = timezone.now()
    stage = f" at {job.stage}" if job.stage else ""
    job.error = f"Failed{stage}: {error}"
    job.save(update_fields=["state", "finished_at", "error"])


# --- Scan jobs ---------------------------------------------------------------------------


def library_scan_job(*, library_id: int, job_id: int | None = None) -> None:
    """Scan a library as a recorded job (``job_id``: one queued already); never twice."""
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


def library_scan_periodic() -> str:
    """Scan the configured library, unless a scan or a retrain (which scans first) is active."""
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


def _scan_job_run(job: Job, library: Library) -> None:
    job_start(job=job, stage=Job.Stage.SCAN)
    attempts = job_attempt_begin(job_id=job.pk, stage=Job.Stage.SCAN)
    if attempts > MAX_STAGE_ATTEMPTS:
        job_fail(job=job, error=STAGE_ATTEMPTS_ERROR)
        return
    try:
        # After a start whose worker died, each file is probed in a child process.
        report = library_scan(
            library=library, progress=job_progress_writer(job.pk), isolated=attempts > 1
        )
    except JobStopped:
        logger.info("scan job %s was stopped", job.pk)
        return
    except Exception as exc:
        logger.exception("scan job %s failed", job.pk)
        job_fail(job=job, error=str(exc))
        raise
    job_succeed(job=job, metrics={"scan": asdict(report) | {"warnings": report.warnings[:50]}})
    # Libraries set to make playable proxies ahead of time get them for new files now.
    try:
        proxies_ahead(library=Library.objects.get(pk=library.pk))
    except BrokerUnavailableError as exc:
        logger.warning("scan job %s: proxies not queued: %s", job.pk, exc)
    proxies_prune()
