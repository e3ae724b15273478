"""Duplicates on real clips made here: groups, the API, resolve (journalled, undoable)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from labeling.models import Library, Video
from labeling.selectors.duplicates import duplicates_cache_clear
from labeling.services.extraction import embeddings_extract
from labeling.services.scan import library_get_or_create, library_scan
from tests.duplicate_media import build_duplicate_set

pytestmark = pytest.mark.django_db(transaction=True)

FILES = (
    "bunny_a.mp4",
    "bunny_a_reencode.mp4",
    "bunny_a_crop.mp4",
    "carphone_a.mp4",
    "carphone_a_watermark.mp4",
    "intro_black_bunny_b.mp4",
    "intro_black_carphone_b.mp4",
    "bikes_b.mp4",
)


@pytest.fixture(scope="session")
def dup_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dups")
    build_duplicate_set(
        folder,
        cuts=("bunny_a", "bunny_b", "carphone_a", "carphone_b", "bikes_b"),
        variants=("reencode", "crop", "watermark"),
        intros=("black",),
    )
    return folder


@pytest.fixture
def dup_library(dup_media: Path, library_dir: Path, settings, tiny_model) -> Library:
    for name in FILES:
        shutil.copyfile(dup_media / name, library_dir / name)
    shutil.copyfile(dup_media / "bunny_a.mp4", library_dir / "bunny_copy.mp4")  # exact copy
    settings.VIDSORT_LIBRARY = library_dir
    library = library_get_or_create(root=library_dir)
    library_scan(library=library)
    embeddings_extract(video_ids=list(Video.objects.values_list("pk", flat=True)), workers=0)
    duplicates_cache_clear()
    return library


def _groups(api: APIClient) -> list[set[str]]:
    response = api.get("/api/duplicates")
    assert response.status_code == 200, response.content
    return [{v["filename"] for v in g["videos"]} for g in response.json()["groups"]]


def _group_of(groups: list[set[str]], name: str) -> set[str]:
    return next((g for g in groups if name in g), {name})


def test_copies_and_variants_group_while_a_shared_intro_does_not(
    dup_library: Library, api: APIClient
) -> None:
    groups = _groups(api)
    bunny = _group_of(groups, "bunny_a.mp4")
    assert {"bunny_copy.mp4", "bunny_a_reencode.mp4", "bunny_a_crop.mp4"} <= bunny
    assert "carphone_a_watermark.mp4" in _group_of(groups, "carphone_a.mp4")
    assert "intro_black_carphone_b.mp4" not in _group_of(groups, "intro_black_bunny_b.mp4")
    assert "carphone_a.mp4" not in bunny
    assert _group_of(groups, "bikes_b.mp4") == {"bikes_b.mp4"}


def test_resolve_moves_the_others_and_undo_brings_them_back(
    dup_library: Library, api: APIClient
) -> None:
    root = Path(dup_library.root)
    before = sorted(p.name for p in root.rglob("*.mp4"))
    keep = Video.objects.get(filename="carphone_a.mp4")
    response = api.post(
        "/api/duplicates/resolve",
        {"keep": keep.pk, "move_others_to": "Dupes"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["folder_created"] and body["moved"] == 1
    assert (root / "Dupes" / "carphone_a_watermark.mp4").exists()
    assert (root / "carphone_a.mp4").exists()
    assert sorted(p.name for p in root.rglob("*.mp4")) == before  # nothing deleted
    for event in body["events"]:
        assert api.post("/api/undo", {"event": event}, format="json").status_code == 200
    assert (root / "carphone_a_watermark.mp4").exists()
    assert not (root / "Dupes" / "carphone_a_watermark.mp4").exists()


def test_resolve_refuses_a_video_in_no_group(dup_library: Library, api: APIClient) -> None:
    alone = Video.objects.get(filename="bikes_b.mp4")
    response = api.post(
        "/api/duplicates/resolve", {"keep": alone.pk, "move_others_to": "Dupes"}, format="json"
    )
    assert response.status_code == 400
    assert not (Path(dup_library.root) / "Dupes").exists()


@pytest.mark.parametrize("order", ["uncertainty+diversity", "filename", "newest", "random"])
def test_the_queue_never_shows_one_group_back_to_back(
    dup_library: Library, api: APIClient, order: str
) -> None:
    groups = _groups(api)
    assert max(len(g) for g in groups) >= 4  # bunny_a, its copy, re-encode and crop
    group_of = {name: i for i, g in enumerate(groups) for name in g}
    names: list[str] = []
    for offset in (0, 3, 6, 9):  # pages of 3: the rule holds across page boundaries
        response = api.get("/api/videos", {"order": order, "limit": 3, "offset": offset})
        assert response.status_code == 200, response.content
        names += [v["filename"] for v in response.json()["videos"]]
    assert sorted(names) == sorted(set(names)) and len(names) == 9
    for a, b in zip(names, names[1:], strict=False):
        assert a not in group_of or group_of.get(a) != group_of.get(b), names
