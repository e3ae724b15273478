"""mlpipeline.suggestions on the synthetic library: a removed folder comes back as a
suggestion, and the existing folders' strays are purged from it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mlpipeline.classifier import fit_classifier
from mlpipeline.suggestions import SuggestionConfig, _purged, suggest_folders
from mlpipeline.synthetic import SyntheticConfig, make_library


def _missing_shares(seed: int, missing: int, config: SuggestionConfig) -> list[float]:
    """Share of the missing folder in each suggestion (30 % of the others sorted)."""
    library = make_library(SyntheticConfig(seed=seed))
    rng = np.random.default_rng(seed)
    sorted_mask = (library.y != missing) & (rng.random(len(library.y)) < 0.3)
    U, truth = library.X[~sorted_mask], library.y[~sorted_mask]
    L, labels = library.X[sorted_mask], library.y[sorted_mask]
    confidence = fit_classifier(X=L, y=labels).predict_proba(U).max(axis=1)
    found = suggest_folders(
        U, labelled=L, labels=labels.tolist(), confidence=confidence, config=config
    )
    return [float((truth[s.members] == missing).mean()) for s in found]


@pytest.mark.parametrize("missing", [12, 17])
def test_a_small_missing_folder_is_suggested_without_existing_folders(missing: int) -> None:
    shares = _missing_shares(0, missing, SuggestionConfig())
    assert shares and all(share >= 0.5 for share in shares), shares
    # Without the purge the same run's suggestion is mostly existing folders' videos.
    unpurged = _missing_shares(0, missing, replace(SuggestionConfig(), max_sorted_share=np.inf))
    assert unpurged and min(unpurged) < 0.5, unpurged


def test_purge_drops_members_among_sorted_videos_and_keeps_a_small_clean_cluster() -> None:
    rng = np.random.default_rng(0)
    basis = np.eye(8)
    new = basis[0] + 0.05 * rng.standard_normal((6, 8))  # 6 unsorted, no sorted near
    stray = basis[1] + 0.05 * rng.standard_normal((2, 8))  # unsorted among sorted ones
    sorted_ = basis[1] + 0.05 * rng.standard_normal((20, 8))
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    Uc, Lc = unit(np.vstack([new, stray])), unit(sorted_)
    kept = _purged(np.arange(8), Uc, Lc, SuggestionConfig())
    assert kept.tolist() == list(range(6))
