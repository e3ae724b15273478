"""vidsort_encoder_check on the tiny model: each runtime against torch fp32 on the library's
own videos and its active classifier; what it stores is what VIDSORT_ENCODER_RUNTIME=auto
takes, and a runtime that fails the check is never taken. Without the command, the first
retrain runs the check itself before it plans its extraction (the auto-check)."""

from __future__ import annotations

import json
import logging
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from labeling.models import Embedding, Job
from labeling.services import retrain
from labeling.services.encoder_check import encoder_autocheck_pending
from labeling.services.extraction import encoder_config, encoder_get, model_id_current
from labeling.services.learning import classifier_train, predictions_compute
from mlpipeline import encoder_check, runtimes
from mlpipeline.encoder_config import RUNTIMES, base_model_id, check_file, runtime_model_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(embedded_library, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings.VIDSORT_MODEL_CACHE = tmp_path / "models"  # this test's exports and check file
    settings.VIDSORT_ENCODER_RUNTIME = "auto"
    encoder = encoder_get()
    classifier = classifier_train(library=embedded_library, encoder=encoder).classifier
    predictions_compute(classifier=classifier, encoder=encoder)
    return embedded_library


def run_check(*args: str) -> str:
    out = StringIO()
    call_command("vidsort_encoder_check", "--sample", "6", *args, stdout=out)
    return out.getvalue()


def table_rows(output: str) -> dict[str, str]:
    return {
        line.split()[0]: line
        for line in output.splitlines()
        if line.split() and line.split()[0] in ("torch", "onnx", "onnx-int8")
    }


def test_check_prints_each_runtime_and_auto_takes_what_it_stored(library) -> None:  # type: ignore[no-untyped-def]
    output = run_check()

    rows = table_rows(output)
    assert set(rows) == {"torch", "onnx", "onnx-int8"}, output
    assert "6 videos, 48 frames" in output and "classifier v" in output
    for line in rows.values():
        assert line.rstrip().endswith("ok"), output  # tiny model: every runtime passes
        assert "100.0%" in line  # top-1 agreement of the active classifier, measured
    chosen = output.split("auto would take: ")[1].split()[0]
    config = encoder_config()
    stored = json.loads(check_file(config).read_text())[base_model_id(config)]
    assert stored["auto"] == chosen and stored["videos"] == 6
    assert stored["runtimes"]["onnx"]["cosine_min"] > 0.9999
    assert stored["runtimes"]["onnx-int8"]["agreement"] == 1.0
    # auto now runs the stored choice, and the embedding cache key says so.
    assert model_id_current() == runtime_model_id(base_model_id(config), chosen)


def test_auto_refuses_a_runtime_that_fails_the_check(library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real_run = runtimes.ImageRuntime.run
    rng = np.random.default_rng(1)

    def perturbed(self: runtimes.ImageRuntime, pixels: np.ndarray) -> np.ndarray:
        out = real_run(self, pixels)
        if self.runtime == "onnx-int8":  # fault injection: int8 kernels that compute wrongly
            noise = rng.normal(0, float(np.abs(out).mean()), out.shape)
            return (out + noise).astype(out.dtype)
        return out

    monkeypatch.setattr(runtimes.ImageRuntime, "run", perturbed)
    output = run_check()

    assert "refused: cosine < 0.99" in table_rows(output)["onnx-int8"], output
    chosen = output.split("auto would take: ")[1].split()[0]
    assert chosen in ("torch", "onnx")
    assert not model_id_current().endswith("+onnx-int8")
    from mlpipeline.encoder import create_encoder

    assert create_encoder(encoder_config()).runtime == chosen


def test_no_store_leaves_auto_as_it_was(library) -> None:  # type: ignore[no-untyped-def]
    output = run_check("--no-store", "--runtime", "onnx")
    assert set(table_rows(output)) == {"onnx"} and "stored in" not in output
    assert not check_file(encoder_config()).exists()


@pytest.fixture
def fresh_auto(scanned_library, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The default settings on a machine where no check was ever stored."""
    settings.VIDSORT_MODEL_CACHE = tmp_path / "models"
    settings.VIDSORT_ENCODER_RUNTIME = "auto"
    settings.VIDSORT_ENCODER_AUTO_CHECK = True
    settings.VIDSORT_EXTRACT_CHUNK = 12
    return scanned_library


def plan_first_retrain(library) -> tuple[Job, list]:  # type: ignore[no-untyped-def]
    """Scan (hands over to the auto-check task), then the auto-check task's plan."""
    job = Job.objects.create(library=library, kind=Job.Kind.RETRAIN)
    assert encoder_autocheck_pending()
    steps = retrain.retrain_stage_scan(job_id=job.pk)
    assert [step.task for step in steps] == [retrain.TASK_EXTRACT_PREPARE]
    job.refresh_from_db()
    assert job.stage == Job.Stage.SCAN and job.model_id == ""  # nothing fixed before the check
    steps = retrain.retrain_stage_extract_prepare(job_id=job.pk)
    assert steps and {step.task for step in steps} == {retrain.TASK_EXTRACT_CHUNK}
    job.refresh_from_db()
    return job, steps


def extract_all(job: Job, steps: list) -> set[str]:  # type: ignore[type-arg]
    for step in steps:
        retrain.retrain_stage_extract_chunk(**step.kwargs)
    return set(
        Embedding.objects.filter(video__library=job.library).values_list("model_id", flat=True)
    )


def test_the_first_retrain_runs_the_check_and_extracts_with_its_choice(fresh_auto) -> None:  # type: ignore[no-untyped-def]
    job, steps = plan_first_retrain(fresh_auto)

    config = encoder_config()
    stored = json.loads(check_file(config).read_text())[base_model_id(config)]
    assert stored["source"] == "auto" and stored["videos"] == 8 and stored["auto"] in RUNTIMES
    assert set(stored["runtimes"]) == set(RUNTIMES) and "error" not in stored
    assert job.metrics["encoder_check"]["ran"] is True
    assert job.metrics["encoder_check"]["chosen"] == stored["auto"]
    # The job's model id is the chosen runtime's, fixed before any vector was stored, and
    # every vector of the retrain carries it.
    assert job.model_id == runtime_model_id(base_model_id(config), stored["auto"])
    assert extract_all(job, steps) == {job.model_id}
    assert encoder_get().runtime == stored["auto"] and model_id_current() == job.model_id
    # Stored: the next retrain plans at once, without a check.
    assert not encoder_autocheck_pending()
    job.refresh_from_db()
    assert job.stage in (Job.Stage.TEXT, Job.Stage.TRAIN)


def test_a_failing_auto_check_leaves_the_safe_runtime_and_says_why(
    fresh_auto, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    def broken(**kwargs: object) -> None:  # fault injection: the measurement itself fails
        raise RuntimeError("injected: int8 kernels crashed")

    monkeypatch.setattr(encoder_check, "runtimes_measure", broken)
    with caplog.at_level(logging.WARNING, logger="labeling.services.encoder_check"):
        job, steps = plan_first_retrain(fresh_auto)

    assert job.metrics["encoder_check"]["error"] == "injected: int8 kernels crashed"
    assert job.metrics["encoder_check"]["chosen"] is None
    assert "auto-check" in caplog.text and "injected: int8 kernels crashed" in caplog.text
    config = encoder_config()
    assert job.model_id == base_model_id(config)  # same vectors as torch fp32
    assert extract_all(job, steps) == {job.model_id}
    assert encoder_get().runtime == "onnx"
    assert not encoder_autocheck_pending()  # not retried on every retrain


def test_a_check_stored_during_a_retrain_does_not_change_its_runtime(fresh_auto, settings) -> None:  # type: ignore[no-untyped-def]
    settings.VIDSORT_ENCODER_AUTO_CHECK = False  # planned under auto's default (onnx)
    settings.VIDSORT_TRANSCRIBER = settings.VIDSORT_OCR = "off"  # straight to train
    job = Job.objects.create(library=fresh_auto, kind=Job.Kind.RETRAIN)
    steps = retrain.retrain_stage_scan(job_id=job.pk)
    job.refresh_from_db()
    config = encoder_config()
    assert job.model_id == base_model_id(config)
    # Meanwhile a check passes int8 (the command, or another library's auto-check).
    measures = [
        encoder_check.RuntimeMeasure("onnx", "onnxruntime cpu fp32", 10.0, 1.0, 1.0, 1.0),
        encoder_check.RuntimeMeasure("onnx-int8", "onnxruntime cpu int8", 20.0, 2.0, 0.999, 0.999),
    ]
    encoder_check.check_store(
        config,
        encoder_check.check_entry_build(
            config=config, measures=measures, videos=8, frames=64, classifier=None
        ),
    )
    assert model_id_current() == runtime_model_id(base_model_id(config), "onnx-int8")

    # The retrain's chunks, training and predictions stay on the runtime it planned with.
    assert extract_all(job, steps) == {job.model_id}
    job.refresh_from_db()
    assert job.stage == Job.Stage.TRAIN
    (predict,) = retrain.retrain_stage_train(job_id=job.pk)
    retrain.retrain_stage_predict(**predict.kwargs)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.classifier.model_id == job.model_id
