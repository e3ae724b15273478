"""New-folder suggestions on a demo library (made by the suite) with one category unfiled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from labeling.models import Folder, Library, Video
from labeling.services.extraction import embeddings_extract
from labeling.services.scan import library_get_or_create, library_scan
from labeling.services.suggestions import suggestions_compute
from mlpipeline.suggestions import SuggestionConfig

pytestmark = pytest.mark.django_db(transaction=True)
NEW = "snow"  # the category that has no folder


@pytest.fixture
def unfiled_library(make_demo, settings, tiny_model) -> Library:
    root = make_demo(36)
    for path in list((root / NEW).glob("*.mp4")):
        path.rename(root / path.name)
    shutil.rmtree(root / NEW)
    settings.VIDSORT_LIBRARY = root
    library = library_get_or_create(root=root)
    library_scan(library=library)
    embeddings_extract(video_ids=list(Video.objects.values_list("pk", flat=True)), workers=0)
    return library


def _category(video_id: int) -> str:
    return Video.objects.get(pk=video_id).filename.rsplit("_", 1)[0]


def test_the_unfiled_category_is_suggested_and_no_existing_one(unfiled_library: Library) -> None:
    assert not Folder.objects.filter(name=NEW).exists()
    config = SuggestionConfig(min_cluster_size=3, min_size=3)
    _, found = suggestions_compute(library=unfiled_library, config=config)
    assert found, "no suggestion"
    categories = [[_category(pk) for pk in s.videos] for s in found]
    snow = [c for c in categories if c.count(NEW) * 2 > len(c)]
    assert len(snow) == 1 and len(snow) == len(categories), categories  # nothing else proposed
    total = Video.objects.filter(library=unfiled_library, filename__startswith=NEW).count()
    assert snow[0].count(NEW) >= total * 0.8 and snow[0].count(NEW) / len(snow[0]) >= 0.8
    assert found[0].cohesion > 0


def test_accept_creates_the_folder_and_files_the_ticked_videos(
    unfiled_library: Library, api: APIClient
) -> None:
    response = api.get("/api/suggestions")
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"library", "model_id", "count", "suggestions"}
    ticked = list(
        Video.objects.filter(filename__startswith=NEW).order_by("pk").values_list("pk", flat=True)
    )[:2]
    response = api.post(
        "/api/suggestions/accept", {"name": "Snow scenes", "videos": ticked}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["folder_created"] and body["moved"] == 2
    root = Path(unfiled_library.root)
    for video in Video.objects.filter(pk__in=ticked):
        assert video.folder.name == "Snow scenes" and (root / video.path).exists()
    for event in body["events"]:
        assert api.post("/api/undo", {"event": event}, format="json").status_code == 200
    assert Video.objects.filter(pk__in=ticked, folder__isnull=True).count() == 2
    sorted_one = Video.objects.exclude(folder=None).first()
    response = api.post(
        "/api/suggestions/accept", {"name": "Other", "videos": [sorted_one.pk]}, format="json"
    )
    assert response.status_code == 207 and response.json()["failed"] == 1
