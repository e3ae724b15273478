"""Celery tasks: thin wrappers that take ids and call services.

Every task is safe to run twice (acks_late re-delivers after a worker dies): stages claim
their work with conditional UPDATEs and stop quietly when the job is no longer theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from labeling.services import retrain
from labeling.services.backfill import predictions_backfill
from labeling.services.dispatch import NextStep, steps_enqueue
from labeling.services.jobs import JobStopped, library_scan_job, library_scan_periodic
from labeling.services.learning import TASK_PREDICTIONS_BACKFILL
from labeling.services.proxies import TASK_PROXY_MAKE, proxy_build
from labeling.services.reconcile import moves_reconcile_by_id

logger = logging.getLogger(__name__)


@shared_task(name="labeling.tasks.library_scan_task", soft_time_limit=3600, time_limit=3700)
def library_scan_task(library_id: int, job_id: int | None = None) -> None:
    library_scan_job(library_id=library_id, job_id=job_id)


@shared_task(name="labeling.tasks.library_scan_periodic", soft_time_limit=3600, time_limit=3700)
def library_scan_periodic_task() -> str:
    """Beat's periodic scan of the configured library (VIDSORT_SCAN_INTERVAL_SECONDS).

    Takes no id: it scans VIDSORT_LIBRARY (or the only library when that is unset).
    Safe to run twice: it records a scan Job, and while a scan or a retrain (which scans
    first) of the library is active it does nothing.
    """
    return library_scan_periodic()


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


@shared_task(name=retrain.TASK_EXTRACT_PREPARE, **RETRAIN_STAGE_OPTIONS)
def embeddings_extract_prepare(job_id: int) -> None:
    _stage_run(retrain.retrain_stage_extract_prepare, job_id=job_id)


@shared_task(name=retrain.TASK_EXTRACT_CHUNK, **RETRAIN_STAGE_OPTIONS)
def embeddings_extract_chunk(job_id: int, video_ids: list[int]) -> None:
    _stage_run(retrain.retrain_stage_extract_chunk, job_id=job_id, video_ids=video_ids)


@shared_task(name=retrain.TASK_TEXT_CHUNK, **RETRAIN_STAGE_OPTIONS)
def text_extract_chunk(job_id: int, video_ids: list[int]) -> None:
    _stage_run(retrain.retrain_stage_text_chunk, job_id=job_id, video_ids=video_ids)


@shared_task(name=retrain.TASK_TRAIN, **RETRAIN_STAGE_OPTIONS)
def retrain_train_task(job_id: int) -> None:
    _stage_run(retrain.retrain_stage_train, job_id=job_id)


@shared_task(name=retrain.TASK_PREDICT, **RETRAIN_STAGE_OPTIONS)
def predictions_compute_task(job_id: int) -> None:
    _stage_run(retrain.retrain_stage_predict, job_id=job_id)


@shared_task(name=TASK_PREDICTIONS_BACKFILL, **RETRAIN_STAGE_OPTIONS)
def predictions_backfill_task(job_id: int) -> None:
    _stage_run(predictions_backfill, job_id=job_id)


@shared_task(name=TASK_PROXY_MAKE, acks_late=True, soft_time_limit=1900, time_limit=2000)
def proxy_make_task(video_id: int) -> str:
    """A playable H.264 copy of one video (docs/player.md); safe to run twice."""
    return proxy_build(video_id=video_id)


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
    return moves_reconcile_by_id(library_id=library_id, min_age_seconds=min_age_seconds, scan=scan)
