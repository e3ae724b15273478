"""Team mode: decisions, withdrawn votes, gold standards and the team settings.

In team mode a labeller's answer is a vote (labeling.services.batches records them); a
video's file moves once, when its label is decided (docs/team.md has the rules):

- Deciding happens in a transaction holding the video row (SELECT ... FOR NO KEY UPDATE):
  the votes are counted and the Decision row (one per video) written under that lock, so
  concurrent answers, batches and reviewers decide each video exactly once.
- The move itself runs after that commit, through the journalled sort service
  (route "vote"); the Decision then points at its LabelEvent. A move that fails leaves
  the decision standing with no event: a reviewer's decision with the same folder retries it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from labeling.models import (
    Batch,
    Decision,
    Folder,
    GoldAnswer,
    GoldStandard,
    LabelEvent,
    Library,
    Membership,
    Video,
    Vote,
)
from labeling.selectors.roles import role_at_least
from labeling.selectors.team import decisions_unmoved
from labeling.services.errors import ConflictError, InvalidError, NotFoundError, ServiceError
from labeling.services.moves import MoveResult
from labeling.services.sorting import video_sort
from mlpipeline.agreement import consensus, plurality

logger = logging.getLogger(__name__)


class RoleRefused(ServiceError):
    """The user's role in the video's library is too low (a video named in a body may
    belong to another library than the one the request's role was checked in)."""

    code = "role_required"
    http_status = 403


def role_require(*, user: Any, library: Library, minimum: str) -> None:
    if not role_at_least(user, library, minimum):
        raise RoleRefused(f"needs the {minimum} role in library {library.pk}")


def team_library_check(library: Library) -> None:
    """ConflictError (code not_team_mode) unless the library is in team mode."""
    if not library.team_mode:
        raise ConflictError(
            f"library {library.pk} is not in team mode; sort videos directly",
            code="not_team_mode",
        )


def videos_lock(video_ids: Iterable[int]) -> list[Video]:
    """Lock these video rows in id order (the order every team write uses: no deadlocks).

    NO KEY UPDATE: votes and decisions being inserted for the video (foreign-key checks
    take KEY SHARE) do not block on it, while two deciders exclude each other.
    """
    return list(
        Video.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk__in=sorted(set(video_ids)))
        .order_by("pk")
    )


def _counting_folders(video_id: int) -> list[int]:
    return list(
        Vote.objects.filter(video_id=video_id, counts=True, withdrawn_at__isnull=True)
        .order_by("pk")
        .values_list("folder_id", flat=True)
    )


def decisions_make_locked(*, videos: list[Video], needed: int) -> list[Decision]:
    """Decide each locked, undecided, loose video whose counting votes reach consensus."""
    decided = set(Decision.objects.filter(video__in=videos).values_list("video_id", flat=True))
    made = []
    for video in videos:
        if video.pk in decided or video.folder_id is not None:
            continue  # decided, or sorted outside the vote (a reviewer, single-user mode)
        outcome = consensus(_counting_folders(video.pk), needed)
        if outcome is None:
            continue
        folder_id, kind = outcome
        made.append(
            Decision.objects.create(
                video=video, folder_id=folder_id, kind=kind, consensus_folder_id=folder_id
            )
        )
    return made


@dataclass
class Decided:
    """A decision and what moving its file did (``error``: the move failed, retry later)."""

    decision: Decision
    result: MoveResult | None = None
    error: str = ""


def decision_carry_out(*, decision: Decision, user: Any) -> Decided:
    """Move the decided video into its folder (call after the deciding commit)."""
    video = Video.objects.select_related("library", "folder").get(pk=decision.video_id)
    try:
        result = video_sort(
            video=video, folder=decision.folder, user=user, route=LabelEvent.Route.VOTE
        )
    except ServiceError as exc:
        logger.warning("decision on video %s: the move failed: %s", video.pk, exc)
        return Decided(decision=decision, error=f"{exc.code}: {exc}")
    if result.event is not None:
        decision.label_event = result.event
        Decision.objects.filter(pk=decision.pk).update(label_event=result.event)
    return Decided(decision=decision, result=result)


def decisions_carry_out(*, decisions: list[Decision], user: Any) -> list[Decided]:
    return [decision_carry_out(decision=d, user=user) for d in decisions]


# A decision whose move did not happen (the process died after the deciding commit, or
# the disk refused) is carried out again by the next batch request, once no mover can
# still be on it.
UNMOVED_RETRY_AFTER_SECONDS = 60.0


def decisions_unmoved_retry(*, library: Library, user: Any, limit: int = 20) -> list[Decided]:
    """Carry out decisions left without their move (older than a minute)."""
    cutoff = timezone.now() - timedelta(seconds=UNMOVED_RETRY_AFTER_SECONDS)
    stale = decisions_unmoved(library=library, before=cutoff).filter(label_event__isnull=True)
    stale = stale[:limit]
    return decisions_carry_out(decisions=list(stale), user=user)


def decision_by_reviewer(*, video: Video, folder: Folder, user: Any) -> Decided:
    """A reviewer's answer decides the video alone (kind "reviewer"); the labellers'
    plurality, if any, is kept apart as ``consensus_folder``.

    ConflictError (already_decided) when decided otherwise before; deciding again with
    the decided folder retries a move that failed.
    """
    team_library_check(video.library)
    role_require(user=user, library=video.library, minimum=Membership.Role.REVIEWER)
    if folder.library_id != video.library_id:
        raise InvalidError("the folder belongs to another library")
    with transaction.atomic():
        videos_lock([video.pk])
        decision = Decision.objects.filter(video=video).select_related("folder").first()
        if decision is not None and (
            decision.folder_id != folder.pk or decision.label_event_id is not None
        ):
            raise ConflictError(
                f"video {video.pk} was already decided ({decision.kind}) for "
                f"{decision.folder.name!r}",
                code="already_decided",
            )
        if decision is None:
            decision = Decision.objects.create(
                video=video,
                folder=folder,
                kind=Decision.Kind.REVIEWER,
                consensus_folder_id=plurality(_counting_folders(video.pk)),
                decided_by=user,
            )
    return decision_carry_out(decision=decision, user=user)


# --- withdrawing one's last vote --------------------------------------------------------


@dataclass
class Withdrawn:
    video: int
    batch: int | None


def vote_undo(*, library: Library, user: Any) -> Withdrawn:
    """Withdraw the user's latest answer: a standing vote on an undecided video, or a gold
    answer in a batch still open (so undo does not tell gold videos apart).

    ConflictError (decided) when that video is decided; NotFoundError when there is none.
    """
    vote = (
        Vote.objects.filter(video__library=library, user_id=user.pk, withdrawn_at__isnull=True)
        .order_by("-created_at", "-pk")
        .first()
    )
    gold = (
        GoldAnswer.objects.filter(
            batch__library=library, user_id=user.pk, batch__state=Batch.State.OPEN
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if gold is not None and (vote is None or gold.created_at > vote.created_at):
        with transaction.atomic():
            Batch.objects.select_for_update().filter(pk=gold.batch_id).first()
            GoldAnswer.objects.filter(pk=gold.pk).delete()
        return Withdrawn(video=gold.video_id, batch=gold.batch_id)
    if vote is None:
        raise NotFoundError("you have no vote to withdraw", code="nothing_to_undo")
    with transaction.atomic():
        if vote.batch_id is not None:
            Batch.objects.select_for_update().filter(pk=vote.batch_id).first()
        videos_lock([vote.video_id])
        if Decision.objects.filter(video_id=vote.video_id).exists():
            raise ConflictError(
                f"video {vote.video_id} is decided; its votes can no longer be withdrawn",
                code="decided",
            )
        updated = Vote.objects.filter(pk=vote.pk, withdrawn_at__isnull=True).update(
            withdrawn_at=timezone.now(), counts=False
        )
        if not updated:
            raise ConflictError("that vote was withdrawn meanwhile", code="conflict")
    return Withdrawn(video=vote.video_id, batch=vote.batch_id)


# --- gold standards ----------------------------------------------------------------------


def gold_mark(*, video: Video, folder: Folder, user: Any) -> tuple[GoldStandard, Decided | None]:
    """Mark ``video`` as gold with its known ``folder``.

    A gold video is a normal labelled video: in team mode an undecided one is decided
    (kind reviewer) and moved there; outside team mode a loose one is sorted there.
    """
    role_require(user=user, library=video.library, minimum=Membership.Role.REVIEWER)
    if folder.library_id != video.library_id:
        raise InvalidError("the folder belongs to another library")
    decision = Decision.objects.filter(video=video).first()
    if decision is not None and decision.folder_id != folder.pk:
        raise ConflictError(
            f"video {video.pk} is decided for another folder", code="already_decided"
        )
    gold, _ = GoldStandard.objects.update_or_create(
        video=video, defaults={"folder": folder, "created_by": user}
    )
    decided = None
    if video.library.team_mode and decision is None:
        decided = decision_by_reviewer(video=video, folder=folder, user=user)
    elif video.folder_id != folder.pk:
        video_sort(video=video, folder=folder, user=user, route=LabelEvent.Route.API)
    return gold, decided


def gold_unmark(*, library: Library, video_id: int) -> None:
    deleted, _ = GoldStandard.objects.filter(video_id=video_id, video__library=library).delete()
    if not deleted:
        raise NotFoundError(f"video {video_id} is not a gold standard")


# --- settings ----------------------------------------------------------------------------

TEAM_SETTINGS = ("team_mode", "votes_to_decide", "batch_size", "gold_per_batch")
MIN_GOLD_PER_BATCH = 2


def team_settings_update(*, library: Library, changes: dict[str, Any]) -> Library:
    """Change the team settings. Switching team mode off or on keeps every vote, batch,
    decision and sorted file: pending votes wait, and count again once it is back on."""
    values = {key: changes.get(key, getattr(library, key)) for key in TEAM_SETTINGS}
    if values["gold_per_batch"] < MIN_GOLD_PER_BATCH:
        raise InvalidError(f"gold_per_batch must be at least {MIN_GOLD_PER_BATCH}")
    if values["batch_size"] <= values["gold_per_batch"]:
        raise InvalidError("batch_size must be larger than gold_per_batch")
    if values["votes_to_decide"] < 1:
        raise InvalidError("votes_to_decide must be at least 1")
    with transaction.atomic():
        Library.objects.filter(pk=library.pk).update(**values)
    for key, value in values.items():
        setattr(library, key, value)
    return library
