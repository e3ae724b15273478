"""Retrain jobs: scan -> [encoder auto-check] -> extract (new videos only, in chunks) -> text (transcripts and
on-screen text, in chunks on the "text" queue; skipped when the library or the settings
switch it off) -> train -> predict.

The Job row is the truth. Each stage is a Celery task that takes the job id, claims its
stage with a conditional UPDATE, and writes progress and a heartbeat as it goes. Every
stage returns the tasks to run next (``NextStep``); the task queues them. Any
number of workers can share the extract chunks; the chunk that finds no work left claims
the train stage, again with a conditional UPDATE, so exactly one of them moves on.
With VIDSORT_ENCODER_RUNTIME=auto and no encoder check stored for this machine, the scan
hands over to a task on the extraction queue that runs the check first (once for all
workers) and only then fixes the job's model id and plans the chunks: the runtime, and with
it the model id, never changes under a retrain's vectors.
A job whose heartbeat stops (killed worker, restarted server) is marked lost, so the
next retrain can start; a cancelled or lost job's late tasks find their conditional
updates matching nothing and stop without touching the active classifier.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from labeling.models import Classifier, Job, Library, Prediction, Video
from labeling.selectors.events import label_events_new_labels
from labeling.selectors.jobs import job_latest, jobs_stale
from labeling.selectors.text import text_candidates, videos_needing_text
from labeling.services.dispatch import NextStep, task_enqueue
from labeling.services.encoder_check import encoder_autocheck_pending, encoder_autocheck_run
from labeling.services.extraction import (
    chunked,
    embeddings_extract,
    encoder_for,
    model_id_current,
    videos_needing_embeddings,
)
from labeling.services.jobs import (
    CHUNK_ATTEMPTS_ERROR,
    MAX_STAGE_ATTEMPTS,
    STAGE_ATTEMPTS_ERROR,
    JobStopped,
    job_attempt_begin,
    job_chunk_attempt_begin,
    job_create,
    job_fail,
    job_progress_writer,
    job_succeed,
)
from labeling.services.learning import (
    TrainingError,
    classifier_activate,
    classifier_train,
    predictions_compute,
)
from labeling.services.scan import library_scan
from labeling.services.text import (
    text_engines,
    text_extract,
    text_mark_failed,
    text_stage_enabled,
)
from mlpipeline.encoder_config import EncoderUnavailableError

logger = logging.getLogger(__name__)

# The registered names of the stage tasks (labeling/tasks.py).
TASK_SCAN = "labeling.tasks.retrain_scan_task"
TASK_EXTRACT_CHUNK = "labeling.tasks.embeddings_extract_chunk"
TASK_EXTRACT_PREPARE = "labeling.tasks.embeddings_extract_prepare"
TASK_TEXT_CHUNK = "labeling.tasks.text_extract_chunk"
TASK_TRAIN = "labeling.tasks.retrain_train_task"
TASK_PREDICT = "labeling.tasks.predictions_compute"


# --- Requests from users ---------------------------------------------------------------


def retrain_request(*, library: Library, user: Any = None) -> tuple[Job, bool]:
    """Queue a retrain, or return the active one (created=False). Race-free via the DB."""
    jobs_mark_lost()
    job, created = job_create(library=library, kind=Job.Kind.RETRAIN, requested_by=user)
    if created:
        task_enqueue(task=TASK_SCAN, kwargs={"job_id": job.pk})
    return job, created


def job_cancel(*, job: Job) -> bool:
    """Cancel an active job; its unfinished classifier version is discarded."""
    cancelled = Job.objects.filter(pk=job.pk, state__in=Job.ACTIVE_STATES).update(
        state=Job.State.CANCELLED, finished_at=timezone.now(), error="Cancelled by the user"
    )
    job.refresh_from_db()
    _discard_unfinished_classifier(job)
    return bool(cancelled)


def retrain_maybe_auto(*, library: Library) -> Job | None:
    """Queue a retrain after VIDSORT_AUTO_RETRAIN_LABELS new labels (0 = off)."""
    every = settings.VIDSORT_AUTO_RETRAIN_LABELS
    if not every:
        return None
    last = job_latest(library=library, kind=Job.Kind.RETRAIN)
    since = last.created_at if last else None
    if label_events_new_labels(library=library, since=since).count() < every:
        return None
    job, created = retrain_request(library=library)
    return job if created else None


def jobs_mark_lost() -> int:
    """Mark active jobs with a stale heartbeat as lost. Cheap; called on every status read."""
    cutoff = timezone.now() - timedelta(seconds=settings.VIDSORT_JOB_STALE_SECONDS)
    stale = jobs_stale(cutoff=cutoff)
    count = 0
    for job in stale:
        if _extract_stall_resume(job, cutoff=cutoff):
            continue
        stage = job.stage or "start"
        updated = (
            Job.objects.filter(pk=job.pk, state__in=Job.ACTIVE_STATES)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
            .update(
                state=Job.State.LOST,
                finished_at=timezone.now(),
                error=(
                    f"Lost at {stage}: no heartbeat for {settings.VIDSORT_JOB_STALE_SECONDS} s "
                    "(the worker stopped or the server restarted); start a new retrain"
                ),
            )
        )
        if updated:
            count += 1
            logger.warning("job %s marked lost at stage %s", job.pk, stage)
            _discard_unfinished_classifier(job)
    return count


# A broker restart can strand a chunk's message: delivered, never acknowledged, and not
# given back until the broker's visibility timeout (hours). The other chunks finish and
# wait for it, the heartbeat stops, and the job would be swept up as lost although its
# worker is fine. An extraction that stalls so is resumed instead: the videos still
# lacking vectors are queued again (a stranded message that comes back later finds them
# done). Bounded, so a worker that is really gone still ends as lost.
MAX_STALL_RESUMES = 2


def _extract_stall_resume(job: Job, *, cutoff: datetime) -> bool:
    """Queue the stalled extraction's missing work again; True when the job was resumed."""
    resumes = int(job.metrics.get("stall_resumes", 0))
    if (
        job.kind != Job.Kind.RETRAIN
        or job.state != Job.State.RUNNING
        or job.stage != Job.Stage.EXTRACT
        or not job.model_id
        or resumes >= MAX_STALL_RESUMES
    ):
        return False
    bound = job.metrics.get("extract_max_video_id", 0)
    ids = list(
        videos_needing_embeddings(library=job.library, model_id=job.model_id)
        .filter(pk__lte=bound)
        .values_list("pk", flat=True)
    )
    if not ids:
        return False
    resumed = Job.objects.filter(
        pk=job.pk, state=Job.State.RUNNING, stage=Job.Stage.EXTRACT, heartbeat_at__lt=cutoff
    ).update(heartbeat_at=timezone.now(), metrics=job.metrics | {"stall_resumes": resumes + 1})
    if not resumed:
        return False  # another sweep resumed it (or no beat yet): the lost sweep decides
    logger.warning(
        "job %s: extraction stalled (no heartbeat); queuing its %d missing videos again",
        job.pk,
        len(ids),
    )
    for chunk in chunked(ids, settings.VIDSORT_EXTRACT_CHUNK):
        task_enqueue(task=TASK_EXTRACT_CHUNK, kwargs={"job_id": job.pk, "video_ids": chunk})
    return True


def _discard_unfinished_classifier(job: Job) -> None:
    if job.classifier_id is None:
        return
    classifier = Classifier.objects.filter(pk=job.classifier_id, is_active=False).first()
    if classifier is not None:
        Prediction.objects.filter(
            video__library=job.library_id, classifier_version=classifier.version
        ).delete()
        Job.objects.filter(pk=job.pk).update(classifier=None)
        classifier.delete()


# --- Stages (run by tasks) ---------------------------------------------------------------


def _claim(job_id: int, *, from_stages: tuple[str, ...], stage: str) -> bool:
    """Move a job into ``stage`` if it is where we expect; exactly one caller wins."""
    now = timezone.now()
    queued = (
        Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
            state=Job.State.RUNNING,
            stage=stage,
            started_at=now,
            stage_started_at=now,
            heartbeat_at=now,
            progress_done=0,
            progress_total=0,
            attempts=0,
        )
        if stage == Job.Stage.SCAN
        else 0
    )
    if queued:
        return True
    # Claiming the stage the job is already in is a redelivery: its starts keep counting.
    attempts = F("attempts") if stage in from_stages else 0
    return bool(
        Job.objects.filter(pk=job_id, state=Job.State.RUNNING, stage__in=from_stages).update(
            stage=stage,
            stage_started_at=now,
            heartbeat_at=now,
            progress_done=0,
            progress_total=0,
            attempts=attempts,
        )
    )


def _attempt_begin(job_id: int, stage: str) -> int:
    """Count a start of ``stage``'s task; the job fails once its task keeps dying."""
    attempts = job_attempt_begin(job_id=job_id, stage=stage)
    if attempts > MAX_STAGE_ATTEMPTS:
        retrain_fail(job_id=job_id, error=STAGE_ATTEMPTS_ERROR)
        raise JobStopped(f"job {job_id}: {stage} gave up after {MAX_STAGE_ATTEMPTS} attempts")
    return attempts


def _running(job_id: int) -> Job:
    job = Job.objects.select_related("library").get(pk=job_id)
    if job.state != Job.State.RUNNING:
        raise JobStopped(f"job {job_id} is {job.state}")
    return job


@contextmanager
def job_heartbeat(job_id: int, interval: float | None = None) -> Iterator[None]:
    """Beat while a stage runs, from a thread: a killed process stops beating."""
    interval = interval or settings.VIDSORT_HEARTBEAT_SECONDS
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(interval):
                Job.objects.filter(pk=job_id, state=Job.State.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def retrain_stage_scan(*, job_id: int) -> list[NextStep]:
    """Scan, then extract in chunks (straight to train when nothing is new)."""
    if not _claim(job_id, from_stages=(Job.Stage.SCAN,), stage=Job.Stage.SCAN):
        raise JobStopped(f"job {job_id} cannot start scanning")
    # A second start means the first one's worker died: probe each file in a child
    # process, so a file that crashes the decoder is marked unreadable with its reason.
    isolated = _attempt_begin(job_id, Job.Stage.SCAN) > 1
    job = _running(job_id)
    with job_heartbeat(job_id):
        report = library_scan(
            library=job.library, progress=job_progress_writer(job_id), isolated=isolated
        )
    metrics = {"scan": report.summary(), "scan_warnings": report.warnings[:50]}
    if encoder_autocheck_pending():
        # The check loads the model: a task on the extraction queue runs it, then plans.
        if not Job.objects.filter(pk=job_id, state=Job.State.RUNNING, stage=Job.Stage.SCAN).update(
            metrics=metrics, heartbeat_at=timezone.now()
        ):
            raise JobStopped(f"job {job_id} stopped during scan")
        return [NextStep(TASK_EXTRACT_PREPARE, {"job_id": job_id})]
    return _extract_plan(job, metrics)


def retrain_stage_extract_prepare(*, job_id: int) -> list[NextStep]:
    """The encoder auto-check (once for all workers; a failure keeps the safe runtime and is
    recorded), then the extraction plan under the model id it leads to."""
    job = _running(job_id)
    if job.stage != Job.Stage.SCAN:
        return []  # a re-delivered task after the job moved on
    with job_heartbeat(job_id):
        outcome = encoder_autocheck_run(library=job.library)
    return _extract_plan(job, job.metrics | {"encoder_check": outcome.metrics()})


def _extract_plan(job: Job, metrics: dict[str, Any]) -> list[NextStep]:
    """Fix the job's model id and queue the chunks of videos without vectors of that id."""
    job_id = job.pk
    with job_heartbeat(job_id):
        # Only the id is needed here: the scan stage runs on the default (CPU) queue and
        # must not load the model; the extract chunks on the gpu queue do that.
        model_id = model_id_current()
        ids = list(
            videos_needing_embeddings(library=job.library, model_id=model_id).values_list(
                "pk", flat=True
            )
        )
    now = timezone.now()
    metrics = metrics | {"extract_total": len(ids), "extract_max_video_id": max(ids, default=0)}
    if not Job.objects.filter(pk=job_id, state=Job.State.RUNNING, stage=Job.Stage.SCAN).update(
        stage=Job.Stage.EXTRACT,
        stage_started_at=now,
        progress_done=0,
        progress_total=len(ids),
        heartbeat_at=now,
        attempts=0,
        model_id=model_id,
        metrics=metrics,
    ):
        raise JobStopped(f"job {job_id} stopped during scan")
    if not ids:
        return _train_if_extracted(job_id)
    return [
        NextStep(TASK_EXTRACT_CHUNK, {"job_id": job_id, "video_ids": chunk})
        for chunk in chunked(ids, settings.VIDSORT_EXTRACT_CHUNK)
    ]


def retrain_stage_extract_chunk(*, job_id: int, video_ids: list[int]) -> list[NextStep]:
    """Extract one chunk; the chunk that finds no work left moves the job on to train."""
    job = _running(job_id)
    if job.stage != Job.Stage.EXTRACT:
        return []  # a re-delivered chunk after the job moved on
    if _chunk_given_up(job_id, Job.Stage.EXTRACT, video_ids):
        _extract_give_up(job, video_ids)
        return _train_if_extracted(job_id)
    with job_heartbeat(job_id):
        embeddings_extract(
            video_ids=video_ids,
            encoder=encoder_for(job.model_id),
            progress=job_progress_writer(job_id, additive=True),
        )
    return _train_if_extracted(job_id)


def _extract_give_up(job: Job, video_ids: list[int]) -> None:
    """Mark the chunk's videos still lacking vectors as failed, with the reason."""
    needing = videos_needing_embeddings(library=job.library, model_id=job.model_id)
    Video.objects.filter(pk__in=needing.filter(pk__in=video_ids).values("pk")).update(
        extract_error=CHUNK_ATTEMPTS_ERROR
    )


def _chunk_given_up(job_id: int, stage: str, video_ids: list[int]) -> bool:
    """True once this chunk's task has started more often than a poison file allows."""
    return (
        job_chunk_attempt_begin(job_id=job_id, stage=stage, video_ids=video_ids)
        > MAX_STAGE_ATTEMPTS
    )


def _train_if_extracted(job_id: int) -> list[NextStep]:
    """After the last extract chunk: the text stage when it is on, else train."""
    job = _running(job_id)
    bound = job.metrics.get("extract_max_video_id", 0)
    remaining = videos_needing_embeddings(library=job.library, model_id=job.model_id).filter(
        pk__lte=bound
    )
    if remaining.exists():
        return []  # another chunk is still working; it will move the job on
    if text_stage_enabled(library=job.library):
        return _text_start(job)
    if _claim(job_id, from_stages=(Job.Stage.EXTRACT,), stage=Job.Stage.TRAIN):
        return [NextStep(TASK_TRAIN, {"job_id": job_id})]
    return []


def _text_start(job: Job) -> list[NextStep]:
    """Claim the text stage and queue its chunks (each skips content already read)."""
    if not _claim(job.pk, from_stages=(Job.Stage.EXTRACT,), stage=Job.Stage.TEXT):
        return []
    ids = text_candidates(
        library=job.library, max_video_id=job.metrics.get("extract_max_video_id", 0)
    )
    Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, stage=Job.Stage.TEXT).update(
        progress_total=len(ids)
    )
    if not ids:
        return _train_after_text(job.pk)
    return [
        NextStep(TASK_TEXT_CHUNK, {"job_id": job.pk, "video_ids": chunk})
        for chunk in chunked(ids, settings.VIDSORT_TEXT_CHUNK)
    ]


def retrain_stage_text_chunk(*, job_id: int, video_ids: list[int]) -> list[NextStep]:
    """Transcribe and read one chunk; the chunk that finds no work left moves on to train."""
    job = _running(job_id)
    if job.stage != Job.Stage.TEXT:
        return []  # a re-delivered chunk after the job moved on
    engines = text_engines()
    if _chunk_given_up(job_id, Job.Stage.TEXT, video_ids):
        text_mark_failed(video_ids=video_ids, engines=engines, reason=CHUNK_ATTEMPTS_ERROR)
    with job_heartbeat(job_id):
        text_extract(
            video_ids=video_ids,
            engines=engines,
            progress=job_progress_writer(job_id, additive=True),
        )
    remaining = videos_needing_text(
        library=job.library,
        max_video_id=job.metrics.get("extract_max_video_id", 0),
        transcriber=engines.transcriber_id,
        ocr=engines.ocr_id,
    )
    if remaining.exists():
        return []  # another chunk is still working; it will move the job on
    return _train_after_text(job_id)


def _train_after_text(job_id: int) -> list[NextStep]:
    if _claim(job_id, from_stages=(Job.Stage.TEXT,), stage=Job.Stage.TRAIN):
        return [NextStep(TASK_TRAIN, {"job_id": job_id})]
    return []


def retrain_stage_train(*, job_id: int) -> list[NextStep]:
    """Train a new (inactive) classifier version, then predict with it."""
    job = _running(job_id)
    if job.stage != Job.Stage.TRAIN:
        raise JobStopped(f"job {job_id} is at {job.stage}, not train")
    _attempt_begin(job_id, Job.Stage.TRAIN)
    with job_heartbeat(job_id):
        report = classifier_train(library=job.library, encoder=encoder_for(job.model_id))
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job_id)
        stopped = locked.state != Job.State.RUNNING
        if stopped:
            # Cancelled (or lost) while training: discard the new version. Raising here,
            # inside the block, would roll this delete back and leave an orphan version.
            report.classifier.delete()
        else:
            locked.classifier = report.classifier
            locked.metrics = locked.metrics | {"train": report.metrics}
            locked.stage = Job.Stage.PREDICT
            locked.stage_started_at = locked.heartbeat_at = timezone.now()
            locked.attempts = 0
            locked.save(
                update_fields=[
                    "classifier",
                    "metrics",
                    "stage",
                    "stage_started_at",
                    "heartbeat_at",
                    "attempts",
                ]
            )
    if stopped:
        raise JobStopped(f"job {job_id} stopped during training")
    return [NextStep(TASK_PREDICT, {"job_id": job_id})]


def retrain_stage_predict(*, job_id: int) -> list[NextStep]:
    """Predict every video with the new version, then make it the active one."""
    job = _running(job_id)
    if job.stage != Job.Stage.PREDICT or job.classifier is None:
        raise JobStopped(f"job {job_id} is at {job.stage}, not predict")
    _attempt_begin(job_id, Job.Stage.PREDICT)
    classifier = job.classifier
    with job_heartbeat(job_id):
        count = predictions_compute(
            classifier=classifier,
            encoder=encoder_for(job.model_id),
            progress=job_progress_writer(job_id),
            activate=False,
        )
    confidences = list(
        Prediction.objects.filter(
            video__library=job.library, classifier_version=classifier.version
        ).values_list("confidence", flat=True)
    )
    mean_confidence = sum(confidences) / len(confidences) if confidences else None
    with transaction.atomic():
        # The job row lock orders this against a concurrent cancel: either the cancel
        # lands first (we stop, the old classifier stays active) or we activate first.
        locked = Job.objects.select_for_update().get(pk=job_id)
        if locked.state != Job.State.RUNNING:
            raise JobStopped(f"job {job_id} stopped during prediction")
        classifier.metrics = classifier.metrics | {
            "predictions": count,
            "mean_confidence": mean_confidence,
        }
        classifier.save(update_fields=["metrics"])
        classifier_activate(classifier=classifier)
        job_succeed(
            job=locked,
            metrics=locked.metrics
            | {
                "predictions": count,
                "mean_confidence": mean_confidence,
                "classifier_version": classifier.version,
            },
        )
    return []


# A stage that lost its database cannot record why until the database is back: it keeps
# trying this long (a PostgreSQL restart takes seconds), so the job says what happened
# instead of being swept up later as "the worker stopped".
FAIL_RECORD_WAIT_SECONDS = 300.0
FAIL_RECORD_RETRY_SECONDS = 2.0


def retrain_fail(*, job_id: int, error: str) -> None:
    """A stage failed: the job fails with ``error`` and its unfinished version goes."""
    deadline = time.monotonic() + FAIL_RECORD_WAIT_SECONDS
    while True:
        try:
            _retrain_fail_record(job_id=job_id, error=error)
            return
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() >= deadline:
                logger.error("job %s: could not record its failure (%s): %s", job_id, error, exc)
                raise
        connection.close()  # a fresh connection on the next try
        time.sleep(FAIL_RECORD_RETRY_SECONDS)


def _retrain_fail_record(*, job_id: int, error: str) -> None:
    job = Job.objects.filter(pk=job_id).first()
    if job is not None and job.state == Job.State.LOST:
        # The lost-job sweep got there first (no heartbeat while the database was
        # away): keep its verdict, give the real reason.
        Job.objects.filter(pk=job_id, state=Job.State.LOST).update(
            error=f"Lost at {job.stage or 'start'}: {error}"
        )
        return
    if job is None or job.state != Job.State.RUNNING:
        return
    job_fail(job=job, error=error)
    _discard_unfinished_classifier(job)


def retrain_error_message(exc: BaseException) -> str:
    """What the user reads about a failed stage: our own errors say it themselves."""
    if isinstance(exc, TrainingError | EncoderUnavailableError):
        return str(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        return f"the database connection was lost ({type(exc).__name__}: {str(exc).strip()})"
    return f"{type(exc).__name__}: {exc}"
