"""The insights page (/overview) in Chromium: every chart draws from /api/insights with
data (a retrained demo library with sorts) and says what is missing in an empty library;
a click on a filed-vs-predicted cell lists that cell's videos."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.models import Prediction, Video
from tests.browser.conftest import PHONE, login
from tests.browser.test_player import SCREENSHOTS

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHARTS = ("learning", "per-folder", "confusion", "labels-per-day", "confidence", "folder-sizes",
          "unreadable")  # fmt: skip
STATES = "() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map((f) => [f.dataset.chart, f.dataset.state]))"
MARKS = """(name) => document.querySelectorAll(
  `[data-chart="${name}"] svg rect, [data-chart="${name}"] svg circle, [data-chart="${name}"] li`).length"""


def test_every_chart_draws_with_data(
    real_services, predicted_library: Path, live_server, browser_page, browser_user
):
    from labeling.services.sorting import video_sort

    root = predicted_library
    (root / "zz_note.mp4").write_text("a note, not a video\n" * 20)
    from labeling.services.library import library_current
    from labeling.services.scan import library_scan

    library_scan(library=library_current())
    # Three sorts with the prediction shown, as the player makes them.
    loose = Video.objects.filter(folder__isnull=True, status="ok").order_by("filename")[:3]
    for video in loose:
        prediction = Prediction.objects.filter(video=video).select_related("folder").first()
        assert prediction is not None and prediction.folder is not None
        video_sort(
            video=video, folder=prediction.folder, predicted_folder=prediction.folder,
            predicted_confidence=prediction.confidence,
        )  # fmt: skip

    page = browser_page
    login(page, live_server, next_url="/overview")
    page.wait_for_selector("body[data-insights=ready]")
    assert page.evaluate(STATES) == dict.fromkeys(CHARTS, "drawn")
    for chart in CHARTS:
        assert page.evaluate(MARKS, chart) > 0, chart
    assert "not a known video container" in page.inner_text("[data-chart=unreadable]")
    assert page.locator("[data-chart=folder-sizes] svg a").count() >= 6  # links to galleries
    assert page.locator("a[href='/']").count() >= 1  # to the player

    # A cell of the matrix: its videos below it.
    cell = page.locator("[data-chart=confusion] .cell:not([data-count='0'])").first
    count = int(cell.get_attribute("data-count"))
    cell.click()
    page.wait_for_selector("#cell-gallery .card")
    assert page.locator("#cell-gallery .card").count() == count
    assert (
        page.locator("#cell-gallery video").first.get_attribute("src").startswith("/media/videos/")
    )

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "insights-desktop.png"), full_page=True)
    # Readable on a phone: nothing wider than the screen.
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(150)
    page.screenshot(path=str(SCREENSHOTS / "insights-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.js_errors == []


def test_every_chart_says_what_is_missing_in_an_empty_library(
    real_services, library_dir: Path, settings, live_server, browser_page, browser_user
):
    from labeling.services.scan import library_get_or_create, library_scan

    settings.VIDSORT_LIBRARY = library_dir
    library_scan(library=library_get_or_create(root=library_dir))
    page = browser_page
    login(page, live_server, next_url="/overview")
    page.wait_for_selector("body[data-insights=ready]")
    assert page.evaluate(STATES) == dict.fromkeys(CHARTS, "empty")
    for chart in CHARTS:
        text = page.inner_text(f"[data-chart='{chart}'] .empty")
        assert text and text != "Nothing to show yet.", chart
    assert page.js_errors == []
