"""Playable proxies through the API and the worker task (docs/player.md).

The scan decides up front which files need a proxy (codec, pixel format); the player asks
for one with POST /api/videos/<id>/proxy; the task writes it under the data folder keyed
by content hash, never beside the user's file; /media/videos/<id>/proxy streams it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import pytest
from celery import current_app

from labeling.models import Library, Video
from labeling.selectors.proxies import proxy_file, proxy_folder
from labeling.services.jobs import library_scan_job
from labeling.services.scan import library_scan
from tests.conftest import copy_into

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_proxies_left() -> None:
    """Proxies are cached by content hash across runs: start each test without any."""
    shutil.rmtree(proxy_folder(), ignore_errors=True)


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks run in this process as soon as what queued them commits (tests using it
    run outside a test transaction, so commits are real)."""
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)


@pytest.fixture
def mixed(library: Library, library_dir: Path, media: dict[str, Path]) -> Library:
    copy_into(library_dir, media["hevc.mov"], "phone.mov")
    copy_into(library_dir, media["h264.mp4"], "plain.mp4")
    library_scan(library=library)
    return library


def _by_name(api, name: str) -> dict:
    videos = api.get("/api/videos?order=filename").json()["videos"]
    return next(v for v in videos if v["filename"] == name)


def test_the_probe_decides_which_files_need_a_proxy(api, mixed: Library) -> None:
    hevc, plain = _by_name(api, "phone.mov"), _by_name(api, "plain.mp4")
    assert hevc["playback"] == {
        "needs_proxy": True,
        "reason": "H.265 (HEVC) video",
        "proxy": "none",
        "proxy_error": "",
        "proxy_url": None,
    }
    assert plain["playback"]["needs_proxy"] is False
    assert Video.objects.get(filename="plain.mp4").pix_fmt == "yuv420p"


@pytest.mark.django_db(transaction=True)
def test_asking_makes_an_h264_proxy_in_the_data_folder(
    api, user_client, mixed: Library, library_dir: Path, eager: None
) -> None:
    before = sorted(p.name for p in library_dir.rglob("*"))
    video = Video.objects.get(filename="phone.mov")
    answer = api.post(f"/api/videos/{video.pk}/proxy")
    assert answer.status_code == 202, answer.content
    # Eager: the task ran inside the request, so the proxy is ready now.
    assert answer.json()["proxy"] == "ready"
    state = api.get(f"/api/videos/{video.pk}/proxy").json()
    assert state["proxy_url"] == f"/media/videos/{video.pk}/proxy"
    target = proxy_file(content_hash=video.content_hash)
    assert target is not None and target.is_file()
    assert str(target).startswith(str(proxy_folder()))
    assert sorted(p.name for p in library_dir.rglob("*")) == before  # nothing beside the file
    with av.open(str(target)) as container:
        assert container.streams.video[0].codec_context.name == "h264"

    streamed = user_client.get(state["proxy_url"], HTTP_RANGE="bytes=0-99")
    assert streamed.status_code == 206 and streamed["Content-Type"] == "video/mp4"
    assert b"".join(streamed.streaming_content) == target.read_bytes()[:100]
    assert _by_name(api, "phone.mov")["playback"]["proxy"] == "ready"


@pytest.mark.django_db(transaction=True)
def test_a_failed_copy_says_why_and_can_be_asked_again(
    api, mixed: Library, library_dir: Path, eager: None
) -> None:
    video = Video.objects.get(filename="phone.mov")
    original = (library_dir / "phone.mov").read_bytes()
    (library_dir / "phone.mov").write_bytes(b"garbage" * 100)  # damaged since the scan
    answer = api.post(f"/api/videos/{video.pk}/proxy").json()
    assert answer["proxy"] == "failed" and "ffmpeg failed" in answer["proxy_error"]
    assert api.get(f"/api/videos/{video.pk}/proxy").json()["proxy"] == "failed"
    (library_dir / "phone.mov").write_bytes(original)
    assert api.post(f"/api/videos/{video.pk}/proxy").json()["proxy"] == "ready"


def test_no_proxy_before_it_is_made_and_none_for_unreadable_files(
    api, user_client, library: Library, library_dir: Path, media: dict[str, Path]
) -> None:
    copy_into(library_dir, media["hevc.mov"], "phone.mov")
    copy_into(library_dir, media["text.mp4"], "note.mp4")
    library_scan(library=library)
    hevc = Video.objects.get(filename="phone.mov")
    assert user_client.get(f"/media/videos/{hevc.pk}/proxy").status_code == 404
    note = Video.objects.get(filename="note.mp4")
    assert api.post(f"/api/videos/{note.pk}/proxy").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_libraries_set_to_it_get_proxies_after_each_scan(
    library: Library, library_dir: Path, media: dict[str, Path], eager: None
) -> None:
    copy_into(library_dir, media["hevc.mov"], "phone.mov")
    copy_into(library_dir, media["h264.mp4"], "plain.mp4")
    library_scan_job(library_id=library.pk)
    assert not proxy_folder().exists() or not list(proxy_folder().rglob("*.mp4"))
    Library.objects.filter(pk=library.pk).update(proxies_ahead=True)
    library_scan_job(library_id=library.pk)
    made = list(proxy_folder().rglob("*.mp4"))
    hevc = Video.objects.get(filename="phone.mov")
    assert made == [proxy_file(content_hash=hevc.content_hash)]


@pytest.mark.django_db(transaction=True)
def test_the_setting_turns_copies_on_now_and_counts_them(
    api, library: Library, library_dir: Path, media: dict[str, Path], eager: None
) -> None:
    copy_into(library_dir, media["hevc.mov"], "phone.mov")
    copy_into(library_dir, media["h264.mp4"], "plain.mp4")
    library_scan(library=library)
    before = api.get("/api/proxies/settings").json()
    assert before == {"proxies_ahead": False, "needing": 1, "ready": 0}
    answer = api.patch("/api/proxies/settings", {"proxies_ahead": True}, format="json")
    assert answer.status_code == 200, answer.content
    # Eager: the copy was made at once, not only after the next scan.
    assert answer.json() == {"proxies_ahead": True, "needing": 1, "ready": 1}
    assert Library.objects.get(pk=library.pk).proxies_ahead is True
    off = api.patch("/api/proxies/settings", {"proxies_ahead": False}, format="json").json()
    assert off["proxies_ahead"] is False and off["ready"] == 1  # made copies stay
    assert api.patch("/api/proxies/settings", {}, format="json").status_code == 400


def test_the_setting_is_on_the_library_admin_page(admin_client, library: Library) -> None:
    body = admin_client.get(f"/admin/labeling/library/{library.pk}/change/").content.decode()
    assert 'name="proxies_ahead"' in body


@pytest.mark.django_db(transaction=True)
def test_copies_of_content_no_video_has_are_pruned(
    api, mixed: Library, library_dir: Path, eager: None
) -> None:
    from labeling.services.proxies import proxies_prune

    video = Video.objects.get(filename="phone.mov")
    assert api.post(f"/api/videos/{video.pk}/proxy").json()["proxy"] == "ready"
    kept = proxy_file(content_hash=video.content_hash)
    stale = proxy_file(content_hash="sampled:" + "0" * 64)
    assert kept is not None and stale is not None
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"an old copy")
    assert proxies_prune() == 0  # young files stay: a scan may not have seen theirs yet
    assert proxies_prune(min_age_seconds=0) == 1
    assert kept.is_file() and not stale.exists()
