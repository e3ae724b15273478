"""What chooses the CLIP encoder, without loading it: config, model id and errors.

Split from mlpipeline.encoder so that web processes (a search checks the configured
model id; an API maps the encoder's error) and management commands import no torch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

TINY_MODEL_NAME = "vidsort-tiny"
RANDOM_WEIGHTS_SEED = 20240601  # fixed so random-weight models give the same features everywhere
_NO_PRETRAINED = {"", "none", "random"}

PRECISIONS = ("auto", "fp32", "fp16", "bf16")


# The settings a user sets to choose the model; named in error messages (VidSort's Django
# settings read them; mlpipeline itself never reads the environment).
ENV_MODEL = "VIDSORT_CLIP_MODEL"
ENV_PRETRAINED = "VIDSORT_CLIP_PRETRAINED"


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

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
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
    """The cache key of the features this config produces, without loading the model."""
    return f"{config.model_name}/{_pretrained_id(config)}"


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
