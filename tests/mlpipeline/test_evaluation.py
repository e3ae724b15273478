"""The offline simulations behind docs/learning.md, on a small synthetic library (~3 s)."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipeline.evaluation import (
    SimulationConfig,
    labels_to_reach,
    simulate_active_learning,
    simulate_blend,
)
from mlpipeline.strategies import DEFAULT_STRATEGY
from mlpipeline.synthetic import SyntheticConfig, make_library


@pytest.fixture(scope="module")
def library():
    # 10 imbalanced, overlapping folders with reposts: small, but shaped like the bench's set.
    return make_library(SyntheticConfig(n_classes=10, n_samples=2000, seed=1))


def test_labels_to_reach():
    n = np.array([10, 20, 30, 40])
    assert labels_to_reach(n, np.array([0.5, 0.7, 0.9, 0.8]), target=0.85) == 30
    assert labels_to_reach(n, np.array([0.5, 0.6, 0.6, 0.6]), target=0.85) is None


def test_the_default_order_needs_fewer_labels_than_random(library):
    config = SimulationConfig(
        strategies=("random", DEFAULT_STRATEGY), max_labels=200, batch_size=10, seeds=(0, 1, 2)
    )
    result = simulate_active_learning(X=library.X, y=library.y, config=config)
    assert len(result.curves) == 6
    n_labels, random_acc, _ = result.mean_curve("random")
    same_grid, default_acc, _ = result.mean_curve(DEFAULT_STRATEGY)
    assert list(n_labels) == list(same_grid) and n_labels[0] == 20 and n_labels[-1] == 200
    assert default_acc[0] == random_acc[0]  # both start from the same labels
    # Over the whole curve the default is ahead, and it reaches 90 % of the accuracy
    # of a model trained on every label sooner.
    assert default_acc[1:].mean() > random_acc[1:].mean() + 0.01
    target = 0.9 * result.mean_reference_accuracy
    to_default = labels_to_reach(n_labels, default_acc, target=target)
    to_random = labels_to_reach(n_labels, random_acc, target=target)
    assert to_default is not None and to_random is not None and to_default < to_random


def test_the_blend_beats_each_side_with_few_labels_and_new_folders(library):
    (row,) = simulate_blend(
        X=library.X,
        y=library.y,
        text_vectors=library.text_vectors,
        labels_per_folder=(3,),
        prior_labels_grid=(3.0,),
        new_folders=3,
        seeds=(0, 1),
    )
    assert row.trained is not None and row.blended[3.0] > max(row.trained, row.zero_shot)
    # A folder with 0 labels: the trained model cannot name it, the blend can.
    assert row.new_folder_trained == 0.0
    assert row.new_folder_blended[3.0] >= row.new_folder_zero_shot > 0.5
