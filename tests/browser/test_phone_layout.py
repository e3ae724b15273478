"""The phone layout at 375x812 and 390x844 (docs/player.md): the video covers the screen,
the top prediction with its confidence and the folder chips sit over its lower part
without scrolling, nothing moves when the next video swaps in, ☰ Details and a long press
open the details sheet, and a tap on a chip files the video on disk."""

from __future__ import annotations

import pytest

from labeling.models import Folder, Video
from tests.browser.test_player import (
    PLAYING,
    SCREENSHOTS,
    current_id,
    swipe,
    wait_for_next,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SIZES = ({"width": 375, "height": 812}, {"width": 390, "height": 844})

MEASURE = """() => {
  const vw = innerWidth, vh = innerHeight;
  const inside = (r) => r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
                        && r.bottom <= vh && r.right <= vw;
  const tappable = (e) => {
    const r = e.getBoundingClientRect();
    if (!inside(r)) return false;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!hit && (hit === e || e.contains(hit));
  };
  const v = document.querySelector('video.clip.current').getBoundingClientRect();
  const w = Math.max(0, Math.min(v.right, vw) - Math.max(v.left, 0));
  const h = Math.max(0, Math.min(v.bottom, vh) - Math.max(v.top, 0));
  const pred = document.getElementById('phone-prediction');
  const chips = [...document.querySelectorAll('#folders .folder')];
  const pr = pred.getBoundingClientRect();
  return {
    video: (w * h) / (vw * vh), videoTop: v.top, chips: chips.filter(tappable).length,
    chipsTop: Math.min(...chips.map((c) => c.getBoundingClientRect().top)),
    prediction: inside(pr) && getComputedStyle(pred).visibility === 'visible' ? pred.textContent : null,
    scrollH: document.scrollingElement.scrollHeight, scrollW: document.scrollingElement.scrollWidth,
    controls: [...document.querySelectorAll('.controls button')].filter(tappable).map((b) => b.id),
    rects: chips.map((c) => { const r = c.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }),
  };
}"""

SHEET_CLOSED = "getComputedStyle(document.getElementById('info-panel')).visibility === 'hidden'"
SHEET_OPEN = """() => {
  const p = document.getElementById('info-panel');
  const r = p.getBoundingClientRect();
  return getComputedStyle(p).visibility === 'visible' && r.top < innerHeight - 100
         && r.bottom <= innerHeight + 1;
}"""


def long_press(page, ms: int = 800) -> None:
    box = page.locator("#video-box").bounding_box()
    point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 3}
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
        page.wait_for_timeout(ms)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def test_the_phone_layout(real_services, predicted_library, live_server, phone_page, browser_user):
    from tests.browser.conftest import login

    page, root = phone_page, predicted_library
    login(page, live_server)
    page.wait_for_function(PLAYING)
    for size in SIZES:
        page.set_viewport_size(size)
        page.wait_for_timeout(250)
        m = page.evaluate(MEASURE)
        assert m["video"] >= 0.8, (size, m)
        assert m["scrollH"] <= size["height"] and m["scrollW"] <= size["width"], (size, m)
        assert m["prediction"] and "%" in m["prediction"], (size, m)
        assert m["chips"] >= 6, (size, m)
        assert m["chipsTop"] > size["height"] / 2  # the lower half: thumb reach
        assert {"btn-play", "btn-accept", "btn-undo", "btn-details"} <= set(m["controls"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "player-phone-overlay.png"))

    # The next video swaps in: nothing moves.
    before = page.evaluate(MEASURE)
    first = current_id(page)
    swipe(page, dy=-200)
    second = wait_for_next(page, first)
    assert second not in (-1, first)
    page.wait_for_timeout(200)
    after = page.evaluate(MEASURE)
    assert after["rects"] == before["rects"]
    assert after["video"] == before["video"] and after["videoTop"] == before["videoTop"]

    # Details: the button, Close, and a long press on the video (which does not pause it).
    page.tap("#btn-details")
    page.wait_for_function(SHEET_OPEN)
    assert page.is_visible("#top3") and page.is_visible("#retrain") and page.is_visible("#counter")
    page.screenshot(path=str(SCREENSHOTS / "player-phone-details.png"))
    page.tap("#details-close")
    page.wait_for_function(SHEET_CLOSED)
    long_press(page)
    page.wait_for_function(SHEET_OPEN)
    page.wait_for_function(PLAYING)
    page.tap("#details-close")
    page.wait_for_function(SHEET_CLOSED)

    # A tap on a chip files the video: the file moves on disk.
    video = Video.objects.get(pk=second)
    folder = Folder.objects.get(key=3)
    page.tap("#folders .folder[data-key='3']")
    assert wait_for_next(page, second) not in (-1, second)
    wait_until(
        lambda: (root / folder.name / video.filename).exists(), message="the tapped sort on disk"
    )
    assert not (root / video.filename).exists()
    assert page.js_errors == []
