"""Auto-file by target precision: a classifier trained (with its cross-validated precision
curves) on half of scikit-learn's digits, its predictions for the other half stored for
unsorted videos. The dry run plans each folder (threshold, expected precision, count), the
filed videos are right at least the target share of the time, and a real run records the
thresholds with the classifier version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from labeling.models import Classifier, Folder, Library, Prediction, Video
from labeling.services.autofile import videos_autofile
from labeling.services.errors import InvalidError
from tests.labeling.helpers import make_library

pytestmark = pytest.mark.django_db

TEST_VIDEOS = 450


@pytest.fixture(scope="module")
def digits_model() -> dict:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from mlpipeline.classifier import train_classifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_VIDEOS, stratify=y, random_state=3
    )
    result = train_classifier(X=X_train.astype(np.float32), y=y_train)
    probs = result.classifier.predict_proba(X_test.astype(np.float32))
    return {"metrics": result.metrics.to_dict(), "probs": probs, "truth": y_test}


@pytest.fixture
def digits_library(
    settings: Settings, library_dir: Path, digits_model: dict
) -> tuple[Library, dict[int, int]]:
    """Folders d0..d9, TEST_VIDEOS loose videos predicted by the digits classifier; returns
    the library and each video id's true digit."""
    settings.VIDSORT_LIBRARY = library_dir
    library = make_library(
        library_dir,
        {f"v{i:03d}.mp4": str(i).encode() for i in range(TEST_VIDEOS)},
        folders=tuple(f"d{d}" for d in range(10)),
    )
    folders = {d: Folder.objects.get(library=library, name=f"d{d}") for d in range(10)}
    metrics = dict(digits_model["metrics"])
    metrics["classes"] = [folders[int(d)].pk for d in metrics["classes"]]
    Classifier.objects.create(
        library=library, version=1, model_id="m", is_active=True, metrics=metrics
    )
    videos = {v.filename: v for v in Video.objects.filter(library=library)}
    truth: dict[int, int] = {}
    rows = []
    for i, (p, digit) in enumerate(zip(digits_model["probs"], digits_model["truth"], strict=True)):
        video = videos[f"v{i:03d}.mp4"]
        truth[video.pk] = int(digit)
        rows.append(
            Prediction(
                video=video,
                classifier_version=1,
                folder=folders[int(p.argmax())],
                confidence=float(p.max()),
                margin=0.1,
                entropy=0.1,
                source="trained",
            )
        )
    Prediction.objects.bulk_create(rows)
    return library, truth


def _precision(items: list, truth: dict[int, int]) -> float:
    right = sum(1 for item in items if item.folder == f"d{truth[item.video]}")
    return right / len(items)


def test_dry_run_plans_each_folder_and_the_filed_videos_meet_the_target(
    digits_library: tuple[Library, dict[int, int]], user: AbstractBaseUser, library_dir: Path
) -> None:
    library, truth = digits_library
    everything = videos_autofile(library=library, user=user, threshold=0.0, dry_run=True)
    plain = _precision(everything.items, truth)
    assert plain < 0.97  # filing every prediction misses the target
    for target in (0.95, 0.97):
        report = videos_autofile(library=library, user=user, target_precision=target, dry_run=True)
        assert [plan.folder for plan in report.folders] == [f"d{d}" for d in range(10)]
        reached = [plan for plan in report.folders if plan.threshold is not None]
        assert len(reached) >= 8
        for plan in reached:
            assert plan.expected_precision is not None and plan.expected_precision >= target
            assert plan.lower_bound is not None and plan.lower_bound >= target
            assert plan.count == sum(1 for i in report.items if i.folder == plan.folder)
        assert sum(plan.count for plan in report.folders) == report.count
        # Held out: what would be filed is right at least the target share (within a point).
        assert _precision(report.items, truth) >= target - 0.01
        assert report.count > TEST_VIDEOS * 0.6
    assert all((library_dir / f"v{i:03d}.mp4").exists() for i in range(TEST_VIDEOS))


def test_per_folder_targets_and_unreachable_targets(
    digits_library: tuple[Library, dict[int, int]], user: AbstractBaseUser
) -> None:
    library, _ = digits_library
    report = videos_autofile(
        library=library,
        user=user,
        per_folder_precision={"d1": 0.9, "d8": 1.0},
        dry_run=True,
    )
    plans = {plan.folder: plan for plan in report.folders}
    assert set(plans) == {"d1", "d8"}
    assert plans["d8"].threshold is None and plans["d8"].count == 0  # 1.0 is never proven
    assert plans["d1"].threshold is not None and plans["d1"].count > 0
    assert {item.folder for item in report.items} == {"d1"}
    with pytest.raises(InvalidError, match="not both"):
        videos_autofile(
            library=library,
            user=user,
            per_folder={"d1": 0.9},
            per_folder_precision={"d1": 0.9},
        )


def test_real_run_records_the_thresholds_with_the_classifier_version(
    digits_library: tuple[Library, dict[int, int]], user: AbstractBaseUser, library_dir: Path
) -> None:
    library, _ = digits_library
    report = videos_autofile(library=library, user=user, target_precision=0.97, limit=3)
    assert report.moved == 3
    assert sum(1 for p in library_dir.glob("d*/*.mp4")) == 3
    record = Classifier.objects.get(library=library, version=1).metrics["autofile_precision"]
    folders = record["folders"]
    assert len(folders) == 10 and record["moved"] == 3
    entry = next(iter(folders.values()))
    assert entry["target_precision"] == 0.97 and "threshold" in entry


def test_a_classifier_without_precision_figures_is_refused_clearly(
    lib: Library, user: AbstractBaseUser
) -> None:
    Classifier.objects.create(library=lib, version=1, model_id="m", is_active=True)
    with pytest.raises(InvalidError, match="no cross-validated precision figures"):
        videos_autofile(library=lib, user=user, target_precision=0.97, dry_run=True)


def test_api_dry_run_shows_the_plan(
    digits_library: tuple[Library, dict[int, int]], api: APIClient
) -> None:
    response = api.post("/api/autofile", {"target_precision": 0.97, "dry_run": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and len(body["folders"]) == 10
    plan = body["folders"][0]
    assert set(plan) >= {
        "folder",
        "threshold",
        "expected_precision",
        "lower_bound",
        "count",
        "support",
    }
    assert body["count"] == sum(p["count"] for p in body["folders"])
    bad = api.post("/api/autofile", {"target_precision": 0.2}, format="json")
    assert bad.status_code == 400


def test_admin_precision_actions_show_the_plan_then_move(
    digits_library: tuple[Library, dict[int, int]], admin_client: Client, library_dir: Path
) -> None:
    library, _ = digits_library
    url = "/admin/labeling/library/"
    dry = admin_client.post(
        url, {"action": "autofile_precision_dry_run", "_selected_action": [library.pk]}, follow=True
    )
    text = dry.content.decode()
    assert "would move" in text and "expected precision" in text and "d0: ≥ " in text
    assert not list(library_dir.glob("d*/*.mp4"))
    real = admin_client.post(
        url, {"action": "autofile_precision_now", "_selected_action": [library.pk]}, follow=True
    )
    assert "moved" in real.content.decode()
    assert len(list(library_dir.glob("d*/*.mp4"))) > TEST_VIDEOS * 0.6
    assert "autofile_precision" in Classifier.objects.get(library=library).metrics
