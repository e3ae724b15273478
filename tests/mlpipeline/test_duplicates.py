"""Near-duplicate grouping on frame vectors made to order (real clips: tests/labeling)."""

from __future__ import annotations

import numpy as np

from mlpipeline.duplicates import (
    Clip,
    DuplicateConfig,
    duplicate_groups,
    group_labels,
    keep_apart,
)


def _clip(rng: np.random.Generator, frames: int = 8, dim: int = 64) -> np.ndarray:
    return rng.normal(size=(frames, dim)).astype(np.float32)


def test_copies_group_while_a_shared_intro_does_not() -> None:
    rng = np.random.default_rng(3)
    a, b, c = _clip(rng), _clip(rng), _clip(rng)
    intro = _clip(rng, frames=2)
    noisy = a + 0.2 * rng.normal(size=a.shape)
    slower = np.repeat(a, 2, axis=0)[::2] + 0.1 * rng.normal(size=a.shape)
    with_intro_b = np.vstack([intro, b[2:]])
    with_intro_c = np.vstack([intro, c[2:]])
    clips = [Clip(a, 10.0), Clip(noisy, 10.0), Clip(slower, 8.0), Clip(with_intro_b, 10.0)]
    clips += [Clip(with_intro_c, 10.0), Clip(b, 10.0), Clip(c, 10.0)]
    groups = duplicate_groups(clips)
    assert [0, 1, 2] in groups
    labels = group_labels(len(clips), groups)
    assert labels[3] != labels[4]  # same intro, different clip


def test_duration_must_be_compatible() -> None:
    rng = np.random.default_rng(4)
    a = _clip(rng)
    clips = [Clip(a, 10.0), Clip(a + 0.05, 3.0), Clip(_clip(rng), 5.0)]
    assert duplicate_groups(clips) == []


def test_exact_keys_group_without_frames_agreeing() -> None:
    rng = np.random.default_rng(5)
    clips = [Clip(_clip(rng), 4.0) for _ in range(4)]
    assert duplicate_groups(clips, exact_keys=["h1", "h2", "h1", ""]) == [[0, 2]]


def test_one_borderline_pair_does_not_chain_two_families() -> None:
    rng = np.random.default_rng(6)
    a, b = _clip(rng), _clip(rng)
    family_a = [a + 0.1 * rng.normal(size=a.shape) for _ in range(3)]
    family_b = [b + 0.1 * rng.normal(size=b.shape) for _ in range(3)]
    bridge = np.vstack([a[:4], b[4:]])  # half of each
    others = [_clip(rng) for _ in range(6)]
    clips = [Clip(f, 5.0) for f in [*family_a, *family_b, bridge, *others]]
    config = DuplicateConfig(align_min=0.45, frame_min=-1.0)
    groups = duplicate_groups(clips, config=config)
    labels = group_labels(len(clips), groups)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] == labels[5]
    assert labels[0] != labels[3]


def test_keep_apart_separates_groups_whenever_possible() -> None:
    group_of = {1: 0, 2: 0, 3: 0, 4: 0, 7: 1, 8: 1}
    items = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    ordered = keep_apart(items, group_of)
    assert sorted(ordered) == items
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert a not in group_of or group_of[a] != group_of.get(b), ordered
    assert keep_apart([5, 6, 9], group_of) == [5, 6, 9]  # no groups: unchanged
