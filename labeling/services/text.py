"""The text stage: transcripts and on-screen text, stored once per content hash and engine.

The engines live in mlpipeline (transcribe, ocr); this module picks them from the settings,
runs them on a chunk of videos and stores what they say. A file moved or copied keeps its
content hash, so it is never processed again. A bad file costs one row in state "failed"
(or "no_audio", "silent", "no_video") with its reason, never the chunk. docs/text.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from labeling.models import Library, ScreenText, Transcript, Video
from labeling.selectors.text import stored_text_hashes
from labeling.selectors.videos import videos_by_ids
from mlpipeline.ocr import OcrConfig, OcrReader, OcrResult, OcrUnavailableError, get_reader
from mlpipeline.transcribe import (
    Transcriber,
    TranscriberConfig,
    TranscriberUnavailableError,
    get_transcriber,
)
from mlpipeline.transcribe import Transcript as SpokenText

logger = logging.getLogger(__name__)


def transcriber_config() -> TranscriberConfig:
    return TranscriberConfig(
        engine=settings.VIDSORT_TRANSCRIBER,
        max_seconds=settings.VIDSORT_TRANSCRIBE_MAX_SECONDS,
        whisper_model=settings.VIDSORT_WHISPER_MODEL,
        device=settings.VIDSORT_DEVICE if settings.VIDSORT_DEVICE != "mps" else "cpu",
        cache_dir=str(settings.VIDSORT_MODEL_CACHE),
    )


def ocr_config() -> OcrConfig:
    return OcrConfig(engine=settings.VIDSORT_OCR)


def text_stage_enabled(*, library: Library) -> bool:
    """Whether retrains of ``library`` run the text stage (its switch and the engine settings)."""
    engines_on = settings.VIDSORT_TRANSCRIBER != "off" or settings.VIDSORT_OCR != "off"
    return bool(library.text_enabled and engines_on)


@dataclass(slots=True)
class TextEngines:
    """The engines this process runs (None: off or unavailable, said in ``notes``)."""

    transcriber: Transcriber | None
    reader: OcrReader | None
    notes: list[str] = field(default_factory=list)

    @property
    def transcriber_id(self) -> str | None:
        return self.transcriber.engine_id if self.transcriber is not None else None

    @property
    def ocr_id(self) -> str | None:
        return self.reader.engine_id if self.reader is not None else None


def text_engines() -> TextEngines:
    """The configured engines, loaded once per process; an unavailable one is left out."""
    engines = TextEngines(transcriber=None, reader=None)
    if settings.VIDSORT_TRANSCRIBER != "off":
        try:
            engines.transcriber = get_transcriber(transcriber_config())
        except TranscriberUnavailableError as exc:
            engines.notes.append(str(exc))
    if settings.VIDSORT_OCR != "off":
        try:
            engines.reader = get_reader(ocr_config())
        except OcrUnavailableError as exc:
            engines.notes.append(str(exc))
    for note in engines.notes:
        logger.warning("text stage: %s", note)
    return engines


@dataclass(slots=True)
class TextReport:
    requested: int = 0
    transcribed: int = 0  # files given to the transcriber
    read: int = 0  # files given to OCR
    skipped: int = 0  # text already stored for their content
    failed: int = 0  # rows stored in state "failed"
    notes: list[str] = field(default_factory=list)


def text_extract(
    *,
    video_ids: list[int],
    engines: TextEngines | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TextReport:
    """Transcribe and read the text of these videos' files, each content once; idempotent."""
    engines = engines or text_engines()
    report = TextReport(requested=len(video_ids), notes=list(engines.notes))
    groups = _videos_by_hash(video_ids=video_ids)
    said, written = stored_text_hashes(
        hashes=groups, transcriber=engines.transcriber_id, ocr=engines.ocr_id
    )
    done = 0
    for content_hash, group in groups.items():
        path = f"{group[0].library.root}/{group[0].path}"
        ran = False
        if engines.transcriber is not None and content_hash not in said:
            _transcript_store(content_hash, engines.transcriber.transcribe_video(path), report)
            ran = True
        if engines.reader is not None and content_hash not in written:
            result = _read_screen(engines.reader, path)
            _screen_text_store(content_hash, engines.reader.engine_id, result, report)
            ran = True
        report.skipped += 0 if ran else len(group)
        done += len(group)
        if progress is not None:
            progress(done, report.requested)
    report.skipped += report.requested - done
    return report


def text_mark_failed(*, video_ids: list[int], engines: TextEngines, reason: str) -> None:
    """Store a failed transcript / screen text, with ``reason``, where none is stored yet."""
    groups = _videos_by_hash(video_ids=video_ids)
    said, written = stored_text_hashes(
        hashes=groups, transcriber=engines.transcriber_id, ocr=engines.ocr_id
    )
    failed = {"state": "failed", "reason": reason}
    for content_hash in groups:
        if engines.transcriber_id is not None and content_hash not in said:
            _row_store(
                Transcript,
                content_hash=content_hash,
                engine=engines.transcriber_id,
                defaults=failed | {"segments": [], "text": ""},
            )
        if engines.ocr_id is not None and content_hash not in written:
            _row_store(
                ScreenText,
                content_hash=content_hash,
                engine=engines.ocr_id,
                defaults=failed | {"lines": [], "text": ""},
            )


def _videos_by_hash(*, video_ids: list[int]) -> dict[str, list[Video]]:
    groups: dict[str, list[Video]] = {}
    for video in videos_by_ids(video_ids=video_ids):
        if video.content_hash and video.status != Video.Status.MISSING:
            groups.setdefault(video.content_hash, []).append(video)
    return groups


def _read_screen(reader: OcrReader, path: str) -> OcrResult | str:
    """OCR on whole frames of ``path``; a string says why there is none ("no_video: ...")."""
    from mlpipeline.ocr import frames_for_text

    try:
        frames, times = frames_for_text(path, num_frames=settings.VIDSORT_OCR_FRAMES)
    except ValueError as exc:
        state = "no_video" if "no video stream" in str(exc) else "failed"
        return f"{state}: {exc}"
    except Exception as exc:  # a file PyAV cannot open must cost one video, not the chunk
        return f"failed: cannot decode frames ({type(exc).__name__}: {exc})"
    try:
        return reader.read_frames(frames, times)
    except Exception as exc:
        return f"failed: OCR error ({type(exc).__name__}: {exc})"


def _transcript_store(content_hash: str, spoken: SpokenText, report: TextReport) -> None:
    report.transcribed += 1
    report.failed += spoken.state == "failed"
    notes = "; ".join(spoken.notes)
    if spoken.truncated:
        notes = "; ".join(filter(None, [notes, f"only the first {spoken.audio_seconds:.0f} s"]))
    segments = [
        {
            "start": segment.start,
            "end": segment.end,
            "text": segment.text,
            "confidence": segment.confidence,
        }
        for segment in spoken.segments
    ]
    _row_store(
        Transcript,
        content_hash=content_hash,
        engine=spoken.engine_id,
        defaults={
            "state": spoken.state,
            "reason": spoken.error or notes,
            "language": spoken.language or "",
            "segments": segments,
            "text": spoken.text,
            "audio_seconds": round(spoken.audio_seconds, 3),
            "truncated": spoken.truncated,
        },
    )


def _screen_text_store(
    content_hash: str, engine: str, result: OcrResult | str, report: TextReport
) -> None:
    report.read += 1
    if isinstance(result, str):
        state, _, reason = result.partition(": ")
        report.failed += state == "failed"
        defaults: dict[str, Any] = {"state": state, "reason": reason, "lines": [], "text": ""}
    else:
        lines = [
            {
                "time": line.start,
                "end": line.end,
                "text": line.text,
                "confidence": line.confidence,
                "box": list(line.box),
            }
            for line in result.lines
        ]
        defaults = {"state": "read", "reason": "", "lines": lines, "text": result.text}
    _row_store(ScreenText, content_hash=content_hash, engine=engine, defaults=defaults)


def _row_store(
    model: type[Transcript] | type[ScreenText],
    *,
    content_hash: str,
    engine: str,
    defaults: dict[str, Any],
) -> None:
    # Two workers that read the same content (a re-delivered chunk) converge on one row.
    try:
        with transaction.atomic():
            model.objects.update_or_create(
                content_hash=content_hash, engine=engine, defaults=defaults
            )
    except IntegrityError:
        model.objects.filter(content_hash=content_hash, engine=engine).update(**defaults)
