"""docs/examples/autofile.py against a live server: dry run, then the real moves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from labeling.models import Classifier, LabelEvent, Prediction, Video
from labeling.services.scan import library_get_or_create, library_scan

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "autofile.py"


@pytest.fixture
def predicted(make_demo, settings):
    """A scanned demo library with hand-made predictions: 3 unsorted videos at >= 0.95."""
    root = make_demo(36)
    settings.VIDSORT_LIBRARY = root
    library = library_get_or_create(root=root)
    library_scan(library=library)
    Classifier.objects.create(library=library, version=1, model_id="m", is_active=True, blob=b"")
    folders = list(library.folders.order_by("pk"))
    unsorted = list(Video.objects.filter(library=library, folder=None, status="ok").order_by("pk"))
    confident = {}
    for i, video in enumerate(unsorted):
        confidence = [0.99, 0.95, 0.97][i] if i < 3 else 0.5 + i / 200
        folder = folders[i % len(folders)]
        Prediction.objects.create(
            video=video,
            classifier_version=1,
            folder=folder,
            confidence=confidence,
            margin=0.1,
            entropy=0.5,
            source="trained",
            top=[{"folder_id": folder.pk, "folder": folder.name, "probability": confidence}],
        )
        if confidence >= 0.95:
            confident[video.pk] = folder
    return root, confident


def _run(live_server, token: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--url", live_server.url, "--token", token, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_example_files_confident_videos(live_server, predicted, owner_everywhere):
    root, confident = predicted
    user = owner_everywhere(get_user_model().objects.create_user("script", password="x-12345678"))
    token = Token.objects.create(user=user).key

    dry = _run(live_server, token, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "3 videos at >= 0.95 (dry run: nothing moved)" in dry.stdout
    assert Video.objects.filter(pk__in=confident, folder=None).count() == 3

    real = _run(live_server, token)
    assert real.returncode == 0, real.stdout + real.stderr
    assert "moved 3, failed 0" in real.stdout
    for pk, folder in confident.items():
        video = Video.objects.get(pk=pk)
        assert video.folder_id == folder.pk and (root / video.path).is_file()
        assert video.path.startswith(folder.name + "/")
    assert LabelEvent.objects.filter(route="bulk", user=user).count() == 3

    again = _run(live_server, token)
    assert again.returncode == 0 and "0 videos at >= 0.95" in again.stdout
    refused = _run(live_server, "not-a-token", "--dry-run")
    assert refused.returncode != 0 and "403" in refused.stderr
