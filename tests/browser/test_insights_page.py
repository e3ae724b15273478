"""The insights page (/overview) in Chromium: every chart draws from /api/insights with
data (a retrained demo library with sorts) and says what is missing in an empty library;
a click on a filed-vs-predicted cell lists that cell's videos. In team mode the per-labeller
chart draws /api/team/stats (a labeller's own row only); it is absent in single-user mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.models import Prediction, Video
from tests.browser.conftest import PASSWORD, PHONE, login
from tests.browser.test_player import SCREENSHOTS
from tests.labeling.team_setup import Team, add_user, team_library

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
    assert page.locator("[data-chart=labellers]").count() == 0  # single-user mode: no box
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
    assert page.locator("[data-chart=labellers]").count() == 0
    for chart in CHARTS:
        text = page.inner_text(f"[data-chart='{chart}'] .empty")
        assert text and text != "Nothing to show yet.", chart
    assert page.js_errors == []


# --- team mode: the per-labeller chart ---------------------------------------------------

LABELLERS = """() => [...document.querySelectorAll('[data-chart=labellers] svg g.group')].map((g) => [
  g.dataset.label, Number(g.dataset.votes),
  [...g.querySelectorAll('rect.bar')].map((r) => r.dataset.value === '' ? null : Number(r.dataset.value))])"""


def _team(library_dir: Path, settings) -> Team:
    settings.VIDSORT_LIBRARY = library_dir
    team = team_library(library_dir, loose=8, batch_size=6, gold_per_batch=2)
    for name, role in (("lab1", "labeller"), ("lab2", "labeller"), ("rev", "reviewer"),
                       ("vic", "viewer")):  # fmt: skip
        user = add_user(team, name, role)
        user.set_password(PASSWORD)
        user.save()
    return team


def _answer_a_batch(team: Team, name: str, *, wrong_gold: int) -> None:
    """A batch through the JSON API: gold answered (the first ``wrong_gold`` wrong), the
    other videos filed into folder a."""
    client = team.client(name)
    batch = client.post("/api/batches", {}, format="json").json()
    answers = []
    for item in batch["videos"]:
        folder = team.gold.get(item["id"], team.folders["a"].pk)
        if item["id"] in team.gold and wrong_gold:
            folder = next(f.pk for f in team.folders.values() if f.pk != folder)
            wrong_gold -= 1
        answers.append({"video": item["id"], "folder": folder})
    done = client.post(
        f"/api/batches/{batch['id']}/answers",
        {"token": batch["token"], "answers": answers},
        format="json",
    )
    assert done.status_code == 200, done.content


def _open(page, live_server, username: str) -> None:
    page.context.clear_cookies()
    login(page, live_server, username=username, next_url="/overview")
    page.wait_for_selector("[data-chart=labellers]:not([data-state=loading])")


def test_in_team_mode_the_labeller_chart_draws_each_labellers_quality(
    real_services, library_dir: Path, settings, live_server, browser_page
):
    team = _team(library_dir, settings)
    _answer_a_batch(team, "lab1", wrong_gold=1)  # discarded: gold accuracy 1/2
    _answer_a_batch(team, "lab2", wrong_gold=0)
    stats = team.client("rev").get("/api/team/stats").json()
    expected = {
        f"{r['username']} · {r['votes']} votes": [r["gold_accuracy"], r["agreement_with_decided"]]
        for r in stats["labellers"]
    }
    assert len(expected) == 2

    # A reviewer sees every labeller: votes in the label, gold accuracy and agreement as bars.
    page = browser_page
    _open(page, live_server, "rev")
    assert page.get_attribute("[data-chart=labellers]", "data-state") == "drawn"
    rows = page.evaluate(LABELLERS)
    assert {label: values for label, _, values in rows} == expected
    assert {label: votes for label, votes, _ in rows} == {
        f"{r['username']} · {r['votes']} votes": r["votes"] for r in stats["labellers"]
    }
    assert dict((label, values[0]) for label, _, values in rows)["lab1 · 4 votes"] == 0.5
    assert page.locator("[data-chart=labellers] a[href='/team/']").count() == 1
    # Readable at 375 px: the chart fits, its text no smaller than 9 px.
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(150)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator("[data-chart=labellers] svg").bounding_box()
    assert box is not None and 0 < box["width"] <= PHONE["width"]
    smallest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('[data-chart=labellers] svg text')]
             .map((t) => t.getBoundingClientRect().height))"""
    )
    assert smallest >= 9
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "insights-labellers-phone.png"), full_page=True)
    assert page.js_errors == []

    # A labeller gets their own row only (the API's rule); the chart draws it.
    page.set_viewport_size({"width": 1280, "height": 900})
    _open(page, live_server, "lab1")
    rows = page.evaluate(LABELLERS)
    assert [(label, votes) for label, votes, _ in rows] == [("lab1 · 4 votes", 4)]
    assert rows[0][2][0] == 0.5
    assert page.js_errors == []


def test_in_team_mode_without_votes_the_chart_says_so_and_a_viewer_has_none(
    real_services, library_dir: Path, settings, live_server, browser_page
):
    _team(library_dir, settings)
    page = browser_page
    _open(page, live_server, "rev")
    assert page.get_attribute("[data-chart=labellers]", "data-state") == "empty"
    assert "No labeller has voted yet" in page.inner_text("[data-chart=labellers] .empty")
    assert page.locator("[data-chart=labellers] svg").count() == 0

    # A viewer may not read the labellers' figures: no box at all, and no failed request.
    page.context.clear_cookies()
    login(page, live_server, username="vic", next_url="/overview")
    page.wait_for_selector("[data-chart=learning]:not([data-state=loading])")
    assert page.locator("[data-chart=labellers]").count() == 0
    assert page.js_errors == []
