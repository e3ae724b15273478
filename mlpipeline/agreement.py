"""Team labelling arithmetic: when votes decide a video, and how well labellers agree.

Plain Python (no Django): the labeling app gathers the votes and calls these. scikit-learn
and krippendorff are imported inside the functions that need them, so a web process that
imports this module does not load them (tests/test_lazy_imports.py).

Folders are given as integers (folder ids); users as integers (user ids).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

STRONG = "strong"
WEAK = "weak"


def consensus(folders: Sequence[int], needed: int) -> tuple[int, str] | None:
    """The decided folder and its kind for a video's counting votes, or None (undecided).

    The leading folder decides once it has at least ``needed`` votes and strictly more
    than any other folder. "strong" when no vote names another folder, "weak" when some do
    (the video was disputed). With ``needed`` = 2: two agreeing votes decide (strong); a
    1-1 dispute waits for a third vote and 2-1 decides (weak, the majority of three); 1-1-1
    and 2-2 wait for more votes (or a reviewer).
    """
    if not folders:
        return None
    ranked = Counter(folders).most_common()
    leader, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0
    if top < max(needed, 1) or top == second:
        return None
    return leader, (STRONG if second == 0 else WEAK)


def plurality(folders: Sequence[int]) -> int | None:
    """The folder most votes name, or None when there are none or the lead is tied."""
    ranked = Counter(folders).most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's kappa of two labellers' answers on the same videos (None: undefined)."""
    if len(a) < 2:
        return None
    from sklearn.metrics import cohen_kappa_score  # noqa: PLC0415  # heavy: only when used

    if len(set(a) | set(b)) < 2:
        return None  # one folder only: chance agreement is 1, kappa is 0/0
    value = float(cohen_kappa_score(list(a), list(b)))
    return None if math.isnan(value) else value


def krippendorff_alpha(units: Iterable[Mapping[Any, int]]) -> float | None:
    """Krippendorff's alpha (nominal) over units (videos) each mapping rater -> folder.

    Units with fewer than two ratings are pairable with nothing and left out. None when
    no unit has two ratings or every rating names the same folder (alpha is 0/0).
    """
    rated = [unit for unit in units if len(unit) >= 2]
    if not rated:
        return None
    values = {value for unit in rated for value in unit.values()}
    if len(values) < 2:
        return None
    import krippendorff  # noqa: PLC0415  # heavy: only when used
    import numpy as np  # noqa: PLC0415

    raters = sorted({rater for unit in rated for rater in unit}, key=str)
    row = {rater: i for i, rater in enumerate(raters)}
    data = np.full((len(raters), len(rated)), np.nan)
    for j, unit in enumerate(rated):
        for rater, value in unit.items():
            data[row[rater], j] = value
    alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    return None if math.isnan(alpha) else alpha


@dataclass(frozen=True)
class VoteRecord:
    """One labeller's standing vote: ``counts`` False when its batch was not accepted."""

    user: int
    video: int
    folder: int
    counts: bool = True


@dataclass
class LabellerFigures:
    user: int
    votes: int = 0
    agreeing: int = 0  # votes on decided videos that name the decided folder
    on_decided: int = 0

    @property
    def agreement_with_decided(self) -> float | None:
        return self.agreeing / self.on_decided if self.on_decided else None


@dataclass
class PairKappa:
    a: int
    b: int
    kappa: float | None
    n: int


@dataclass
class Agreement:
    labellers: dict[int, LabellerFigures] = field(default_factory=dict)
    kappa: list[PairKappa] = field(default_factory=list)
    alpha: float | None = None
    videos_with_2plus_votes: int = 0


def agreement(votes: Sequence[VoteRecord], decided: Mapping[int, int]) -> Agreement:
    """Per-labeller figures, pairwise kappa and the team's alpha.

    ``votes``: every standing vote; ``decided``: video -> decided folder. Agreement with the
    decided label uses all standing votes on decided videos; kappa and alpha use the votes
    that count (accepted batches), the ones that make decisions.
    """
    result = Agreement()
    for vote in votes:
        figures = result.labellers.setdefault(vote.user, LabellerFigures(user=vote.user))
        figures.votes += 1
        if vote.video in decided:
            figures.on_decided += 1
            figures.agreeing += int(decided[vote.video] == vote.folder)
    by_video: dict[int, dict[int, int]] = {}
    for vote in votes:
        if vote.counts:
            by_video.setdefault(vote.video, {})[vote.user] = vote.folder
    users = sorted({user for unit in by_video.values() for user in unit})
    for a, b in combinations(users, 2):
        shared = [unit for unit in by_video.values() if a in unit and b in unit]
        kappa = cohen_kappa([u[a] for u in shared], [u[b] for u in shared])
        result.kappa.append(PairKappa(a=a, b=b, kappa=kappa, n=len(shared)))
    result.videos_with_2plus_votes = sum(1 for unit in by_video.values() if len(unit) >= 2)
    result.alpha = krippendorff_alpha(by_video.values())
    return result
