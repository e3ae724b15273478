"""Compare encoder runtimes with torch fp32 on real frames; store what ``auto`` may take.

``runtimes_measure`` encodes the same decoded frames with a torch fp32 reference and with each
candidate runtime, and measures images/s, the cosine of every frame vector to the
reference's, and (given a classifier's top-1 function) how often the video's top-1 folder
stays the same. ``auto_choice`` takes the fastest runtime that passes (cosine >=
MIN_CHECK_COSINE on every frame and agreement >= MIN_CHECK_AGREEMENT); ``check_store``
writes the result next to the exports, where ``encoder_config.check_choice`` reads it.

``autocheck_once`` is how ``auto`` gets there without a manual step: the first process that
needs the choice runs the check (on a few of the library's videos) under an exclusive lock,
stores it, and every other process waits for it and then reads the stored choice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mlpipeline.embeddings import ImageEncoder, pool_vectors
from mlpipeline.encoder_config import (
    MIN_CHECK_AGREEMENT,
    MIN_CHECK_COSINE,
    EncoderConfig,
    base_model_id,
    check_choice,
    check_entry,
    check_file,
    machine_signature,
    runtime_passes,
)

Top1 = Callable[[np.ndarray], Sequence[Any]]  # video vectors (N, dim) -> top-1 folder per row


@dataclass
class RuntimeMeasure:
    runtime: str
    label: str  # what ran: "torch cpu fp32", "onnxruntime cpu int8"...
    images_per_second: float | None = None
    speedup: float | None = None  # images/s over the torch fp32 reference's
    cosine_min: float | None = None  # lowest cosine of a frame vector to the reference's
    cosine_mean: float | None = None
    agreement: float | None = None  # share of videos whose top-1 folder is the reference's
    error: str | None = None

    @property
    def passed(self) -> bool:
        return runtime_passes(asdict(self))

    def verdict(self) -> str:
        if self.error:
            return "failed: " + self.error
        if self.cosine_min is not None and self.cosine_min < MIN_CHECK_COSINE:
            return f"refused: cosine < {MIN_CHECK_COSINE}"
        if self.agreement is not None and self.agreement < MIN_CHECK_AGREEMENT:
            return f"refused: agreement < {MIN_CHECK_AGREEMENT:.0%}"
        return "ok"


def _timed_encode(encoder: ImageEncoder, frames: np.ndarray) -> tuple[np.ndarray, float]:
    encoder.encode_images(frames[: min(len(frames), 4)])  # warm-up: lazy init, kernel choice
    started = time.perf_counter()
    vectors = encoder.encode_images(frames)
    return vectors, time.perf_counter() - started


def runtimes_measure(
    *,
    frames_per_video: Sequence[np.ndarray],
    reference: ImageEncoder,
    candidates: dict[str, tuple[str, Callable[[], ImageEncoder] | None]],
    top1: Top1 | None,
) -> list[RuntimeMeasure]:
    """The reference (torch fp32) first, then each candidate runtime, on the same frames.

    ``candidates``: runtime -> (label, factory); None: the reference itself; a factory that
    raises gives a failed row."""
    counts = [len(frames) for frames in frames_per_video]
    frames = np.concatenate(list(frames_per_video))
    ref_vectors, ref_seconds = _timed_encode(reference, frames)
    ref_videos = _pooled(ref_vectors, counts)
    ref_top = list(top1(ref_videos)) if top1 is not None else None
    ref_speed = len(frames) / ref_seconds
    measures = []
    for runtime, (label, factory) in candidates.items():
        measure = RuntimeMeasure(runtime=runtime, label=label)
        try:
            encoder = reference if factory is None else factory()
            vectors, seconds = _timed_encode(encoder, frames)
        except Exception as error:  # a runtime that cannot run here is a row, not a crash
            measure.error = " ".join(str(error).split())[:200] or type(error).__name__
            measures.append(measure)
            continue
        cosines = _cosines(ref_vectors, vectors)
        measure.images_per_second = round(len(frames) / seconds, 2)
        measure.speedup = round(len(frames) / seconds / ref_speed, 2)
        measure.cosine_min = round(float(cosines.min()), 5)
        measure.cosine_mean = round(float(cosines.mean()), 5)
        if ref_top is not None and top1 is not None:
            top = list(top1(_pooled(vectors, counts)))
            same = sum(a == b for a, b in zip(ref_top, top, strict=True))
            measure.agreement = round(same / max(len(top), 1), 4)
        measures.append(measure)
        del encoder
    return measures


def _pooled(vectors: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    rows = []
    offset = 0
    for count in counts:
        rows.append(pool_vectors(vectors[offset : offset + count]))
        offset += count
    return np.stack(rows)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    norms = np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return np.asarray((a * b).sum(axis=1) / norms)


def auto_choice(measures: Sequence[RuntimeMeasure]) -> str | None:
    """The fastest runtime that passes the bars (None: none passed)."""
    passed = [m for m in measures if m.passed and m.images_per_second is not None]
    if not passed:
        return None
    return max(passed, key=lambda m: m.images_per_second or 0.0).runtime


def check_entry_build(
    *,
    config: EncoderConfig,
    measures: Sequence[RuntimeMeasure],
    videos: int,
    frames: int,
    classifier: str | None,
) -> dict[str, Any]:
    return {
        "model_id": base_model_id(config),
        "machine": machine_signature(),
        "device": config.device,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "videos": videos,
        "frames": frames,
        "classifier": classifier,
        "auto": auto_choice(measures),
        "runtimes": {m.runtime: asdict(m) for m in measures},
    }


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def check_store(config: EncoderConfig, entry: dict[str, Any]) -> Path:
    """Write this model's entry into the check file (atomically; other models' entries stay)."""
    path = check_file(config)
    with _locked(path):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        data[entry["model_id"]] = entry
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        staging.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(staging, path)
    return path


def check_table(measures: Sequence[RuntimeMeasure]) -> str:
    header = (
        f"{'runtime':<10} {'ran as':<24} {'images/s':>9} {'x torch':>8} {'cos min':>8} "
        f"{'cos mean':>9} {'top-1 agree':>11}  verdict"
    )
    lines = [header]
    for m in measures:

        def cell(value: float | None, spec: str) -> str:
            return "-" if value is None else format(value, spec)

        agreement = "n/a" if m.agreement is None else f"{m.agreement:.1%}"
        lines.append(
            f"{m.runtime:<10} {m.label:<24} {cell(m.images_per_second, '.2f'):>9} "
            f"{cell(m.speedup, '.2f'):>8} {cell(m.cosine_min, '.5f'):>8} "
            f"{cell(m.cosine_mean, '.5f'):>9} {agreement:>11}  {m.verdict()}"
        )
    return "\n".join(lines)


AUTO_CHECK_LOCK = "auto-check.lock"


class AutoCheckDeferred(Exception):
    """Raised by a measure that has nothing to measure yet (no decodable video): nothing is
    stored, auto keeps its default, and the next process that needs the choice tries again."""


@dataclass
class AutoCheck:
    """What ``autocheck_once`` found or did."""

    ran: bool  # this process measured (False: a stored check, maybe another process's)
    runtime: str | None  # the stored choice (None: nothing passed or the check failed)
    error: str | None  # why the check failed (auto then keeps its safe default)
    seconds: float  # waiting for the lock included

    def metrics(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "chosen": self.runtime,
            "error": self.error,
            "seconds": round(self.seconds, 1),
        }


def autocheck_once(config: EncoderConfig, measure: Callable[[], dict[str, Any]]) -> AutoCheck:
    """Run ``measure`` (it returns a check entry, see check_entry_build) and store its entry,
    unless a check of this model is stored for this machine and device already.

    An exclusive lock in the model's export folder makes concurrent processes measure once:
    the others wait, then find the stored entry. While it measures, the lock file names the
    check; a process that finds that name there under the lock knows the holder died during
    the check (a crash or an out-of-memory kill) and stores a failed entry instead of trying
    again. A ``measure`` that raises stores a failed entry too. A failed entry has no choice,
    so ``auto`` keeps its safe default (same vectors as torch fp32); vidsort_encoder_check
    replaces it."""
    from mlpipeline.runtimes import export_dir

    started = time.perf_counter()
    folder = export_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    marker = f"{base_model_id(config)}|{machine_signature()}|{config.device}"
    with open(folder / AUTO_CHECK_LOCK, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            stored = check_entry(config)
            if stored is not None:
                return AutoCheck(
                    ran=False,
                    runtime=check_choice(config),
                    error=stored.get("error"),
                    seconds=time.perf_counter() - started,
                )
            handle.seek(0)
            if handle.read().strip() == marker:
                entry = _failed_entry(
                    config, "an earlier auto-check did not finish (its process died)"
                )
            else:
                handle.truncate(0)
                handle.write(marker)
                handle.flush()
                try:
                    entry = _measured_entry(config, measure)
                except AutoCheckDeferred as deferred:
                    handle.truncate(0)
                    return AutoCheck(
                        ran=False,
                        runtime=None,
                        error=f"deferred: {deferred}",
                        seconds=time.perf_counter() - started,
                    )
            check_store(config, entry)
            handle.truncate(0)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return AutoCheck(
        ran=True,
        runtime=check_choice(config),
        error=entry.get("error"),
        seconds=time.perf_counter() - started,
    )


def _measured_entry(config: EncoderConfig, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        entry = measure()
    except AutoCheckDeferred:
        raise
    except Exception as error:  # any failure of the check leaves auto on the safe runtime
        return _failed_entry(config, " ".join(str(error).split())[:300] or type(error).__name__)
    return entry | {"source": "auto"}


def _failed_entry(config: EncoderConfig, error: str) -> dict[str, Any]:
    entry = check_entry_build(config=config, measures=[], videos=0, frames=0, classifier=None)
    return entry | {"source": "auto", "error": error}
