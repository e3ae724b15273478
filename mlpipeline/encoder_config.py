"""What chooses the CLIP encoder, without loading it: config, model id and errors.

Split from mlpipeline.encoder so that web processes (a search checks the configured
model id; an API maps the encoder's error) and management commands import no torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TINY_MODEL_NAME = "vidsort-tiny"
RANDOM_WEIGHTS_SEED = 20240601  # fixed so random-weight models give the same features everywhere
_NO_PRETRAINED = {"", "none", "random"}

PRECISIONS = ("auto", "fp32", "fp16", "bf16")

# How the image tower runs (docs/extraction.md). "torch": open_clip's model as loaded; "onnx":
# the same weights exported once to ONNX and run by ONNX Runtime on the CPU (same vectors to
# float rounding); "onnx-int8": that export with int8 weights (dynamic quantisation: faster,
# vectors slightly different, so it has its own model id). "auto": what vidsort_encoder_check
# measured best on this machine, else "onnx" on a CPU and "torch" on an accelerator.
RUNTIMES = ("torch", "onnx", "onnx-int8")
RUNTIME_CHOICES = ("auto", *RUNTIMES)
# Runtimes whose vectors differ from torch fp32 by more than float rounding: named in the id.
_RUNTIME_ID_SUFFIX = {"onnx-int8": "+onnx-int8"}
# auto never takes a runtime below these on the check (cosine to torch fp32, top-1 agreement).
MIN_CHECK_COSINE = 0.99
MIN_CHECK_AGREEMENT = 0.99
CHECK_FILE_NAME = "encoder-check.json"


# The settings a user sets to choose the model; named in error messages (VidSort's Django
# settings read them; mlpipeline itself never reads the environment).
ENV_MODEL = "VIDSORT_CLIP_MODEL"
ENV_PRETRAINED = "VIDSORT_CLIP_PRETRAINED"
ENV_RUNTIME = "VIDSORT_ENCODER_RUNTIME"


class EncoderUnavailableError(RuntimeError):
    """The encoder cannot be built; the message says what failed and what to set."""


@dataclass(frozen=True)
class EncoderConfig:
    model_name: str = "ViT-B-32"
    # An open_clip tag, a path to a local weights file, or ""/"none" for random weights.
    pretrained: str | None = "laion2b_s34b_b79k"
    device: str = "auto"  # auto = cuda, then mps, then cpu
    precision: str = "auto"  # auto = fp16 on cuda, fp32 elsewhere
    batch_size: int = 64  # images per forward pass; halved automatically on CUDA out-of-memory
    cache_dir: str | None = None  # where open_clip downloads weights (a docker volume)
    runtime: str = "torch"  # one of RUNTIME_CHOICES; the ONNX exports live in cache_dir too

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.runtime not in RUNTIME_CHOICES:
            raise ValueError(f"runtime must be one of {RUNTIME_CHOICES}, got {self.runtime!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.device != "auto":
            # Only a named device needs torch to be checked; "auto" is resolved by the encoder.
            import torch

            try:
                torch.device(self.device)
            except RuntimeError as error:
                raise ValueError(
                    f"device {self.device!r} is not a torch device ({error})"
                ) from error

    @property
    def uses_random_weights(self) -> bool:
        return self.pretrained is None or self.pretrained.strip().lower() in _NO_PRETRAINED


def encoder_model_id(config: EncoderConfig) -> str:
    """The cache key of the features this config produces, without loading the model.

    Includes the runtime where its vectors differ from torch fp32's (onnx-int8), so vectors
    of two runtimes are never mixed in one cache entry or one classifier."""
    return runtime_model_id(base_model_id(config), runtime_planned(config))


def base_model_id(config: EncoderConfig) -> str:
    """The model and weights, whatever runs them."""
    return f"{config.model_name}/{_pretrained_id(config)}"


def runtime_model_id(base_id: str, runtime: str) -> str:
    return base_id + _RUNTIME_ID_SUFFIX.get(runtime, "")


def runtime_planned(config: EncoderConfig) -> str:
    """The runtime this config runs, decided without torch. For "auto": the check's choice
    stored for this model, machine and device setting, else "onnx" (the encoder takes torch
    instead where the device is an accelerator; both give the same model id)."""
    if config.runtime != "auto":
        return config.runtime
    stored = check_choice(config)
    return stored if stored is not None else "onnx"


def model_cache_dir(config: EncoderConfig) -> Path:
    if config.cache_dir:
        return Path(config.cache_dir)
    return Path(os.path.expanduser("~")) / ".cache" / "vidsort"


def check_file(config: EncoderConfig) -> Path:
    """Where vidsort_encoder_check stores its results (one entry per model id)."""
    return model_cache_dir(config) / CHECK_FILE_NAME


def machine_signature() -> str:
    """What int8 results depend on: CPU model and its integer dot-product extensions, and the
    ONNX Runtime version. A check made elsewhere (the data folder moved) does not count here."""
    from importlib import metadata

    model = ""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model:
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        model = platform.processor()
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
    try:
        ort_version = metadata.version("onnxruntime")
    except metadata.PackageNotFoundError:
        ort_version = "none"
    extensions = ",".join(flag for flag in wanted if flag in flags)
    return f"{platform.machine()}|{model}|{extensions}|onnxruntime {ort_version}"


def check_entries(config: EncoderConfig) -> dict[str, Any]:
    """The stored check results by model id ({} when none, or the file is unreadable)."""
    try:
        data = json.loads(check_file(config).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_entry(config: EncoderConfig) -> dict[str, Any] | None:
    """This model's stored check, if it was made on this machine with this device setting."""
    entry = check_entries(config).get(base_model_id(config))
    if not isinstance(entry, dict):
        return None
    if entry.get("machine") != machine_signature() or entry.get("device") != config.device:
        return None
    return entry


def runtime_passes(measure: dict[str, Any]) -> bool:
    """The rule auto applies: cosine and (where measured) top-1 agreement at the bars."""
    try:
        cosine = float(measure["cosine_min"])
        agreement = measure.get("agreement")
        return (
            not measure.get("error")
            and cosine >= MIN_CHECK_COSINE
            and (agreement is None or float(agreement) >= MIN_CHECK_AGREEMENT)
        )
    except (KeyError, TypeError, ValueError):
        return False


def check_choice(config: EncoderConfig) -> str | None:
    """The runtime the stored check chose, re-checked against the bars (None: no usable check)."""
    entry = check_entry(config)
    if entry is None:
        return None
    choice = entry.get("auto")
    measures = entry.get("runtimes", {})
    if choice not in RUNTIMES or not isinstance(measures, dict):
        return None
    measure = measures.get(choice)
    return choice if isinstance(measure, dict) and runtime_passes(measure) else None


def _pretrained_id(config: EncoderConfig) -> str:
    if config.uses_random_weights:
        return f"random{RANDOM_WEIGHTS_SEED}"
    assert config.pretrained is not None
    if os.path.isfile(config.pretrained):
        # Content, not path: the same weights moved elsewhere keep their cached embeddings.
        digest = hashlib.sha256()
        with open(config.pretrained, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
        return f"file-{digest.hexdigest()[:16]}"
    return config.pretrained
