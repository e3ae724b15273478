"""Beat's periodic tasks: the schedule, and the tasks it names run on a real library."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from labeling.models import Job, Library, Video
from labeling.services.jobs import job_create
from labeling.services.scan import library_get_or_create
from labeling.tasks import library_scan_periodic_task, moves_reconcile_task
from vidsort_site.celery import app

REPO = Path(__file__).resolve().parents[2]


def test_the_beat_schedule_has_the_periodic_scan_and_reconcile():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["scan-library"]["task"] == "labeling.tasks.library_scan_periodic"
    assert schedule["scan-library"]["schedule"] == float(settings.VIDSORT_SCAN_INTERVAL_SECONDS)
    assert schedule["reconcile-moves"]["task"] == "labeling.tasks.moves_reconcile_task"
    assert schedule["reconcile-moves"]["kwargs"] == {"scan": False}
    assert schedule["mark-lost-jobs"]["task"] == "labeling.tasks.jobs_mark_lost"
    importlib.import_module("labeling.tasks")
    for entry in schedule.values():
        assert entry["task"] in app.tasks, entry["task"]  # a typo would never run


def _schedule_with(env: dict[str, str]) -> dict:
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from django.conf import settings as s; "
            "print(json.dumps(sorted(s.CELERY_BEAT_SCHEDULE.items())))",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "vidsort_site.settings"} | env,
    )
    assert process.returncode == 0, process.stderr
    import json

    return {name: entry for name, entry in json.loads(process.stdout)}


def test_the_intervals_come_from_the_environment_and_zero_turns_them_off():
    schedule = _schedule_with(
        {"VIDSORT_SCAN_INTERVAL_SECONDS": "120", "VIDSORT_RECONCILE_INTERVAL_SECONDS": "0"}
    )
    assert schedule["scan-library"]["schedule"] == 120.0
    assert "reconcile-moves" not in schedule
    schedule = _schedule_with({"VIDSORT_SCAN_INTERVAL_SECONDS": "0"})
    assert "scan-library" not in schedule and "reconcile-moves" in schedule
    assert "mark-lost-jobs" in schedule


@pytest.mark.django_db
def test_the_periodic_scan_scans_the_configured_library(library_dir, media, copy_video, settings):
    settings.VIDSORT_LIBRARY = library_dir
    copy_video(library_dir, media["bikes.mp4"], "bikes.mp4")
    copy_video(library_dir, media["vp9.webm"], "cars/clip.webm")

    assert library_scan_periodic_task().startswith("scanned")
    library = Library.objects.get(root=str(library_dir))
    assert set(Video.objects.filter(library=library).values_list("path", flat=True)) == {
        "bikes.mp4",
        "cars/clip.webm",
    }
    job = Job.objects.get(library=library, kind=Job.Kind.SCAN)
    assert job.state == Job.State.SUCCEEDED and job.metrics["scan"]["new"] == 2

    # Twice is harmless: a second run finds the library unchanged.
    assert library_scan_periodic_task().startswith("scanned")
    assert Video.objects.filter(library=library).count() == 2
    latest = Job.objects.filter(library=library, kind=Job.Kind.SCAN).latest("created_at")
    assert latest.metrics["scan"]["unchanged"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [Job.Kind.RETRAIN, Job.Kind.SCAN])
def test_the_periodic_scan_skips_while_a_scan_or_retrain_is_active(
    library_dir, media, copy_video, settings, kind
):
    settings.VIDSORT_LIBRARY = library_dir
    copy_video(library_dir, media["bikes.mp4"], "bikes.mp4")
    library = library_get_or_create(root=library_dir)
    job_create(library=library, kind=kind)

    assert library_scan_periodic_task().startswith("skipped")
    assert not Video.objects.filter(library=library).exists()
    assert Job.objects.filter(library=library).count() == 1


@pytest.mark.django_db
def test_the_periodic_tasks_skip_without_a_library(settings):
    settings.VIDSORT_LIBRARY = None
    assert not Library.objects.exists()
    assert library_scan_periodic_task() == "skipped: no library"
    assert "skipped" in moves_reconcile_task(scan=False)


@pytest.mark.django_db
def test_the_periodic_reconcile_runs_on_the_configured_library(library_dir, settings):
    settings.VIDSORT_LIBRARY = library_dir
    report = moves_reconcile_task(scan=False)
    assert report["ok"] and report["finished"] == 0 and report["rolled_back"] == 0
    assert Library.objects.filter(root=str(library_dir)).exists()
