"""vidsort_encoder_check: each encoder runtime against torch fp32 on the user's own videos.

Decodes a sample of the library's videos once (the shared preprocessing), encodes the
frames with torch fp32 on the CPU (the reference) and with every runtime, and compares
images/s, the cosine of the frame vectors, and the top-1 folder of the active classifier
for each video. The result is stored in the model cache; VIDSORT_ENCODER_RUNTIME=auto then
takes the fastest runtime that passed (mlpipeline.encoder_config.check_choice).

Without that command, a worker runs the same check itself (``encoder_autocheck_run``) before
the first extract chunk of a retrain when ``auto`` has no check stored for this machine: on
AUTO_CHECK_SAMPLE videos, decoding for at most AUTO_CHECK_DECODE_SECONDS, once for all
workers (mlpipeline.encoder_check.autocheck_once). Only workers run it: the question whether
it is due (``encoder_autocheck_pending``) reads one file and imports no torch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from django.conf import settings

from labeling.models import Library
from labeling.selectors.classifiers import classifier_active
from labeling.selectors.samples import videos_sample
from labeling.services.errors import ServiceError
from labeling.services.extraction import encoder_config
from labeling.services.learning import top1_folders
from mlpipeline.encoder_config import (
    RUNTIMES,
    EncoderConfig,
    base_model_id,
    check_entry,
    runtime_model_id,
)
from mlpipeline.frames import SamplingMode

if TYPE_CHECKING:
    from mlpipeline.embeddings import ImageEncoder
    from mlpipeline.encoder import Encoder
    from mlpipeline.encoder_check import AutoCheck, RuntimeMeasure

logger = logging.getLogger(__name__)


class EncoderCheckError(ServiceError):
    """Nothing to check with: no decodable video in the sample."""

    code = "encoder_check_failed"
    http_status = 409


@dataclass
class EncoderCheckReport:
    measures: list[RuntimeMeasure]
    auto: str | None
    videos: int
    frames: int
    classifier: str | None  # the classifier version whose top-1 was compared, if any
    stored_at: Path | None
    entry: dict[str, Any]  # what was (or would be) stored
    notes: list[str] = field(default_factory=list)


# The auto-check: a few videos are enough for the cosine (8 frames each) and take ~1 min with
# ViT-B-32 on 2 cores; the agreement bar (99 %) then means every sampled video agrees.
AUTO_CHECK_SAMPLE = 8
AUTO_CHECK_DECODE_SECONDS = 60.0


def encoder_check_run(
    *,
    library: Library,
    sample: int,
    runtimes: Sequence[str] = RUNTIMES,
    store: bool = True,
    decode_seconds: float | None = None,
) -> EncoderCheckReport:
    """Measure each runtime on ``sample`` of the library's videos; store what auto may take."""
    from mlpipeline.encoder import create_encoder
    from mlpipeline.encoder_check import check_entry_build, check_store, runtimes_measure

    config = encoder_config()
    reference = create_encoder(replace(config, runtime="torch", device="cpu", precision="fp32"))
    notes: list[str] = []
    frames, video_ids = _frames_decode(
        library=library, sample=sample, size=reference.image_size, budget=decode_seconds
    )
    if not frames:
        raise EncoderCheckError(f"none of {sample} sampled videos could be decoded")
    classifier = classifier_active(library=library)
    top1 = _top1_function(classifier, reference, video_ids, config, notes)
    measures = runtimes_measure(
        frames_per_video=frames,
        reference=reference,
        candidates={runtime: _candidate(config, runtime) for runtime in runtimes},
        top1=top1,
    )
    entry = check_entry_build(
        config=config,
        measures=measures,
        videos=len(frames),
        frames=sum(len(f) for f in frames),
        classifier=None if top1 is None or classifier is None else str(classifier),
    )
    stored_at = check_store(config, entry) if store else None
    return EncoderCheckReport(
        measures=measures,
        auto=entry["auto"],
        videos=entry["videos"],
        frames=entry["frames"],
        classifier=entry["classifier"],
        stored_at=stored_at,
        entry=entry,
        notes=notes,
    )


def encoder_autocheck_pending() -> bool:
    """Whether a retrain must run the auto-check before it plans its extraction: auto with
    the auto-check on, a device that may be the CPU, and no check of this model stored for
    this machine (a failed one counts as stored). No torch: the scan stage asks."""
    config = encoder_config()
    return (
        settings.VIDSORT_ENCODER_AUTO_CHECK
        and config.runtime == "auto"
        and config.device in ("auto", "cpu")
        and check_entry(config) is None
    )


def encoder_autocheck_run(*, library: Library) -> AutoCheck:
    """The check that auto takes its runtime from, run by this worker unless another process
    ran it (or runs it now: this one waits). Workers only: it loads torch and the model."""
    from mlpipeline.encoder import resolve_device
    from mlpipeline.encoder_check import AutoCheck, AutoCheckDeferred, autocheck_once

    config = encoder_config()
    if resolve_device(config.device).type != "cpu":
        # An accelerator keeps torch (the ONNX runtimes are CPU ones); nothing to store.
        return AutoCheck(ran=False, runtime=None, error=None, seconds=0.0)

    def measure() -> dict[str, Any]:
        try:
            report = encoder_check_run(
                library=library,
                sample=AUTO_CHECK_SAMPLE,
                store=False,
                decode_seconds=AUTO_CHECK_DECODE_SECONDS,
            )
        except EncoderCheckError as error:  # an empty library: the next retrain tries again
            raise AutoCheckDeferred(str(error)) from error
        return report.entry

    outcome = autocheck_once(config, measure)
    if outcome.error and not outcome.ran:
        logger.info("encoder auto-check of %s: %s", base_model_id(config), outcome.error)
    elif outcome.error:
        logger.warning(
            "encoder auto-check of %s failed, auto keeps the safe runtime (same vectors as "
            "torch fp32): %s. Run `manage.py vidsort_encoder_check` to check again.",
            base_model_id(config),
            outcome.error,
        )
    elif outcome.ran:
        logger.info(
            "encoder auto-check of %s: auto takes %s (%.1f s)",
            base_model_id(config),
            outcome.runtime or "its default (nothing passed)",
            outcome.seconds,
        )
    return outcome


def _frames_decode(
    *, library: Library, sample: int, size: int, budget: float | None = None
) -> tuple[list[np.ndarray], list[int]]:
    from mlpipeline.frames import VideoDecodeError, sample_frames

    frames: list[np.ndarray] = []
    video_ids: list[int] = []
    started = time.monotonic()
    for video in videos_sample(library=library, count=sample):
        if budget is not None and frames and time.monotonic() - started > budget:
            logger.info("encoder check: decoding budget spent after %d videos", len(frames))
            break
        try:
            decoded = sample_frames(
                f"{video.library.root}/{video.path}",
                num_frames=settings.VIDSORT_FRAMES,
                mode=cast(SamplingMode, settings.VIDSORT_SAMPLING),
                size=size,
            )
        except VideoDecodeError as error:
            logger.info("encoder check skips %s: %s", video.path, error)
            continue
        frames.append(decoded.frames)
        video_ids.append(video.pk)
    return frames, video_ids


def _top1_function(
    classifier: Any,
    reference: Encoder,
    video_ids: list[int],
    config: EncoderConfig,
    notes: list[str],
) -> Callable[[np.ndarray], list[int | str]] | None:
    if classifier is None:
        notes.append("no active classifier: top-1 agreement not measured (cosine only)")
        return None
    ids_of_model = {runtime_model_id(base_model_id(config), r) for r in RUNTIMES}
    if classifier.model_id not in ids_of_model:
        notes.append(
            f"the active classifier ({classifier.model_id}) is for another model: "
            "top-1 agreement not measured"
        )
        return None

    def top1(vectors: np.ndarray) -> list[int | str]:
        return top1_folders(
            classifier=classifier, encoder=reference, video_ids=video_ids, vectors=vectors
        )

    return top1


def _candidate(
    config: EncoderConfig, runtime: str
) -> tuple[str, Callable[[], ImageEncoder] | None]:
    from mlpipeline.encoder import create_encoder, resolve_device, resolve_precision

    if runtime == "torch":
        device = resolve_device(config.device)
        precision = resolve_precision(config.precision, device)
        if device.type == "cpu" and precision == "fp32":
            return "torch cpu fp32", None  # the reference itself
        return f"torch {device.type} {precision}", lambda: create_encoder(
            replace(config, runtime="torch")
        )
    kind = "int8" if runtime.endswith("int8") else "fp32"
    return f"onnxruntime cpu {kind}", lambda: create_encoder(
        replace(config, runtime=runtime, device="cpu")
    )
