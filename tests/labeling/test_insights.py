"""GET /api/insights and the videos of one filed-vs-predicted cell (labeling/selectors/insights.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from labeling.models import Classifier, Folder, Library, Prediction, Video
from labeling.services.sorting import video_sort
from tests.labeling.team_setup import add_user, team_library

pytestmark = pytest.mark.django_db


def test_an_empty_library_has_empty_charts(api, library: Library) -> None:
    data = api.get("/api/insights").json()
    assert data["learning_curve"] == [] and data["per_folder"] == []
    assert data["confusion"] == {"folders": [], "cells": []}
    assert data["labels_per_day"] == [] and data["folder_sizes"] == [] and data["unreadable"] == []
    assert [b["videos"] for b in data["confidence_histogram"]] == [0] * 10


def test_the_charts_read_what_is_stored(api, lib: Library) -> None:
    cats, dogs = Folder.objects.get(name="cats"), Folder.objects.get(name="dogs")
    Classifier.objects.create(
        library=lib, version=1, model_id="m", blob=b"",
        metrics={"n_labels": 10, "accuracy": 0.7, "balanced_accuracy": 0.65},
    )  # fmt: skip
    active = Classifier.objects.create(
        library=lib, version=2, model_id="m", blob=b"", is_active=True,
        metrics={"n_labels": 20, "accuracy": 0.8, "per_class": [
            {"label": cats.pk, "folder": "cats", "precision": 0.9, "recall": 0.75,
             "average_precision": 0.85, "support": 12},
        ]},
    )  # fmt: skip
    clip, other = Video.objects.get(filename="clip.mp4"), Video.objects.get(filename="other.mp4")
    for video, confidence in ((clip, 0.93), (other, 0.41)):
        Prediction.objects.create(
            video=video, classifier_version=active.version, folder=dogs, confidence=confidence,
            margin=0.1, entropy=0.5, source="trained",
        )  # fmt: skip
    # One sort agrees with the shown prediction (dogs), one does not (filed into cats).
    video_sort(video=clip, folder=dogs, predicted_folder=dogs, predicted_confidence=0.93)
    video_sort(video=other, folder=cats, predicted_folder=dogs, predicted_confidence=0.41)
    Video.objects.create(library=lib, path="bad.mp4", filename="bad.mp4", status="unreadable",
                         error="not a video")  # fmt: skip

    data = api.get("/api/insights").json()
    curve = data["learning_curve"]
    assert [(p["version"], p["n_labels"], p["cv_accuracy"]) for p in curve] == [
        (1, 10, 0.7),
        (2, 20, 0.8),
    ]
    assert curve[1]["live_sorts"] == 2 and curve[1]["live_accuracy"] == 0.5
    assert data["per_folder"][0]["folder"] == "cats" and data["per_folder"][0]["recall"] == 0.75
    names = [f["name"] for f in data["confusion"]["folders"]]
    assert names == ["cats", "dogs"]
    assert data["confusion"]["cells"] == [[0, 1], [0, 1]]  # rows filed, columns predicted
    assert sum(day["labels"] for day in data["labels_per_day"]) >= 2
    sizes = {f["name"]: f["count"] for f in data["folder_sizes"]}
    assert sizes == {"cats": 2, "dogs": 1}
    assert data["unreadable"] == [
        {"id": data["unreadable"][0]["id"], "filename": "bad.mp4", "path": "bad.mp4",
         "error": "not a video"}
    ]  # fmt: skip
    # Both predicted videos were sorted: the queue's histogram is empty again.
    assert sum(b["videos"] for b in data["confidence_histogram"]) == 0

    cell = api.get(f"/api/insights/confusion?filed={cats.pk}&predicted={dogs.pk}").json()
    assert [v["filename"] for v in cell] == ["other.mp4"]
    assert cell[0]["folder"] == "cats" and cell[0]["url"] == f"/media/videos/{other.pk}"
    assert api.get("/api/insights/confusion?filed=x&predicted=1").status_code == 400


def test_the_histogram_counts_the_queue(api, lib: Library) -> None:
    cats = Folder.objects.get(name="cats")
    Classifier.objects.create(library=lib, version=1, model_id="m", blob=b"", is_active=True)
    for name, confidence in (("clip.mp4", 0.95), ("other.mp4", 0.42)):
        Prediction.objects.create(
            video=Video.objects.get(filename=name), classifier_version=1, folder=cats,
            confidence=confidence, margin=0.1, entropy=0.5, source="trained",
        )  # fmt: skip
    bins = api.get("/api/insights").json()["confidence_histogram"]
    assert [b["videos"] for b in bins] == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def test_the_overview_page_is_the_insights_page(user_client, lib: Library) -> None:
    body = user_client.get("/overview").content.decode()
    for chart in ("learning", "per-folder", "confusion", "labels-per-day", "confidence",
                  "folder-sizes", "unreadable"):  # fmt: skip
        assert f'data-chart="{chart}"' in body
    assert "vidsort/insights.js" in body and 'href="/gallery/unsorted"' in body
    assert 'data-chart="labellers"' not in body  # single-user mode: no per-labeller box


def test_the_labeller_chart_is_there_in_team_mode_for_a_labeller_or_above(
    settings: Settings, library_dir: Path
) -> None:
    settings.VIDSORT_LIBRARY = library_dir
    team = team_library(library_dir, loose=2)
    shown = {}
    for name, role in (
        ("lab", "labeller"),
        ("rev", "reviewer"),
        ("own", "owner"),
        ("vic", "viewer"),
    ):
        client = Client()
        client.force_login(add_user(team, name, role))
        body = client.get("/overview").content.decode()
        shown[role] = 'data-chart="labellers"' in body
        if shown[role]:
            assert f'data-library="{team.library.pk}"' in body and "vidsort/chart.css" in body
    # A viewer may not read GET /api/team/stats: no box rather than a failed request.
    assert shown == {"labeller": True, "reviewer": True, "owner": True, "viewer": False}
