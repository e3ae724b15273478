"""The one way services start background work: a Celery task, by its registered name.

Services never import labeling.tasks (tasks call services, not the other way round); they
name the task instead, and the Celery app finds it when the message is sent.

When the broker cannot be reached the task is not sent, and the job it was for (its
``job_id``) is marked failed with that reason: a queued job with no task behind it would
block every later request of its kind ("already queued") until the stale-job sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from labeling.models import Job
from labeling.services.errors import BrokerUnavailableError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NextStep:
    """A task to run next: its registered name and keyword arguments (ids only)."""

    task: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def task_enqueue(*, task: str, kwargs: dict[str, Any]) -> None:
    """Queue ``task`` once the current transaction commits (at once outside one).

    After the commit: a worker must find the rows the task is about. Under
    CELERY_TASK_ALWAYS_EAGER the task runs here, in this process. Outside a transaction
    a broker failure raises BrokerUnavailableError (the API answers 503); after a commit
    it is logged, and the job is failed either way.
    """
    if transaction.get_connection().in_atomic_block:
        # robust: what the transaction did is committed; a send failure must not undo
        # the caller's answer.
        transaction.on_commit(partial(_send, task=task, kwargs=kwargs), robust=True)
    else:
        _send(task=task, kwargs=kwargs)


def steps_enqueue(*, steps: list[NextStep]) -> None:
    for step in steps:
        task_enqueue(task=step.task, kwargs=step.kwargs)


def _send(*, task: str, kwargs: dict[str, Any]) -> None:
    try:
        _publish(task=task, kwargs=kwargs)
    except (BrokerError, OSError) as exc:
        logger.error("could not queue %s %s: %s", task, kwargs, exc)
        reason = f"broker unreachable, the task was not queued ({exc})"
        if "job_id" in kwargs:
            _job_fail_unqueued(job_id=kwargs["job_id"], reason=reason)
        raise BrokerUnavailableError(
            f"The task queue (Redis) is unreachable: {exc}. Try again once it is back."
        ) from exc


def _publish(*, task: str, kwargs: dict[str, Any]) -> None:
    app = current_app
    if not app.conf.task_always_eager:
        app.send_task(task, kwargs=kwargs)
        return
    if task not in app.tasks:
        # Eager runs need the task object; outside a worker nothing has imported the
        # task modules yet.
        app.autodiscover_tasks(force=True)
    app.tasks[task].apply_async(kwargs=kwargs)


def _job_fail_unqueued(*, job_id: int, reason: str) -> None:
    job = Job.objects.filter(pk=job_id, state__in=Job.ACTIVE_STATES).first()
    if job is None:
        return  # cancelled or ended meanwhile: keep its verdict
    stage = f" at {job.stage}" if job.stage else ""
    Job.objects.filter(pk=job_id, state__in=Job.ACTIVE_STATES).update(
        state=Job.State.FAILED, finished_at=timezone.now(), error=f"Failed{stage}: {reason}"
    )
