"""Where in a video a folder matches: segments from per-frame scores.

A video is scored on N sampled frames (default 8). Each frame stands for the stretch of
time around it: from halfway to the previous frame to halfway to the next one, the first
frame from 0 and the last one up to the end of the video. Consecutive frames at or above
the threshold form one segment; the duration ratio is the share of the video they cover
("62 % of this clip is soccer").

Scores can be anything monotone in "matches this folder": per-frame zero-shot
probabilities (``ZeroShotModel.frame_probabilities``), cosines, or a trained model's
per-frame probabilities. Thresholds must be on the same scale.

No Django imports here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "Segment",
    "SegmentResult",
    "find_segments",
    "frame_intervals",
    "segments_per_folder",
]

Label = int | str


@dataclass(frozen=True, slots=True)
class Segment:
    start: float  # seconds
    end: float  # seconds
    score: float  # time-weighted mean frame score over the segment
    peak: float  # best frame score in the segment


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentResult:
    segments: list[Segment]
    duration_ratio: float  # covered seconds / video duration, in [0, 1]
    duration: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _effective_duration(timestamps: np.ndarray, duration: float | None) -> float:
    if duration is not None and np.isfinite(duration) and duration > 0:
        return float(duration)
    # Unknown duration (broken container metadata): assume the last frame covers as
    # much after itself as half the gap before it, the same rule as between frames.
    if len(timestamps) == 0:
        return 0.0
    last = float(timestamps[-1])
    if len(timestamps) > 1:
        return last + (last - float(timestamps[-2])) / 2
    return 2 * last if last > 0 else 1.0


def frame_intervals(
    *, timestamps: Sequence[float] | np.ndarray, duration: float | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """(starts, ends, duration) of the time each frame covers, frames in the given order.

    Timestamps need not be sorted; they are clipped to [0, duration].
    """
    timestamps = np.asarray(timestamps, dtype=np.float64)
    order = np.argsort(timestamps, kind="stable")
    ordered = timestamps[order]
    total = _effective_duration(ordered, duration)
    ordered = np.clip(ordered, 0.0, total)
    midpoints = (ordered[1:] + ordered[:-1]) / 2
    sorted_starts = np.concatenate([[0.0], midpoints])
    sorted_ends = np.concatenate([midpoints, [total]])
    starts = np.empty_like(sorted_starts)
    ends = np.empty_like(sorted_ends)
    starts[order] = sorted_starts
    ends[order] = sorted_ends
    return starts, ends, total


def find_segments(
    *,
    scores: Sequence[float] | np.ndarray,
    timestamps: Sequence[float] | np.ndarray,
    duration: float | None,
    threshold: float,
    merge_gap: float = 0.0,
    min_duration: float = 0.0,
) -> SegmentResult:
    """Segments where ``scores`` >= ``threshold``, and the share of the video they cover.

    ``merge_gap``: join segments separated by at most this many seconds (one dissenting
    frame in a long match). ``min_duration``: drop shorter segments. NaN scores (a frame
    that failed to decode) count as not matching.
    """
    scores = np.asarray(scores, dtype=np.float64)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    if scores.shape != timestamps.shape or scores.ndim != 1:
        raise ValueError("scores and timestamps must be 1-D and the same length")
    if len(scores) == 0:
        total = _effective_duration(timestamps, duration)
        return SegmentResult(segments=[], duration_ratio=0.0, duration=total, threshold=threshold)

    order = np.argsort(timestamps, kind="stable")
    starts, ends, total = frame_intervals(timestamps=timestamps[order], duration=duration)
    ordered_scores = scores[order]
    above = np.nan_to_num(ordered_scores, nan=-np.inf) >= threshold
    runs = _runs(above)
    if merge_gap > 0 and runs:
        runs = _merged(runs, starts, ends, merge_gap)
    segments = [
        _segment(ordered_scores, starts, ends, first, last)
        for first, last in runs
        if float(ends[last] - starts[first]) >= min_duration
    ]
    covered = sum(s.end - s.start for s in segments)
    ratio = float(min(max(covered / total, 0.0), 1.0)) if total > 0 else 0.0
    return SegmentResult(
        segments=segments, duration_ratio=ratio, duration=total, threshold=threshold
    )


def _runs(above: np.ndarray) -> list[list[int]]:
    """Runs of consecutive frames above the threshold, as [first, last] frame indices."""
    runs: list[list[int]] = []
    for index in np.flatnonzero(above):
        if runs and runs[-1][1] == index - 1:
            runs[-1][1] = int(index)
        else:
            runs.append([int(index), int(index)])
    return runs


def _merged(
    runs: list[list[int]], starts: np.ndarray, ends: np.ndarray, merge_gap: float
) -> list[list[int]]:
    """Runs joined where at most ``merge_gap`` seconds separate them."""
    merged = [runs[0]]
    for run in runs[1:]:
        if starts[run[0]] - ends[merged[-1][1]] <= merge_gap:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return merged


def _segment(
    scores: np.ndarray, starts: np.ndarray, ends: np.ndarray, first: int, last: int
) -> Segment:
    """The segment of frames first..last: its span, time-weighted mean and peak score."""
    span = slice(first, last + 1)
    lengths = ends[span] - starts[span]
    frame_scores = np.nan_to_num(scores[span], nan=0.0)
    mean = (
        float((lengths * frame_scores).sum() / lengths.sum())
        if lengths.sum() > 0
        else float(frame_scores.mean())
    )
    return Segment(
        start=float(starts[first]),
        end=float(ends[last]),
        score=mean,
        peak=float(frame_scores.max()),
    )


def segments_per_folder(
    *,
    frame_scores: np.ndarray,
    classes: Sequence[Label],
    timestamps: Sequence[float] | np.ndarray,
    duration: float | None,
    threshold: float,
    merge_gap: float = 0.0,
    min_duration: float = 0.0,
) -> dict[Label, SegmentResult]:
    """``find_segments`` for every column of a (t, k) frame-score matrix."""
    frame_scores = np.asarray(frame_scores, dtype=np.float64)
    if frame_scores.shape != (len(timestamps), len(classes)):
        raise ValueError(
            f"frame_scores must be ({len(timestamps)}, {len(classes)}), got {frame_scores.shape}"
        )
    return {
        folder: find_segments(
            scores=frame_scores[:, j],
            timestamps=timestamps,
            duration=duration,
            threshold=threshold,
            merge_gap=merge_gap,
            min_duration=min_duration,
        )
        for j, folder in enumerate(classes)
    }
