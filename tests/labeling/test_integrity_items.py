"""The database keeps matching the disk and what people expect: undo's name, rollback's
predictions, folder deletion, names, keys, search on unreadable files, documented commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.models import Classifier, Folder, Job, LabelEvent, Prediction, Video
from labeling.services.scan import library_scan
from tests.labeling.helpers import make_library

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clash(settings, library_dir):
    """A loose a.mp4 and a different a.mp4 already in 'cats'; 'dogs' is empty."""
    settings.VIDSORT_LIBRARY = library_dir
    return make_library(
        library_dir, {"a.mp4": b"loose a" * 10, "cats/a.mp4": b"sorted a"}, folders=("dogs",)
    )


def test_undo_restores_the_name_a_clash_changed(api, clash, library_dir):
    loose = Video.objects.get(path="a.mp4")
    cats = Folder.objects.get(name="cats")
    sort = api.post("/api/sort", {"video": loose.pk, "folder": cats.pk}, format="json").json()
    assert sort["path"] == "cats/a (2).mp4" and sort["renamed"] is True
    undo = api.post("/api/undo", {}, format="json")
    assert undo.status_code == 200, undo.json()
    assert undo.json()["path"] == "a.mp4" and undo.json()["filename"] == "a.mp4"
    assert (library_dir / "a.mp4").read_bytes() == b"loose a" * 10
    assert (library_dir / "cats/a.mp4").read_bytes() == b"sorted a"
    assert not (library_dir / "cats/a (2).mp4").exists()
    event = LabelEvent.objects.get(pk=undo.json()["event"])
    assert (event.from_path, event.to_path) == ("cats/a (2).mp4", "a.mp4")
    # When the old name is taken meanwhile, the file keeps a free one (nothing is replaced).
    again = api.post("/api/sort", {"video": loose.pk, "folder": cats.pk}, format="json").json()
    (library_dir / "a.mp4").write_bytes(b"a newcomer")
    undo = api.post("/api/undo", {}, format="json").json()
    assert undo["path"] == "a (2).mp4" and again["path"] == "cats/a (2).mp4"
    assert (library_dir / "a.mp4").read_bytes() == b"a newcomer"


def test_rollback_predicts_the_videos_the_activated_version_never_saw(
    api, embedded_library, django_capture_on_commit_callbacks
):
    from labeling.services.extraction import encoder_get
    from labeling.services.learning import classifier_train, predictions_compute

    library = embedded_library
    encoder = encoder_get()
    v1 = classifier_train(library=library, encoder=encoder).classifier
    predictions_compute(classifier=v1, encoder=encoder)
    # Videos added after v1: v1 never predicted them, the next retrain's version did.
    newer = list(
        Prediction.objects.filter(classifier_version=v1.version).values_list("video", flat=True)
    )[:5]
    Prediction.objects.filter(classifier_version=v1.version, video__in=newer).delete()
    v2 = classifier_train(library=library, encoder=encoder).classifier
    predictions_compute(classifier=v2, encoder=encoder)
    with django_capture_on_commit_callbacks() as queued:
        response = api.post(f"/api/classifiers/{v1.pk}/activate")
    assert response.status_code == 200, response.json()
    assert len(queued) == 1  # the predict job's task, sent once the activation commits
    body = response.json()
    assert body["is_active"] is True and body["unpredicted"] == 5 and body["job"]
    job = Job.objects.get(pk=body["job"])
    assert (job.kind, job.state) == ("predict", "queued")
    from celery import current_app

    from labeling import tasks
    from labeling.services.backfill import predictions_backfill
    from labeling.services.learning import TASK_PREDICTIONS_BACKFILL

    assert tasks.predictions_backfill_task.name == TASK_PREDICTIONS_BACKFILL
    assert TASK_PREDICTIONS_BACKFILL in current_app.tasks
    predictions_backfill(job_id=job.pk)  # what the worker's task runs
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    assert job.metrics["predictions"] == 5 and job.metrics["classifier_version"] == v1.version
    assert Classifier.objects.get(is_active=True) == v1
    unsorted = Video.objects.filter(library=library, folder=None, status="ok")
    predicted = Prediction.objects.filter(classifier_version=v1.version, video__in=unsorted)
    assert predicted.count() == unsorted.count()
    # Nothing left to predict: no job.
    api.post(f"/api/classifiers/{v2.pk}/activate")
    body = api.post(f"/api/classifiers/{v1.pk}/activate").json()
    assert body["unpredicted"] == 0 and body["job"] is None


def test_deleting_a_folder_that_holds_other_files_is_refused(api, clash, library_dir):
    dogs = Folder.objects.get(name="dogs")
    (library_dir / "dogs/notes.txt").write_text("my notes")
    response = api.delete(f"/api/folders/{dogs.pk}")
    assert response.status_code == 409
    assert "notes.txt" in response.json()["detail"]
    assert Folder.objects.filter(pk=dogs.pk).exists()
    assert (library_dir / "dogs/notes.txt").read_text() == "my notes"
    library_scan(library=clash)
    assert list(Folder.objects.filter(name="dogs").values_list("pk", flat=True)) == [dogs.pk]
    (library_dir / "dogs/notes.txt").unlink()
    assert api.delete(f"/api/folders/{dogs.pk}").status_code == 204
    assert not (library_dir / "dogs").exists()


def test_sort_by_filename_prefers_the_one_loose_video(api, clash, library_dir):
    response = api.post("/api/sort", {"filename": "a.mp4", "folder": "dogs"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["path"] == "dogs/a.mp4"
    assert (library_dir / "dogs/a.mp4").read_bytes() == b"loose a" * 10
    # Now both are sorted: still ambiguous.
    response = api.post("/api/sort", {"filename": "a.mp4", "folder": None}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "ambiguous"


def test_taking_a_key_names_the_folder_that_lost_it_and_new_folders_get_a_free_key(api, clash):
    cats, dogs = Folder.objects.get(name="cats"), Folder.objects.get(name="dogs")
    Folder.objects.filter(pk=cats.pk).update(key=1)
    response = api.patch(f"/api/folders/{dogs.pk}", {"key": 1}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["key"] == 1
    assert body["key_taken_from"] == {"id": cats.pk, "name": "cats", "key": None}
    assert Folder.objects.get(pk=cats.pk).key is None
    # A change that takes no key from anyone says so with null.
    plain = api.patch(f"/api/folders/{dogs.pk}", {"prompts": ["a dog"]}, format="json").json()
    assert plain["key_taken_from"] is None
    created = api.post("/api/folders", {"name": "birds"}, format="json").json()
    assert created["key"] == 2
    unkeyed = api.post("/api/folders", {"name": "fish", "key": None}, format="json").json()
    assert unkeyed["key"] is None


def test_similar_search_on_an_unreadable_video_says_it_is_unreadable(api, library, tiny_model):
    video = Video.objects.create(
        library=library,
        path="broken.mp4",
        filename="broken.mp4",
        status=Video.Status.UNREADABLE,
        error="moov atom not found",
    )
    response = api.get("/api/search", {"like": video.pk})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "unreadable" in detail and "moov atom not found" in detail
    assert "retrain" not in detail


def test_api_docs_show_the_token_command_as_run_sh_runs_it():
    text = (REPO / "docs/api.md").read_text()
    assert "./manage.py vidsort_token" not in text
    assert ".venv/bin/python manage.py vidsort_token alice" in text
    assert "PY=.venv/bin/python" in (REPO / "run.sh").read_text()
