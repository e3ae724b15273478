"""A real Celery worker process on Redis runs a scan against real PostgreSQL."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import call_command

from labeling.models import Job, Video
from labeling.services.scan import library_get_or_create
from labeling.tasks import library_scan_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_worker_scans_a_library(celery_worker_process, tmp_path):
    root = tmp_path / "demo"
    call_command("vidsort_demo", str(root), "--videos", "8", stdout=StringIO())
    library = library_get_or_create(root=root)
    library_scan_task.delay(library.pk)

    job = wait_for(lambda: Job.objects.filter(library=library, state="succeeded").first())
    assert job.kind == "scan" and job.progress_done == job.progress_total == 8
    assert job.metrics["scan"]["new"] == 8
    assert Video.objects.filter(library=library).count() == 8
    assert "succeeded" in celery_worker_process.log_path.read_text()


def test_a_failed_scan_says_why(celery_worker_process, tmp_path):
    root = tmp_path / "vanishing"
    root.mkdir()
    library = library_get_or_create(root=root)
    root.rmdir()
    library_scan_task.delay(library.pk)
    job = wait_for(lambda: Job.objects.filter(library=library, state="failed").first())
    assert job.error.startswith("Failed at scan:") and "is not there" in job.error
