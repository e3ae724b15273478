"""Every video playable: an HEVC file (Chromium here cannot decode H.265) shows the
message at once, a real worker makes the H.264 copy, and the player switches to it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labeling.models import UserPreference, Video
from labeling.selectors.proxies import proxy_file, proxy_folder
from tests.browser.conftest import login
from tests.browser.test_player import SCREENSHOTS
from tests.conftest import copy_into

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PLAYING_PROXY = """() => {
  const v = document.querySelector('video.clip.current');
  return !!v && !v.paused && v.readyState >= 2 && v.currentSrc.endsWith('/proxy');
}"""


def test_an_hevc_file_says_so_then_plays_from_its_proxy(
    real_services,
    celery_worker_process,
    library_dir: Path,
    media: dict[str, Path],
    settings,
    live_server,
    browser_page,
    browser_user,
):
    from labeling.services.scan import library_get_or_create, library_scan

    shutil.rmtree(proxy_folder(), ignore_errors=True)
    copy_into(library_dir, media["hevc.mov"], "a_phone.mov")
    copy_into(library_dir, media["h264.mp4"], "b_plain.mp4")
    copy_into(library_dir, media["portrait.mp4"], "cats/tom.mp4")
    settings.VIDSORT_LIBRARY = library_dir
    library_scan(library=library_get_or_create(root=library_dir))
    before = sorted(p.relative_to(library_dir) for p in library_dir.rglob("*"))
    hevc = Video.objects.get(filename="a_phone.mov")
    UserPreference.objects.create(user=browser_user, queue_order="filename")

    page = browser_page
    login(page, live_server)
    # This Chromium has no H.265 decoder: without a proxy the stage would stay black.
    assert (
        page.evaluate("document.createElement('video').canPlayType('video/mp4; codecs=\"hvc1\"')")
        == ""
    )
    page.wait_for_selector("#video-message:not([hidden])")
    assert page.get_attribute("#player", "data-video") == str(hevc.pk)
    assert "cannot play H.265 (HEVC) video" in page.inner_text("#video-message-title")
    assert "Making a playable copy" in page.inner_text("#video-message-reason")
    assert page.get_attribute("#player", "data-state") == "converting"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "player-proxy-message.png"))

    page.wait_for_function(PLAYING_PROXY, timeout=90_000)
    assert page.is_hidden("#video-message")
    assert page.get_attribute("#player", "data-state") == "playing"
    target = proxy_file(content_hash=hevc.content_hash)
    assert target is not None and target.is_file()
    assert sorted(p.relative_to(library_dir) for p in library_dir.rglob("*")) == before
    assert page.js_errors == []
