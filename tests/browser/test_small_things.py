"""Small things in the browser (issue 17): the remaining counter keeps the session's total
across a reload, the "No prediction yet" box is not styled as a success, toasts stay clear
of the controls, the gallery's folder tabs count again after "Move to…", and
/favicon.ico is an icon, not a 404."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.models import Folder
from tests.browser.conftest import login
from tests.browser.test_player import PLAYING, current_id, remaining, wait_for_next

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OVERLAP = """() => {
  const boxes = [...document.querySelectorAll('.controls button')].map((b) => b.getBoundingClientRect());
  return [...document.querySelectorAll('#toasts .toast')].some((t) => {
    const r = t.getBoundingClientRect();
    return boxes.some((b) => r.left < b.right && b.left < r.right && r.top < b.bottom && b.top < r.bottom);
  });
}"""


def tab_count(page, name: str) -> int:
    text = page.locator("#gallery-nav a", has_text=name).first.inner_text()
    return int(text.rsplit("(", 1)[1].rstrip(")"))


def test_counter_prediction_box_toasts_gallery_tabs_and_favicon(
    real_services, demo_library: Path, live_server, browser_page, browser_user
):
    page = browser_page
    login(page, live_server)
    page.wait_for_function(PLAYING)

    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.ok and "svg" in icon.headers["content-type"]

    # No retrain yet: a neutral box, not the green one of a prediction.
    assert "No prediction yet" in page.inner_text("#prediction")
    assert "none" in page.get_attribute("#prediction", "class").split()
    border = page.evaluate(
        "getComputedStyle(document.getElementById('prediction')).borderLeftColor"
    )
    assert border != "rgb(60, 207, 122)"  # --ok

    # Sort one, reload: the total the session started with stays.
    left, total = remaining(page)
    assert left == total
    first = current_id(page)
    page.keyboard.press("1")
    wait_for_next(page, first)
    page.wait_for_function(
        f"document.getElementById('counter').textContent.startsWith('{left - 1} /')"
    )
    page.reload()
    page.wait_for_function(PLAYING)
    page.wait_for_function(
        f"document.getElementById('counter').textContent.startsWith('{left - 1} /')"
    )
    assert remaining(page) == (left - 1, total)

    # Toasts come in clear of the control buttons.
    page.evaluate(
        "import('/static/vidsort/toast.js').then((m) => { m.toast('one'); m.toast('two'); m.toast('three'); })"
    )
    page.wait_for_selector("#toasts .toast")
    assert page.locator("#toasts .toast").count() >= 3
    assert not page.evaluate(OVERLAP)

    # Gallery: a move updates the folder tabs' counts.
    folder = Folder.objects.get(key=2)
    page.goto(f"{live_server.url}/gallery/unsorted")
    page.wait_for_selector("#grid .card")
    unsorted, target = tab_count(page, "Unsorted"), tab_count(page, folder.name)
    page.locator("#grid .card").first.locator("select").select_option(str(folder.pk))
    page.wait_for_selector("#grid .card.moved")
    page.wait_for_function(
        "(n) => [...document.querySelectorAll('#gallery-nav a')].some((a) => a.textContent === n)",
        arg=f"{folder.name} ({target + 1})",
    )
    assert tab_count(page, "Unsorted") == unsorted - 1
    assert page.js_errors == []


def test_an_unreadable_file_does_not_promise_a_prediction(
    real_services, library_dir: Path, media: dict[str, Path], settings, live_server,
    browser_page, browser_user,
):  # fmt: skip
    from labeling.models import UserPreference
    from labeling.services.scan import library_get_or_create, library_scan
    from tests.conftest import copy_into

    copy_into(library_dir, media["h264.mp4"], "a_clip.mp4")
    copy_into(library_dir, media["portrait.mp4"], "cats/tom.mp4")
    copy_into(library_dir, media["text.mp4"], "z_note.mp4")
    settings.VIDSORT_LIBRARY = library_dir
    library_scan(library=library_get_or_create(root=library_dir))
    UserPreference.objects.create(user=browser_user, queue_order="filename")

    page = browser_page
    login(page, live_server)
    page.wait_for_function(PLAYING)
    assert "retrain to get one" in page.inner_text("#prediction")
    page.keyboard.press("ArrowDown")  # skip to the unreadable file after the queue
    page.wait_for_function("document.getElementById('player').dataset.state === 'broken'")
    text = page.inner_text("#prediction")
    assert "cannot be read" in text and "retrain" not in text
    assert "none" in page.get_attribute("#prediction", "class").split()
    assert page.js_errors == []
