"""Videos -> CLIP embeddings: decode in worker processes (threads in a daemonic process), encode
in batches in this process.

Decoding (CPU, one libav thread per worker) and encoding (GPU, or the parent's torch threads)
overlap: workers keep decoding the next videos while the parent encodes the current batch. A bad
file yields an EmbeddingResult with ``error`` set; nothing a single file does (even crashing its
decoder process) stops the batch.

This module imports neither torch nor Django, so spawned decode workers start quickly.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import multiprocessing.context
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from mlpipeline.frames import FrameSample, SamplingMode, VideoDecodeError, sample_frames

if TYPE_CHECKING:
    from mlpipeline.encoder import Encoder

VECTOR_DTYPE = np.dtype("<f4")  # float32 little-endian: the storage format for every vector
DEFAULT_MODE: SamplingMode = "fast"  # measured in docs/extraction.md


class ImageEncoder(Protocol):
    image_size: int
    batch_size: int
    model_id: str

    def encode_images(self, frames: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class EmbeddingResult:
    key: Hashable
    vector: np.ndarray | None = None  # (dim,) float32, mean of frame vectors, L2-normalised
    frame_vectors: np.ndarray | None = None  # (num_frames, dim) float32, each L2-normalised
    timestamps: np.ndarray | None = None  # (num_frames,) seconds of each frame
    error: str | None = None  # human reason when the video could not be embedded
    model_id: str = ""
    duration: float | None = None
    width: int | None = None  # displayed size, rotation applied
    height: int | None = None
    rotation: int | None = None
    codec: str | None = None
    fps: float | None = None
    decode_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ExtractionProgress:
    done: int
    total: int
    failed: int
    videos_per_second: float
    eta_seconds: float | None
    elapsed_seconds: float


@dataclass
class ExtractionStats:
    """Where the time went; pass one in to have it filled (the bench prints it)."""

    videos: int = 0
    failed: int = 0
    frames: int = 0
    decode_seconds: float = 0.0  # summed over workers: demux + decode + resize (wall, per worker)
    resize_seconds: float = 0.0  # the part of decode_seconds spent converting/resizing/cropping
    encode_seconds: float = 0.0  # wall time in encode_images (includes normalisation on device)
    pool_seconds: float = 0.0  # wall time from the first video to the last result
    wait_seconds: float = 0.0  # parent waiting for decoded frames: decode was the bottleneck
    batches: int = 0
    worker_restarts: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _DecodeJob:
    key: Hashable
    path: str
    num_frames: int
    mode: SamplingMode
    size: int


@dataclass(frozen=True)
class _DecodeOutcome:
    key: Hashable
    sample: FrameSample | None
    error: str | None
    seconds: float


SampleFunction = Callable[..., FrameSample]


def _init_decode_worker() -> None:
    # One thread per worker process: the pool already uses every core, and oversubscribed
    # OpenMP/OpenCV thread pools only add contention.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


def _decode(job: _DecodeJob, sample_function: SampleFunction = sample_frames) -> _DecodeOutcome:
    started = time.perf_counter()
    try:
        sample = sample_function(
            job.path, num_frames=job.num_frames, mode=job.mode, size=job.size, decode_threads=1
        )
        return _DecodeOutcome(job.key, sample, None, time.perf_counter() - started)
    except VideoDecodeError as error:
        return _DecodeOutcome(job.key, None, error.reason, time.perf_counter() - started)
    except MemoryError:
        return _DecodeOutcome(
            job.key, None, "out of memory while decoding", time.perf_counter() - started
        )
    except Exception as error:  # a bug or an exotic file must cost one video, not the batch
        return _DecodeOutcome(
            job.key,
            None,
            f"unexpected decoder error: {type(error).__name__}: {error}",
            time.perf_counter() - started,
        )


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def extract_embeddings(
    items: Iterable[tuple[Hashable, str | os.PathLike[str]]],
    *,
    encoder: Encoder | ImageEncoder,
    num_frames: int = 8,
    mode: SamplingMode = DEFAULT_MODE,
    workers: int | None = None,
    progress: Callable[[ExtractionProgress], None] | None = None,
    stats: ExtractionStats | None = None,
    sample_function: SampleFunction = sample_frames,
) -> Iterator[EmbeddingResult]:
    """Embed each (key, path); yields one EmbeddingResult per item, in input order.

    ``workers``: decoders running in parallel (None = one per core; 0 = decode in this process).
    They are processes, except in a daemonic process such as a Celery prefork child, which may
    not have children: there they are threads (PyAV releases the GIL while decoding; measured in
    docs/extraction.md), so a Celery worker still overlaps decoding with encoding.
    ``sample_function`` exists for fault injection in tests; it must be a picklable module-level
    function with sample_frames' signature.
    """
    jobs = [
        _DecodeJob(
            key=key, path=os.fspath(path), num_frames=num_frames, mode=mode, size=encoder.image_size
        )
        for key, path in items
    ]
    stats = stats if stats is not None else ExtractionStats()
    total = len(jobs)
    if workers is None:
        workers = default_workers()
    use_threads = workers > 0 and multiprocessing.current_process().daemon
    if use_threads:
        stats.notes.append(f"daemonic process: decoding in {workers} threads")

    started = time.perf_counter()
    done = 0
    failed = 0

    def report(result: EmbeddingResult) -> EmbeddingResult:
        nonlocal done, failed
        done += 1
        failed += 0 if result.ok else 1
        stats.videos = done
        stats.failed = failed
        elapsed = time.perf_counter() - started
        stats.pool_seconds = elapsed
        if progress is not None:
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (total - done) / rate if rate > 0 else None
            progress(ExtractionProgress(done, total, failed, rate, eta, elapsed))
        return result

    outcomes = _decoded_in_order(
        jobs, workers=workers, threads=use_threads, sample_function=sample_function, stats=stats
    )
    for result in _encode_in_batches(outcomes, encoder=encoder, stats=stats):
        yield report(result)


_pools: dict[tuple[str, int], concurrent.futures.Executor] = {}
_pools_lock = threading.Lock()


def _process_context() -> multiprocessing.context.BaseContext:
    """Workers come from a fork server that preloads only this module (PyAV + numpy).

    Not "fork": the parent may hold CUDA and OpenMP state that a forked child must not touch. Not
    plain "spawn": it re-imports the parent's __main__ (often importing torch) in every worker, which
    costs seconds and ~800 MB per worker.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["mlpipeline.embeddings"])
        return context
    return multiprocessing.get_context("spawn")


def _shared_pool(workers: int, *, threads: bool = False) -> concurrent.futures.Executor:
    """One long-lived decode pool per (kind, worker count), so that each Celery chunk does not
    pay for starting processes again."""
    key = ("threads" if threads else "processes", workers)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            if threads:
                # No _init_decode_worker here: it would change this (the encoding) process's
                # thread settings; each decode already asks libav for one thread.
                pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=workers, thread_name_prefix="vidsort-decode"
                )
            else:
                pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=_process_context(),
                    initializer=_init_decode_worker,
                )
            _pools[key] = pool
        return pool


def _discard_pool(workers: int, pool: concurrent.futures.Executor) -> None:
    with _pools_lock:
        key = ("processes", workers)
        if _pools.get(key) is pool:
            del _pools[key]
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown_decode_pools() -> None:
    """Stop the decode worker processes (also run at interpreter exit)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_decode_pools)


def _decoded_in_order(
    jobs: Sequence[_DecodeJob],
    *,
    workers: int,
    threads: bool = False,
    sample_function: SampleFunction,
    stats: ExtractionStats,
) -> Iterator[_DecodeOutcome]:
    if workers == 0:
        for job in jobs:
            yield _decode(job, sample_function)
        return
    # A bounded window keeps memory flat (each decoded video is ~1.2 MB of frames) while giving
    # every worker a few videos of look-ahead.
    window = workers * 4
    pool = _shared_pool(workers, threads=threads)
    pending: deque[tuple[_DecodeJob, concurrent.futures.Future[_DecodeOutcome]]] = deque()
    queue = deque(jobs)
    try:
        while queue or pending:
            while queue and len(pending) < window:
                job = queue.popleft()
                pending.append((job, pool.submit(_decode, job, sample_function)))
            job, future = pending.popleft()
            waited = time.perf_counter()
            try:
                outcome = future.result()
            except BrokenProcessPool:
                # Some file killed its decoder (segfault in a codec, OOM kill). We cannot tell which
                # of the in-flight files did it, so retry each alone in a fresh process.
                stats.worker_restarts += 1
                _discard_pool(workers, pool)
                suspects = [job] + [other for other, _ in pending]
                pending.clear()
                for suspect in suspects:
                    yield _decode_isolated(suspect, sample_function=sample_function)
                pool = _shared_pool(workers)
                continue
            finally:
                stats.wait_seconds += time.perf_counter() - waited
            yield outcome
    finally:
        # The caller stopped early (or failed): drop what is still queued for this call only.
        for _, future in pending:
            future.cancel()


def _decode_isolated(job: _DecodeJob, *, sample_function: SampleFunction) -> _DecodeOutcome:
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=1, mp_context=_process_context(), initializer=_init_decode_worker
    ) as pool:
        try:
            return pool.submit(_decode, job, sample_function).result()
        except BrokenProcessPool:
            return _DecodeOutcome(job.key, None, "decoder process crashed on this file", 0.0)


def _encode_in_batches(
    outcomes: Iterator[_DecodeOutcome], *, encoder: Encoder | ImageEncoder, stats: ExtractionStats
) -> Iterator[EmbeddingResult]:
    """Group decoded videos until a batch of frames is full, encode, and hand results back in order."""
    waiting: list[_DecodeOutcome] = []
    waiting_frames = 0
    for outcome in outcomes:
        stats.decode_seconds += outcome.seconds
        if outcome.sample is not None:
            stats.resize_seconds += outcome.sample.resize_seconds
        waiting.append(outcome)
        if outcome.sample is not None:
            waiting_frames += len(outcome.sample.frames)
        if waiting_frames >= encoder.batch_size:
            yield from _encode_group(waiting, encoder=encoder, stats=stats)
            waiting, waiting_frames = [], 0
    if waiting:
        yield from _encode_group(waiting, encoder=encoder, stats=stats)


def _encode_group(
    group: Sequence[_DecodeOutcome], *, encoder: Encoder | ImageEncoder, stats: ExtractionStats
) -> Iterator[EmbeddingResult]:
    decoded = [outcome for outcome in group if outcome.sample is not None]
    vectors_by_key: dict[int, np.ndarray] = {}
    if decoded:
        frames = np.concatenate(
            [outcome.sample.frames for outcome in decoded if outcome.sample is not None]
        )
        started = time.perf_counter()
        all_vectors = encoder.encode_images(frames)
        stats.encode_seconds += time.perf_counter() - started
        stats.batches += 1
        stats.frames += len(frames)
        offset = 0
        for outcome in decoded:
            assert outcome.sample is not None
            count = len(outcome.sample.frames)
            vectors_by_key[id(outcome)] = all_vectors[offset : offset + count]
            offset += count
    for outcome in group:
        if outcome.sample is None:
            yield EmbeddingResult(
                key=outcome.key,
                error=outcome.error,
                model_id=encoder.model_id,
                decode_seconds=outcome.seconds,
            )
            continue
        frame_vectors = vectors_by_key[id(outcome)]
        sample = outcome.sample
        yield EmbeddingResult(
            key=outcome.key,
            vector=pool_vectors(frame_vectors),
            frame_vectors=frame_vectors,
            timestamps=sample.timestamps,
            model_id=encoder.model_id,
            duration=sample.duration,
            width=sample.width,
            height=sample.height,
            rotation=sample.rotation,
            codec=sample.codec,
            fps=sample.fps,
            decode_seconds=outcome.seconds,
        )


def pool_vectors(frame_vectors: np.ndarray) -> np.ndarray:
    """Mean of L2-normalised frame vectors, L2-normalised again (the video's vector)."""
    mean = frame_vectors.astype(np.float64).mean(axis=0)
    norm = np.linalg.norm(mean)
    return (mean / norm if norm > 0 else mean).astype(np.float32)


def pack_vector(vector: np.ndarray) -> bytes:
    """1-D or 2-D float array -> float32 little-endian bytes (row-major), for a BinaryField."""
    return np.ascontiguousarray(vector, dtype=VECTOR_DTYPE).tobytes()


def unpack_vector(data: bytes | memoryview, *, dim: int | None = None) -> np.ndarray:
    """Inverse of pack_vector. With ``dim``, returns (len / dim, dim) frame vectors."""
    vector = np.frombuffer(bytes(data), dtype=VECTOR_DTYPE).astype(np.float32)
    if dim is None:
        return vector
    if vector.size % dim:
        raise ValueError(f"{vector.size} floats do not split into rows of {dim}")
    return vector.reshape(-1, dim)
