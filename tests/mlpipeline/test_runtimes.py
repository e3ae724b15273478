"""Encoder runtimes: the ONNX export is built once per model into the cache, reused by other
processes, rebuilt when corrupt or stale; auto takes only what the stored check passed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mlpipeline import encoder_check, runtimes
from mlpipeline.encoder import create_encoder, probe_frames
from mlpipeline.encoder_config import (
    EncoderConfig,
    check_choice,
    encoder_model_id,
    machine_signature,
    runtime_planned,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
import mlpipeline.encoder as encoder_module
from mlpipeline.encoder import EncoderConfig, create_encoder, probe_frames
loads = []
real_model_load = encoder_module._model_load
def counting_model_load(*args, **kwargs):
    loads.append(1)
    return real_model_load(*args, **kwargs)
encoder_module._model_load = counting_model_load
config = EncoderConfig(model_name="vidsort-tiny", pretrained="", device="cpu",
                       cache_dir=sys.argv[1], runtime=sys.argv[2])
encoder = create_encoder(config)
print(json.dumps({"built": encoder.image_runtime.built, "model_id": encoder.model_id,
                  "torch_model_loads": len(loads),
                  "vectors": encoder.encode_images(probe_frames(224, 3)).tolist()}))
"""


def tiny(cache: Path, runtime: str = "onnx") -> EncoderConfig:
    return EncoderConfig(
        model_name="vidsort-tiny",
        pretrained="",
        device="cpu",
        cache_dir=str(cache),
        runtime=runtime,
    )


def run_child(cache: Path, runtime: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(cache), runtime],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=180, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def cosine_min(a: np.ndarray, b: np.ndarray) -> float:
    return float(runtimes.cosine_rows(np.asarray(a), np.asarray(b)).min())


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    torch_encoder = create_encoder(tiny(Path("/nonexistent"), runtime="torch"))
    return torch_encoder.encode_images(probe_frames(224, 3))


def test_export_is_built_once_and_reused_by_another_process(
    tmp_path: Path, reference: np.ndarray
) -> None:
    first = run_child(tmp_path, "onnx-int8")
    path = runtimes.export_path(tiny(tmp_path), "onnx-int8")
    fp32 = runtimes.export_path(tiny(tmp_path), "onnx")
    stamps = {p: p.stat().st_mtime_ns for p in (path, fp32)}
    second = run_child(tmp_path, "onnx-int8")

    assert first["built"] is True and second["built"] is False
    assert {p: p.stat().st_mtime_ns for p in (path, fp32)} == stamps  # not rewritten
    # The exporting process loaded the torch model once; the reusing one never does.
    assert (first["torch_model_loads"], second["torch_model_loads"]) == (1, 0)
    assert second["vectors"] == first["vectors"]
    assert first["model_id"] == "vidsort-tiny/random20240601+onnx-int8"
    assert cosine_min(first["vectors"], reference) >= 0.99
    assert not list(path.parent.glob(".*.tmp"))  # no staging file left behind


def test_onnx_fp32_gives_torch_vectors_under_torch_model_id(
    tmp_path: Path, reference: np.ndarray
) -> None:
    encoder = create_encoder(tiny(tmp_path))
    assert encoder.runtime == "onnx" and encoder.image_runtime is not None
    assert encoder.model_id == "vidsort-tiny/random20240601" == encoder_model_id(tiny(tmp_path))
    assert cosine_min(encoder.encode_images(probe_frames(224, 3)), reference) > 0.99999
    # Text still works (torch model loaded on demand) and is in the same space's width.
    assert encoder.encode_text(["a cat"]).shape == (1, encoder.embed_dim)


@pytest.mark.parametrize("damage", ["flipped bytes", "truncated", "stale sidecar", "bad sidecar"])
def test_corrupt_or_stale_export_is_rebuilt_never_used(
    tmp_path: Path, reference: np.ndarray, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_encoder(tiny(tmp_path))
    path = runtimes.export_path(tiny(tmp_path), "onnx")
    sidecar = runtimes.sidecar_path(path)
    data = bytearray(path.read_bytes())
    if damage == "flipped bytes":
        middle = len(data) // 2
        data[middle : middle + 64] = bytes(64)  # same size: only the hash can tell
        path.write_bytes(bytes(data))
    elif damage == "truncated":
        path.write_bytes(bytes(data[: len(data) // 3]))
    elif damage == "stale sidecar":
        meta = json.loads(sidecar.read_text())
        meta["torch"] = "0.0.1"  # made by another torch
        sidecar.write_text(json.dumps(meta))
    else:
        sidecar.write_text("{not json")
    opened: list[Path] = []
    real_session_create = runtimes.session_create

    def spy(p: Path, **kwargs: object):  # type: ignore[no-untyped-def]
        if not p.name.startswith("."):  # staging files are opened only to verify the export
            opened.append(p)
            expected = runtimes.expected_meta(tiny(tmp_path), "onnx")
            assert runtimes.export_problem(p, expected) is None
        return real_session_create(p, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runtimes, "session_create", spy)
    encoder = create_encoder(tiny(tmp_path))

    assert encoder.image_runtime is not None and encoder.image_runtime.built is True
    assert opened == [path]  # only the rebuilt, verified file was opened
    meta = json.loads(sidecar.read_text())
    assert meta["sha256"] == runtimes.file_sha256(path)
    assert cosine_min(encoder.encode_images(probe_frames(224, 3)), reference) > 0.99999


def store_check(cache: Path, *, auto: str, cosine: float, agreement: float | None, **over) -> None:  # type: ignore[no-untyped-def]
    config = tiny(cache, runtime="auto")
    measures = [
        encoder_check.RuntimeMeasure("torch", "torch cpu fp32", 10.0, 1.0, 1.0, 1.0, 1.0),
        encoder_check.RuntimeMeasure("onnx", "onnxruntime cpu fp32", 12.0, 1.2, 1.0, 1.0, 1.0),
        encoder_check.RuntimeMeasure(
            "onnx-int8", "onnxruntime cpu int8", 25.0, 2.5, cosine, cosine, agreement
        ),
    ]
    entry = encoder_check.check_entry_build(
        config=config, measures=measures, videos=3, frames=24, classifier=None
    )
    entry["auto"] = auto  # as if written by another version, or tampered with
    entry.update(over)
    encoder_check.check_store(config, entry)


def test_auto_without_a_check_runs_onnx_fp32_on_the_cpu(tmp_path: Path) -> None:
    config = tiny(tmp_path, runtime="auto")
    assert runtime_planned(config) == "onnx"
    assert create_encoder(config).runtime == "onnx"


def test_auto_takes_the_checked_choice_and_its_model_id(tmp_path: Path) -> None:
    store_check(tmp_path, auto="onnx-int8", cosine=0.998, agreement=1.0)
    config = tiny(tmp_path, runtime="auto")
    encoder = create_encoder(config)
    assert encoder.runtime == "onnx-int8"
    assert encoder.model_id == encoder_model_id(config) == "vidsort-tiny/random20240601+onnx-int8"


@pytest.mark.parametrize(
    "why",
    ["cosine below 0.99", "agreement below 99%", "checked on another machine", "other device"],
)
def test_auto_refuses_a_stored_choice_that_fails_the_bars(tmp_path: Path, why: str) -> None:
    values: dict = {"cosine": 0.998, "agreement": 1.0}
    extra: dict = {}
    if why == "cosine below 0.99":
        values["cosine"] = 0.985
    elif why == "agreement below 99%":
        values["agreement"] = 0.95
    elif why == "checked on another machine":
        extra["machine"] = machine_signature() + " (elsewhere)"
    else:
        extra["device"] = "cuda"
    store_check(tmp_path, auto="onnx-int8", **values, **extra)
    config = tiny(tmp_path, runtime="auto")
    assert check_choice(config) is None
    assert encoder_model_id(config) == "vidsort-tiny/random20240601"
    assert create_encoder(config).runtime == "onnx"


def test_check_refuses_a_runtime_whose_outputs_are_perturbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = [probe_frames(224, 4), probe_frames(224, 4)[::-1].copy()]
    reference = create_encoder(tiny(tmp_path, runtime="torch"))
    real_run = runtimes.ImageRuntime.run
    rng = np.random.default_rng(0)

    def perturbed(self: runtimes.ImageRuntime, pixels: np.ndarray) -> np.ndarray:
        out = real_run(self, pixels)
        if self.runtime == "onnx-int8":  # fault injection: a runtime that computes wrongly
            out = out + rng.normal(0, 0.5 * float(np.abs(out).mean()), out.shape).astype(out.dtype)
        return out

    monkeypatch.setattr(runtimes.ImageRuntime, "run", perturbed)
    candidates = {
        "torch": ("torch cpu fp32", None),
        "onnx": ("onnxruntime cpu fp32", lambda: create_encoder(tiny(tmp_path, "onnx"))),
        "onnx-int8": ("onnxruntime cpu int8", lambda: create_encoder(tiny(tmp_path, "onnx-int8"))),
    }
    measures = encoder_check.runtimes_measure(
        frames_per_video=frames,
        reference=reference,
        candidates=candidates,  # type: ignore[arg-type]
        top1=lambda vectors: list(np.argmax(vectors[:, :5], axis=1)),
    )
    by_runtime = {m.runtime: m for m in measures}
    assert by_runtime["onnx-int8"].cosine_min is not None
    assert by_runtime["onnx-int8"].cosine_min < 0.99 and not by_runtime["onnx-int8"].passed
    assert "refused" in by_runtime["onnx-int8"].verdict()
    assert by_runtime["onnx"].passed and by_runtime["torch"].cosine_min == pytest.approx(1.0)
    choice = encoder_check.auto_choice(measures)
    assert choice in ("torch", "onnx")
    config = tiny(tmp_path, runtime="auto")
    entry = encoder_check.check_entry_build(
        config=config, measures=measures, videos=2, frames=8, classifier=None
    )
    encoder_check.check_store(config, entry)
    assert check_choice(config) == choice
    assert "onnx-int8" in encoder_check.check_table(measures)


def test_an_explicit_onnx_runtime_on_an_accelerator_is_refused_clearly() -> None:
    import torch

    from mlpipeline.encoder import resolve_runtime
    from mlpipeline.encoder_config import EncoderUnavailableError

    with pytest.raises(EncoderUnavailableError, match="VIDSORT_ENCODER_RUNTIME=torch"):
        resolve_runtime(replace(tiny(Path("/x")), runtime="onnx"), torch.device("cuda"))
    assert resolve_runtime(tiny(Path("/x"), runtime="auto"), torch.device("cuda")) == "torch"
