"""Training and prediction on stored embeddings, and the predict command's JSON shape."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Classifier, Prediction, Video
from labeling.services.extraction import encoder_get
from labeling.services.learning import TrainingError, classifier_train, predictions_compute

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(embedded_library):
    return embedded_library


def test_train_then_predict_every_unsorted_video(library):
    report = classifier_train(library=library, encoder=encoder_get())
    classifier = report.classifier
    assert not classifier.is_active and report.metrics["n_labels"] >= 12
    assert report.metrics["zero_shot"] is False and "no pretrained" in report.metrics["zero_shot_note"]
    assert 0 <= report.metrics["balanced_accuracy"] <= 1
    count = predictions_compute(classifier=classifier, encoder=encoder_get())
    classifier.refresh_from_db()
    unsorted = Video.objects.filter(library=library, folder=None, status="ok")
    assert classifier.is_active and count == unsorted.count()
    prediction = Prediction.objects.filter(classifier_version=classifier.version).first()
    assert len(prediction.top) == 3
    probs = [t["probability"] for t in prediction.top]
    assert probs == sorted(probs, reverse=True) and prediction.confidence == pytest.approx(probs[0], abs=1e-5)
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
