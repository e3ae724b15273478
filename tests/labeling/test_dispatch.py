"""Services queue Celery tasks by name through labeling.services.dispatch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone

from labeling.models import Job, Library
from labeling.services.dispatch import NextStep, steps_enqueue, task_enqueue
from labeling.services.retrain import TASK_EXTRACT_CHUNK, TASK_SCAN, retrain_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple[str, dict]] = []
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)
    monkeypatch.setattr(current_app, "send_task", lambda name, kwargs: calls.append((name, kwargs)))
    return calls


def test_a_task_is_sent_by_name_once_the_transaction_commits(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        task_enqueue(task=TASK_SCAN, kwargs={"job_id": 7})
        assert sent == []  # not before the commit: the worker must find the rows
    assert len(callbacks) == 1
    assert sent == [(TASK_SCAN, {"job_id": 7})]


def test_next_steps_are_sent_in_order(sent, django_capture_on_commit_callbacks):
    steps = [NextStep(TASK_EXTRACT_CHUNK, {"job_id": 1, "video_ids": [n]}) for n in (1, 2)]
    with django_capture_on_commit_callbacks(execute=True):
        steps_enqueue(steps=steps)
    assert sent == [(step.task, step.kwargs) for step in steps]


def test_a_retrain_request_queues_the_scan_stage(sent, django_capture_on_commit_callbacks):
    library = Library.objects.create(root="/tmp/nowhere", name="nowhere")
    with django_capture_on_commit_callbacks(execute=True):
        job, created = retrain_request(library=library)
    assert created and sent == [(TASK_SCAN, {"job_id": job.pk})]


def test_eager_mode_runs_the_registered_task_here(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)
    library = Library.objects.create(root="/tmp/nowhere", name="nowhere")
    stale = timezone.now() - timedelta(days=1)
    job = Job.objects.create(library=library, kind="scan", state="running", heartbeat_at=stale)
    with django_capture_on_commit_callbacks(execute=True):
        task_enqueue(task="labeling.tasks.jobs_mark_lost", kwargs={})
    job.refresh_from_db()
    assert job.state == "lost"
