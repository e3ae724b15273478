"""A file name that is not UTF-8 in the library: a real worker's scan and retrain finish.

Before VidSort skipped such names, OpenCV crashed the worker's pool child on them; the
retrain's scan task was delivered again and again (acks late, reject on worker lost),
each delivery refreshing the heartbeat, so the job never ended and every later retrain
got 409. Now the scan names the file in a warning and the job ends.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from labeling.models import Job, Video
from labeling.services.scan import library_get_or_create
from labeling.tasks import library_scan_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BAD_NAME = b"inv\xffalid.mp4"
ESCAPED = "inv\\xffalid.mp4"
DONE = ("succeeded", "failed", "lost", "cancelled")


@pytest.fixture
def poisoned(make_demo, settings) -> Path:
    root = make_demo(36)
    settings.VIDSORT_LIBRARY = root
    source = next(root.glob("*.mp4"))
    shutil.copyfile(source, os.fsdecode(os.path.join(os.fsencode(root), BAD_NAME)))
    return root


def wait_done(job_id: int, timeout: float = 420.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.state in DONE:
            return job
        time.sleep(0.5)
    job = Job.objects.get(pk=job_id)
    raise AssertionError(f"job {job_id} still {job.state} at {job.stage} after {timeout} s")


def test_a_retrain_over_a_name_that_is_not_utf8_finishes(
    celery_worker_process, poisoned, owner_everywhere
):
    client = APIClient()
    ann = get_user_model().objects.create_user("ann", password="pw-1234567")
    client.force_authenticate(owner_everywhere(ann))
    response = client.post("/api/retrain")
    assert response.status_code == 201, response.content

    job = wait_done(response.json()["job"])
    assert job.state == "succeeded", job.error
    assert f"ignored name that is not valid UTF-8: {ESCAPED}" in job.metrics["scan_warnings"]
    assert job.attempts == 1  # its last stage (predict) started once: no redelivery
    assert "Segmentation fault" not in celery_worker_process.log_text()
    # The next retrain is not refused as "already queued".
    assert client.post("/api/retrain").status_code == 201


def test_a_scan_task_over_a_name_that_is_not_utf8_finishes(celery_worker_process, poisoned):
    library = library_get_or_create(root=poisoned)
    library_scan_task.delay(library.pk)
    deadline = time.monotonic() + 300
    while not (job := Job.objects.filter(library=library, state__in=DONE).first()):
        assert time.monotonic() < deadline, "the scan job did not finish"
        time.sleep(0.5)
    assert job.state == "succeeded", job.error
    assert f"ignored name that is not valid UTF-8: {ESCAPED}" in job.metrics["scan"]["warnings"]
    assert Video.objects.filter(library=library).count() == 36
