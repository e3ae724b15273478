"""CLIP image/text encoder: open_clip loading, a tiny offline model, device and precision.

Shaped like open_clip's factory: ``create_encoder(config)`` builds the model once (eval mode,
explicit device and dtype) together with its preprocessing; ``get_encoder(config)`` caches that per
process. Frames arrive already resized and centre-cropped by the decoder (mlpipeline.frames), as
small uint8 arrays; they are normalised on the device, which keeps the host-to-device copy 4x
smaller than float32 and keeps the CPU free for decoding.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

# The config half lives apart so that web processes can name a model without torch;
# importing it from here still works.
from mlpipeline.encoder_config import (
    ENV_MODEL,
    ENV_PRETRAINED,
    ENV_RUNTIME,
    RANDOM_WEIGHTS_SEED,
    TINY_MODEL_NAME,
    EncoderConfig,
    EncoderUnavailableError,
    base_model_id,
    check_choice,
    runtime_model_id,
)
from mlpipeline.encoder_config import PRECISIONS as PRECISIONS
from mlpipeline.encoder_config import (
    encoder_model_id as encoder_model_id,
)

if TYPE_CHECKING:
    from mlpipeline.runtimes import ImageRuntime

logger = logging.getLogger(__name__)

# A real (if useless) CLIP: ViT image tower + text transformer, small enough for CPU tests and the
# offline demo (~3.5 M parameters, mostly the token embedding; 8 frames encode in milliseconds).
TINY_MODEL_CONFIG: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def resolve_device(requested: str = "auto") -> torch.device:
    if requested != "auto":
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_precision(requested: str, device: torch.device) -> str:
    if requested != "auto":
        return requested
    # Half precision halves memory and roughly doubles throughput on CUDA tensor cores; on CPU it is
    # slower than fp32, and open_clip's fp16 path is untested on MPS, so those stay fp32.
    return "fp16" if device.type == "cuda" else "fp32"


def register_tiny_model() -> None:
    """Register vidsort-tiny with open_clip through its public add_model_config (idempotent)."""
    import open_clip

    if TINY_MODEL_NAME in open_clip.list_models():
        return
    # add_model_config reads JSON files; write one atomically so that parallel processes agree.
    config_dir = (
        Path(tempfile.gettempdir())
        / f"vidsort-open-clip-configs-{os.getuid() if hasattr(os, 'getuid') else 0}"
    )
    config_dir.mkdir(parents=True, exist_ok=True)
    config_path = config_dir / f"{TINY_MODEL_NAME}.json"
    payload = json.dumps(TINY_MODEL_CONFIG, indent=2, sort_keys=True)
    if not config_path.exists() or config_path.read_text() != payload:
        staging = config_dir / f".{TINY_MODEL_NAME}.{os.getpid()}.json"
        staging.write_text(payload)
        os.replace(staging, config_path)
    open_clip.add_model_config(config_path)


ModelLoader = Callable[[], tuple[Any, Any]]  # -> (open_clip model in eval mode, PIL transform)


class Encoder:
    """A CLIP model plus the preprocessing that matches it. Build with create_encoder().

    ``runtime`` says what runs the image tower: "torch" (the open_clip model) or an ONNX
    Runtime export ("onnx", "onnx-int8", see mlpipeline.runtimes). With an ONNX runtime the
    open_clip model is loaded only when needed (text, or the first export), so a worker that
    only embeds frames does not hold the torch weights. Text always runs in torch fp32: a few
    prompts or one query at a time, not where the time goes.
    """

    def __init__(
        self,
        *,
        model: Any | None,  # an open_clip model: untyped, its towers are reached by attribute
        tokenizer: Any,
        config: EncoderConfig,
        device: torch.device,
        precision: str,
        image_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        model_id: str,
        runtime: str = "torch",
        image_runtime: ImageRuntime | None = None,
        model_loader: ModelLoader | None = None,
        embed_dim: int | None = None,  # known without the model (an export's sidecar)
    ) -> None:
        self._model = model
        self._model_loader = model_loader
        self._tokenizer = tokenizer
        self.config = config
        self.device = device
        self.precision = precision
        self.image_size = image_size
        self.model_id = model_id
        self.runtime = runtime
        self.image_runtime = image_runtime
        self.batch_size = config.batch_size
        self.has_text_alignment = not config.uses_random_weights
        self.eval_transform: Any = None  # open_clip's PIL transform, set by create_encoder
        self._input_dtype = (
            torch.float32 if model is None else next(model.visual.parameters()).dtype
        )
        self._mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.embed_dim = embed_dim if embed_dim is not None else int(self._probe_dim())

    def __repr__(self) -> str:
        return f"Encoder({self.model_id!r}, runtime={self.runtime}, device={self.device}, precision={self.precision}, batch_size={self.batch_size})"

    @property
    def tokenizer(self) -> Any:
        """open_clip's tokenizer, loaded on first use where it was not given (ONNX encoders:
        a worker that only embeds frames never imports open_clip, ~230 MB less memory)."""
        if self._tokenizer is None:
            import open_clip

            register_tiny_model()
            self._tokenizer = open_clip.get_tokenizer(self.config.model_name)
        return self._tokenizer

    @property
    def model(self) -> Any:
        """The open_clip model, loaded on first use where an ONNX runtime runs the images."""
        if self._model is None:
            if self._model_loader is None:
                raise RuntimeError("this encoder has no open_clip model to load")
            self._model, transform = self._model_loader()
            if self.eval_transform is None:
                self.eval_transform = transform
        return self._model

    def model_release(self) -> None:
        """Drop the open_clip model where an ONNX runtime makes it optional (memory)."""
        if self.image_runtime is not None and self._model_loader is not None:
            self._model = None

    def _probe_dim(self) -> int:
        projection = getattr(self.model.visual, "output_dim", None)
        if projection:
            return int(projection)
        return int(
            self.encode_images(np.zeros((1, self.image_size, self.image_size, 3), np.uint8)).shape[
                1
            ]
        )

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (N, H, W, 3) on any device -> normalised (N, 3, S, S) model input on the device."""
        images = frames.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
        height, width = images.shape[-2:]
        if (height, width) != (self.image_size, self.image_size):
            # Frames not sampled at the model's size: same resize + centre crop, done on the device.
            scale = self.image_size / min(height, width)
            new_size = (
                max(self.image_size, round(height * scale)),
                max(self.image_size, round(width * scale)),
            )
            images = F.interpolate(
                images, size=new_size, mode="bicubic", antialias=True, align_corners=False
            )
            top = int(round((new_size[0] - self.image_size) / 2.0))
            left = int(round((new_size[1] - self.image_size) / 2.0))
            images = images[
                :, :, top : top + self.image_size, left : left + self.image_size
            ].clamp_(0.0, 1.0)
        return ((images - self._mean) / self._std).to(self._input_dtype)

    @torch.inference_mode()
    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """uint8 RGB frames (N, H, W, 3) -> float32 (N, dim), each row L2-normalised."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(
                f"expected uint8 frames shaped (N, H, W, 3), got {frames.dtype} {frames.shape}"
            )
        if len(frames) == 0:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        host = torch.from_numpy(np.ascontiguousarray(frames))
        if self.device.type == "cuda":
            host = host.pin_memory()  # lets the copy overlap with the previous batch's compute
        image_runtime = self.image_runtime
        if image_runtime is not None:
            return self._batched(
                host,
                lambda batch: torch.from_numpy(image_runtime.run(self.preprocess(batch).numpy())),
            )
        return self._batched(host, lambda batch: self.model.encode_image(self.preprocess(batch)))

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> float32 (N, dim), L2-normalised. Meaningless when has_text_alignment is False."""
        if len(texts) == 0:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        tokens = self.tokenizer(list(texts))
        return self._batched(tokens, lambda batch: self.model.encode_text(batch.to(self.device)))

    @torch.inference_mode()
    def encode_query(self, text: str) -> np.ndarray:
        """One text -> L2-normalised float32 (dim,), equal to ``encode_text([text])[0]``.

        Faster for a single short query: open_clip pads every text to 77 tokens, but CLIP's
        text transformer is causal and pools at the end-of-text token, so the positions after
        it cannot change the result. Running only the first (EOT + 1) positions gives the
        same vector (to float rounding) in a fraction of the time (a 5-word query: ~10 of 77
        positions). Models of another shape fall back to encode_text.
        """
        if not _text_tower_is_causal(self.model):
            return self.encode_text([text])[0]
        model = self.model
        tokens = self.tokenizer([text]).to(self.device)
        eot = tokens.argmax(dim=-1)  # the EOT id is the largest
        length = int(eot.max()) + 1
        cast = model.transformer.get_cast_dtype()
        x = model.token_embedding(tokens[:, :length]).to(cast)
        x = x + model.positional_embedding[:length].to(cast)
        x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
        x = model.ln_final(x)[torch.arange(x.shape[0], device=x.device), eot]
        projection = model.text_projection
        if projection is not None:
            x = projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection
        return F.normalize(x.float(), dim=-1)[0].cpu().numpy().astype(np.float32, copy=False)

    def _batched(self, inputs: torch.Tensor, forward: Any) -> np.ndarray:
        outputs: list[np.ndarray] = []
        start = 0
        while start < len(inputs):
            batch = inputs[start : start + self.batch_size]
            try:
                features = forward(batch)
            except torch.OutOfMemoryError:
                if self.batch_size == 1:
                    raise
                # Another process (or a bigger model) took the memory: retry smaller, and keep the
                # smaller size for the rest of this process's life.
                self.batch_size = max(1, self.batch_size // 2)
                logger.warning(
                    "CUDA out of memory; encoder batch size lowered to %d", self.batch_size
                )
                torch.cuda.empty_cache()
                continue
            features = F.normalize(features.float(), dim=-1)
            outputs.append(features.cpu().numpy().astype(np.float32, copy=False))
            start += len(batch)
        return np.concatenate(outputs, axis=0)


_CAUSAL_TEXT_PARTS = (
    "token_embedding",
    "positional_embedding",
    "transformer",
    "attn_mask",
    "ln_final",
)


def _text_tower_is_causal(model: torch.nn.Module) -> bool:
    """Whether the model is open_clip's CLIP shape: a causal text transformer pooled at EOT."""
    return (
        all(hasattr(model, name) for name in _CAUSAL_TEXT_PARTS)
        and model.attn_mask is not None
        and getattr(model, "text_pool_type", "argmax") == "argmax"
    )


def _names_a_file(pretrained: str | None) -> bool:
    if not pretrained:
        return False
    return os.sep in pretrained or pretrained.endswith(
        (".bin", ".pt", ".pth", ".safetensors", ".npz")
    )


def _unavailable_message(config: EncoderConfig, cause: BaseException | str) -> str:
    """One message: what failed, then exactly what to set."""
    cause_text = " ".join(str(cause).split())
    default_tag = EncoderConfig.pretrained
    if _names_a_file(config.pretrained):
        if isinstance(cause, BaseException):
            # torch's own text for a bad file is a paragraph about weights_only; the type is enough.
            cause_text = f"not a valid PyTorch or safetensors weights file, {type(cause).__name__}"
        return (
            f"CLIP weights file {config.pretrained!r} for model {config.model_name!r} could not be loaded "
            f"({cause_text}). To fix, do one of: set {ENV_PRETRAINED} to the path of a valid local weights "
            f"file for {config.model_name}; or set {ENV_MODEL}={TINY_MODEL_NAME} for the offline demo "
            f"(random weights, no text search); or unset {ENV_PRETRAINED} (default {default_tag!r}) and give "
            f"this machine network access to huggingface.co so open_clip can download the weights."
        )
    cache = config.cache_dir or "open_clip's default cache (~/.cache/huggingface)"
    return (
        f"CLIP weights {config.model_name!r} / {config.pretrained!r} could not be loaded ({cause_text[:300]}). "
        f"To fix, do one of: set {ENV_PRETRAINED} to the path of a local weights file for "
        f"{config.model_name}; or set {ENV_MODEL}={TINY_MODEL_NAME} for the offline demo (random weights, "
        f"no text search); or give this machine network access to huggingface.co so open_clip can download "
        f"{config.pretrained!r} into {cache}."
    )


def resolve_runtime(config: EncoderConfig, device: torch.device) -> str:
    """The runtime to run: the configured one, or for "auto" the check's stored choice, else
    ONNX fp32 on a CPU (same vectors as torch, faster) and torch on an accelerator (fp16)."""
    if config.runtime != "auto":
        if config.runtime != "torch" and device.type != "cpu":
            raise EncoderUnavailableError(
                f"{ENV_RUNTIME}={config.runtime} runs on the CPU, but the device is {device.type}. "
                f"Set {ENV_RUNTIME}=torch (or auto) to use the {device.type} device, or "
                f"VIDSORT_DEVICE=cpu."
            )
        return config.runtime
    stored = check_choice(config)
    if device.type != "cpu":
        return "torch" if stored is None else stored
    return "onnx" if stored is None else stored


def create_encoder(config: EncoderConfig) -> Encoder:
    """Build the encoder described by ``config`` (eval mode, on its device). Slow: use get_encoder."""
    config.validate()
    device = resolve_device(config.device)
    runtime = resolve_runtime(config, device)
    if runtime != "torch":
        return _onnx_encoder_create(config, runtime=runtime, device=device)
    _check_available(config)
    return _torch_encoder_create(config, device=device)


def _torch_encoder_create(config: EncoderConfig, *, device: torch.device) -> Encoder:
    import open_clip

    precision = resolve_precision(config.precision, device)
    model, eval_transform = _model_load(config, device=device, precision=precision)
    preprocess_cfg = open_clip.get_model_preprocess_cfg(model)
    size = preprocess_cfg.get("size", 224)
    encoder = Encoder(
        model=model,
        tokenizer=open_clip.get_tokenizer(config.model_name),
        config=config,
        device=device,
        precision=precision,
        image_size=int(size[0] if isinstance(size, list | tuple) else size),
        mean=tuple(preprocess_cfg.get("mean", open_clip.OPENAI_DATASET_MEAN)),
        std=tuple(preprocess_cfg.get("std", open_clip.OPENAI_DATASET_STD)),
        model_id=runtime_model_id(base_model_id(config), "torch"),
    )
    encoder.eval_transform = eval_transform  # open_clip's PIL transform, for baselines and checks
    logger.info("loaded %r", encoder)
    return encoder


def _onnx_encoder_create(config: EncoderConfig, *, runtime: str, device: torch.device) -> Encoder:
    """An encoder whose image tower runs in ONNX Runtime, from the cached export (built once).

    A valid export is proof that the model exists: open_clip is then imported only for text."""
    from mlpipeline import runtimes

    def load() -> tuple[Any, Any]:
        _check_available(config)
        return _model_load(config, device=device, precision="fp32")

    described = runtimes.cached_description(config, runtime)
    loaded: tuple[Any, Any] | None = None
    if described is None:
        loaded = load()
        described = _description(loaded[0])
    encoder = Encoder(
        model=None if loaded is None else loaded[0],
        tokenizer=None,  # loaded on first use
        config=config,
        device=device,
        precision="fp32" if runtime == "onnx" else "int8",
        image_size=int(described["image_size"]),
        mean=tuple(described["mean"]),
        std=tuple(described["std"]),
        model_id=runtime_model_id(base_model_id(config), runtime),
        runtime=runtime,
        image_runtime=None,
        model_loader=load,
        embed_dim=int(described["embed_dim"]),
    )
    if loaded is not None:
        encoder.eval_transform = loaded[1]
    try:
        encoder.image_runtime = runtimes.image_runtime_load(
            config,
            runtime,
            model=lambda: encoder.model,
            probe=lambda: encoder.preprocess(torch.from_numpy(probe_frames(encoder.image_size))),
            describe=described,
            threads=torch.get_num_threads(),
        )
    except (runtimes.ExportError, OSError, RuntimeError) as error:
        raise EncoderUnavailableError(
            f"{ENV_RUNTIME}={runtime}: the ONNX image tower of {encoder.model_id} could not be "
            f"built ({' '.join(str(error).split())[:300]}). Set {ENV_RUNTIME}=torch to run without it."
        ) from error
    encoder.embed_dim = encoder.image_runtime.embed_dim
    encoder.model_release()  # the export holds the image weights; text reloads on demand
    logger.info("loaded %r (%s)", encoder, "exported" if encoder.image_runtime.built else "cached")
    return encoder


def _description(model: Any) -> dict[str, Any]:
    """What an ONNX encoder needs to know of the model, stored in the export's sidecar."""
    import open_clip

    preprocess_cfg = open_clip.get_model_preprocess_cfg(model)
    size = preprocess_cfg.get("size", 224)
    image_size = int(size[0] if isinstance(size, list | tuple) else size)
    embed_dim = getattr(model.visual, "output_dim", None)
    if not embed_dim:
        with torch.inference_mode():
            embed_dim = model.encode_image(torch.zeros(1, 3, image_size, image_size)).shape[1]
    return {
        "image_size": image_size,
        "mean": [float(v) for v in preprocess_cfg.get("mean", open_clip.OPENAI_DATASET_MEAN)],
        "std": [float(v) for v in preprocess_cfg.get("std", open_clip.OPENAI_DATASET_STD)],
        "embed_dim": int(embed_dim),
    }


def probe_frames(size: int, count: int = 4) -> np.ndarray:
    """Deterministic picture-like uint8 frames (gradients, blocks, noise) to compare runtimes."""
    rng = np.random.default_rng(RANDOM_WEIGHTS_SEED)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    frames = []
    for index in range(count):
        base = (ramp[None, :, None] * (index + 1) / count + ramp[:, None, None] / 2) % 256
        blocks = rng.integers(0, 256, (8, 8, 3)).repeat(size // 8 + 1, 0).repeat(size // 8 + 1, 1)
        noise = rng.normal(0, 12, (size, size, 3))
        image = 0.5 * base + 0.4 * blocks[:size, :size] + noise
        frames.append(np.clip(image, 0, 255).astype(np.uint8))
    return np.stack(frames)


def _check_available(config: EncoderConfig) -> None:
    """EncoderUnavailableError, saying what to set, for a model open_clip does not know."""
    import open_clip

    config.validate()
    register_tiny_model()
    if config.model_name not in open_clip.list_models():
        raise EncoderUnavailableError(
            f"Unknown CLIP model {config.model_name!r}. Set {ENV_MODEL} to one of open_clip's models "
            f"(e.g. ViT-B-32) or {TINY_MODEL_NAME}."
        )


def _model_load(config: EncoderConfig, *, device: torch.device, precision: str) -> tuple[Any, Any]:
    """(open_clip model in eval mode, its PIL eval transform)."""
    import open_clip

    pretrained = None if config.uses_random_weights else config.pretrained
    if _names_a_file(pretrained) and not os.path.isfile(str(pretrained)):
        raise EncoderUnavailableError(_unavailable_message(config, "no such file"))
    if config.cache_dir:
        Path(config.cache_dir).mkdir(parents=True, exist_ok=True)
    try:
        # Seed inside a forked RNG: random-weight models then come out identical in every process
        # without disturbing anyone else's random state. Pretrained weights overwrite the init.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_WEIGHTS_SEED)
            model, _, eval_transform = open_clip.create_model_and_transforms(
                config.model_name,
                pretrained=pretrained,
                device=device,
                precision=precision,
                cache_dir=config.cache_dir,
            )
    except Exception as error:  # open_clip reports download/parse failures as assorted types
        raise EncoderUnavailableError(_unavailable_message(config, error)) from error
    model.eval()
    return model, eval_transform


@functools.lru_cache(maxsize=4)
def get_encoder(config: EncoderConfig) -> Encoder:
    """The process-wide encoder for ``config`` (loaded once; EncoderConfig is hashable)."""
    return create_encoder(config)
