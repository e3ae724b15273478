"""The predict job: predictions an activated older classifier version lacks.

A rollback (labeling.services.learning.classifier_rollback) activates a version trained
before some videos were added: it never predicted them, and the player would show them
with no prediction. The rollback queues this job; it predicts them with the version
active when it runs, and keeps every prediction already there. The Job row is the truth,
as for retrains: claimed with a conditional UPDATE, a heartbeat while it runs, marked
lost when the heartbeat stops.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from labeling.models import Job
from labeling.selectors.classifiers import classifier_active
from labeling.services.dispatch import NextStep
from labeling.services.extraction import encoder_get
from labeling.services.jobs import JobStopped, job_progress_writer, job_succeed
from labeling.services.learning import predictions_backfill_compute
from labeling.services.retrain import job_heartbeat

# Another rollback while the job runs changes the active version: predict again for it,
# a few times at most (the next rollback queues a job of its own after that).
BACKFILL_ROUNDS = 3


def _claim(job_id: int) -> bool:
    """Queued -> running at the predict stage (running too: a redelivered task resumes)."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, kind=Job.Kind.PREDICT, state__in=Job.ACTIVE_STATES).update(
            state=Job.State.RUNNING,
            stage=Job.Stage.PREDICT,
            started_at=now,
            stage_started_at=now,
            heartbeat_at=now,
        )
    )


def predictions_backfill(*, job_id: int) -> list[NextStep]:
    """Run the predict job: fill in the active version's missing predictions."""
    if not _claim(job_id):
        raise JobStopped(f"predict job {job_id} is no longer active")
    job = Job.objects.select_related("library").get(pk=job_id)
    predicted, version = 0, None
    with job_heartbeat(job_id):
        for _ in range(BACKFILL_ROUNDS):
            classifier = classifier_active(library=job.library)
            if classifier is None or classifier.version == version:
                break
            version = classifier.version
            predicted += predictions_backfill_compute(
                classifier=classifier,
                encoder=encoder_get(),
                progress=job_progress_writer(job_id),
            )
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job_id)
        if locked.state != Job.State.RUNNING:
            raise JobStopped(f"predict job {job_id} stopped while predicting")
        job_succeed(job=locked, metrics={"predictions": predicted, "classifier_version": version})
    return []
