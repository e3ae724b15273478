"""Feature extraction: store CLIP embeddings for videos, each piece of content once.

Embeddings are keyed by (video, model id) and remember the content hash they came from.
A file moved or renamed keeps its Video row (the scan follows it by hash), so it keeps its
embedding; a duplicate file (same hash) copies the vectors of its twin instead of being
decoded again; a changed file (new hash) is extracted again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.db import transaction

from labeling.models import Embedding, Video
from labeling.selectors.embeddings import embedded_video_ids, embeddings_by_hash

# Re-exported: retrains, commands and tests ask the extraction service what is left to do.
from labeling.selectors.embeddings import videos_needing_embeddings as videos_needing_embeddings
from labeling.selectors.videos import videos_by_ids
from mlpipeline.embeddings import (
    EmbeddingResult,
    ExtractionProgress,
    ExtractionStats,
    extract_embeddings,
    pack_vector,
)
from mlpipeline.encoder_config import (
    EncoderConfig,
    EncoderUnavailableError,
    base_model_id,
    check_choice,
    encoder_model_id,
    runtime_model_id,
)
from mlpipeline.frames import SamplingMode

if TYPE_CHECKING:
    # torch: only a process that encodes loads it (encoder_get), never a web process.
    from mlpipeline.encoder import Encoder

logger = logging.getLogger(__name__)


def encoder_config() -> EncoderConfig:
    return EncoderConfig(
        model_name=settings.VIDSORT_CLIP_MODEL,
        pretrained=settings.VIDSORT_CLIP_PRETRAINED,
        device=settings.VIDSORT_DEVICE,
        batch_size=settings.VIDSORT_BATCH_SIZE,
        cache_dir=str(settings.VIDSORT_MODEL_CACHE),
        runtime=settings.VIDSORT_ENCODER_RUNTIME,
    )


def model_id_current() -> str:
    """The configured model's id, for queries: cheap, never loads the model."""
    return encoder_model_id(encoder_config())


def encoder_get() -> Encoder:
    """The encoder for the configured model, loaded once per process (never at web start).

    With auto, the stored check's choice is part of the cache key: a worker that loaded the
    default before a check was stored (the auto-check, by another process) loads the chosen
    runtime next time, so its vectors carry the model id the others plan with."""
    from mlpipeline.encoder import get_encoder  # torch: on first use, see the imports above

    config = encoder_config()
    if config.runtime == "auto":
        config = replace(config, runtime=check_choice(config) or "auto")
    return get_encoder(config)


def encoder_for(model_id: str) -> Encoder:
    """The encoder whose vectors carry ``model_id``: a retrain's, fixed when it planned its
    extraction. Where a check stored since then changed auto's choice (and with it the id),
    the retrain keeps the runtime it started with, so its vectors never mix two runtimes."""
    config = encoder_config()
    if not model_id or encoder_model_id(config) == model_id:
        return encoder_get()
    from mlpipeline.encoder import get_encoder

    base = base_model_id(config)
    if model_id == runtime_model_id(base, "onnx-int8"):
        return get_encoder(replace(config, runtime="onnx-int8"))
    if model_id == base:  # torch fp32's vectors; auto's default on a CPU
        return get_encoder(replace(config, runtime="onnx"))
    raise EncoderUnavailableError(
        f"this job's vectors are {model_id}'s but the configured model is {base}: "
        "start a new retrain"
    )


@dataclass(slots=True)
class ExtractReport:
    requested: int = 0
    extracted: int = 0
    copied: int = 0
    skipped: int = 0
    failed: int = 0
    errors: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.requested} videos: {self.extracted} extracted, {self.copied} copied from "
            f"duplicates, {self.skipped} already done, {self.failed} failed"
        )


def chunked(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def embeddings_extract(
    *,
    video_ids: list[int],
    encoder: Encoder | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> ExtractReport:
    """Extract and store embeddings for these videos; safe to run twice (idempotent)."""
    encoder = encoder or encoder_get()
    model_id = encoder.model_id
    report = ExtractReport(requested=len(video_ids))
    by_hash = _videos_to_embed(video_ids=video_ids, model_id=model_id, report=report)
    to_extract = _twins_copy(by_hash=by_hash, model_id=model_id, report=report)
    done_before = report.skipped + report.copied

    def on_progress(p: ExtractionProgress) -> None:
        if progress is not None:
            progress(done_before + _videos_done(by_hash, to_extract, p.done), report.requested)

    stats = ExtractionStats()
    results = extract_embeddings(
        to_extract,
        encoder=encoder,
        num_frames=settings.VIDSORT_FRAMES,
        mode=cast(SamplingMode, settings.VIDSORT_SAMPLING),
        workers=workers,
        progress=on_progress,
        stats=stats,
    )
    for result in results:
        group = by_hash[cast(str, result.key)]  # the keys given are content hashes
        _result_store(result=result, group=group, model_id=model_id, report=report)
    if progress is not None:
        progress(report.requested, report.requested)
    _stats_log(report=report, stats=stats)
    return report


def _videos_to_embed(
    *, video_ids: list[int], model_id: str, report: ExtractReport
) -> dict[str, list[Video]]:
    """Playable videos without a current embedding, grouped by content hash (duplicates
    are decoded once); the others count as skipped."""
    videos = videos_by_ids(video_ids=video_ids)
    current = embedded_video_ids(videos=videos, model_id=model_id)
    by_hash: dict[str, list[Video]] = {}
    for video in videos:
        if video.pk in current or video.status != Video.Status.OK:
            report.skipped += 1
        else:
            by_hash.setdefault(video.content_hash, []).append(video)
    return by_hash


def _twins_copy(
    *, by_hash: dict[str, list[Video]], model_id: str, report: ExtractReport
) -> list[tuple[str, str]]:
    """Copy the vectors of twins already embedded; (hash, file path) of what is left."""
    existing = embeddings_by_hash(model_id=model_id, hashes=list(by_hash))
    to_extract: list[tuple[str, str]] = []
    for content_hash, group in by_hash.items():
        twin = existing.get(content_hash)
        if twin is None:
            first = group[0]
            to_extract.append((content_hash, f"{first.library.root}/{first.path}"))
            continue
        for video in group:
            _embedding_store(
                video, model_id, twin.dim, twin.vector, twin.frame_vectors, twin.frame_times
            )
            report.copied += 1
    return to_extract


def _result_store(
    *, result: EmbeddingResult, group: list[Video], model_id: str, report: ExtractReport
) -> None:
    """One decoded file's vectors, stored for every video with its content (or its error)."""
    if result.error is not None:
        Video.objects.filter(pk__in=[v.pk for v in group]).update(extract_error=result.error)
        for video in group:
            report.errors[video.pk] = result.error
            report.failed += 1
        logger.warning("extract %s: %s", group[0].path, result.error)
        return
    # A result without an error carries all three arrays.
    assert result.vector is not None
    assert result.frame_vectors is not None and result.timestamps is not None
    vector = pack_vector(result.vector)
    frames = pack_vector(result.frame_vectors)
    times = [float(t) for t in result.timestamps]
    for video in group:
        _embedding_store(video, model_id, int(result.vector.shape[0]), vector, frames, times)
        report.extracted += 1


def _stats_log(*, report: ExtractReport, stats: ExtractionStats) -> None:
    # Where the time went, for whoever tunes workers and batch sizes from the logs.
    logger.info(
        "extract: %s; %.1f s wall, decode %.1f s (summed), encode %.1f s, waited %.1f s%s",
        report.summary(),
        stats.pool_seconds,
        stats.decode_seconds,
        stats.encode_seconds,
        stats.wait_seconds,
        "".join(f"; {note}" for note in stats.notes),
    )


def _videos_done(by_hash: dict[str, list[Video]], to_extract: list, hashes_done: int) -> int:
    return sum(len(by_hash[key]) for key, _ in to_extract[:hashes_done])


def _embedding_store(
    video: Video,
    model_id: str,
    dim: int,
    vector: bytes | memoryview,
    frames: bytes | memoryview,
    times: list[float],
) -> None:
    # update_or_create on the unique (video, model_id): two workers that both embedded
    # the same video (a task delivered twice) converge on one row.
    with transaction.atomic():
        Embedding.objects.update_or_create(
            video=video,
            model_id=model_id,
            defaults={
                "content_hash": video.content_hash,
                "dim": dim,
                "vector": vector,
                "frame_vectors": frames,
                "frame_times": times,
            },
        )
