"""Team mode through the API: batches with hidden gold, tokens, votes, decisions, undo,
gold standards, review, stats, settings and switching modes (real PostgreSQL, real files)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from labeling.models import (
    Batch,
    Decision,
    Embedding,
    GoldAnswer,
    LabelEvent,
    UserPreference,
    Video,
    Vote,
)
from labeling.selectors.embeddings import labelled_embeddings
from labeling.selectors.preferences import QUEUE_ORDERS
from labeling.selectors.team import team_queue_ids
from labeling.services import team as team_service
from labeling.services.check import library_check
from labeling.services.errors import FailedError
from mlpipeline.embeddings import pack_vector
from tests.labeling.helpers import assert_safe
from tests.labeling.team_setup import Team, add_user, team_library

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(settings: Settings, library_dir: Path) -> Team:
    settings.VIDSORT_LIBRARY = library_dir
    team = team_library(library_dir, loose=8, batch_size=6, gold_per_batch=2)
    for name in ("lab1", "lab2", "lab3"):
        add_user(team, name, "labeller")
    add_user(team, "rev", "reviewer")
    add_user(team, "own", "owner")
    return team


def _batch(client: APIClient, expect: int = 201) -> dict[str, Any]:
    response = client.post("/api/batches", {}, format="json")
    assert response.status_code == expect, response.content
    return response.json()


def _answer(
    client: APIClient, batch: dict, answers: list[dict], expect: int = 200
) -> dict[str, Any]:
    response = client.post(
        f"/api/batches/{batch['id']}/answers",
        {"token": batch["token"], "answers": answers},
        format="json",
    )
    assert response.status_code == expect, response.content
    return response.json()


def _answers(team: Team, batch: dict, pick: dict[int, str], wrong_gold: int = 0) -> list[dict]:
    """An answer per batch video: gold right (the first ``wrong_gold`` wrong), others ``pick``."""
    answers = []
    for item in batch["videos"]:
        pk = item["id"]
        if pk in team.gold:
            folder = team.gold[pk]
            if wrong_gold:
                folder = next(f.pk for f in team.folders.values() if f.pk != folder)
                wrong_gold -= 1
        else:
            folder = team.folders[pick.get(pk, "a")].pk
        answers.append({"video": pk, "folder": folder})
    return answers


def _state(team: Team) -> tuple:
    return (
        sorted(Vote.objects.values_list("pk", "video_id", "folder_id", "counts", "withdrawn_at")),
        sorted(GoldAnswer.objects.values_list("pk", "folder_id", "correct")),
        sorted(Batch.objects.values_list("pk", "state")),
        Decision.objects.count(),
        LabelEvent.objects.count(),
    )


def test_a_batch_mixes_hidden_gold_among_the_videos(team: Team) -> None:
    batch = _batch(team.client("lab1"))
    ids = [item["id"] for item in batch["videos"]]
    assert batch["size"] == len(ids) == 6 and batch["answered"] == 0
    assert batch["state"] == "open"
    assert len(set(ids) & set(team.gold)) == 2
    # Gold videos sit in their folders, yet look like the loose ones.
    assert {item["folder"] for item in batch["videos"]} == {None}
    assert all("/" not in item["path"] for item in batch["videos"])
    assert all(
        item["url"].endswith(f"/{item['id']}/stream") or item["url"] for item in batch["videos"]
    )
    # Asking again gives the same open batch.
    again = _batch(team.client("lab1"), expect=200)
    assert again["id"] == batch["id"]
    # Reviewers get no batches (no gold, no check): their answer is a decision.
    assert _batch(team.client("rev"), expect=409)["error"] == "reviewer"


def test_not_enough_gold_gives_no_batch(team: Team) -> None:
    team.library.gold_per_batch = 5
    team.library.save()
    response = team.client("lab1").post("/api/batches", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "not_enough_gold"
    assert "5" in response.json()["detail"]
    assert not Batch.objects.exists()


def test_a_batch_with_one_wrong_gold_answer_is_discarded_and_a_right_one_counts(
    team: Team,
) -> None:
    lab1, lab2 = team.client("lab1"), team.client("lab2")
    first = _batch(lab1)
    answers = _answers(team, first, {}, wrong_gold=1)
    # One at a time, as the player sends key presses: open until the last.
    for answer in answers[:-1]:
        assert _answer(lab1, first, [answer])["state"] == "open"
    result = _answer(lab1, first, answers[-1:])
    assert result["state"] == "discarded"
    assert "discarded" in result["message"] and result["decided"] == []
    votes = Vote.objects.filter(batch_id=first["id"])
    assert votes.count() == 4 and not votes.filter(counts=True).exists()

    # lab2 answers the same videos all at once, every gold right: accepted; one vote each
    # is not yet a decision (lab1's discarded votes do not count).
    second = _batch(lab2)
    shared = {v["id"] for v in second["videos"]} - set(team.gold)
    result = _answer(lab2, second, _answers(team, second, {}))
    assert result["state"] == "accepted" and result["decided"] == []
    assert Vote.objects.filter(batch_id=second["id"], counts=True).count() == 4
    assert Batch.objects.get(pk=first["id"]).state == "discarded"

    # lab3 agrees: the videos lab2 and lab3 share are decided (strong) and moved.
    third = _batch(team.client("lab3"))
    result = _answer(team.client("lab3"), third, _answers(team, third, {}))
    both = shared & {v["id"] for v in third["videos"]}
    assert both and set(result["decided"]) == both
    for pk in both:
        video = Video.objects.get(pk=pk)
        assert video.folder == team.folders["a"] and video.path.startswith("a/")
        decision = Decision.objects.get(video=video)
        assert decision.kind == "strong" and decision.label_event.route == "vote"
    assert_safe(team.library, team.originals)


def test_tokens_foreign_replayed_or_for_another_batch_are_refused(team: Team) -> None:
    lab1, lab2 = team.client("lab1"), team.client("lab2")
    mine, theirs = _batch(lab1), _batch(lab2)
    before = _state(team)
    answers = _answers(team, mine, {})
    # lab2 sends lab1's token (and batch): not issued to lab2.
    response = lab2.post(
        f"/api/batches/{mine['id']}/answers",
        {"token": mine["token"], "answers": answers},
        format="json",
    )
    assert response.status_code == 403 and response.json()["error"] == "bad_token"
    # lab2's own token on lab1's batch: issued for another batch.
    response = lab2.post(
        f"/api/batches/{mine['id']}/answers",
        {"token": theirs["token"], "answers": answers},
        format="json",
    )
    assert response.status_code == 403
    # A forged token.
    response = lab1.post(
        f"/api/batches/{mine['id']}/answers",
        {"token": "x" + mine["token"], "answers": answers},
        format="json",
    )
    assert response.status_code == 403
    # A video not in the batch: refused, and the valid answers beside it are not kept.
    outsider = next(v.pk for v in team.loose if v.pk not in {i["id"] for i in mine["videos"]})
    bad = [*answers[:2], {"video": outsider, "folder": team.folders["a"].pk}]
    assert _answer(lab1, mine, bad, expect=400)["error"] == "not_in_batch"
    assert _state(team) == before
    # Finished, then replayed: 409 and nothing changes.
    assert _answer(lab1, mine, answers)["state"] == "accepted"
    after = _state(team)
    assert _answer(lab1, mine, answers, expect=409)["error"] == "batch_closed"
    assert _state(team) == after
    # Someone else's batch is not readable either.
    assert lab2.get(f"/api/batches/{mine['id']}").status_code == 404


def test_disputes_reach_the_review_queue_and_a_reviewer_decides(team: Team) -> None:
    lab1, lab2 = team.client("lab1"), team.client("lab2")
    b1 = _batch(lab1)
    work = [v["id"] for v in b1["videos"] if v["id"] not in team.gold]
    _answer(lab1, b1, _answers(team, b1, dict.fromkeys(work, "a")))
    b2 = _batch(lab2)
    # lab2 is given the videos lab1 voted on first (one vote each), and disagrees.
    assert set(work) <= {v["id"] for v in b2["videos"]}
    _answer(lab2, b2, _answers(team, b2, dict.fromkeys(work, "b")))
    assert not Decision.objects.exists()

    rev = team.client("rev")
    review = rev.get("/api/review").json()["videos"]
    disputed = [v for v in review if v["disputed"]]
    assert {v["id"] for v in disputed} == set(work)
    assert {(vote["username"], vote["folder"]) for vote in disputed[0]["votes"]} == {
        ("lab1", "a"),
        ("lab2", "b"),
    }
    assert "predicted_folder" in disputed[0]
    # lab3's queue starts with the disputed videos.
    b3 = _batch(team.client("lab3"))
    assert set(work) <= {v["id"] for v in b3["videos"]}

    pk = work[0]
    response = rev.post("/api/decisions", {"video": pk, "folder": "c"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kind"] == "reviewer" and body["moved"] and body["consensus_folder_id"] is None
    assert Video.objects.get(pk=pk).path.startswith("c/")
    # Decided once: a second decision is refused.
    again = rev.post("/api/decisions", {"video": pk, "folder": "a"}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "already_decided"
    votes = rev.get(f"/api/videos/{pk}/votes").json()
    assert len(votes["votes"]) == 2 and votes["decision"]["kind"] == "reviewer"
    # A weak decision: lab3 breaks the tie on the others (2-1 for a).
    _answer(team.client("lab3"), b3, _answers(team, b3, dict.fromkeys(work, "a")))
    kinds = dict(Decision.objects.values_list("video_id", "kind"))
    assert kinds[pk] == "reviewer"
    assert all(kinds[v] == "weak" for v in work[1:])
    assert LabelEvent.objects.filter(route="vote").count() == len(work)
    assert_safe(team.library, team.originals)


def test_a_labeller_withdraws_their_last_vote_while_undecided(team: Team) -> None:
    lab1 = team.client("lab1")
    batch = _batch(lab1)
    first = batch["videos"][0]
    folder = team.gold.get(first["id"], team.folders["a"].pk)
    _answer(lab1, batch, [{"video": first["id"], "folder": folder}])
    response = lab1.post("/api/votes/undo", {}, format="json")
    assert response.status_code == 200 and response.json()["video"] == first["id"]
    assert lab1.get(f"/api/batches/{batch['id']}").json()["answered"] == 0
    assert lab1.post("/api/votes/undo", {}, format="json").status_code == 404

    # A decided video's vote can no longer be withdrawn.
    _answer(lab1, batch, _answers(team, batch, {}))
    lab2 = team.client("lab2")
    b2 = _batch(lab2)
    answers = sorted(_answers(team, b2, {}), key=lambda a: a["video"] not in team.gold)
    for answer in answers:  # gold first, lab1's videos (all "a") last
        _answer(lab2, b2, [answer])
    last = answers[-1]["video"]
    assert Decision.objects.filter(video_id=last, kind="strong").exists()
    response = lab2.post("/api/votes/undo", {}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "decided"
    assert Vote.objects.get(video_id=last, user=team.users["lab2"]).withdrawn_at is None


def test_votes_go_through_batches_only(team: Team) -> None:
    lab1 = team.client("lab1")
    pk = team.loose[0].pk
    response = lab1.post("/api/votes", {"video": pk, "folder": team.folders["a"].pk}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "not_in_batch"
    batch = _batch(lab1)
    item = next(v for v in batch["videos"] if v["id"] not in team.gold)
    response = lab1.post(
        "/api/votes", {"video": item["id"], "folder": team.folders["b"].pk}, format="json"
    )
    assert response.status_code == 200 and response.json()["answered"] == 1
    assert Vote.objects.get(video_id=item["id"]).counts is False


def test_gold_standards_are_managed_by_reviewers(team: Team) -> None:
    rev = team.client("rev")
    listed = rev.get("/api/gold").json()
    assert listed["count"] == 4 and listed["needed_per_batch"] == 2
    pk = team.loose[0].pk
    response = rev.post("/api/gold", {"video": pk, "folder": "b"}, format="json")
    assert response.status_code == 201, response.content
    # A gold video is a labelled video: decided (reviewer) and moved into its folder.
    video = Video.objects.get(pk=pk)
    assert video.folder == team.folders["b"] and video.decision.kind == "reviewer"
    assert rev.delete(f"/api/gold/{pk}").status_code == 204
    assert rev.delete(f"/api/gold/{pk}").status_code == 404
    assert Video.objects.get(pk=pk).folder == team.folders["b"]


def test_training_uses_decided_labels_only(team: Team) -> None:
    model = "tiny"
    for video in Video.objects.filter(library=team.library):
        Embedding.objects.create(
            video=video,
            model_id=model,
            content_hash=video.content_hash,
            dim=4,
            vector=pack_vector(np.ones(4, np.float32) / 2),
            frame_vectors=b"",
        )
    lab1 = team.client("lab1")
    batch = _batch(lab1)
    _answer(lab1, batch, _answers(team, batch, {}))
    ids, _, folders = labelled_embeddings(library=team.library, model_id=model)
    # Votes without a decision are no labels; the gold videos are.
    assert set(ids) == set(team.gold)
    lab2 = team.client("lab2")
    b2 = _batch(lab2)
    _answer(lab2, b2, _answers(team, b2, {}))
    decided = set(Decision.objects.values_list("video_id", flat=True))
    assert decided
    ids, _, folders = labelled_embeddings(library=team.library, model_id=model)
    assert set(ids) == set(team.gold) | decided
    assert dict(zip(ids, folders, strict=True))[min(decided)] == team.folders["a"].pk


def test_stats_show_own_row_to_labellers_and_all_to_reviewers(team: Team) -> None:
    for name in ("lab1", "lab2"):
        client = team.client(name)
        batch = _batch(client)
        _answer(client, batch, _answers(team, batch, {}, wrong_gold=int(name == "lab1")))
    own = team.client("lab1").get("/api/team/stats").json()
    assert [row["username"] for row in own["labellers"]] == ["lab1"]
    row = own["labellers"][0]
    assert row["gold_accuracy"] == 0.5 and row["batches_discarded"] == 1 and row["votes"] == 4
    every = team.client("rev").get("/api/team/stats").json()
    assert {row["username"] for row in every["labellers"]} == {"lab1", "lab2"}
    assert set(every["decided"]) == {"strong", "weak", "reviewer"}
    assert "alpha" in every and isinstance(every["kappa"], list)


def test_switching_modes_loses_nothing(team: Team) -> None:
    lab1, lab2, own = team.client("lab1"), team.client("lab2"), team.client("own")
    b1 = _batch(lab1)
    _answer(lab1, b1, _answers(team, b1, {}))
    b2 = _batch(lab2)
    _answer(lab2, b2, _answers(team, b2, {}))
    pending = _batch(team.client("lab3"))  # left open: pending votes
    half = _answers(team, pending, {})[:2]
    _answer(team.client("lab3"), pending, half)
    before = _state(team)
    paths = dict(Video.objects.values_list("pk", "path"))
    decided = Decision.objects.count()
    assert decided

    response = own.patch("/api/team/settings", {"team_mode": False}, format="json")
    assert response.status_code == 200 and response.json()["team_mode"] is False
    assert _state(team) == before
    assert lab1.post("/api/batches", {}, format="json").json()["error"] == "not_team_mode"
    # Single-user mode sorts as today.
    loose = Video.objects.filter(library=team.library, folder__isnull=True).first()
    response = own.post("/api/sort", {"video": loose.pk, "folder": "c"}, format="json")
    assert response.status_code == 200, response.content

    response = own.patch("/api/team/settings", {"team_mode": True}, format="json")
    assert response.status_code == 200 and response.json()["team_mode"] is True
    assert _state(team)[:4] == before[:4]
    assert LabelEvent.objects.count() == before[4] + 1
    for pk, path in paths.items():
        if pk != loose.pk:
            assert Video.objects.get(pk=pk).path == path
    # The pending batch carries on where it stopped.
    result = _answer(team.client("lab3"), pending, _answers(team, pending, {})[2:])
    assert result["state"] == "accepted"
    assert_safe(team.library, team.originals)


def test_settings_are_checked(team: Team) -> None:
    own = team.client("own")
    assert own.get("/api/team/settings").json()["batch_size"] == 6
    response = own.patch("/api/team/settings", {"gold_per_batch": 1}, format="json")
    assert response.status_code == 400
    response = own.patch(
        "/api/team/settings", {"batch_size": 3, "gold_per_batch": 4}, format="json"
    )
    assert response.status_code == 400
    response = own.patch("/api/team/settings", {"votes_to_decide": 3}, format="json")
    assert response.status_code == 200 and response.json()["votes_to_decide"] == 3


def test_in_team_mode_a_labeller_cannot_sort_directly(team: Team) -> None:
    pk = team.loose[0].pk
    response = team.client("lab1").post("/api/sort", {"video": pk, "folder": "a"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "team_mode"
    assert Video.objects.get(pk=pk).folder is None
    # A reviewer (or owner) still can; outside team mode the labeller can too.
    response = team.client("rev").post("/api/sort", {"video": pk, "folder": "a"}, format="json")
    assert response.status_code == 200, response.content
    team.library.team_mode = False
    team.library.save()
    other = team.loose[1].pk
    response = team.client("lab1").post("/api/sort", {"video": other, "folder": "b"}, format="json")
    assert response.status_code == 200, response.content


def test_stats_match_hand_computed_figures(team: Team) -> None:
    """The fixed example of tests/mlpipeline/test_agreement.py, stored as votes."""
    users = [team.users[name] for name in ("lab1", "lab2", "lab3")]
    a, b = team.folders["a"], team.folders["b"]
    videos = team.loose[:6]
    answers = {  # user index -> video index -> folder (a or b)
        0: {0: a, 1: a, 2: b, 3: b, 4: a, 5: b},
        1: {0: a, 1: b, 2: b, 3: b, 4: a},
        2: {0: a, 1: a, 2: a, 5: b},
    }
    for i, user in enumerate(users):
        batch = Batch.objects.create(
            library=team.library, user=user, state="accepted", gold_total=2, gold_correct=2 - i % 2
        )
        for j, folder in answers[i].items():
            Vote.objects.create(video=videos[j], user=user, folder=folder, batch=batch)
        for k, gold in enumerate(list(team.gold)[:2]):
            GoldAnswer.objects.create(
                batch=batch,
                video_id=gold,
                user=user,
                folder_id=team.gold[gold],
                correct=not (i % 2 and k == 0),
            )
    for j, folder in {0: a, 1: a, 2: b, 5: b}.items():
        Decision.objects.create(video=videos[j], folder=folder, kind="strong")
    stats = team.client("rev").get("/api/team/stats").json()
    rows = {row["username"]: row for row in stats["labellers"]}
    assert [rows[n]["votes"] for n in ("lab1", "lab2", "lab3")] == [6, 5, 4]
    assert rows["lab1"]["agreement_with_decided"] == pytest.approx(1.0)
    assert rows["lab2"]["agreement_with_decided"] == pytest.approx(2 / 3)
    assert rows["lab3"]["agreement_with_decided"] == pytest.approx(3 / 4)
    assert rows["lab2"]["gold_accuracy"] == 0.5 and rows["lab1"]["gold_accuracy"] == 1.0
    assert rows["lab1"]["batches_accepted"] == 1 and rows["lab1"]["batches_discarded"] == 0
    ids = {u.username: u.pk for u in users}
    kappa = {(k["a"], k["b"]): (k["kappa"], k["n"]) for k in stats["kappa"]}
    assert kappa[(ids["lab1"], ids["lab2"])] == (pytest.approx(8 / 13), 5)
    assert kappa[(ids["lab1"], ids["lab3"])] == (pytest.approx(0.5), 4)
    assert kappa[(ids["lab2"], ids["lab3"])] == (pytest.approx(0.0), 3)
    assert stats["alpha"] == pytest.approx(0.5)
    assert stats["videos_with_2plus_votes"] == 6
    assert stats["decided"] == {"strong": 4, "weak": 0, "reviewer": 0}


def test_a_failed_move_leaves_the_decision_and_a_reviewer_retries_it(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = team_service.video_sort

    def failing(**kwargs: Any) -> Any:
        raise FailedError("no space left on device (injected)")

    monkeypatch.setattr(team_service, "video_sort", failing)
    pk = team.loose[0].pk
    rev = team.client("rev")
    body = rev.post("/api/decisions", {"video": pk, "folder": "a"}, format="json").json()
    assert body["moved"] is False and body["error"].startswith("disk_error")
    assert Video.objects.get(pk=pk).folder is None
    decision = Decision.objects.get(video_id=pk)
    assert decision.label_event is None
    monkeypatch.setattr(team_service, "video_sort", real)
    # Another folder is refused; the same folder carries the move out.
    assert (
        rev.post("/api/decisions", {"video": pk, "folder": "b"}, format="json").status_code == 409
    )
    body = rev.post("/api/decisions", {"video": pk, "folder": "a"}, format="json").json()
    assert body["moved"] is True and body["event"] is not None
    assert Decision.objects.get(video_id=pk).label_event_id == body["event"]
    assert Decision.objects.filter(video_id=pk).count() == 1
    assert_safe(team.library, team.originals)


def test_votes_never_move_a_video_sorted_outside_the_vote(team: Team) -> None:
    lab1, lab2, own = team.client("lab1"), team.client("lab2"), team.client("own")
    b1 = _batch(lab1)
    _answer(lab1, b1, _answers(team, b1, {}))
    b2 = _batch(lab2)  # holds lab1's videos, not yet answered
    work = [v["id"] for v in b2["videos"] if v["id"] not in team.gold]
    own.patch("/api/team/settings", {"team_mode": False}, format="json")
    assert (
        own.post("/api/sort", {"video": work[0], "folder": "c"}, format="json").status_code == 200
    )
    own.patch("/api/team/settings", {"team_mode": True}, format="json")
    result = _answer(lab2, b2, _answers(team, b2, {}))
    assert result["state"] == "accepted"
    assert set(result["decided"]) == set(work[1:])
    assert Video.objects.get(pk=work[0]).folder == team.folders["c"]
    assert not Decision.objects.filter(video_id=work[0]).exists()
    assert_safe(team.library, team.originals)


def test_a_decision_left_unmoved_is_carried_out_by_the_next_batch_request(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = team_service.video_sort

    def failing(**kwargs: Any) -> Any:
        raise FailedError("input/output error (injected)")

    monkeypatch.setattr(team_service, "video_sort", failing)
    pk = team.loose[0].pk
    team.client("rev").post("/api/decisions", {"video": pk, "folder": "b"}, format="json")
    monkeypatch.setattr(team_service, "video_sort", real)
    assert Video.objects.get(pk=pk).folder is None
    _batch(team.client("lab1"))  # too recent: a mover could still be on it
    assert Video.objects.get(pk=pk).folder is None
    Decision.objects.filter(video_id=pk).update(created_at=timezone.now() - timedelta(minutes=2))
    report = library_check(library=team.library)
    assert report.kinds() == {"decision"}, report.violations  # vidsort_check sees it
    _batch(team.client("lab1"), expect=200)
    assert library_check(library=team.library).ok
    video = Video.objects.get(pk=pk)
    assert video.folder == team.folders["b"]
    assert Decision.objects.get(video_id=pk).label_event.to_name == "b"
    assert_safe(team.library, team.originals)


@pytest.mark.parametrize("order", sorted(QUEUE_ORDERS))
def test_the_team_queue_follows_every_queue_order(team: Team, order: str) -> None:
    user = team.users["lab2"]
    UserPreference.objects.create(user=user, queue_order=order)
    lab1 = team.client("lab1")
    b1 = _batch(lab1)
    voted = [v["id"] for v in b1["videos"] if v["id"] not in team.gold]
    _answer(lab1, b1, _answers(team, b1, {}))
    ids = team_queue_ids(library=team.library, user=user, limit=6)
    # Videos with a vote first (in the order's sequence), then the others; no gold.
    assert set(ids[: len(voted)]) == set(voted)
    assert len(ids) == len(set(ids)) == 6 and not set(ids) & set(team.gold)


def test_a_video_of_another_library_needs_a_role_there(team: Team, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other = team_library(tmp_path / "other", loose=2)
    pk = other.loose[0].pk
    rev = team.client("rev")  # a reviewer of the first library only
    response = rev.post("/api/decisions", {"video": pk, "folder": "a"}, format="json")
    assert response.status_code == 403 and response.json()["error"] == "role_required"
    response = rev.post("/api/gold", {"video": pk, "folder": "a"}, format="json")
    assert response.status_code == 403
    assert not Decision.objects.filter(video_id=pk).exists()
    assert Video.objects.get(pk=pk).folder is None
