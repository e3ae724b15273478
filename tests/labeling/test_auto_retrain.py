"""VIDSORT_AUTO_RETRAIN_LABELS: a retrain is queued after N new labels (off by default)."""

from __future__ import annotations

import pytest

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
