"""The one way services start background work: a Celery task, by its registered name.

Services never import labeling.tasks (tasks call services, not the other way round); they
name the task instead, and the Celery app finds it when the message is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.db import transaction


@dataclass(frozen=True)
class NextStep:
    """A task to run next: its registered name and keyword arguments (ids only)."""

    task: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def task_enqueue(*, task: str, kwargs: dict[str, Any]) -> None:
    """Queue ``task`` once the current transaction commits (at once outside one).

    After the commit: a worker must find the rows the task is about. Under
    CELERY_TASK_ALWAYS_EAGER the task runs here, in this process.
    """
    transaction.on_commit(lambda: _send(task=task, kwargs=kwargs))


def steps_enqueue(*, steps: list[NextStep]) -> None:
    for step in steps:
        task_enqueue(task=step.task, kwargs=step.kwargs)


def _send(*, task: str, kwargs: dict[str, Any]) -> None:
    app = current_app
    if not app.conf.task_always_eager:
        app.send_task(task, kwargs=kwargs)
        return
    if task not in app.tasks:
        # Eager runs need the task object; outside a worker nothing has imported the
        # task modules yet.
        app.autodiscover_tasks(force=True)
    app.tasks[task].apply_async(kwargs=kwargs)
