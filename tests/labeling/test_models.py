"""Database constraints: the database, not the code, guarantees these invariants."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from labeling.models import Classifier, Embedding, Folder, Job, Library, Prediction, Video

pytestmark = pytest.mark.django_db


def video(library: Library, path: str = "a.mp4") -> Video:
    return Video.objects.create(library=library, path=path, filename=path)


def refused(make) -> bool:
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


def test_video_path_is_unique_per_library(library, tmp_path):
    video(library)
    assert refused(lambda: video(library))
    other = Library.objects.create(name="other", root=str(tmp_path / "other"))
    video(other)  # same path in another library is fine


def test_folder_name_is_unique_per_library(library):
    Folder.objects.create(library=library, name="cats")
    assert refused(lambda: Folder.objects.create(library=library, name="cats"))


def test_folder_keys_are_unique_and_between_1_and_9(library):
    Folder.objects.create(library=library, name="a", key=1)
    assert refused(lambda: Folder.objects.create(library=library, name="b", key=1))
    assert refused(lambda: Folder.objects.create(library=library, name="c", key=10))
    Folder.objects.create(library=library, name="d", key=None)
    Folder.objects.create(library=library, name="e", key=None)


def test_one_embedding_per_video_and_model(library):
    v = video(library)

    def make(model_id: str = "m"):
        return Embedding.objects.create(
            video=v, model_id=model_id, content_hash="h", dim=2, vector=b"", frame_vectors=b""
        )

    make()
    assert refused(make)
    make("other-model")


def test_one_prediction_per_video_and_classifier_version(library):
    v = video(library)

    def make(version: int = 1):
        return Prediction.objects.create(
            video=v,
            classifier_version=version,
            confidence=0.5,
            margin=0.1,
            entropy=1.0,
            source="trained",
        )

    make()
    assert refused(make)
    make(2)


def test_only_one_active_job_per_kind(library):
    Job.objects.create(library=library, kind="retrain", state="running")
    assert refused(lambda: Job.objects.create(library=library, kind="retrain", state="queued"))
    Job.objects.create(library=library, kind="scan", state="queued")
    Job.objects.create(library=library, kind="retrain", state="failed")


def test_only_one_active_classifier(library):
    Classifier.objects.create(library=library, version=1, model_id="m", is_active=True, blob=b"")
    assert refused(
        lambda: Classifier.objects.create(
            library=library, version=2, model_id="m", is_active=True, blob=b""
        )
    )
    assert refused(
        lambda: Classifier.objects.create(library=library, version=1, model_id="m", blob=b"")
    )


def test_a_folder_with_videos_cannot_be_deleted(library):
    folder = Folder.objects.create(library=library, name="cats")
    Video.objects.create(library=library, path="cats/a.mp4", filename="a.mp4", folder=folder)
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        folder.delete()
