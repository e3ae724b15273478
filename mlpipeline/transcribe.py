"""What is said in a video: audio decoded with PyAV to 16 kHz mono, voiced parts found by a
voice-activity detector, only those transcribed, with timestamps.

Engines (``TranscriberConfig.engine``, the ``VIDSORT_TRANSCRIBER`` setting):

* ``pocketsphinx``: fully offline; the wheel ships an English acoustic model, language model and
  dictionary. Fast once tuned (beams, one pass), rough on words.
* ``faster-whisper``: CTranslate2 Whisper; far better words. Its weights are downloaded on first
  use into the model cache; when they cannot be had, TranscriberUnavailableError says what to set.
  The package itself is optional (not in requirements.txt).
* ``off``: every video gets an empty transcript in state ``off``.

A video without an audio stream, or whose audio is silent, gets an empty transcript (state
``no_audio`` / ``silent``), never an error; a stream that cannot be decoded is an AudioDecodeError
with a short reason, and ``transcribe_video`` turns that into a transcript in state ``failed``, so a
batch never stops for one file. Only the first ``max_seconds`` of audio are read.

No Django imports here.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import av
import av.error
import numpy as np

SAMPLE_RATE = 16000
ENGINES: tuple[str, ...] = ("pocketsphinx", "faster-whisper", "off")
# Settings named in error messages (VidSort's Django settings read them; mlpipeline never reads
# the environment).
ENV_TRANSCRIBER = "VIDSORT_TRANSCRIBER"
ENV_WHISPER_MODEL = "VIDSORT_WHISPER_MODEL"

TranscriptState = Literal["transcribed", "no_audio", "silent", "off", "failed"]


class AudioDecodeError(Exception):
    """The audio stream exists but cannot be decoded. ``reason`` is short and meant for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TranscriberUnavailableError(RuntimeError):
    """The engine cannot be built; the message says what failed and what to set."""


@dataclass(frozen=True)
class TranscriberConfig:
    engine: str = "pocketsphinx"
    max_seconds: float = 600.0  # only the first N seconds of audio are read (long files)
    # Voice-activity detection (webrtc VAD bundled with pocketsphinx): 0 (loose) to 3 (strict).
    vad_mode: int = 1
    min_speech_seconds: float = 0.25  # voiced runs shorter than this are dropped
    merge_gap_seconds: float = 0.4  # voiced runs closer than this are merged
    pad_seconds: float = 0.15  # context kept either side of a voiced run
    # pocketsphinx: speed over accuracy (docs/text.md): one forward pass, narrower beams.
    fast_search: bool = True
    # faster-whisper
    whisper_model: str = "base"  # a size name or a local CTranslate2 model directory
    device: str = "auto"  # auto = cuda when available
    cache_dir: str | None = None  # where faster-whisper downloads weights
    language: str | None = None  # None = detect

    def validate(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {self.engine!r}")
        if self.max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        if self.vad_mode not in (0, 1, 2, 3):
            raise ValueError("vad_mode must be 0, 1, 2 or 3")


@dataclass(frozen=True)
class Word:
    word: str
    start: float  # seconds from the start of the file
    end: float
    confidence: float | None = None


@dataclass(frozen=True)
class TranscriptSegment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    confidence: float | None = None


@dataclass(frozen=True)
class Transcript:
    engine_id: str  # engine + model: the cache key, with the content hash, of a stored transcript
    state: TranscriptState
    segments: tuple[TranscriptSegment, ...] = ()
    language: str | None = None
    audio_seconds: float = 0.0  # decoded (at most max_seconds)
    voiced_seconds: float = 0.0  # given to the engine
    truncated: bool = False  # the audio went on past max_seconds
    error: str | None = None  # state "failed": why
    seconds: float = 0.0  # wall time spent
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return " ".join(segment.text for segment in self.segments if segment.text)


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # int16 mono at SAMPLE_RATE
    truncated: bool
    channels: int
    notes: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def decode_audio(path: str | os.PathLike[str], *, max_seconds: float) -> DecodedAudio | None:
    """The first audio stream as 16 kHz mono int16 (all channels mixed down); None without one.

    Raises AudioDecodeError when the file or its audio stream cannot be decoded.
    """
    try:
        container = av.open(os.fspath(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError) as error:
        raise AudioDecodeError(f"cannot open ({_reason(error)})") from error
    with container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        return _decode_stream(container, stream, max_seconds=max_seconds)


def _reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return " ".join(str(text).split())[:200]


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    *,
    max_seconds: float,
) -> DecodedAudio:
    channels = stream.codec_context.channels if stream.codec_context else 0
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    limit = int(max_seconds * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    have = 0
    failures = 0
    packets = 0
    truncated = False
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        packets += 1
        try:
            frames = packet.decode()
        except (av.error.FFmpegError, ValueError) as error:
            failures += 1
            last_error = _reason(error)
            continue
        for frame in frames:
            frame.pts = None  # the resampler need not follow gaps; timing comes from sample count
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().reshape(-1)
                chunks.append(chunk)
                have += len(chunk)
        if have >= limit:
            truncated = True
            break
    if not truncated:
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if packets and failures > packets // 2:
        raise AudioDecodeError(
            f"audio stream cannot be decoded ({failures} of {packets} packets failed: {last_error})"
        )
    samples = np.concatenate(chunks)[:limit] if chunks else np.zeros(0, dtype=np.int16)
    notes = (f"{failures} audio packets could not be decoded",) if failures else ()
    return DecodedAudio(
        samples=samples.astype(np.int16, copy=False),
        truncated=truncated,
        channels=channels,
        notes=notes,
    )


def voiced_regions(samples: np.ndarray, *, config: TranscriberConfig) -> list[tuple[int, int]]:
    """[start, end) sample ranges with speech: webrtc VAD per 30 ms frame, then smoothed."""
    import pocketsphinx  # type: ignore[import-untyped,import-not-found,unused-ignore]

    if len(samples) == 0 or int(np.abs(samples).max(initial=0)) < 64:
        return []  # digital silence (or nearly): no need to ask the VAD
    vad = pocketsphinx.Vad(config.vad_mode, SAMPLE_RATE, 0.03)
    step = vad.frame_bytes // 2
    data = np.ascontiguousarray(samples, dtype="<i2")
    flags = [
        vad.is_speech(data[start : start + step].tobytes())
        for start in range(0, len(data) - step + 1, step)
    ]
    runs: list[list[int]] = []
    for index, voiced in enumerate(flags):
        if not voiced:
            continue
        if runs and index - runs[-1][1] <= config.merge_gap_seconds * SAMPLE_RATE / step:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    pad = int(config.pad_seconds * SAMPLE_RATE)
    return [
        (max(0, start * step - pad), min(len(data), end * step + pad))
        for start, end in runs
        if (end - start) * step >= config.min_speech_seconds * SAMPLE_RATE
    ]


class Engine(Protocol):
    engine_id: str
    language: str | None  # None: detected per region (not reported)

    def transcribe_region(self, samples: np.ndarray, *, offset: float) -> TranscriptSegment | None:
        """One voiced region (int16 16 kHz mono) starting ``offset`` seconds into the file."""
        ...


class PocketsphinxEngine:
    """pocketsphinx with its bundled US English models. One decoder per thread (not re-entrant)."""

    def __init__(self, config: TranscriberConfig) -> None:
        if importlib.util.find_spec("pocketsphinx") is None:
            raise TranscriberUnavailableError(
                f"pocketsphinx is not installed (pip install -r requirements.txt), or set "
                f"{ENV_TRANSCRIBER}=off"
            )
        self._options: dict[str, Any] = {"samprate": SAMPLE_RATE, "loglevel": "FATAL"}
        if config.fast_search:
            # Measured in docs/text.md: without the second (flat) pass and the lattice search,
            # and with fewer active HMMs per frame, 0.75 s instead of 1.33 s CPU per clip for
            # a WER of 0.60 instead of 0.55; narrower beams lost words (0.69).
            self._options.update(fwdflat=False, bestpath=False, maxhmmpf=3000, pl_window=5)
        version = _package_version("pocketsphinx")
        mode = "fast" if config.fast_search else "full"
        self.engine_id = f"pocketsphinx-{version}-en-us-{mode}"
        self.language: str | None = "en"
        self._local = threading.local()
        self._decoder()  # fail now, not on the first video

    def _decoder(self) -> Any:
        decoder = getattr(self._local, "decoder", None)
        if decoder is None:
            import pocketsphinx  # type: ignore[import-untyped,import-not-found,unused-ignore]

            decoder = pocketsphinx.Decoder(**self._options)
            self._local.decoder = decoder
        return decoder

    def transcribe_region(self, samples: np.ndarray, *, offset: float) -> TranscriptSegment | None:
        decoder = self._decoder()
        decoder.start_utt()
        decoder.process_raw(np.ascontiguousarray(samples, dtype="<i2").tobytes(), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        if hypothesis is None or not hypothesis.hypstr.strip():
            return None
        frame_rate = 100.0  # pocketsphinx's default -frate
        words = tuple(
            Word(
                word=_clean_word(segment.word),
                start=round(offset + segment.start_frame / frame_rate, 2),
                end=round(offset + (segment.end_frame + 1) / frame_rate, 2),
                confidence=_probability(segment.prob),
            )
            for segment in decoder.seg()
            if _is_word(segment.word)
        )
        if not words:
            return None
        return TranscriptSegment(
            start=words[0].start,
            end=words[-1].end,
            text=" ".join(word.word for word in words),
            words=words,
        )


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _is_word(token: str) -> bool:
    return not (token.startswith("<") or token.startswith("[") or token.startswith("++"))


def _clean_word(token: str) -> str:
    # Alternative pronunciations come back as "the(2)".
    return token.split("(", 1)[0]


def _probability(log_prob: int) -> float | None:
    # pocketsphinx's posterior is a log in its own base; without lattice search it is 0 (unknown).
    if log_prob == 0:
        return None
    return float(min(1.0, max(0.0, 1.0001**log_prob)))


class FasterWhisperEngine:
    def __init__(self, config: TranscriberConfig) -> None:
        try:
            import faster_whisper  # type: ignore[import-not-found,unused-ignore]
        except ImportError as error:
            raise TranscriberUnavailableError(
                f"{ENV_TRANSCRIBER}=faster-whisper needs the faster-whisper package "
                f"(pip install faster-whisper); or set {ENV_TRANSCRIBER}=pocketsphinx (offline)"
            ) from error
        device = config.device
        if device == "auto":
            device = "cuda" if _cuda_available() else "cpu"
        compute_type = "float16" if device == "cuda" else "int8"
        if config.cache_dir:
            Path(config.cache_dir).mkdir(parents=True, exist_ok=True)
        try:
            self._model = faster_whisper.WhisperModel(
                config.whisper_model,
                device=device,
                compute_type=compute_type,
                download_root=config.cache_dir,
            )
        except Exception as error:  # download and load failures come as assorted types
            cache = config.cache_dir or "the Hugging Face cache (~/.cache/huggingface)"
            raise TranscriberUnavailableError(
                f"faster-whisper weights {config.whisper_model!r} could not be loaded "
                f"({_reason(error)[:200]}). To fix, set {ENV_WHISPER_MODEL} to a local CTranslate2 "
                f"Whisper model directory; or give this machine access to huggingface.co to "
                f"download them into {cache}; or set {ENV_TRANSCRIBER}=pocketsphinx (offline)."
            ) from error
        self.language = config.language
        self.engine_id = f"faster-whisper-{Path(config.whisper_model).name}-{compute_type}"
        self._lock = threading.Lock()

    def transcribe_region(self, samples: np.ndarray, *, offset: float) -> TranscriptSegment | None:
        audio = samples.astype(np.float32) / 32768.0
        with self._lock:
            segments, _ = self._model.transcribe(
                audio, language=self.language, word_timestamps=True, vad_filter=False
            )
            parts = list(segments)
        words = tuple(
            Word(
                word=word.word.strip(),
                start=round(offset + word.start, 2),
                end=round(offset + word.end, 2),
                confidence=float(word.probability),
            )
            for part in parts
            for word in (part.words or ())
            if word.word.strip()
        )
        text = " ".join(part.text.strip() for part in parts).strip()
        if not text:
            return None
        start = words[0].start if words else offset
        end = words[-1].end if words else offset + len(samples) / SAMPLE_RATE
        return TranscriptSegment(start=start, end=end, text=text, words=words)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class Transcriber:
    """Turns files into Transcripts with one engine; build it with ``get_transcriber``."""

    def __init__(self, config: TranscriberConfig, engine: Engine | None) -> None:
        self.config = config
        self.engine = engine
        self.engine_id = engine.engine_id if engine is not None else "off"

    def transcribe_samples(self, audio: DecodedAudio) -> Transcript:
        regions = voiced_regions(audio.samples, config=self.config)
        voiced = sum(end - start for start, end in regions) / SAMPLE_RATE
        segments: list[TranscriptSegment] = []
        if self.engine is not None:
            for start, end in regions:
                segment = self.engine.transcribe_region(
                    audio.samples[start:end], offset=start / SAMPLE_RATE
                )
                if segment is not None:
                    segments.append(segment)
        state: TranscriptState = "transcribed" if regions else "silent"
        return Transcript(
            engine_id=self.engine_id,
            state=state,
            segments=tuple(segments),
            language=self.engine.language if self.engine is not None else None,
            audio_seconds=audio.seconds,
            voiced_seconds=voiced,
            truncated=audio.truncated,
            notes=audio.notes,
        )

    def transcribe_video(self, path: str | os.PathLike[str]) -> Transcript:
        """Never raises for a bad file: the transcript's state and error say what happened."""
        started = time.perf_counter()
        if self.engine is None:
            return Transcript(engine_id=self.engine_id, state="off")
        try:
            audio = decode_audio(path, max_seconds=self.config.max_seconds)
            if audio is None:
                transcript = Transcript(engine_id=self.engine_id, state="no_audio")
            else:
                transcript = self.transcribe_samples(audio)
        except AudioDecodeError as error:
            transcript = Transcript(engine_id=self.engine_id, state="failed", error=error.reason)
        except MemoryError:
            transcript = Transcript(
                engine_id=self.engine_id, state="failed", error="out of memory while decoding audio"
            )
        except Exception as error:  # an exotic file must cost one video, not the batch
            transcript = Transcript(
                engine_id=self.engine_id,
                state="failed",
                error=f"unexpected transcription error: {type(error).__name__}: {_reason(error)}",
            )
        return _with_seconds(transcript, time.perf_counter() - started)


def _with_seconds(transcript: Transcript, seconds: float) -> Transcript:
    return replace(transcript, seconds=seconds)


def create_transcriber(config: TranscriberConfig) -> Transcriber:
    """Build the engine (slow: loads models). Raises TranscriberUnavailableError with what to set."""
    config.validate()
    engine: Engine | None
    if config.engine == "off":
        engine = None
    elif config.engine == "pocketsphinx":
        engine = PocketsphinxEngine(config)
    else:
        engine = FasterWhisperEngine(config)
    return Transcriber(config, engine)


@functools.lru_cache(maxsize=4)
def get_transcriber(config: TranscriberConfig) -> Transcriber:
    """The process-wide transcriber for ``config`` (TranscriberConfig is hashable)."""
    return create_transcriber(config)


def word_error_rate(reference: Sequence[str], hypothesis: Sequence[str]) -> float:
    """Word-level edit distance / reference length (0 = perfect; may exceed 1)."""
    ref = list(reference)
    hyp = list(hypothesis)
    if not ref:
        return float(len(hyp) > 0)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)
            )
        previous = current
    return previous[-1] / len(ref)
