"""Training and prediction on stored embeddings, zero-shot and blend, and the predict
command's JSON shape."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from labeling.models import (
    Classifier,
    Embedding,
    Folder,
    Job,
    Library,
    Prediction,
    TextEmbedding,
    Video,
)
from labeling.services.extraction import encoder_get
from labeling.services.learning import (
    ActivationRefused,
    TrainingError,
    classifier_rollback,
    classifier_train,
    predictions_compute,
    zero_shot_build,
)
from mlpipeline.embeddings import pack_vector, unpack_vector

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(embedded_library):
    return embedded_library


def test_train_then_predict_every_unsorted_video(library):
    report = classifier_train(library=library, encoder=encoder_get())
    classifier = report.classifier
    assert not classifier.is_active and report.metrics["n_labels"] >= 12
    assert (
        report.metrics["zero_shot"] is False and "no pretrained" in report.metrics["zero_shot_note"]
    )
    assert 0 <= report.metrics["balanced_accuracy"] <= 1
    count = predictions_compute(classifier=classifier, encoder=encoder_get())
    classifier.refresh_from_db()
    unsorted = Video.objects.filter(library=library, folder=None, status="ok")
    assert classifier.is_active and count == unsorted.count()
    prediction = Prediction.objects.filter(classifier_version=classifier.version).first()
    assert len(prediction.top) == 3
    probs = [t["probability"] for t in prediction.top]
    assert probs == sorted(probs, reverse=True) and prediction.confidence == pytest.approx(
        probs[0], abs=1e-5
    )
    assert prediction.margin == pytest.approx(probs[0] - probs[1], abs=1e-5)
    assert prediction.source == "trained" and prediction.folder_id == prediction.top[0]["folder_id"]
    assert 0 <= prediction.duration_ratio <= 1


def test_training_is_deterministic(library):
    a = classifier_train(library=library, encoder=encoder_get()).classifier
    b = classifier_train(library=library, encoder=encoder_get()).classifier
    assert bytes(a.blob) == bytes(b.blob) and b.version == a.version + 1


def test_a_new_version_replaces_predictions_atomically(library):
    first = classifier_train(library=library, encoder=encoder_get()).classifier
    predictions_compute(classifier=first, encoder=encoder_get())
    second = classifier_train(library=library, encoder=encoder_get()).classifier
    predictions_compute(classifier=second, encoder=encoder_get())
    assert list(Classifier.objects.filter(is_active=True)) == [second]
    n = Prediction.objects.filter(classifier_version=first.version).count()
    assert Prediction.objects.filter(classifier_version=second.version).count() == n
    # Running the same version again replaces its rows rather than duplicating them.
    predictions_compute(classifier=second, encoder=encoder_get())
    assert Prediction.objects.filter(classifier_version=second.version).count() == n


def test_one_labelled_folder_is_refused_with_a_clear_message(library):
    keep = Video.objects.filter(library=library).exclude(folder=None).first().folder
    Video.objects.filter(library=library).exclude(folder=keep).update(folder=None)
    with pytest.raises(TrainingError, match="only one folder has labelled videos"):
        classifier_train(library=library, encoder=encoder_get())


def test_commands_train_and_predict_with_json_output(library, tmp_path):
    out = StringIO()
    call_command("vidsort_train", stdout=out)
    assert "cross-validated" in out.getvalue() and "accuracy" in out.getvalue()
    target = tmp_path / "predictions.json"
    call_command("vidsort_predict", "--output", str(target), stdout=StringIO())
    rows = json.loads(target.read_text())
    assert len(rows) == Video.objects.filter(library=library, folder=None, status="ok").count()
    row = rows[0]
    assert set(row) >= {"video", "predicted_folder", "confidence", "top_predictions"}
    assert set(row["top_predictions"][0]) == {"folder", "confidence"}


def test_predict_without_a_classifier_says_what_to_do(library):
    with pytest.raises(CommandError, match="vidsort_train"):
        call_command("vidsort_predict", stdout=StringIO())


# --- Zero-shot and blend, with a fake text-aligned encoder --------------------------------

FOLDERS = ("cats", "dogs", "boats")
DIM = 8


class FakeTextEncoder:
    """A text-aligned encoder whose prompts for folder i point along axis i.

    encode_text("a video of dogs") is the unit vector e_1; a video of folder i is
    e_i plus a little of axis 7 (which no folder uses), so zero-shot knows the answer.
    """

    model_id = "fake-aligned"
    has_text_alignment = True

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode_text(self, texts):
        self.encoded.extend(texts)
        out = np.zeros((len(texts), DIM), np.float32)
        for row, text in enumerate(texts):
            for axis, name in enumerate(FOLDERS):
                if name in text:
                    out[row, axis] = 1.0
            out[row, 6] = 0.1  # shared by every prompt, so they are not orthogonal
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def video_vector(folder_index: int, n: int) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[folder_index] = 1.0
    v[7] = 0.2 + 0.05 * n  # a different nuisance per video
    v[(folder_index + 1) % 3] = 0.1 * (n % 3)
    return v / np.linalg.norm(v)


@pytest.fixture
def aligned(tmp_path):
    """A library with 3 folders and 4 videos of each (rows only; no files needed)."""
    library = Library.objects.create(name="aligned", root=str(tmp_path))
    folders = {name: Folder.objects.create(library=library, name=name) for name in FOLDERS}
    truth: dict[int, str] = {}
    for i, name in enumerate(FOLDERS):
        for n in range(4):
            video = Video.objects.create(
                library=library,
                path=f"{name}_{n}.mp4",
                filename=f"{name}_{n}.mp4",
                content_hash=f"h-{name}-{n}",
                duration=2.0,
            )
            vector = video_vector(i, n)
            Embedding.objects.create(
                video=video,
                model_id=FakeTextEncoder.model_id,
                content_hash=video.content_hash,
                dim=DIM,
                vector=pack_vector(vector),
                frame_vectors=pack_vector(np.stack([vector] * 2)),
                frame_times=[0.5, 1.5],
            )
            truth[video.pk] = name
    return library, folders, truth


def label(library, folders, name: str, n: int) -> None:
    """Sort the first n videos of a folder (the rows only: training reads Video.folder)."""
    ids = Video.objects.filter(library=library, path__startswith=f"{name}_").order_by("path")
    Video.objects.filter(pk__in=list(ids.values_list("pk", flat=True)[:n])).update(
        folder=folders[name]
    )


def predicted(classifier) -> dict[int, Prediction]:
    return {p.video_id: p for p in Prediction.objects.filter(classifier_version=classifier.version)}


def test_day_zero_zero_shot_predicts_with_no_labels(aligned):
    library, folders, truth = aligned
    encoder = FakeTextEncoder()
    report = classifier_train(library=library, encoder=encoder)
    classifier = report.classifier
    assert report.metrics["zero_shot"] is True and "zero_shot_note" not in report.metrics
    assert report.metrics["n_labels"] == 0 and "zero-shot only" in report.metrics["note"]
    assert bytes(classifier.blob) == b""  # nothing trained, and that is fine
    assert predictions_compute(classifier=classifier, encoder=encoder) == 12
    rows = predicted(classifier)
    assert {p.source for p in rows.values()} == {"zero-shot"}
    assert {pk: p.folder.name for pk, p in rows.items()} == truth
    assert all(p.confidence > 0.9 and p.segments for p in rows.values())


def test_blend_predicts_a_folder_with_no_labels(aligned):
    library, folders, truth = aligned
    label(library, folders, "cats", 3)
    label(library, folders, "dogs", 3)  # boats: 0 labels
    encoder = FakeTextEncoder()
    report = classifier_train(library=library, encoder=encoder)
    assert sorted(
        Folder.objects.filter(pk__in=report.classifier.classes).values_list("name", flat=True)
    ) == ["cats", "dogs"]
    assert "boats" in report.metrics["excluded_folders"]
    predictions_compute(classifier=report.classifier, encoder=encoder)
    rows = predicted(report.classifier)
    assert len(rows) == 6 and {p.source for p in rows.values()} == {"blended"}
    assert {pk: p.folder.name for pk, p in rows.items()} == {pk: truth[pk] for pk in rows}
    boats = [p for p in rows.values() if truth[p.video_id] == "boats"]
    assert len(boats) == 4 and all(p.top[0]["folder"] == "boats" for p in boats)


def test_prompt_vectors_are_cached_per_model(aligned):
    library, folders, _ = aligned
    Folder.objects.filter(name="boats").update(prompts=["a video of boats", "boats at sea"])
    first = FakeTextEncoder()
    assert zero_shot_build(library=library, encoder=first) is not None
    assert sorted(first.encoded) == [
        "a video of boats",
        "a video of cats",
        "a video of dogs",
        "boats at sea",
    ]
    assert TextEmbedding.objects.filter(model_id="fake-aligned").count() == 4
    again = FakeTextEncoder()  # a new process: the cache is the table, not memory
    model = zero_shot_build(library=library, encoder=again)
    assert again.encoded == [] and len(model.classes) == 3
    predictions_compute(
        classifier=classifier_train(library=library, encoder=again).classifier, encoder=again
    )
    assert again.encoded == []


def test_the_fitted_logit_scale_is_applied(aligned):
    library, folders, _ = aligned
    encoder = FakeTextEncoder()
    classifier = classifier_train(library=library, encoder=encoder).classifier
    Classifier.objects.filter(pk=classifier.pk).update(
        metrics=classifier.metrics | {"zero_shot_logit_scale": 2.0}
    )
    classifier.refresh_from_db()
    predictions_compute(classifier=classifier, encoder=encoder)
    texts = encoder.encode_text([f"a video of {name}" for name in FOLDERS])
    for prediction in Prediction.objects.filter(classifier_version=classifier.version):
        vector = unpack_vector(Embedding.objects.get(video=prediction.video).vector)
        logits = 2.0 * (texts @ vector)
        probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        assert prediction.confidence == pytest.approx(probs.max(), abs=1e-5)
        assert prediction.confidence < 0.9  # at CLIP's 100 it would be about 1.0


def test_ten_labels_fit_the_zero_shot_scale(aligned):
    library, folders, _ = aligned
    for name in FOLDERS:
        label(library, folders, name, 4)
    report = classifier_train(library=library, encoder=FakeTextEncoder())
    scale = report.metrics["zero_shot_logit_scale"]
    assert scale > 0 and scale != pytest.approx(100.0)


# --- Activating a stored version (rollback): one set of rules for the admin and the API ---


@pytest.fixture
def versions(tmp_path, settings):
    """v1 with predictions, v2 active, v3 never predicted; one unsorted video."""
    from labeling.services.scan import library_get_or_create

    settings.VIDSORT_LIBRARY = tmp_path
    library = library_get_or_create(root=tmp_path)
    folder = Folder.objects.create(library=library, name="cats")
    video = Video.objects.create(library=library, path="a.mp4", filename="a.mp4")
    made = {}
    for version in (1, 2, 3):
        made[version] = Classifier.objects.create(
            library=library, version=version, model_id="m", blob=b"", is_active=version == 2
        )
        if version < 3:
            Prediction.objects.create(
                video=video,
                classifier_version=version,
                folder=folder,
                confidence=0.9,
                margin=0.8,
                entropy=0.1,
                source="trained",
            )
    return library, made


def running_job(library, classifier=None):
    from django.utils import timezone

    return Job.objects.create(
        library=library,
        kind="retrain",
        state="running",
        stage="predict",
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        classifier=classifier,
    )


def active_versions():
    return list(Classifier.objects.filter(is_active=True).values_list("version", flat=True))


def test_rollback_to_a_version_with_predictions(versions):
    library, made = versions
    assert classifier_rollback(classifier=made[1]).is_active
    assert active_versions() == [1]
    assert classifier_rollback(classifier=made[1]).is_active  # already active: no-op


def test_rollback_refuses_a_version_without_predictions(versions):
    library, made = versions
    with pytest.raises(ActivationRefused, match="v3 has no predictions"):
        classifier_rollback(classifier=made[3])
    assert active_versions() == [2]


def test_rollback_refuses_the_version_a_running_retrain_is_predicting(versions):
    library, made = versions
    job = running_job(library, classifier=made[1])
    with pytest.raises(ActivationRefused, match=f"retrain job {job.pk}, still running at predict"):
        classifier_rollback(classifier=made[1])
    # A version written by the running job's train stage before it is linked to the job.
    unlinked = Classifier.objects.create(library=library, version=4, model_id="m", blob=b"")
    Prediction.objects.filter(classifier_version=1).update(classifier_version=4)
    with pytest.raises(ActivationRefused, match="still running"):
        classifier_rollback(classifier=unlinked)
    assert active_versions() == [2]


def test_the_api_answers_409_with_the_reason(versions, client, django_user_model, owner_everywhere):
    library, made = versions
    ann = django_user_model.objects.create_user("ann", password="pw-12345678")
    client.force_login(owner_everywhere(ann))
    response = client.post(f"/api/classifiers/{made[3].pk}/activate")
    assert response.status_code == 409
    assert (
        response.json()["error"] == "conflict"
        and "v3 has no predictions" in response.json()["detail"]
    )
    running_job(library, classifier=made[1])
    response = client.post(f"/api/classifiers/{made[1].pk}/activate")
    assert response.status_code == 409 and "still running at predict" in response.json()["detail"]
    assert active_versions() == [2]
    Job.objects.update(state="succeeded")
    response = client.post(f"/api/classifiers/{made[1].pk}/activate")
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert active_versions() == [1]


# --- Live accuracy: sorts since the version was trained that agreed with its prediction ---


def test_live_accuracy_counts_real_sorts_against_the_shown_prediction(scanned_library):
    from labeling.models import LabelEvent
    from labeling.selectors.classifiers import live_accuracy
    from labeling.services.sorting import video_sort

    library = scanned_library
    a, b = Folder.objects.filter(library=library).order_by("name")[:2]
    classifier = Classifier.objects.create(
        library=library, version=1, model_id="m", blob=b"", is_active=True
    )
    assert live_accuracy(classifier=classifier)["accuracy"] is None  # no sorts yet
    loose = list(Video.objects.filter(library=library, folder=None).order_by("pk")[:4])
    shown = [a, a, b, b]  # what the player showed for each video
    for video, folder in zip(loose, shown, strict=True):
        Prediction.objects.create(
            video=video,
            classifier_version=1,
            folder=folder,
            confidence=0.8,
            margin=0.5,
            entropy=0.5,
            source="trained",
        )
    video_sort(video=loose[0], folder=a, route="player")  # agrees
    video_sort(video=loose[1], folder=b, route="api")  # disagrees
    video_sort(video=loose[2], folder=b, route="player")  # agrees
    # The prediction each sort saw is recorded with it (read under the row lock).
    events = LabelEvent.objects.filter(video__in=loose[:3]).order_by("pk")
    assert [e.predicted_folder for e in events] == [a, a, b]
    result = live_accuracy(classifier=classifier)
    assert (result["sorts"], result["agreed"]) == (3, 2)
    assert result["accuracy"] == pytest.approx(2 / 3)
    # Auto-filing is not a human judgement of the prediction: it is not counted.
    video_sort(video=loose[3], folder=b, route="auto-file")
    assert live_accuracy(classifier=classifier)["sorts"] == 3
