"""Retrain jobs without a worker: auto-retrain after N labels (off by default), lost-job
detection on beat, the Celery configuration, the status API's ETA and zero-shot note."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Folder, Job, Video
from labeling.services.scan import library_get_or_create, library_scan
from labeling.services.sorting import video_sort

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(make_demo, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    root = make_demo(24)
    library = library_get_or_create(root=root)
    library_scan(library=library)
    return library


def sort_loose(library, n: int) -> None:
    folder = Folder.objects.filter(library=library).first()
    loose = list(Video.objects.filter(library=library, folder=None)[:n])
    assert len(loose) == n
    for video in loose:
        video_sort(video=video, folder=folder, route="api")


def test_off_by_default(library, settings):
    assert settings.VIDSORT_AUTO_RETRAIN_LABELS == 0
    sort_loose(library, 3)
    assert not Job.objects.exists()


def test_a_retrain_is_queued_after_n_labels(library, settings):
    # The broker send happens on commit, which never comes inside this test's
    # transaction: the queued Job row is what this test checks.
    settings.VIDSORT_AUTO_RETRAIN_LABELS = 3
    sort_loose(library, 2)
    assert not Job.objects.exists()
    sort_loose(library, 1)
    job = Job.objects.get()
    assert job.kind == "retrain" and job.state == "queued"


# --- Lost jobs on beat, and the Celery configuration ------------------------------------


def test_lost_job_check_runs_on_beat_and_marks_a_stale_job_lost(library, settings):
    from labeling.tasks import jobs_mark_lost_task

    entries = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == jobs_mark_lost_task.name
    ]
    assert len(entries) == 1 and 0 < entries[0]["schedule"] <= settings.VIDSORT_JOB_STALE_SECONDS
    stale = timezone.now() - timedelta(seconds=settings.VIDSORT_JOB_STALE_SECONDS + 5)
    job = Job.objects.create(
        library=library, kind="retrain", state="running", stage="extract", heartbeat_at=stale
    )
    fresh = Job.objects.create(
        library=library, kind="scan", state="running", heartbeat_at=timezone.now()
    )
    assert jobs_mark_lost_task() == 1  # the task body, as beat's worker runs it
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.state == "lost" and job.error.startswith("Lost at extract") and job.finished_at
    assert fresh.state == "running"


RETRAIN_TASKS = (
    "labeling.tasks.retrain_scan_task",
    "labeling.tasks.embeddings_extract_chunk",
    "labeling.tasks.retrain_train_task",
    "labeling.tasks.predictions_compute",
)


def test_celery_routes_limits_and_delivery(settings):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from vidsort_site.celery import app

    app.loader.import_default_modules()
    router = app.amqp.router
    queue = {name: router.route({}, name)["queue"].name for name in RETRAIN_TASKS}
    assert queue == {
        "labeling.tasks.retrain_scan_task": "default",
        "labeling.tasks.embeddings_extract_chunk": "gpu",
        "labeling.tasks.retrain_train_task": "default",
        "labeling.tasks.predictions_compute": "gpu",
    }
    ours = {name: task for name, task in app.tasks.items() if name.startswith("labeling.")}
    assert set(RETRAIN_TASKS) <= set(ours)
    for name, task in ours.items():
        assert task.time_limit and task.soft_time_limit, name
        assert task.soft_time_limit < task.time_limit, name  # cleanup runs before the kill
    for name in RETRAIN_TASKS:
        assert ours[name].acks_late, name
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    # With Redis, a task unacknowledged for longer than the visibility timeout is
    # delivered again: it must outlast the longest hard limit. Read with a Redis URL
    # whatever broker this test run uses (the option is set only for Redis).
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"
    )
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "vidsort_site.settings",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "VIDSORT_DATA_DIR": str(settings.DATA_DIR),
    }
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    options = json.loads(out.stdout.strip().splitlines()[-1])
    assert options["visibility_timeout"] > max(task.time_limit for task in ours.values())


# --- The status API: ETA from the stage's own start, and the zero-shot note ---------------


@pytest.fixture
def api_client(user_client, library, settings):
    settings.VIDSORT_LIBRARY = library.root
    return user_client


def test_eta_counts_only_the_current_stage(api_client, library):
    now = timezone.now()
    Job.objects.create(
        library=library,
        kind="retrain",
        state="running",
        stage="predict",
        started_at=now - timedelta(seconds=600),  # scan and extraction took 10 minutes
        stage_started_at=now - timedelta(seconds=20),
        heartbeat_at=now,
        progress_done=50,
        progress_total=100,
    )
    status = api_client.get("/api/retrain/status").json()
    assert status["stage"] == "predict" and status["progress"] == {"done": 50, "total": 100}
    assert status["eta_seconds"] == pytest.approx(20, abs=2)  # not 600


@pytest.mark.parametrize(("done", "total"), [(1, 400), (2, 10), (15, 400)])
def test_no_eta_before_a_few_items(api_client, library, done: int, total: int) -> None:
    """The first items carry the stage's start-up: 1 of 400 done after 22 s is no rate."""
    now = timezone.now()
    Job.objects.create(
        library=library, kind="retrain", state="running", stage="extract",
        started_at=now - timedelta(seconds=30), stage_started_at=now - timedelta(seconds=22),
        heartbeat_at=now, progress_done=done, progress_total=total,
    )  # fmt: skip
    assert api_client.get("/api/retrain/status").json()["eta_seconds"] is None


def test_each_stage_restarts_the_eta_clock(library):
    from labeling.services.retrain import _claim

    job = Job.objects.create(library=library, kind="retrain")
    assert _claim(job.pk, from_stages=("scan",), stage="scan")
    job.refresh_from_db()
    first = job.stage_started_at
    assert first is not None and job.started_at == first
    Job.objects.filter(pk=job.pk).update(stage="extract")
    assert _claim(job.pk, from_stages=("extract",), stage="train")
    job.refresh_from_db()
    assert job.stage == "train" and job.stage_started_at > first and job.started_at == first


def test_status_says_zero_shot_is_off_for_a_model_without_text_alignment(api_client, settings):
    settings.VIDSORT_CLIP_MODEL, settings.VIDSORT_CLIP_PRETRAINED = "vidsort-tiny", ""
    status = api_client.get("/api/retrain/status").json()
    assert status["zero_shot"] is False
    assert status["zero_shot_note"] == (
        "zero-shot is off: vidsort-tiny/random20240601 has no pretrained text-image alignment"
    )
    settings.VIDSORT_CLIP_MODEL, settings.VIDSORT_CLIP_PRETRAINED = "ViT-B-32", "laion2b_s34b_b79k"
    status = api_client.get("/api/retrain/status").json()
    assert status["zero_shot"] is True and status["zero_shot_note"] is None
