"""The CMU video-labeling-tool compatibility calls: get_batch, send_batch, statistics."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from labeling.models import Batch, Decision, Vote
from tests.labeling.team_setup import Team, add_user, team_library

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(settings: Settings, library_dir: Path) -> Team:
    settings.VIDSORT_LIBRARY = library_dir
    team = team_library(library_dir, loose=4, batch_size=6, gold_per_batch=2)
    add_user(team, "lab1", "labeller")
    add_user(team, "lab2", "labeller")
    return team


def _labels(team: Team, data: list[dict], wrong_gold: bool = False) -> list[dict]:
    labels = []
    for item in data:
        folder = team.gold.get(item["video_id"], team.folders["a"].pk)
        if wrong_gold and item["video_id"] in team.gold:
            folder, wrong_gold = team.folders["c"].pk, False
        labels.append({"video_id": item["video_id"], "label": folder})
    return labels


def test_get_batch_and_send_batch_with_the_tools_shapes(team: Team) -> None:
    lab1, lab2 = team.client("lab1"), team.client("lab2")
    got = lab1.post("/api/v1/get_batch", {"user_token": "ignored"}, format="json").json()
    assert set(got) == {"data", "video_token"} and len(got["data"]) == 6
    item = got["data"][0]
    assert item["url_root"].startswith("http") and item["url_part"] == item["url"]
    assert item["file_name"] == item["filename"]
    data = [{"video_id": v["id"]} for v in got["data"]]
    response = lab1.post(
        "/api/v1/send_batch",
        {"video_token": got["video_token"], "data": _labels(team, data, wrong_gold=True)},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"batch": 0, "user": 0.5}
    assert response.json()["state"] == "discarded"
    # The same token again: a replay, refused; another user's token: refused.
    again = lab1.post(
        "/api/v1/send_batch",
        {"video_token": got["video_token"], "data": _labels(team, data)},
        format="json",
    )
    assert again.status_code == 409
    other = lab2.post("/api/v1/get_batch", {}, format="json").json()
    stolen = lab1.post(
        "/api/v1/send_batch",
        {"video_token": other["video_token"], "data": _labels(team, data)},
        format="json",
    )
    assert stolen.status_code == 403
    assert not Vote.objects.filter(batch__user=team.users["lab2"]).exists()
    data2 = [{"video_id": v["id"]} for v in other["data"]]
    response = lab2.post(
        "/api/v1/send_batch",
        {"video_token": other["video_token"], "data": _labels(team, data2)},
        format="json",
    )
    assert response.json()["data"] == {"batch": 1, "user": 1.0}
    assert Batch.objects.filter(state="accepted").count() == 1
    stats = lab1.get("/api/v1/get_label_statistics").json()
    assert stats == {"num_all_videos": 8, "num_fully_labeled": 0, "num_partially_labeled": 4}
    assert not Decision.objects.exists()
