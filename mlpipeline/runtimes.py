"""ONNX Runtime for the CLIP image tower: export once per model, reuse in every process.

The image tower (open_clip's ``model.visual``) is exported to ONNX the first time a process
asks for the "onnx" or "onnx-int8" runtime, into the model cache:

    <cache>/onnx/<model id, made a file name>/image-fp32.onnx        + image-fp32.onnx.json
                                               image-int8.onnx        + image-int8.onnx.json

Each file is written under a temporary name and moved into place with os.replace, then its
sidecar (also atomic) records what it was made from (model id, torch / open_clip / ONNX
Runtime versions, export format) and its size and SHA-256. A process uses an export only when
the sidecar matches what it would build and the file's hash matches the sidecar: a truncated,
corrupt or stale file is rebuilt, never loaded. An exclusive lock on the folder makes
parallel workers export once; the others wait and reuse it.

Before a new export is kept, it runs on a few probe images next to the torch model: fp32 must
give cosine >= 0.9999 to torch, int8 >= MIN_CHECK_COSINE (the check on the user's own videos,
vidsort_encoder_check, is the real bar for int8).

Preprocessing is not part of the export: the encoder normalises frames as before and hands
the runtime the same float32 tensor torch would get.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from mlpipeline.encoder_config import MIN_CHECK_COSINE, EncoderConfig, base_model_id

logger = logging.getLogger(__name__)

# Bump when the export itself changes (inputs, opset, quantisation settings): old files rebuild.
EXPORT_FORMAT = 1
OPSET = 17
FP32_PROBE_MIN_COSINE = 0.9999
_KIND_BY_RUNTIME = {"onnx": "image-fp32", "onnx-int8": "image-int8"}


class ExportError(RuntimeError):
    """The export could not be built or does not match the torch model."""


@dataclass
class ImageRuntime:
    """An ONNX Runtime session running the image tower: float32 (N, 3, S, S) -> (N, dim)."""

    runtime: str
    path: Path
    meta: dict[str, Any]
    session: Any  # onnxruntime.InferenceSession
    built: bool  # this process exported (or quantised) it; False: reused from the cache
    input_name: str = field(init=False)

    def __post_init__(self) -> None:
        self.input_name = self.session.get_inputs()[0].name

    @property
    def embed_dim(self) -> int:
        return int(self.meta["embed_dim"])

    def run(self, pixels: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input_name: pixels})[0])


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def export_dir(config: EncoderConfig) -> Path:
    from mlpipeline.encoder_config import model_cache_dir

    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", base_model_id(config))
    return model_cache_dir(config) / "onnx" / slug


def export_path(config: EncoderConfig, runtime: str) -> Path:
    return export_dir(config) / f"{_KIND_BY_RUNTIME[runtime]}.onnx"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def expected_meta(config: EncoderConfig, runtime: str) -> dict[str, Any]:
    """What an export for this config must have been made from to be used."""
    meta: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "kind": _KIND_BY_RUNTIME[runtime],
        "model_id": base_model_id(config),
        "opset": OPSET,
        "torch": _version("torch"),
        "open_clip": _version("open_clip_torch"),
    }
    if runtime == "onnx-int8":
        meta["onnxruntime"] = _version("onnxruntime")  # the quantiser's version
    return meta


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_problem(path: Path, expected: dict[str, Any]) -> str | None:
    """Why the export at path cannot be used (None: it can)."""
    try:
        meta = json.loads(sidecar_path(path).read_text())
    except FileNotFoundError:
        return "not exported yet"
    except (OSError, ValueError) as error:
        return f"unreadable sidecar ({error})"
    if not isinstance(meta, dict):
        return "unreadable sidecar"
    stale = [key for key, value in expected.items() if meta.get(key) != value]
    if stale:
        return (
            "stale (" + ", ".join(f"{k}: {meta.get(k)!r} != {expected[k]!r}" for k in stale) + ")"
        )
    try:
        size = path.stat().st_size
    except OSError:
        return "file missing"
    if size != meta.get("bytes") or file_sha256(path) != meta.get("sha256"):
        return "corrupt (size or SHA-256 differs from the sidecar)"
    return None


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(staging)
        with open(staging, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def _write_sidecar(path: Path, meta: dict[str, Any]) -> None:
    payload = json.dumps(meta, indent=2, sort_keys=True)

    def write(staging: Path) -> None:
        staging.write_text(payload)

    _write_atomic(sidecar_path(path), write)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def session_create(path: Path, *, threads: int | None = None) -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def image_runtime_load(
    config: EncoderConfig,
    runtime: str,
    *,
    model: Callable[[], Any],
    probe: Callable[[], Any],
    describe: dict[str, Any],
    threads: int | None = None,
) -> ImageRuntime:
    """The image tower of ``config`` in ONNX Runtime, exported into the cache if need be.

    ``model`` gives the loaded open_clip model (called only to export); ``probe`` gives a
    float32 torch tensor of preprocessed probe images; ``describe`` (image_size, mean, std,
    embed_dim) is stored in the sidecar so that later processes need not load the model."""
    path = export_path(config, runtime)
    expected = expected_meta(config, runtime)
    built = False
    problem = export_problem(path, expected)
    if problem is not None:
        with _folder_lock(path.parent):
            problem = export_problem(path, expected)  # another process may have built it
            if problem is not None:
                logger.info("building %s: %s", path, problem)
                _build(config, runtime, model=model, probe=probe, describe=describe)
                built = True
    meta = json.loads(sidecar_path(path).read_text())
    return ImageRuntime(
        runtime=runtime,
        path=path,
        meta=meta,
        session=session_create(path, threads=threads),
        built=built,
    )


def cached_description(config: EncoderConfig, runtime: str) -> dict[str, Any] | None:
    """image_size, mean, std, embed_dim of a usable export (None: none usable), so that a
    process can run the export without loading the torch model at all."""
    path = export_path(config, runtime)
    if export_problem(path, expected_meta(config, runtime)) is not None:
        return None
    meta = json.loads(sidecar_path(path).read_text())
    return {key: meta[key] for key in ("image_size", "mean", "std", "embed_dim")}


def _build(
    config: EncoderConfig,
    runtime: str,
    *,
    model: Callable[[], Any],
    probe: Callable[[], Any],
    describe: dict[str, Any],
) -> None:
    fp32_path = export_path(config, "onnx")
    fp32_expected = expected_meta(config, "onnx")
    if export_problem(fp32_path, fp32_expected) is not None:
        _export_fp32(
            model(), fp32_path, meta={**fp32_expected, **describe}, probe=probe, config=config
        )
    if runtime == "onnx-int8":
        int8_path = export_path(config, "onnx-int8")
        _quantise(
            fp32_path,
            int8_path,
            meta={**expected_meta(config, "onnx-int8"), **describe},
            model=model,
            probe=probe,
        )


def _reference(model: Any, pixels: Any) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return np.asarray(model.visual(pixels).float().numpy())


def _probe_cosine(path: Path, model: Any, pixels: Any) -> float:
    reference = _reference(model, pixels)
    session = session_create(path)
    output = np.asarray(session.run(None, {session.get_inputs()[0].name: pixels.numpy()})[0])
    return float(cosine_rows(reference, output).min())


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.asarray((a * b).sum(axis=1) / np.maximum(norms, 1e-12))


def _export_fp32(
    model: Any, path: Path, *, meta: dict[str, Any], probe: Callable[[], Any], config: EncoderConfig
) -> None:
    import torch

    started = time.perf_counter()
    pixels = probe()
    visual = model.visual.float().eval()

    def write(staging: Path) -> None:
        # Outside inference mode on purpose: there torch's multi-head attention takes a fused
        # fast path that has no ONNX form. The TorchScript exporter needs no onnxscript, exports
        # ViT-B-32 in ~8 s here, and its graph ran at least as fast as torch.export's in ORT.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                visual,
                (pixels[:2].clone(),),
                str(staging),
                input_names=["pixels"],
                output_names=["features"],
                dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        cosine = _probe_cosine(staging, model, pixels)
        if cosine < FP32_PROBE_MIN_COSINE:
            raise ExportError(
                f"ONNX export of {meta['model_id']} differs from torch (cosine {cosine:.5f})"
            )
        meta["probe_cosine"] = round(cosine, 6)

    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, write)
    meta["bytes"] = path.stat().st_size
    meta["sha256"] = file_sha256(path)
    _write_sidecar(path, meta)
    logger.info(
        "exported %s image tower to %s in %.1f s",
        meta["model_id"],
        path,
        time.perf_counter() - started,
    )


def _quantise(
    source: Path,
    path: Path,
    *,
    meta: dict[str, Any],
    model: Callable[[], Any],
    probe: Callable[[], Any],
) -> None:
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        QuantType,
        quantize_dynamic,
    )

    def write(staging: Path) -> None:
        logging.getLogger().disabled = True  # the quantiser's advice goes to the root logger
        try:
            # Weights int8 per tensor, activations quantised on the fly (dynamic): no
            # calibration set needed. MatMul/Gemm only, where the time goes in a ViT.
            quantize_dynamic(
                source,
                staging,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul", "Gemm"],
            )
        finally:
            logging.getLogger().disabled = False
        cosine = _probe_cosine(staging, model(), probe())
        if cosine < MIN_CHECK_COSINE:
            raise ExportError(f"int8 export of {meta['model_id']} is off (cosine {cosine:.4f})")
        meta["probe_cosine"] = round(cosine, 6)

    _write_atomic(path, write)
    meta["bytes"] = path.stat().st_size
    meta["sha256"] = file_sha256(path)
    _write_sidecar(path, meta)
    logger.info("quantised %s to int8 at %s", meta["model_id"], path)
