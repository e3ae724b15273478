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
