"""Queue orders: each strategy orders known inputs the way it promises."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipeline.strategies import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    QueueCandidates,
    farthest_first,
    order_queue,
)

PROBS = np.array(
    [
        [0.90, 0.05, 0.05],  # 0: confident
        [0.40, 0.35, 0.25],  # 1: least confident, spread out
        [0.50, 0.48, 0.02],  # 2: tiny margin between two folders
        [0.60, 0.20, 0.20],  # 3
    ]
)


def _candidates(**overrides) -> QueueCandidates:
    values = {"probs": PROBS, "classes": ("a", "b", "c")}
    values.update(overrides)
    return QueueCandidates(**values)


def test_uncertainty_margin_and_entropy():
    assert order_queue("uncertainty", _candidates()).tolist() == [1, 2, 3, 0]
    assert order_queue("margin", _candidates()).tolist() == [2, 1, 3, 0]
    assert order_queue("entropy", _candidates()).tolist() == [1, 3, 2, 0]


def test_class_balance_favours_folders_with_few_labels():
    probs = np.array([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5]])
    order = order_queue(
        "class_balance",
        QueueCandidates(probs=probs, classes=("big", "small"), label_counts={"big": 500}),
    )
    assert order.tolist() == [1, 2, 0]


def test_diversity_keeps_near_duplicates_apart():
    rng = np.random.default_rng(0)
    groups = np.eye(3, 8, dtype=np.float32)
    # Three copies of each of three videos, equally uncertain, duplicates adjacent.
    embeddings = np.repeat(groups, 3, axis=0) + 0.01 * rng.standard_normal((9, 8)).astype(
        np.float32
    )
    probs = np.tile([[0.4, 0.35, 0.25]], (9, 1))
    order = order_queue(
        "uncertainty+diversity",
        QueueCandidates(probs=probs, classes=("a", "b", "c"), embeddings=embeddings),
    )
    group_of = order // 3
    assert sorted(group_of[:3].tolist()) == [0, 1, 2]
    assert all(group_of[i] != group_of[i + 1] for i in range(len(order) - 1) if i < 6)
    assert order[0] == 0  # starts from the most uncertain (ties: first row)


def test_diversity_only_reorders_the_most_uncertain_pool():
    rng = np.random.default_rng(1)
    probs = np.sort(rng.dirichlet(np.ones(3), size=50), axis=1)[:, ::-1]
    embeddings = rng.standard_normal((50, 8)).astype(np.float32)
    candidates = QueueCandidates(
        probs=probs, classes=("a", "b", "c"), embeddings=embeddings, diversity_pool_size=10
    )
    plain = order_queue("margin", candidates)  # its "uncertain" is the smallest margin
    diverse = order_queue("uncertainty+diversity", candidates)
    assert set(diverse[:10].tolist()) == set(plain[:10].tolist())
    assert diverse[10:].tolist() == plain[10:].tolist()
    # Without embeddings it is plain margin order.
    no_embeddings = QueueCandidates(probs=probs, classes=("a", "b", "c"))
    assert order_queue("uncertainty+diversity", no_embeddings).tolist() == plain.tolist()


def test_farthest_first_alternates_between_far_groups():
    points = np.array([[1, 0], [0.99, 0.01], [-1, 0], [-0.99, -0.01]], dtype=np.float32)
    assert farthest_first(points).tolist()[:2] == [0, 2]


def test_random_is_seeded_and_a_permutation():
    first = order_queue("random", _candidates(seed=7))
    assert first.tolist() == order_queue("random", _candidates(seed=7)).tolist()
    assert sorted(first.tolist()) == [0, 1, 2, 3]
    many = QueueCandidates(probs=np.full((100, 2), 0.5), classes=("a", "b"), seed=1)
    other = QueueCandidates(probs=np.full((100, 2), 0.5), classes=("a", "b"), seed=2)
    assert order_queue("random", many).tolist() != order_queue("random", other).tolist()


def test_newest_and_filename():
    created = np.array([100.0, 300.0, 200.0, 300.0])
    assert order_queue("newest", _candidates(created_at=created)).tolist() == [1, 3, 2, 0]
    names = ["Clip10.mp4", "clip2.mp4", "b.mp4", "clip1.mp4"]
    assert order_queue("filename", _candidates(filenames=names)).tolist() == [2, 3, 1, 0]
    with pytest.raises(ValueError):
        order_queue("newest", _candidates())


def test_registry_and_default():
    assert set(STRATEGIES) == {
        "uncertainty",
        "margin",
        "entropy",
        "class_balance",
        "uncertainty+diversity",
        "random",
        "newest",
        "filename",
    }
    assert DEFAULT_STRATEGY == "uncertainty+diversity"
    with pytest.raises(ValueError):
        order_queue("nope", _candidates())


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_returns_a_permutation(name):
    rng = np.random.default_rng(3)
    n = 30
    candidates = QueueCandidates(
        probs=rng.dirichlet(np.ones(4), size=n),
        classes=("a", "b", "c", "d"),
        embeddings=rng.standard_normal((n, 6)),
        label_counts={"a": 5, "b": 1},
        created_at=rng.random(n),
        filenames=[f"v{i}.mp4" for i in rng.permutation(n)],
        diversity_pool_size=10,
    )
    order = order_queue(name, candidates)
    assert order.dtype == np.int64
    assert sorted(order.tolist()) == list(range(n))
