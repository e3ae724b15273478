"""Segments: known per-frame sequences give known segments and duration ratios."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipeline.segments import find_segments, frame_intervals, segments_per_folder
from mlpipeline.synthetic import make_frame_sequence


def test_each_frame_covers_halfway_to_its_neighbours():
    starts, ends, duration = frame_intervals(timestamps=[1.0, 3.0, 5.0, 7.0], duration=8.0)
    np.testing.assert_allclose(starts, [0, 2, 4, 6])
    np.testing.assert_allclose(ends, [2, 4, 6, 8])
    assert duration == 8.0


def test_uneven_timestamps():
    starts, ends, _ = frame_intervals(timestamps=[0.0, 1.0, 5.0], duration=10.0)
    np.testing.assert_allclose(starts, [0, 0.5, 3.0])
    np.testing.assert_allclose(ends, [0.5, 3.0, 10.0])


def test_one_matching_stretch():
    timestamps, scores = make_frame_sequence(duration=10.0, n_frames=10, true_intervals=[(2, 5)])
    result = find_segments(scores=scores, timestamps=timestamps, duration=10.0, threshold=0.5)
    assert [(s.start, s.end) for s in result.segments] == [(2.0, 5.0)]
    assert result.segments[0].score == pytest.approx(0.9)
    assert result.duration_ratio == pytest.approx(0.3)


def test_two_stretches_and_the_video_edges():
    timestamps, scores = make_frame_sequence(
        duration=16.0, n_frames=8, true_intervals=[(0, 4), (12, 16)]
    )
    result = find_segments(scores=scores, timestamps=timestamps, duration=16.0, threshold=0.5)
    assert [(s.start, s.end) for s in result.segments] == [(0.0, 4.0), (12.0, 16.0)]
    assert result.duration_ratio == pytest.approx(0.5)


def test_score_is_time_weighted_and_peak_is_the_best_frame():
    result = find_segments(
        scores=[0.6, 0.9, 0.1], timestamps=[0.0, 1.0, 5.0], duration=10.0, threshold=0.5
    )
    (segment,) = result.segments
    assert (segment.start, segment.end) == (0.0, 3.0)
    assert segment.score == pytest.approx((0.5 * 0.6 + 2.5 * 0.9) / 3.0)
    assert segment.peak == pytest.approx(0.9)


def test_whole_video_and_nothing():
    timestamps = [0.5, 1.5, 2.5]
    everything = find_segments(scores=[1, 1, 1], timestamps=timestamps, duration=3.0, threshold=0.5)
    assert everything.duration_ratio == pytest.approx(1.0)
    nothing = find_segments(scores=[0, 0, 0], timestamps=timestamps, duration=3.0, threshold=0.5)
    assert nothing.segments == [] and nothing.duration_ratio == 0.0


def test_merge_gap_and_min_duration():
    timestamps, scores = make_frame_sequence(
        duration=10.0, n_frames=10, true_intervals=[(0, 3), (4, 7), (9, 10)]
    )
    merged = find_segments(
        scores=scores, timestamps=timestamps, duration=10.0, threshold=0.5, merge_gap=1.0
    )
    assert [(s.start, s.end) for s in merged.segments] == [(0.0, 7.0), (9.0, 10.0)]
    assert merged.duration_ratio == pytest.approx(0.8)
    long_only = find_segments(
        scores=scores, timestamps=timestamps, duration=10.0, threshold=0.5, min_duration=2.0
    )
    assert [(s.start, s.end) for s in long_only.segments] == [(0.0, 3.0), (4.0, 7.0)]


def test_unsorted_timestamps_nan_scores_and_unknown_duration():
    result = find_segments(
        scores=[0.9, np.nan, 0.9, 0.1],
        timestamps=[3.0, 1.0, 0.0, 2.0],
        duration=None,
        threshold=0.5,
    )
    # Sorted: t=0 (0.9), 1 (NaN: no match), 2 (0.1), 3 (0.9); duration 3.5.
    assert result.duration == pytest.approx(3.5)
    assert [(s.start, s.end) for s in result.segments] == [(0.0, 0.5), (2.5, 3.5)]
    assert result.duration_ratio == pytest.approx(1.5 / 3.5)


def test_no_frames():
    result = find_segments(scores=[], timestamps=[], duration=5.0, threshold=0.5)
    assert result.segments == [] and result.duration_ratio == 0.0


def test_segments_per_folder_uses_each_column():
    scores = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])
    results = segments_per_folder(
        frame_scores=scores,
        classes=("soccer", "cats"),
        timestamps=[0.5, 1.5, 2.5, 3.5],
        duration=4.0,
        threshold=0.5,
    )
    assert [(s.start, s.end) for s in results["soccer"].segments] == [(0.0, 2.0)]
    assert [(s.start, s.end) for s in results["cats"].segments] == [(2.0, 4.0)]
    assert results["cats"].to_dict()["duration_ratio"] == pytest.approx(0.5)
