"""Job rows: the database is the truth about background runs (not Celery's results)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from labeling.models import Job, Library


class JobStopped(Exception):
    """The job is no longer running (cancelled, lost or failed elsewhere): stop quietly."""


def job_create(*, library: Library, kind: str, requested_by=None) -> tuple[Job, bool]:
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
