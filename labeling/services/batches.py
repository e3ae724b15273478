"""Labeller batches in team mode: hidden gold videos, signed tokens, answers as votes.

A batch holds ``batch_size`` videos, ``gold_per_batch`` of them gold standards the
labeller cannot tell apart. Answers may come one at a time or all together; votes stay
``counts=False`` while the batch is open. When every video is answered the batch closes:
every gold answer right -> accepted (its votes count, and the decision rule runs for their
videos); any wrong -> discarded (the votes are kept for audit and never count).

The token (django.core.signing) names the batch and its user: an answer with a token
issued to someone else or for another batch is refused, and one for a closed batch (a
replay) too; nothing changes then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils import timezone

from labeling.models import (
    Batch,
    Decision,
    Folder,
    GoldAnswer,
    GoldStandard,
    Library,
    Video,
    Vote,
)
from labeling.selectors.roles import role_at_least
from labeling.selectors.team import (
    batch_answered,
    batch_of_user,
    batch_open_of,
    gold_answer_counts,
    gold_pool,
    team_queue_ids,
)
from labeling.services.errors import ConflictError, InvalidError, NotFoundError, ServiceError
from labeling.services.team import (
    MIN_GOLD_PER_BATCH,
    Decided,
    decisions_carry_out,
    decisions_make_locked,
    decisions_unmoved_retry,
    team_library_check,
    videos_lock,
)

TOKEN_SALT = "vidsort.team.batch"


class TokenRefused(ServiceError):
    """The batch token was not issued to this user for this batch."""

    code = "bad_token"
    http_status = 403


def batch_token(batch: Batch) -> str:
    return signing.dumps({"batch": batch.pk, "user": batch.user_id}, salt=TOKEN_SALT)


def batch_token_check(*, token: str, batch_id: int, user: Any) -> None:
    try:
        claims = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise TokenRefused("the batch token is not valid") from None
    if not isinstance(claims, dict) or claims.get("batch") != batch_id:
        raise TokenRefused("the token was issued for another batch")
    if claims.get("user") != user.pk:
        raise TokenRefused("the token was issued to another user")


# --- a new batch -------------------------------------------------------------------------


def _gold_needed(library: Library) -> int:
    return max(MIN_GOLD_PER_BATCH, library.gold_per_batch)


def _gold_pick(*, library: Library, user: Any, rng: random.Random) -> list[int]:
    pool = [gold.video_id for gold in gold_pool(library=library)]
    needed = _gold_needed(library)
    if len(pool) < needed:
        raise ConflictError(
            f"not enough gold standards: a batch needs {needed} and the library has "
            f"{len(pool)}; a reviewer marks more videos as gold (POST /api/gold)",
            code="not_enough_gold",
        )
    seen = gold_answer_counts(user=user, video_ids=pool)
    rng.shuffle(pool)
    pool.sort(key=lambda pk: seen.get(pk, 0))  # the ones this labeller saw least first
    return pool[:needed]


def batch_create(*, library: Library, user: Any) -> tuple[Batch, bool]:
    """The user's open batch in the library, or a new one; (batch, created).

    Reviewers and owners get no batches: their answer decides (POST /api/decisions).
    """
    team_library_check(library)
    if role_at_least(user, library, "reviewer"):
        raise ConflictError(
            "reviewers get no batches: their answer decides a video (POST /api/decisions)",
            code="reviewer",
        )
    decisions_unmoved_retry(library=library, user=user)
    with transaction.atomic():
        # The user's row lock: two tabs asking at once get the same open batch.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        existing = batch_open_of(library=library, user=user)
        if existing is not None:
            return existing, False
        rng = random.Random()
        gold = _gold_pick(library=library, user=user, rng=rng)
        work = team_queue_ids(library=library, user=user, limit=library.batch_size - len(gold))
        if not work:
            raise ConflictError("no videos are waiting for your vote", code="nothing_to_label")
        videos = work + gold
        rng.shuffle(videos)
        batch = Batch.objects.create(
            library=library, user=user, video_ids=videos, gold_video_ids=gold, gold_total=len(gold)
        )
    return batch, True


# --- answers -----------------------------------------------------------------------------


@dataclass
class AnswerReport:
    batch: Batch
    answered: int
    decided: list[Decided] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.batch.video_ids)

    @property
    def message(self) -> str:
        state = self.batch.state
        if state == Batch.State.ACCEPTED:
            return "Batch accepted: your votes count."
        if state == Batch.State.DISCARDED:
            return (
                f"Batch discarded: {self.batch.gold_total - self.batch.gold_correct} check "
                "answer(s) were wrong, so its votes do not count. Take your time on the next one."
            )
        return f"{self.answered} of {self.size} answered."


def _answers_parse(*, batch: Batch, answers: list[dict[str, Any]]) -> list[tuple[int, Folder]]:
    folders = {f.pk: f for f in Folder.objects.filter(library=batch.library)}
    parsed = []
    for answer in answers:
        video_id, folder_id = answer.get("video"), answer.get("folder")
        if not isinstance(video_id, int) or video_id not in batch.video_ids:
            raise InvalidError(f"video {video_id} is not in batch {batch.pk}", code="not_in_batch")
        if folder_id not in folders:
            raise NotFoundError(f"no folder with id {folder_id} in this library")
        parsed.append((video_id, folders[folder_id]))
    return parsed


def _answer_record(*, batch: Batch, video_id: int, folder: Folder, gold: dict[int, int]) -> None:
    if video_id in batch.gold_video_ids:
        # A gold video unmarked since the batch was made is not checked.
        correct = gold.get(video_id, folder.pk) == folder.pk
        updated = GoldAnswer.objects.filter(batch=batch, video_id=video_id).update(
            folder=folder, correct=correct
        )
        if not updated:
            GoldAnswer.objects.create(
                batch=batch,
                video_id=video_id,
                user_id=batch.user_id,
                folder=folder,
                correct=correct,
            )
        return
    vote = Vote.objects.filter(
        video_id=video_id, user_id=batch.user_id, withdrawn_at__isnull=True
    ).first()
    if vote is None:
        Vote.objects.create(
            video_id=video_id, user_id=batch.user_id, folder=folder, batch=batch, counts=False
        )
    elif vote.batch_id == batch.pk:
        Vote.objects.filter(pk=vote.pk).update(folder=folder)  # a changed mind, still open
    else:
        raise ConflictError(
            f"you already voted on video {video_id} (withdraw that vote first)",
            code="already_voted",
        )


def _batch_close(batch: Batch) -> list[Decision]:
    """Accept or discard the complete batch; the decisions its accepted votes make."""
    answers = list(GoldAnswer.objects.filter(batch=batch).values_list("correct", flat=True))
    batch.gold_total = len(answers)
    batch.gold_correct = sum(answers)
    batch.answered_at = timezone.now()
    made: list[Decision] = []
    if batch.gold_correct < batch.gold_total:
        batch.state = Batch.State.DISCARDED
    else:
        batch.state = Batch.State.ACCEPTED
        votes = Vote.objects.filter(batch=batch, withdrawn_at__isnull=True)
        video_ids = list(votes.values_list("video_id", flat=True))
        locked = videos_lock(video_ids)  # before counting: concurrent closers queue here
        votes.update(counts=True)
        made = decisions_make_locked(videos=locked, needed=batch.library.votes_to_decide)
    batch.save(update_fields=["state", "gold_total", "gold_correct", "answered_at"])
    return made


def batch_answer(
    *, batch_id: int, user: Any, token: str, answers: list[dict[str, Any]]
) -> AnswerReport:
    """Record answers ({"video", "folder": id}) into the user's open batch; all or nothing."""
    batch_token_check(token=token, batch_id=batch_id, user=user)
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id, user_id=user.pk).first()
        if batch is None:
            raise NotFoundError(f"you have no batch {batch_id}")
        if batch.state != Batch.State.OPEN:
            raise ConflictError(
                f"batch {batch_id} is closed ({batch.state}); get a new batch",
                code="batch_closed",
            )
        batch.library = Library.objects.get(pk=batch.library_id)
        team_library_check(batch.library)
        gold = dict(
            GoldStandard.objects.filter(video_id__in=batch.gold_video_ids).values_list(
                "video_id", "folder_id"
            )
        )
        for video_id, folder in _answers_parse(batch=batch, answers=answers):
            _answer_record(batch=batch, video_id=video_id, folder=folder, gold=gold)
        answered = batch_answered(batch=batch)
        made = _batch_close(batch) if answered >= len(batch.video_ids) else []
    return AnswerReport(
        batch=batch, answered=answered, decided=decisions_carry_out(decisions=made, user=user)
    )


def batch_get(*, batch_id: int, user: Any) -> tuple[Batch, int]:
    """The user's own batch and how many of its videos are answered."""
    batch = batch_of_user(batch_id=batch_id, user=user)
    if batch is None:
        raise NotFoundError(f"you have no batch {batch_id}")
    return batch, batch_answered(batch=batch)


def vote_cast(*, video: Video, user: Any, folder_id: int) -> AnswerReport:
    """One answer (POST /api/votes) into the user's open batch that holds ``video``.

    Labellers vote only through batches, so that every counting vote passed a gold check.
    """
    team_library_check(video.library)
    batch = batch_open_of(library=video.library, user=user)
    if batch is None or video.pk not in batch.video_ids:
        raise ConflictError(
            f"video {video.pk} is not in an open batch of yours; get one with POST /api/batches",
            code="not_in_batch",
        )
    return batch_answer(
        batch_id=batch.pk,
        user=user,
        token=batch_token(batch),
        answers=[{"video": video.pk, "folder": folder_id}],
    )


def batch_id_of_token(token: str) -> int:
    """The batch a token names (TokenRefused when it is not one of ours)."""
    try:
        claims = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise TokenRefused("the batch token is not valid") from None
    batch_id = claims.get("batch") if isinstance(claims, dict) else None
    if not isinstance(batch_id, int):
        raise TokenRefused("the batch token is not valid")
    return batch_id
