"""The text stage through VidSort's services: transcripts and on-screen text per content hash,
a retrain that runs it between extract and train, fused features, search and the API.

The library is built here from real speech (espeak-ng) and burned-in words (ffmpeg drawtext)
over the same kind of noise in every category (mlpipeline.textmedia): the pixels say nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labeling.models import Classifier, Job, Library, Prediction, ScreenText, Transcript, Video
from labeling.services import retrain
from labeling.services.dispatch import NextStep
from labeling.services.extraction import embeddings_extract
from labeling.services.jobs import job_create
from labeling.services.learning import classifier_train
from labeling.services.scan import library_get_or_create, library_scan
from labeling.services.text import text_extract
from mlpipeline import textmedia

if os.environ.get("CI", "").lower() == "true":
    import rapidocr_onnxruntime  # noqa: F401  # CI installs requirements-ocr.txt
else:
    pytest.importorskip(
        "rapidocr_onnxruntime", reason="pip install --no-deps -r requirements-ocr.txt"
    )

pytestmark = [
    pytest.mark.skipif(
        not textmedia.tools_available(), reason="needs ffmpeg, espeak-ng and fonts-dejavu-core"
    ),
    pytest.mark.django_db,
]

STAGES: dict[str, Callable[..., list[NextStep]]] = {
    retrain.TASK_SCAN: retrain.retrain_stage_scan,
    retrain.TASK_EXTRACT_CHUNK: retrain.retrain_stage_extract_chunk,
    retrain.TASK_TEXT_CHUNK: retrain.retrain_stage_text_chunk,
    retrain.TASK_TRAIN: retrain.retrain_stage_train,
    retrain.TASK_PREDICT: retrain.retrain_stage_predict,
}


@pytest.fixture(scope="module")
def text_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 categories x 4 sorted videos and one loose video per category (another seed)."""
    root = tmp_path_factory.mktemp("textmedia")
    library = root / "library"
    textmedia.build_library(library, per_category=4, duration=8.0, width=480, height=270)
    loose = root / "loose"
    for video in textmedia.build_library(
        loose, per_category=1, duration=8.0, width=480, height=270, seed=1
    ):
        shutil.move(video.path, library / f"loose_{video.category}.mp4")
    return library


@pytest.fixture(scope="module")
def bad_media(tmp_path_factory: pytest.TempPathFactory) -> textmedia.BadInputs:
    return textmedia.build_bad_inputs(tmp_path_factory.mktemp("bad"), long_seconds=30.0)


@pytest.fixture
def text_library(settings: Any, tmp_path: Path, text_media: Path, tiny_model: None) -> Library:
    root = tmp_path / "library"
    shutil.copytree(text_media, root)
    settings.VIDSORT_LIBRARY = root
    return library_get_or_create(root=root)


@pytest.fixture(autouse=True)
def _in_process_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    # The extract stage's decode pool would start processes: decode here instead.
    def extract(**kwargs: Any) -> Any:
        return embeddings_extract(workers=0, **kwargs)

    monkeypatch.setattr(retrain, "embeddings_extract", extract)


def run_retrain(library: Library) -> tuple[Job, list[str]]:
    """Run every stage in this process, as workers would; (the job, the stages it went through)."""
    job, _ = job_create(library=library, kind=Job.Kind.RETRAIN)
    steps = [NextStep(retrain.TASK_SCAN, {"job_id": job.pk})]
    stages: list[str] = []
    while steps:
        step = steps.pop(0)
        steps += STAGES[step.task](**step.kwargs)
        stage = Job.objects.get(pk=job.pk).stage
        if not stages or stages[-1] != stage:
            stages.append(stage)
    job.refresh_from_db()
    return job, stages


def test_retrain_reads_the_text_and_uses_it(text_library, api):
    job, stages = run_retrain(text_library)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert stages == ["extract", "text", "predict"] or "text" in stages
    hashes = set(Video.objects.filter(library=text_library).values_list("content_hash", flat=True))
    assert set(Transcript.objects.values_list("content_hash", flat=True)) == hashes
    assert set(ScreenText.objects.values_list("content_hash", flat=True)) == hashes

    # Text lifts accuracy over pixels alone (tiny model: the pixels are noise here).
    fused = Classifier.objects.get(pk=job.classifier_id)
    assert fused.metrics["text_features"]["weight"] == 1.0
    assert fused.metrics["text_features"]["videos_with_text"] == 16
    text_library.text_enabled = False
    from labeling.services.extraction import encoder_get

    visual = classifier_train(library=text_library, encoder=encoder_get()).metrics
    assert "text_features" not in visual
    assert fused.metrics["accuracy"] >= 0.6
    assert fused.metrics["accuracy"] >= visual["accuracy"] + 0.2
    right = sum(
        p.folder.name in p.video.filename
        for p in Prediction.objects.filter(classifier_version=fused.version).select_related(
            "folder", "video"
        )
    )
    assert right >= 2  # of the 4 loose videos

    # Search finds a written word and a spoken word, and says where (tiny model: no CLIP text).
    shown = ScreenText.objects.exclude(text="").order_by("pk").first()
    phrase = shown.lines[0]["text"]
    written = api.get("/api/search", {"q": phrase.split()[0].lower()}).json()
    assert written["results"] and written["model_id"] == "", written
    assert any(
        m["source"] == "screen" and phrase in m["text"]
        for hit in written["results"]
        for m in hit["text_matches"]
    ), written
    spoken = Transcript.objects.exclude(text="").first()
    word = max(spoken.text.split(), key=len)
    said = api.get("/api/search", {"q": word}).json()
    assert any(
        m["source"] == "transcript" and word in m["text"]
        for hit in said["results"]
        for m in hit["text_matches"]
    )

    # The player's panel and the export.
    video = Video.objects.get(library=text_library, content_hash=spoken.content_hash)
    body = api.get(f"/api/videos/{video.pk}/text").json()
    assert set(body) == {"video", "transcript", "screen_text"}
    assert body["transcript"]["state"] == "transcribed" and body["transcript"]["segments"]
    assert set(body["transcript"]["segments"][0]) == {"start", "end", "text"}
    assert set(body["screen_text"]) == {"state", "engine", "reason", "lines"}
    rows = api.get("/api/export/labels").json()["rows"]
    assert any(row["transcript"] for row in rows) and any(row["screen_text"] for row in rows)


def test_text_stage_switched_off_retrain_still_succeeds(text_library, settings):
    text_library.text_enabled = False
    text_library.save(update_fields=["text_enabled"])
    job, stages = run_retrain(text_library)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert "text" not in stages
    assert not Transcript.objects.exists() and not ScreenText.objects.exists()
    assert "text_features" not in Classifier.objects.get(pk=job.classifier_id).metrics


def test_a_pending_video_says_so(text_library, api):
    library_scan(library=text_library)
    video = Video.objects.filter(library=text_library).first()
    body = api.get(f"/api/videos/{video.pk}/text/").json()
    assert body == {
        "video": video.pk,
        "transcript": {"state": "pending", "engine": "", "reason": "", "segments": []},
        "screen_text": {"state": "pending", "engine": "", "reason": "", "lines": []},
    }


def _add(library_root: Path, *paths: Path) -> None:
    for path in paths:
        shutil.copy(path, library_root / path.name)


def test_each_bad_input_gets_its_own_state(library, library_dir, bad_media, settings):
    settings.VIDSORT_TRANSCRIBE_MAX_SECONDS = 10.0
    bad = bad_media
    _add(library_dir, bad.no_audio, bad.silent, bad.five_channel, bad.long, bad.corrupt_audio)
    # An mp4 with sound only: the scan lists video files by extension.
    shutil.copy(bad.audio_only, library_dir / "audio_only.mp4")
    library_scan(library=library)
    videos = {v.filename: v for v in Video.objects.filter(library=library)}
    report = text_extract(video_ids=[v.pk for v in videos.values()])
    assert report.requested == 6

    def transcript(name: str) -> Transcript:
        return Transcript.objects.get(content_hash=videos[name].content_hash)

    def screen(name: str) -> ScreenText:
        return ScreenText.objects.get(content_hash=videos[name].content_hash)

    assert transcript("no_audio.mp4").state == "no_audio"
    assert transcript("silent.mp4").state == "silent"
    assert transcript("five_channel.mp4").state == "transcribed"
    assert set(transcript("five_channel.mp4").text.split()) & set(bad.spoken_words)
    assert transcript("long.mp4").truncated and transcript("long.mp4").audio_seconds <= 10.5
    corrupt = transcript("corrupt_audio.mkv")
    assert corrupt.state == "failed" and "cannot be decoded" in corrupt.reason
    assert transcript("audio_only.mp4").state == "transcribed"
    assert screen("audio_only.mp4").state == "no_video"
    assert screen("no_audio.mp4").state == "read"


def test_moved_or_copied_content_is_not_read_again(library, library_dir, bad_media):
    _add(library_dir, bad_media.five_channel)
    library_scan(library=library)
    first = text_extract(video_ids=list(Video.objects.values_list("pk", flat=True)))
    assert first.transcribed == 1 and first.read == 1
    (library_dir / "moved").mkdir()
    shutil.move(library_dir / "five_channel.mp4", library_dir / "moved" / "renamed.mp4")
    shutil.copy(library_dir / "moved" / "renamed.mp4", library_dir / "twin.mp4")
    library_scan(library=library)
    again = text_extract(video_ids=list(Video.objects.values_list("pk", flat=True)))
    assert again.transcribed == 0 and again.read == 0
    assert Transcript.objects.count() == 1 and ScreenText.objects.count() == 1
