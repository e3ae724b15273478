"""Team agreement arithmetic against values computed by hand (mlpipeline.agreement)."""

from __future__ import annotations

import pytest

from mlpipeline.agreement import (
    STRONG,
    WEAK,
    VoteRecord,
    agreement,
    cohen_kappa,
    consensus,
    krippendorff_alpha,
    plurality,
)

# Three labellers (1, 2, 3), six videos (10-15), folders 1 and 2; every vote counts.
VOTES = {
    1: {10: 1, 11: 1, 12: 2, 13: 2, 14: 1, 15: 2},
    2: {10: 1, 11: 2, 12: 2, 13: 2, 14: 1},
    3: {10: 1, 11: 1, 12: 1, 15: 2},
}
DECIDED = {10: 1, 11: 1, 12: 2, 15: 2}


def _records() -> list[VoteRecord]:
    return [
        VoteRecord(user=user, video=video, folder=folder)
        for user, answers in VOTES.items()
        for video, folder in answers.items()
    ]


def test_kappa_matches_the_hand_computed_values() -> None:
    # 1 vs 2 on 10-14: po = 4/5; marginals (3/5, 2/5) and (2/5, 3/5): pe = 0.48;
    # kappa = (0.8 - 0.48) / 0.52 = 8/13.
    assert cohen_kappa([1, 1, 2, 2, 1], [1, 2, 2, 2, 1]) == pytest.approx(8 / 13)
    result = agreement(_records(), DECIDED)
    pairs = {(p.a, p.b): (p.kappa, p.n) for p in result.kappa}
    assert pairs[(1, 2)] == (pytest.approx(8 / 13), 5)
    # 1 vs 3 on 10, 11, 12, 15: po = 3/4, pe = 1/2*3/4 + 1/2*1/4 = 1/2: kappa = 1/2.
    assert pairs[(1, 3)] == (pytest.approx(0.5), 4)
    # 2 vs 3 on 10, 11, 12: po = 1/3, pe = 1/3*1 + 2/3*0 = 1/3: kappa = 0.
    assert pairs[(2, 3)] == (pytest.approx(0.0), 3)


def test_alpha_matches_the_hand_computed_value() -> None:
    # Coincidences: o11 = 6, o22 = 5, o12 = o21 = 2; n1 = 8, n2 = 7, n = 15.
    # Do = 4/15, De = 2*8*7 / (15*14) = 112/210; alpha = 1 - Do/De = 1/2.
    result = agreement(_records(), DECIDED)
    assert result.alpha == pytest.approx(0.5)
    assert result.videos_with_2plus_votes == 6


def test_per_labeller_figures() -> None:
    result = agreement(_records(), DECIDED)
    figures = result.labellers
    assert [figures[u].votes for u in (1, 2, 3)] == [6, 5, 4]
    # Votes on decided videos naming the decided folder: 4/4, 2/3 (11 wrong), 3/4 (12 wrong).
    assert figures[1].agreement_with_decided == pytest.approx(1.0)
    assert figures[2].agreement_with_decided == pytest.approx(2 / 3)
    assert figures[3].agreement_with_decided == pytest.approx(3 / 4)


def test_votes_that_do_not_count_stay_out_of_kappa_and_alpha() -> None:
    records = [*_records(), VoteRecord(user=4, video=10, folder=2, counts=False)]
    result = agreement(records, DECIDED)
    assert result.alpha == pytest.approx(0.5)
    assert all(4 not in (p.a, p.b) for p in result.kappa)
    assert result.labellers[4].votes == 1
    assert result.labellers[4].agreement_with_decided == 0.0


def test_undefined_figures_are_none() -> None:
    assert cohen_kappa([1], [1]) is None
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) is None  # one folder: 0/0
    assert krippendorff_alpha([{1: 1, 2: 1}, {1: 2}]) is None  # one folder among pairables
    assert krippendorff_alpha([{1: 1}]) is None
    assert agreement([], {}).alpha is None


@pytest.mark.parametrize(
    ("folders", "needed", "expected"),
    [
        ([], 2, None),
        ([1], 2, None),
        ([1, 1], 2, (1, STRONG)),
        ([1, 2], 2, None),
        ([1, 2, 1], 2, (1, WEAK)),  # the majority of three
        ([1, 2, 3], 2, None),
        ([1, 2, 3, 2], 2, (2, WEAK)),
        ([1, 2, 1, 2], 2, None),  # a tie waits
        ([1, 1, 2], 3, None),
        ([1, 1, 1], 3, (1, STRONG)),
        ([1, 2, 1, 1], 3, (1, WEAK)),
        ([3], 1, (3, STRONG)),
    ],
)
def test_consensus(folders: list[int], needed: int, expected: tuple | None) -> None:
    assert consensus(folders, needed) == expected


def test_plurality() -> None:
    assert plurality([]) is None
    assert plurality([1, 2]) is None
    assert plurality([1, 2, 2]) == 2
