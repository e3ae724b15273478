"""The text stage through a real Celery worker: a retrain reads what videos say and show on
the `text` queue, and a new folder's prompt words find a loose video that says and shows them.

Small library built here (mlpipeline.textmedia): 2 folders x 2 videos of 4 s whose pixels are
noise, each with its own spoken sentences and burned-in words, and one loose video that speaks
and shows football words. A third folder, created through the API with football prompts and no
labels, gets that video: with the tiny model there is no visual zero-shot, only the text one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from labeling.models import Job, Prediction, Video
from labeling.services.scan import library_get_or_create
from mlpipeline import textmedia

if os.environ.get("CI", "").lower() == "true":
    import rapidocr_onnxruntime  # noqa: F401  # CI installs requirements-ocr.txt
else:
    pytest.importorskip(
        "rapidocr_onnxruntime", reason="pip install --no-deps -r requirements-ocr.txt"
    )

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not textmedia.tools_available(), reason="needs ffmpeg, espeak-ng and fonts-dejavu-core"
    ),
]

CLIP = {"duration": 4.0, "width": 320, "height": 180}
LOOSE_SAID = ("the goalkeeper saved the penalty kick",)
LOOSE_SHOWN = ("GOAL", "PENALTY")


@pytest.fixture
def text_library(settings: Any, tmp_path: Path, tiny_model: None) -> Path:
    root = tmp_path / "library"
    for category, (sentences, phrases) in {
        "cooking": textmedia.CATEGORIES["cooking"],
        "weather": textmedia.CATEGORIES["weather"],
    }.items():
        (root / category).mkdir(parents=True)
        for index in range(2):
            textmedia.write_text_video(
                root / category / f"{category}_{index}.mp4",
                sentences=sentences[index : index + 1],
                phrases=phrases[index : index + 2],
                seed=index,
                **CLIP,
            )
    textmedia.write_text_video(
        root / "loose.mp4", sentences=LOOSE_SAID, phrases=LOOSE_SHOWN, seed=7, **CLIP
    )
    settings.VIDSORT_LIBRARY = root
    return root


@pytest.fixture
def api(owner_everywhere) -> APIClient:
    user = owner_everywhere(get_user_model().objects.create_user("ann", password="pw-12345678"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def _run(api: APIClient, timeout: float = 240.0) -> tuple[Job, list[str]]:
    """POST /api/retrain and watch it; (the finished job, the stages seen in its status)."""
    response = api.post("/api/retrain")
    assert response.status_code == 201, response.content
    job_id = response.json()["job"]
    stages: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.get("/api/retrain/status").json()
        if status["stage"] and status["stage"] not in stages:
            stages.append(status["stage"])
        job = Job.objects.get(pk=job_id)
        if job.state not in Job.ACTIVE_STATES:
            return job, stages
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).state} after {timeout} s")


def test_a_worker_reads_the_text_and_a_new_folder_finds_its_words(
    celery_worker_process: Any, text_library: Path, api: APIClient
) -> None:
    created = api.post(
        "/api/folders",
        {"name": "sport", "prompts": ["a video of a football match", "goal penalty"]},
        format="json",
    )
    assert created.status_code == 201, created.content

    job, stages = _run(api)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert "text" in stages, stages
    assert "labeling.tasks.text_extract_chunk[" in celery_worker_process.log_text()

    library = library_get_or_create(root=text_library)
    loose = Video.objects.get(library=library, path="loose.mp4")
    body = api.get(f"/api/videos/{loose.pk}/text").json()
    assert body["transcript"]["state"] == "transcribed" and body["transcript"]["segments"]
    shown = " ".join(line["text"] for line in body["screen_text"]["lines"])
    assert body["screen_text"]["state"] == "read" and "GOAL" in shown, body

    # "sport" has no labels and the tiny model no visual zero-shot: its words alone decide.
    prediction = Prediction.objects.select_related("folder").get(
        video=loose, classifier_version=job.classifier.version
    )
    assert prediction.folder.name == "sport", prediction.top
    assert prediction.source == "blended"
