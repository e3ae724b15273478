"""Retrain jobs end to end: a real Celery worker process on Redis and PostgreSQL."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from labeling.models import Classifier, Embedding, Job, Prediction, Video
from labeling.services.scan import library_get_or_create, library_scan
from mlpipeline.demo_videos import create_demo_library

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STAGES = ["scan", "extract", "train", "predict"]


@pytest.fixture
def demo(make_demo, settings) -> Path:
    root = make_demo(36)
    settings.VIDSORT_LIBRARY = root
    return root


@pytest.fixture
def api(owner_everywhere) -> APIClient:
    user = owner_everywhere(get_user_model().objects.create_user("ann", password="pw-12345678"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def wait_job(
    job_id: int, *, states=("succeeded", "failed", "lost", "cancelled"), timeout=180.0
) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.state in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).state} after {timeout} s")


def retrain(api: APIClient) -> int:
    response = api.post("/api/retrain")
    assert response.status_code == 201, response.content
    return response.json()["job"]


def test_a_full_retrain_predicts_every_unsorted_video(celery_worker_process, demo, api):
    job_id = retrain(api)
    job = wait_job(job_id)
    assert job.state == "succeeded", job.error
    library = library_get_or_create(root=demo)
    unsorted = Video.objects.filter(library=library, folder=None, status="ok")
    classifier = Classifier.objects.get(library=library, is_active=True)
    predicted = Prediction.objects.filter(classifier_version=classifier.version)
    assert unsorted.count() > 0
    assert set(predicted.values_list("video_id", flat=True)) == set(
        unsorted.values_list("pk", flat=True)
    )
    assert job.metrics["train"]["accuracy"] >= 0.5
    status = api.get("/api/retrain/status").json()
    assert status["running"] is False and status["last_result"] == "success"
    assert status["classifier"]["version"] == classifier.version
    # A second run has nothing new to extract and still succeeds.
    job2 = wait_job(retrain(api))
    assert job2.state == "succeeded" and job2.metrics["extract_total"] == 0
    assert Embedding.objects.count() == Video.objects.filter(status="ok").count()


def test_the_first_retrain_with_auto_runs_the_encoder_check_first(
    worker_factory, demo, api, settings, tmp_path
):
    # The default runtime on a machine with no check stored: the worker checks the runtimes
    # on a few of the library's videos before it plans the extraction, once.
    cache = tmp_path / "models"
    settings.VIDSORT_MODEL_CACHE = cache
    settings.VIDSORT_ENCODER_RUNTIME = "auto"
    settings.VIDSORT_ENCODER_AUTO_CHECK = True
    worker = worker_factory(
        VIDSORT_MODEL_CACHE=str(cache),
        VIDSORT_ENCODER_RUNTIME="auto",
        VIDSORT_ENCODER_AUTO_CHECK="1",
    )
    job = wait_job(retrain(api))

    assert job.state == "succeeded", job.error
    from labeling.services.extraction import encoder_config
    from mlpipeline.encoder_config import base_model_id, check_entries, runtime_model_id

    config = encoder_config()
    stored = check_entries(config)[base_model_id(config)]
    assert stored["source"] == "auto" and stored["auto"] and "error" not in stored
    assert job.metrics["encoder_check"]["ran"] is True
    assert job.model_id == runtime_model_id(base_model_id(config), stored["auto"])
    assert set(Embedding.objects.values_list("model_id", flat=True)) == {job.model_id}
    assert Classifier.objects.get(is_active=True).model_id == job.model_id
    assert "labeling.tasks.embeddings_extract_prepare[" in worker.log_text()
    # The next retrain plans at once with the stored choice: nothing to check or extract.
    job2 = wait_job(retrain(api))
    assert job2.state == "succeeded" and job2.model_id == job.model_id
    assert "encoder_check" not in job2.metrics and job2.metrics["extract_total"] == 0


def test_extraction_chunks_are_shared_by_two_workers(worker_factory, demo, api, capfd):
    # Small chunks, so the extract stage is many tasks that both workers take from the queue,
    # as several GPU hosts would.
    workers = [worker_factory(VIDSORT_EXTRACT_CHUNK="3") for _ in range(2)]
    job = wait_job(retrain(api))

    assert job.state == "succeeded", job.error
    library = library_get_or_create(root=demo)
    assert job.metrics["extract_total"] > 6
    assert not Video.objects.filter(library=library, status="ok", embeddings=None).exists()
    chunks_by_worker = [
        worker.log_text().count("labeling.tasks.embeddings_extract_chunk[") for worker in workers
    ]
    assert all(count >= 1 for count in chunks_by_worker), chunks_by_worker
    # A prefork child may not start processes: it decodes in threads, overlapped with encoding.
    # (VidSort's own log lines go to the workers' stderr, which capfd sees.)
    assert re.search(r"daemonic process: decoding in \d+ threads", capfd.readouterr().err)


def test_two_quick_requests_create_one_job(celery_worker_process, demo, api):
    first = api.post("/api/retrain")
    second = api.post("/api/retrain/")
    assert first.status_code == 201 and second.status_code == 409
    assert second.json()["job"] == first.json()["job"]
    assert Job.objects.filter(kind="retrain").count() == 1
    wait_job(first.json()["job"])


def test_progress_increases_through_the_stages(celery_worker_process, demo, api):
    job_id = retrain(api)
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = api.get("/api/retrain/status").json()
        if status["stage"] in STAGES and status["running"]:
            seen.append((STAGES.index(status["stage"]), status["progress"]["done"]))
        if not status["running"]:
            break
        time.sleep(0.05)
    assert Job.objects.get(pk=job_id).state == "succeeded"
    stages = [s for s, _ in seen]
    assert stages == sorted(stages), "stages never go backwards"
    assert len(set(stages)) >= 2
    extract_progress = [d for s, d in seen if s == 1]
    assert extract_progress == sorted(extract_progress) and len(set(extract_progress)) >= 2


def test_a_killed_worker_leaves_a_lost_job_and_the_next_retrain_succeeds(
    worker_factory, demo, api, settings
):
    settings.VIDSORT_JOB_STALE_SECONDS = 4
    worker = worker_factory()
    job_id = retrain(api)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.stage == "extract" and job.progress_done > 0:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"extraction never started: {worker.log_text()[-2000:]}")
    worker.kill()  # SIGKILL the whole worker, pool children included
    started = time.monotonic()
    while True:
        status = api.get("/api/retrain/status").json()  # every status read checks heartbeats
        if not status["running"]:
            break
        assert time.monotonic() - started < 15, "job not marked lost within the interval"
        time.sleep(0.25)
    job = Job.objects.get(pk=job_id)
    assert job.state == "lost" and job.error.startswith("Lost at extract")
    assert status["last_result"].startswith("Lost at extract")

    worker_factory()
    job2 = wait_job(retrain(api))
    assert job2.state == "succeeded", job2.error
    embeddings = Embedding.objects.values_list("video_id", "model_id")
    assert len(embeddings) == len(set(embeddings)) == Video.objects.filter(status="ok").count()
    version = Classifier.objects.get(is_active=True).version
    predictions = Prediction.objects.filter(classifier_version=version).values_list(
        "video_id", flat=True
    )
    assert len(predictions) == len(set(predictions))


def test_only_one_labelled_folder_fails_at_train_and_keeps_previous_predictions(
    celery_worker_process, demo, api
):
    assert wait_job(retrain(api)).state == "succeeded"
    active = Classifier.objects.get(is_active=True)
    before = Prediction.objects.filter(classifier_version=active.version).count()
    # Unsort every folder but one, outside VidSort.
    folders = sorted(p for p in demo.iterdir() if p.is_dir())
    for folder in folders[1:]:
        for clip in folder.iterdir():
            shutil.move(clip, demo / clip.name)
    job = wait_job(retrain(api))
    assert job.state == "failed"
    assert job.error.startswith("Failed at train: only one folder has labelled videos")
    status = api.get("/api/retrain/status").json()
    assert status["last_result"] == job.error
    assert Classifier.objects.get(is_active=True) == active
    assert Prediction.objects.filter(classifier_version=active.version).count() == before
    assert not Classifier.objects.filter(version__gt=active.version).exists()


def test_a_corrupt_weights_file_fails_with_a_readable_error(worker_factory, demo, api, tmp_path):
    first = worker_factory()
    assert wait_job(retrain(api)).state == "succeeded"
    active = Classifier.objects.get(is_active=True)
    before = sorted(
        Prediction.objects.filter(classifier_version=active.version).values_list(
            "video_id", "folder_id", "confidence"
        )
    )
    first.kill()
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"not a checkpoint" * 100)
    worker_factory(VIDSORT_CLIP_MODEL="vidsort-tiny", VIDSORT_CLIP_PRETRAINED=str(weights))
    job = wait_job(retrain(api))
    assert job.state == "failed"
    # The scan stage only needs the model's id; the first stage that loads it fails.
    assert job.error.startswith("Failed at extract:") and "VIDSORT_CLIP_PRETRAINED" in job.error
    assert "Traceback" not in job.error
    assert api.get("/api/retrain/status").json()["last_result"] == job.error
    # The previous version and its predictions are untouched.
    assert Classifier.objects.get(is_active=True) == active
    after = Prediction.objects.filter(classifier_version=active.version)
    assert sorted(after.values_list("video_id", "folder_id", "confidence")) == before


def test_cancel_keeps_the_previous_classifier(celery_worker_process, demo, api):
    assert wait_job(retrain(api)).state == "succeeded"
    active = Classifier.objects.get(is_active=True)
    create_demo_library(root=demo, videos=90, seed=99)  # new loose videos to extract
    for path in list(demo.glob("*.mp4")):  # make names unique to this seed
        if not Video.objects.filter(path=path.name).exists():
            os.rename(path, demo / f"new_{path.name}")
    job_id = retrain(api)
    deadline = time.monotonic() + 120
    while Job.objects.get(pk=job_id).stage != "extract":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    response = api.post(f"/api/jobs/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert api.post(f"/api/jobs/{job_id}/cancel").status_code == 409
    time.sleep(3)  # let the worker notice
    job = Job.objects.get(pk=job_id)
    assert job.state == "cancelled"
    assert Classifier.objects.get(is_active=True) == active
    assert Classifier.objects.count() == 1
    # The next retrain is not blocked by the cancelled one.
    assert wait_job(retrain(api)).state == "succeeded"


def test_the_retrain_command_exits_non_zero_with_the_reason(
    celery_worker_process, demo, _worker_database_url
):
    """`manage.py vidsort_retrain --wait` as a user runs it: a real process, a real exit code."""
    from django.conf import settings

    folders = sorted(p for p in demo.iterdir() if p.is_dir())
    for folder in folders[1:]:  # only one folder keeps its videos
        for clip in folder.iterdir():
            shutil.move(clip, demo / clip.name)
    env = os.environ | {
        "DATABASE_URL": _worker_database_url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "VIDSORT_DATA_DIR": str(settings.DATA_DIR),
        "VIDSORT_LIBRARY": str(demo),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "vidsort_retrain", "--wait", "--timeout", "180"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode != 0, done.stdout
    assert "Failed at train: only one folder has labelled videos" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert "queued: retrain job" in done.stdout and "failed train" in done.stdout
    assert Job.objects.get().state == "failed" and not Classifier.objects.exists()


def run_stages(job_id: int, *, through: str) -> None:
    """Run a retrain's stages in this process, in order, up to and including ``through``."""
    from labeling.services import retrain as stages

    for step in stages.retrain_stage_scan(job_id=job_id):
        if step.task == stages.TASK_EXTRACT_CHUNK:
            for after in stages.retrain_stage_extract_chunk(**step.kwargs):
                if after.task == stages.TASK_TEXT_CHUNK:  # the text stage, when it is on
                    stages.retrain_stage_text_chunk(**after.kwargs)
    stages.retrain_stage_train(job_id=job_id)
    if through == "predict":
        stages.retrain_stage_predict(job_id=job_id)


@pytest.mark.parametrize("stage", ["train", "predict"])
def test_cancel_during_a_stage_keeps_the_previous_version_and_predictions(
    real_services, demo, api, monkeypatch, stage
):
    """The cancel lands while the stage is working (no worker: the stages run here, and
    the cancel is sent through the API at a known point inside the stage)."""
    from labeling.services import retrain as stages
    from labeling.services.jobs import JobStopped, job_create
    from labeling.services.library import library_current

    library = library_current()
    first, _ = job_create(library=library, kind="retrain")
    run_stages(first.pk, through="predict")
    active = Classifier.objects.get(is_active=True)
    before = sorted(
        Prediction.objects.filter(classifier_version=active.version).values_list(
            "video_id", "folder_id"
        )
    )
    assert before

    job, _ = job_create(library=library, kind="retrain")

    def cancel() -> None:
        assert api.post(f"/api/jobs/{job.pk}/cancel").status_code == 200

    if stage == "train":
        real_train = stages.classifier_train

        def train_then_cancel(**kwargs):
            report = real_train(**kwargs)  # the new version is written...
            cancel()  # ...and the user cancels before the stage hands it over
            return report

        monkeypatch.setattr(stages, "classifier_train", train_then_cancel)
        with pytest.raises(JobStopped):
            run_stages(job.pk, through="train")
    else:
        real_predict = stages.predictions_compute

        def predict_and_cancel(**kwargs):
            progress = kwargs["progress"]

            def report(done: int, total: int) -> None:
                cancel()  # the first progress report comes after the first chunk
                progress(done, total)

            return real_predict(**kwargs | {"progress": report})

        monkeypatch.setattr(stages, "predictions_compute", predict_and_cancel)
        with pytest.raises(JobStopped):
            run_stages(job.pk, through="predict")

    job.refresh_from_db()
    assert job.state == "cancelled" and job.classifier is None
    assert Classifier.objects.get(is_active=True) == active
    assert list(Classifier.objects.values_list("version", flat=True)) == [active.version]
    assert sorted(Prediction.objects.values_list("video_id", "folder_id")) == before
    status = api.get("/api/retrain/status").json()
    assert status["classifier"]["version"] == active.version and status["running"] is False


def test_the_retrain_command_waits_and_reports(celery_worker_process, demo):
    out = StringIO()
    call_command("vidsort_retrain", "--wait", "--timeout", "180", stdout=out)
    assert "succeeded: classifier v1" in out.getvalue()


def test_rollback_reactivates_a_previous_version(celery_worker_process, demo, api):
    wait_job(retrain(api))
    wait_job(retrain(api))
    v1, v2 = Classifier.objects.order_by("version")
    assert v2.is_active
    response = api.post(f"/api/classifiers/{v1.pk}/activate")
    assert response.status_code == 200
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.is_active and not v2.is_active


def test_lost_detection_without_a_worker(demo, api, settings, real_services):
    """No worker at all: the queued job is reported lost once the interval passes."""
    settings.VIDSORT_JOB_STALE_SECONDS = 2
    library = library_get_or_create(root=demo)
    library_scan(library=library)
    job = Job.objects.create(library=library, kind="retrain", state="running", stage="train")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=job.created_at)
    time.sleep(2.5)
    status = api.get("/api/retrain/status").json()
    assert status["running"] is False and status["last_result"].startswith("Lost at train")
