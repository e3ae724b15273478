"""A chunk task whose worker keeps dying is given up alone, and the retrain goes on.

Extract and text chunks of one job share its row, so the job-wide attempt counter of the
scan stage cannot bound them: each chunk counts its own starts. The worker's death is
injected (an exception no stage catches, raised where the decoder would crash).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Job, Video
from labeling.services import retrain
from labeling.services.jobs import CHUNK_ATTEMPTS_ERROR, MAX_STAGE_ATTEMPTS
from labeling.services.retrain import (
    jobs_mark_lost,
    retrain_stage_extract_chunk,
    retrain_stage_scan,
)

pytestmark = pytest.mark.django_db


class WorkerDied(BaseException):
    """Stands for the pool process dying: nothing in the stage may handle it."""


def test_an_extract_chunk_that_keeps_killing_its_worker_is_left_out(
    scanned_library, settings, monkeypatch
):
    settings.VIDSORT_EXTRACT_CHUNK = 6
    job = Job.objects.create(library=scanned_library, kind=Job.Kind.RETRAIN)
    steps = retrain_stage_scan(job_id=job.pk)
    chunks = [step.kwargs["video_ids"] for step in steps]
    assert len(chunks) >= 2
    poison, rest = chunks[0], chunks[1:]

    real_extract = retrain.embeddings_extract

    def dies_on_the_poison_chunk(*, video_ids, **kwargs):  # type: ignore[no-untyped-def]
        if video_ids == poison:
            raise WorkerDied
        return real_extract(video_ids=video_ids, **kwargs)

    monkeypatch.setattr(retrain, "embeddings_extract", dies_on_the_poison_chunk)
    for _ in range(MAX_STAGE_ATTEMPTS):  # delivered again after each death
        with pytest.raises(WorkerDied):
            retrain_stage_extract_chunk(job_id=job.pk, video_ids=poison)
    assert retrain_stage_extract_chunk(job_id=job.pk, video_ids=poison) == []

    # The poison chunk's videos carry the reason; the job is still running and moves on
    # once the other chunks are done.
    errors = set(Video.objects.filter(pk__in=poison).values_list("extract_error", flat=True))
    assert errors == {CHUNK_ATTEMPTS_ERROR}
    job.refresh_from_db()
    assert (job.state, job.stage) == (Job.State.RUNNING, Job.Stage.EXTRACT)
    assert job.metrics["chunk_starts"] == {f"extract:{poison[0]}": MAX_STAGE_ATTEMPTS + 1}
    for chunk in rest:
        next_steps = retrain_stage_extract_chunk(job_id=job.pk, video_ids=chunk)
    assert next_steps, "the last chunk moves the job on"
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING
    assert job.stage in (Job.Stage.TEXT, Job.Stage.TRAIN)
    assert (
        not Video.objects.filter(pk__in=[v for c in rest for v in c])
        .exclude(extract_error="")
        .exists()
    )


def test_a_chunk_delivered_again_once_is_simply_run_again(scanned_library, settings, monkeypatch):
    settings.VIDSORT_EXTRACT_CHUNK = 100
    job = Job.objects.create(library=scanned_library, kind=Job.Kind.RETRAIN)
    (step,) = retrain_stage_scan(job_id=job.pk)
    video_ids = step.kwargs["video_ids"]
    real_extract = retrain.embeddings_extract
    deaths = []

    def dies_once(**kwargs):  # type: ignore[no-untyped-def]
        if not deaths:
            deaths.append(1)
            raise WorkerDied
        return real_extract(**kwargs)

    monkeypatch.setattr(retrain, "embeddings_extract", dies_once)
    with pytest.raises(WorkerDied):
        retrain_stage_extract_chunk(job_id=job.pk, video_ids=video_ids)
    assert retrain_stage_extract_chunk(job_id=job.pk, video_ids=video_ids)
    assert not Video.objects.filter(pk__in=video_ids).exclude(extract_error="").exists()


def _stalled_extraction(library, settings):  # type: ignore[no-untyped-def]
    """A retrain whose first chunk's message was stranded; the other chunks are done."""
    settings.VIDSORT_EXTRACT_CHUNK = 6
    library.text_enabled = False
    library.save(update_fields=["text_enabled"])
    job = Job.objects.create(library=library, kind=Job.Kind.RETRAIN)
    steps = retrain_stage_scan(job_id=job.pk)
    stranded = steps[0].kwargs["video_ids"]
    for step in steps[1:]:
        assert retrain_stage_extract_chunk(**step.kwargs) == []  # waiting for the stranded one
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    return job, stranded


def test_a_stalled_extraction_is_resumed_and_the_retrain_finishes(
    scanned_library, settings, django_capture_on_commit_callbacks, monkeypatch
):
    from celery import current_app

    job, stranded = _stalled_extraction(scanned_library, settings)
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)

    with django_capture_on_commit_callbacks(execute=True):  # queued tasks run (eager)
        assert jobs_mark_lost() == 0  # as the status endpoint or beat's sweep calls it

    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, (job.state, job.error)
    assert job.metrics["stall_resumes"] == 1
    assert not Video.objects.filter(pk__in=stranded).exclude(extract_error="").exists()


def test_an_extraction_that_stalls_again_and_again_ends_as_lost(scanned_library, settings):
    job, _ = _stalled_extraction(scanned_library, settings)
    Job.objects.filter(pk=job.pk).update(metrics=job.metrics | {"stall_resumes": 2})

    assert jobs_mark_lost() == 1

    job.refresh_from_db()
    assert job.state == Job.State.LOST
    assert "no heartbeat" in job.error
