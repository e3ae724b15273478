"""Three labellers and a reviewer label the same 50 videos at once, through the API, on
real PostgreSQL: every video is decided exactly once and its file moved exactly once.

Each person is a thread with its own API client (and so its own database connection).
Labellers take batches (small ones, with hidden gold) until nothing is left for them; each
answers in its own way (key by key, all at once, or through POST /api/votes) and disagrees
on some videos. The reviewer meanwhile decides videos straight away and settles the
disputes from the review queue until every video is decided.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from labeling.models import Batch, Decision, LabelEvent, MoveIntent, Video, Vote
from mlpipeline.agreement import consensus
from tests.labeling.helpers import assert_safe
from tests.labeling.team_setup import Team, add_user, team_library

pytestmark = pytest.mark.django_db(transaction=True)

VIDEOS = 50
DEADLINE = 240.0  # seconds: a loaded 2-core machine


def _truth(team: Team, index: int) -> str:
    return "ab"[index % 2]


def _pick(team: Team, who: int, index: int) -> str:
    """Labeller ``who``'s answer for loose video ``index``: mostly the truth, some not."""
    if who == 1 and index % 5 == 0:
        return "c"
    if who == 2 and index % 7 == 0:
        return "b" if _truth(team, index) == "a" else "a"
    return _truth(team, index)


def _labeller(team: Team, who: int, client: APIClient, errors: list[str]) -> None:
    index = {v.pk: i for i, v in enumerate(team.loose)}
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        response = client.post("/api/batches", {}, format="json")
        if response.status_code == 409 and response.json()["error"] == "nothing_to_label":
            return
        if response.status_code not in (200, 201):
            errors.append(f"labeller {who}: batch {response.status_code} {response.content!r}")
            return
        batch = response.json()
        answers = []
        for item in batch["videos"]:
            pk = item["id"]
            name = _pick(team, who, index[pk]) if pk in index else None
            folder = team.gold[pk] if pk in team.gold else team.folders[name].pk
            answers.append({"video": pk, "folder": folder})
        if who == 0:  # key by key
            for answer in answers:
                _send(client, batch, [answer], errors)
        elif who == 1:  # all together
            _send(client, batch, answers, errors)
        else:  # one by one through POST /api/votes
            for answer in answers:
                response = client.post("/api/votes", answer, format="json")
                if response.status_code != 200:
                    errors.append(f"vote {response.status_code} {response.content!r}")
    errors.append(f"labeller {who} ran out of time")


def _send(client: APIClient, batch: dict, answers: list[dict], errors: list[str]) -> None:
    response = client.post(
        f"/api/batches/{batch['id']}/answers",
        {"token": batch["token"], "answers": answers},
        format="json",
    )
    if response.status_code != 200:
        errors.append(f"answers {response.status_code} {response.content!r}")


def _reviewer(team: Team, client: APIClient, errors: list[str], done: threading.Event) -> None:
    """Decide every 6th video at once, then settle what the labellers leave undecided."""
    for i, video in enumerate(team.loose):
        if i % 6 == 3:
            _decide(client, video.pk, "c", errors)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        undecided = Video.objects.filter(pk__in=[v.pk for v in team.loose], decision__isnull=True)
        if not undecided.exists():
            return
        if done.is_set():  # the labellers are through: what is left is the reviewer's
            for video in undecided:
                _decide(client, video.pk, "a", errors)
        for item in client.get("/api/review").json()["videos"]:
            if item["disputed"]:
                _decide(client, item["id"], item["votes"][0]["folder"], errors)
        time.sleep(0.05)
    errors.append("the reviewer ran out of time")


def _decide(client: APIClient, pk: int, folder: str, errors: list[str]) -> None:
    response = client.post("/api/decisions", {"video": pk, "folder": folder}, format="json")
    if response.status_code == 409 and response.json()["error"] == "already_decided":
        return  # the labellers' votes were faster
    if response.status_code != 200:
        errors.append(f"decision {response.status_code} {response.content!r}")


def _in_thread(target: Callable[..., None], *args: Any) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_three_labellers_and_a_reviewer_decide_each_video_exactly_once(
    settings: Settings, library_dir: Path
) -> None:
    settings.VIDSORT_LIBRARY = library_dir
    team = team_library(library_dir, loose=VIDEOS, batch_size=8, gold_per_batch=2)
    labellers = [add_user(team, f"lab{i}", "labeller") for i in range(3)]
    add_user(team, "rev", "reviewer")
    errors: list[str] = []
    done = threading.Event()
    clients = [team.client(user.username) for user in labellers]
    threads = [_in_thread(_labeller, team, i, clients[i], errors) for i in range(3)]
    reviewer = _in_thread(_reviewer, team, team.client("rev"), errors, done)
    for thread in threads:
        thread.join(DEADLINE + 30)
    done.set()
    reviewer.join(DEADLINE + 30)
    assert not errors, errors[:5]

    loose_ids = {v.pk for v in team.loose}
    decisions = {d.video_id: d for d in Decision.objects.select_related("label_event")}
    assert set(decisions) == loose_ids  # every video decided; one row per video by schema
    for pk, decision in decisions.items():
        video = Video.objects.select_related("folder").get(pk=pk)
        assert video.folder_id == decision.folder_id
        assert (library_dir / video.path).is_file()
        assert video.path.startswith(f"{video.folder.name}/")
        # Moved exactly once: one label event, the decision's, from the root to the folder.
        events = LabelEvent.objects.filter(video_id=pk)
        assert events.count() == 1, list(events.values("route", "to_name"))
        assert decision.label_event == events.get()
        assert decision.label_event.route == LabelEvent.Route.VOTE
        assert "/" not in decision.label_event.from_path  # from the root
        _assert_consistent(decision, pk)
    assert not MoveIntent.objects.filter(state=MoveIntent.State.PENDING).exists()
    assert_safe(team.library, team.originals)  # no file lost or doubled; rows match disk
    kinds = {d.kind for d in decisions.values()}
    assert {"strong", "reviewer"} <= kinds


def _assert_consistent(decision: Decision, pk: int) -> None:
    """Votes and decision agree: a labeller decision is what the counting votes say."""
    counting = list(
        Vote.objects.filter(video_id=pk, counts=True, withdrawn_at__isnull=True).values_list(
            "folder_id", flat=True
        )
    )
    if decision.kind == Decision.Kind.REVIEWER:
        assert decision.decided_by is not None
        return
    # The decided folder leads the counting votes with at least two (votes_to_decide); a
    # strong decision was unanimous when made, a weak one was not: with three labellers
    # each can at most add one other vote afterwards.
    assert consensus(counting, 2) is not None
    assert consensus(counting, 2)[0] == decision.folder_id, (pk, counting, decision.kind)
    if decision.kind == Decision.Kind.WEAK:
        assert len(set(counting)) > 1


def test_two_tabs_asking_at_once_get_one_open_batch(settings: Settings, library_dir: Path) -> None:
    settings.VIDSORT_LIBRARY = library_dir
    team = team_library(library_dir, loose=10)
    add_user(team, "lab", "labeller")
    answers: list[int] = []
    errors: list[str] = []
    start = threading.Barrier(4)

    def ask() -> None:
        start.wait()
        response = team.client("lab").post("/api/batches", {}, format="json")
        if response.status_code in (200, 201):
            answers.append(response.json()["id"])
        else:
            errors.append(str(response.content))

    threads = [_in_thread(ask) for _ in range(4)]
    for thread in threads:
        thread.join(60)
    assert not errors and len(answers) == 4
    assert len(set(answers)) == 1
    assert Batch.objects.filter(state="open").count() == 1
