"""Reads of team mode: a labeller's next videos, the review queue, votes and agreement."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from labeling.models import (
    Batch,
    Decision,
    GoldAnswer,
    GoldStandard,
    Library,
    Video,
    Vote,
)
from labeling.selectors.preferences import queue_order_for_user
from labeling.selectors.videos import queue_page, videos_with_prediction
from mlpipeline.agreement import Agreement, VoteRecord, agreement

# Videos a team may still vote on: loose, playable, undecided, not a gold standard.
TEAM_QUEUE_FILTERS: dict[str, Any] = {
    "folder__isnull": True,
    "status": Video.Status.OK,
    "decision__isnull": True,
    "gold__isnull": True,
}


def _standing_votes(library: Library) -> Any:
    return Vote.objects.filter(video__library=library, withdrawn_at__isnull=True)


def votes_undecided_by_video(*, library: Library) -> dict[int, list[int]]:
    """Undecided loose videos with votes -> the folders of their counting votes."""
    rows = _standing_votes(library).filter(video__decision__isnull=True, video__folder__isnull=True)
    found: dict[int, list[int]] = {}
    for video_id, folder_id, counts in rows.values_list("video_id", "folder_id", "counts"):
        folders = found.setdefault(video_id, [])  # listed even with non-counting votes only
        if counts:
            folders.append(folder_id)
    return found


def team_queue_ids(*, library: Library, user: Any, limit: int) -> list[int]:
    """A labeller's next videos: disputed ones first, then ones with votes, then the rest.

    Videos the user has a standing vote on are skipped; within each group the user's
    active-learning queue order applies (labeling.selectors.videos.queue_page).
    """
    mine = set(_standing_votes(library).filter(user_id=user.pk).values_list("video_id", flat=True))
    voted = votes_undecided_by_video(library=library)
    disputed = {v for v, folders in voted.items() if len(set(folders)) > 1} - mine
    rest_voted = set(voted) - disputed - mine
    order = queue_order_for_user(user=user)
    ids: list[int] = []
    groups: list[dict[str, Any]] = [
        {"pk__in": sorted(disputed)},
        {"pk__in": sorted(rest_voted)},
        {"votes__isnull": True},
    ]
    for extra in groups:
        if len(ids) >= limit or extra.get("pk__in") == []:
            continue
        page, _ = queue_page(
            library=library,
            order=order,
            limit=limit - len(ids),
            seed=user.pk or 0,
            filters=TEAM_QUEUE_FILTERS | extra,
        )
        ids += [video.pk for video in page if video.pk not in ids]
    return ids[:limit]


def decisions_unmoved(*, library: Library, before: Any) -> QuerySet[Decision]:
    """Decisions made before ``before`` whose video is not (yet) in the decided folder."""
    return (
        Decision.objects.filter(video__library=library, created_at__lte=before)
        .exclude(video__folder_id=F("folder_id"))
        .exclude(video__status=Video.Status.MISSING)
        .select_related("folder", "video")
        .order_by("pk")
    )


def gold_pool(*, library: Library) -> list[GoldStandard]:
    """The library's gold standards whose video is playable."""
    return list(
        GoldStandard.objects.filter(video__library=library, video__status=Video.Status.OK)
        .select_related("video", "folder")
        .order_by("video_id")
    )


def gold_answer_counts(*, user: Any, video_ids: list[int]) -> dict[int, int]:
    """How often the user has answered each of these gold videos."""
    rows = (
        GoldAnswer.objects.filter(user_id=user.pk, video_id__in=video_ids)
        .values("video_id")
        .annotate(n=Count("id"))
    )
    return {row["video_id"]: row["n"] for row in rows}


def batch_open_of(*, library: Library, user: Any) -> Batch | None:
    return Batch.objects.filter(library=library, user_id=user.pk, state=Batch.State.OPEN).first()


def batch_of_user(*, batch_id: int, user: Any) -> Batch | None:
    return Batch.objects.filter(pk=batch_id, user_id=user.pk).select_related("library").first()


def batch_answered(*, batch: Batch) -> int:
    """Videos of the batch answered so far (votes standing in it, gold answers)."""
    votes = Vote.objects.filter(batch=batch, withdrawn_at__isnull=True).count()
    return votes + GoldAnswer.objects.filter(batch=batch).count()


def batch_videos(*, batch: Batch) -> list[Video]:
    """The batch's videos in the order shown, with their predictions."""
    rows = {
        v.pk: v
        for v in videos_with_prediction(library=batch.library).filter(pk__in=batch.video_ids)
    }
    return [rows[pk] for pk in batch.video_ids if pk in rows]


def video_votes(*, video: Video) -> list[Vote]:
    """Standing votes on a video, oldest first, with their users."""
    return list(
        Vote.objects.filter(video=video, withdrawn_at__isnull=True)
        .select_related("user", "folder")
        .order_by("created_at", "pk")
    )


def video_decision(*, video: Video) -> Decision | None:
    return (
        Decision.objects.filter(video=video)
        .select_related("folder", "consensus_folder", "decided_by")
        .first()
    )


def review_queue(*, library: Library, limit: int = 100) -> list[Video]:
    """Undecided videos with votes, disputed first; each with ``team_votes`` and
    ``disputed`` set, and its prediction (pred_* annotations)."""
    voted = votes_undecided_by_video(library=library)
    disputed = {v for v, folders in voted.items() if len(set(folders)) > 1}
    ordered = sorted(voted, key=lambda v: (v not in disputed, v))[:limit]
    rows = {v.pk: v for v in videos_with_prediction(library=library).filter(pk__in=ordered)}
    votes: dict[int, list[Vote]] = defaultdict(list)
    standing = Vote.objects.filter(video_id__in=ordered, withdrawn_at__isnull=True)
    for vote in standing.select_related("user", "folder").order_by("created_at", "pk"):
        votes[vote.video_id].append(vote)
    found = []
    for pk in ordered:
        if pk in rows:
            video = rows[pk]
            video.team_votes = votes[pk]  # type: ignore[attr-defined]
            video.disputed = pk in disputed  # type: ignore[attr-defined]
            found.append(video)
    return found


def gold_list(*, library: Library) -> list[GoldStandard]:
    return list(
        GoldStandard.objects.filter(video__library=library)
        .select_related("video", "folder", "created_by")
        .order_by("video_id")
    )


def decided_counts(*, library: Library) -> dict[str, int]:
    counts = dict.fromkeys(Decision.Kind.values, 0)
    rows = Decision.objects.filter(video__library=library).values("kind").annotate(n=Count("id"))
    counts.update({row["kind"]: row["n"] for row in rows})
    return counts


def team_agreement(*, library: Library) -> Agreement:
    """Agreement figures over the library's standing votes (mlpipeline.agreement)."""
    votes = [
        VoteRecord(user=u, video=v, folder=f, counts=c)
        for u, v, f, c in _standing_votes(library).values_list(
            "user_id", "video_id", "folder_id", "counts"
        )
    ]
    decided = dict(
        Decision.objects.filter(video__library=library).values_list("video_id", "folder_id")
    )
    return agreement(votes, decided)


def labeller_quality(*, library: Library) -> dict[int, dict[str, Any]]:
    """Per user with batches: gold answers right/total, batches accepted/discarded."""
    found: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"gold_correct": 0, "gold_total": 0, "accepted": 0, "discarded": 0}
    )
    answers = (
        GoldAnswer.objects.filter(batch__library=library)
        .exclude(batch__state=Batch.State.OPEN)
        .values("user_id")
        .annotate(total=Count("id"), right=Count("id", filter=Q(correct=True)))
    )
    for row in answers:
        found[row["user_id"]]["gold_total"] = row["total"]
        found[row["user_id"]]["gold_correct"] = row["right"]
    batches = (
        Batch.objects.filter(library=library)
        .exclude(state=Batch.State.OPEN)
        .values("user_id", "state")
        .annotate(n=Count("id"))
    )
    for user_id, state, n in batches.values_list("user_id", "state", "n"):
        found[user_id][state] = n
    return dict(found)


def label_statistics(*, library: Library) -> dict[str, int]:
    """Playable videos, decided ones, undecided ones with counting votes (CMU's figures)."""
    playable = Video.objects.filter(library=library, status=Video.Status.OK)
    decided = Decision.objects.filter(video__library=library).count()
    partial = (
        playable.filter(decision__isnull=True, votes__counts=True, votes__withdrawn_at__isnull=True)
        .distinct()
        .count()
    )
    return {
        "num_all_videos": playable.count(),
        "num_fully_labeled": decided,
        "num_partially_labeled": partial,
    }


def _labeller_row(user_id: int, names: dict[int, str], figures: Any, quality: dict) -> dict:
    gold_total = quality.get("gold_total", 0)
    return {
        "user": user_id,
        "username": names.get(user_id, ""),
        "votes": figures.votes if figures else 0,
        "gold_accuracy": quality.get("gold_correct", 0) / gold_total if gold_total else None,
        "batches_discarded": quality.get("discarded", 0),
        "batches_accepted": quality.get("accepted", 0),
        "agreement_with_decided": figures.agreement_with_decided if figures else None,
    }


def team_stats(*, library: Library, user: Any, see_all: bool) -> dict[str, Any]:
    """GET /api/team/stats: per labeller rows (only ``user``'s unless ``see_all``), pairwise
    kappa, the team's alpha, and decided counts by kind."""
    from django.contrib.auth import get_user_model  # noqa: PLC0415

    figures = team_agreement(library=library)
    quality = labeller_quality(library=library)
    user_ids = sorted(set(figures.labellers) | set(quality))
    if not see_all:
        user_ids = [pk for pk in user_ids if pk == user.pk]
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    rows = [
        _labeller_row(pk, names, figures.labellers.get(pk), quality.get(pk, {})) for pk in user_ids
    ]
    kappa = [
        {"a": p.a, "b": p.b, "kappa": p.kappa, "n": p.n}
        for p in figures.kappa
        if see_all or user.pk in (p.a, p.b)
    ]
    return {
        "labellers": rows,
        "kappa": kappa,
        "alpha": figures.alpha,
        "videos_with_2plus_votes": figures.videos_with_2plus_votes,
        "decided": decided_counts(library=library),
    }
