"""Team mode in the browser (docs/player.md, docs/team.md): a labeller answers a batch with
number keys and sees the batch counter advance, undoes a vote, and is told the batch was
accepted; a reviewer settles a dispute with one key and the file moves on disk; the team
page shows the figures at phone width and saves the settings.

Headless Chromium against a live server, the demo library and real PostgreSQL; the second
labeller votes through the same JSON API the page uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from labeling.models import (
    Batch,
    Decision,
    Folder,
    GoldStandard,
    Library,
    Membership,
    Video,
    Vote,
)
from labeling.services.team import gold_mark, team_settings_update
from tests.browser.conftest import PASSWORD, PHONE, login
from tests.browser.test_player import PLAYING, SCREENSHOTS, current_id, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BATCH = 4  # two videos to vote on and two hidden gold ones
GOLD = 2


def counter(page) -> tuple[int, int, int]:
    """(answered, size, batch id) as the right panel shows them."""
    attrs = page.eval_on_selector(
        "#counter", "c => [c.dataset.answered, c.dataset.size, c.dataset.batch]"
    )
    return int(attrs[0]), int(attrs[1]), int(attrs[2])


def wait_answered(page, answered: int) -> None:
    page.wait_for_function(
        "(n) => document.getElementById('counter').dataset.answered === String(n)", arg=answered
    )


def wait_playing_other(page, previous: int) -> int:
    page.wait_for_function(
        """(previous) => {
          const p = document.getElementById('player');
          const v = document.querySelector('video.clip.current');
          return p.dataset.video !== String(previous) && !!v && !v.paused;
        }""",
        arg=previous,
    )
    return current_id(page)


def member(library: Library, user, role: str) -> None:
    Membership.objects.update_or_create(library=library, user=user, defaults={"role": role})


@pytest.fixture
def team(demo_library: Path, django_user_model) -> dict:
    """The demo library in team mode: labellers lea and bo, reviewer rex, owner olive;
    three sorted videos marked gold with their folders."""
    library = Library.objects.get()
    users = {
        name: django_user_model.objects.create_user(name, password=PASSWORD)
        for name in ("lea", "bo", "rex", "olive")
    }
    for name, role in (("lea", "labeller"), ("bo", "labeller"), ("rex", "reviewer")):
        member(library, users[name], role)
    member(library, users["olive"], "owner")
    library = team_settings_update(
        library=library,
        changes={
            "team_mode": True,
            "votes_to_decide": 2,
            "batch_size": BATCH,
            "gold_per_batch": GOLD,
        },
    )
    for video in Video.objects.filter(folder__isnull=False).order_by("pk")[:3]:
        gold_mark(video=video, folder=video.folder, user=users["rex"])
    return {"library": library, "root": demo_library, **users}


def key_for(video_id: int, default: int) -> int:
    """The key a careful labeller presses: the gold folder's for a gold video."""
    gold = GoldStandard.objects.filter(video_id=video_id).select_related("folder").first()
    return gold.folder.key if gold else default


def test_a_labeller_answers_a_batch_and_a_reviewer_settles_a_dispute(
    real_services, team, live_server, browser_page, phone_page
):
    page, root = browser_page, team["root"]
    lea, bo = team["lea"], team["bo"]
    login(page, live_server, username="lea")
    page.wait_for_function(PLAYING)
    assert page.get_attribute("#player", "data-team") == "labeller"
    # No queue order, retrain or folder editing for a labeller; the help says keys vote.
    assert page.is_hidden("#order") and page.is_hidden("#retrain") and page.is_hidden("#new-folder")
    assert page.locator("#folders .edit").first.is_hidden()
    help_row = page.text_content('.shortcuts tr[data-help="file"] td:last-child')
    assert help_row.startswith("Vote")
    assert page.inner_text("#counter") == f"batch 1/{BATCH}"
    answered, size, batch_id = counter(page)
    assert (answered, size) == (0, BATCH)
    batch = Batch.objects.get(pk=batch_id, user=lea)
    assert len(batch.gold_video_ids) == GOLD
    # Gold videos look like any other: the page holds no folder for any batch video.
    held = page.evaluate(
        "window.vidsort.state.items.map(i => [i.id, i.folder_id, i.folder, i.path])"
    )
    assert {i for i, *_ in held} == set(batch.video_ids)
    assert all(f is None and g is None and "/" not in p for _, f, g, p in held)

    # A key is a vote: the next video comes at once, the file stays where it was.
    first = current_id(page)
    first_path = Video.objects.get(pk=first).path
    page.keyboard.press(str(key_for(first, 1)))
    wait_playing_other(page, first)
    wait_answered(page, 1)
    assert page.inner_text("#counter") == f"batch 2/{BATCH}"
    assert Video.objects.get(pk=first).path == first_path and (root / first_path).exists()

    # A reload takes the open batch up again where it was.
    page.reload()
    page.wait_for_function(PLAYING)
    assert counter(page) == (1, BATCH, batch_id)
    assert page.inner_text("#counter") == f"batch 2/{BATCH}"

    # Undo withdraws that vote (or gold answer): the video comes back, the counter goes back.
    page.keyboard.press("z")
    page.wait_for_function(f"document.getElementById('player').dataset.video === '{first}'")
    wait_answered(page, 0)
    page.wait_for_function(PLAYING)

    # The whole batch, each with its key; the counter follows every answer.
    shown = []
    for n in range(BATCH):
        video = current_id(page)
        shown.append(video)
        page.keyboard.press(str(key_for(video, 1)))
        if n < BATCH - 1:
            wait_playing_other(page, video)
            wait_answered(page, n + 1)
            assert page.inner_text("#counter") == f"batch {n + 2}/{BATCH}"
    assert sorted(shown) == sorted(batch.video_ids)

    # The end of the batch: every gold answer right, so it is accepted and a new one comes.
    page.wait_for_selector("#team-note[data-state='accepted']")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "team-labeller.png"))
    assert "accepted" in page.inner_text("#team-note").lower()
    page.wait_for_function(
        "(id) => document.getElementById('counter').dataset.batch !== String(id)", arg=batch_id
    )
    assert page.inner_text("#counter") == f"batch 1/{BATCH}"
    batch.refresh_from_db()
    assert batch.state == Batch.State.ACCEPTED
    work = [v for v in batch.video_ids if v not in batch.gold_video_ids]
    votes = {v.video_id: v for v in Vote.objects.filter(user=lea, withdrawn_at__isnull=True)}
    assert set(work) <= set(votes) and all(votes[v].counts for v in work)
    assert not Decision.objects.filter(video_id__in=work).exists()  # one vote decides nothing

    # A second labeller disagrees on lea's videos, through the API the page uses.
    folder_1, folder_2 = Folder.objects.get(key=1), Folder.objects.get(key=2)
    api = Client()
    api.force_login(bo)
    body = api.post("/api/batches", {}, content_type="application/json").json()
    assert set(work) & {v["id"] for v in body["videos"]}, "bo is offered lea's voted videos"
    answers = [
        {"video": v["id"], "folder": GoldStandard.objects.get(video_id=v["id"]).folder_id}
        if GoldStandard.objects.filter(video_id=v["id"]).exists()
        else {"video": v["id"], "folder": folder_2.pk}
        for v in body["videos"]
    ]
    done = api.post(
        f"/api/batches/{body['id']}/answers",
        {"token": body["token"], "answers": answers},
        content_type="application/json",
    ).json()
    assert done["state"] == "accepted", done
    disputed = [
        v for v in work if Vote.objects.filter(video_id=v, user=bo, folder=folder_2).exists()
    ]
    assert disputed and all(votes[v].folder_id == folder_1.pk for v in disputed)
    assert page.js_errors == []

    # The reviewer's player is the review queue: each vote (who, which folder) is shown, and
    # a number key decides; the file moves on disk.
    page.context.clear_cookies()
    login(page, live_server, username="rex")
    page.wait_for_function(PLAYING)
    assert page.get_attribute("#player", "data-team") == "reviewer"
    assert page.is_visible("#retrain") and page.is_visible("#new-folder")
    video_id = current_id(page)
    assert video_id in disputed  # disputes come first
    page.wait_for_selector("#votes:not([hidden]) .vote")
    votes_shown = page.eval_on_selector_all(
        "#vote-list .vote",
        "rows => rows.map(r => [r.querySelector('.who').textContent, Number(r.dataset.folder)])",
    )
    assert sorted(map(tuple, votes_shown)) == [("bo", folder_2.pk), ("lea", folder_1.pk)]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "team-review.png"))
    video = Video.objects.get(pk=video_id)
    folder_3 = Folder.objects.get(key=3)
    page.keyboard.press("3")
    wait_until(
        lambda: (root / folder_3.name / video.filename).exists(), message="the decided file on disk"
    )
    assert not (root / video.filename).exists()
    decision = Decision.objects.get(video_id=video_id)
    assert (decision.kind, decision.folder_id) == (Decision.Kind.REVIEWER, folder_3.pk)
    page.wait_for_function(
        "(id) => document.getElementById('player').dataset.video !== String(id)", arg=video_id
    )
    assert page.js_errors == []

    # The team page on a phone: the table, the bar chart and the kappa grid fit 375 px; the
    # owner's settings form saves through PATCH /api/team/settings.
    phone = phone_page
    login(phone, live_server, username="olive", next_url="/team/")
    phone.wait_for_selector("#team[data-state='ready']")
    rows = phone.eval_on_selector_all(
        "#labellers tbody tr", "rows => rows.map(r => r.querySelector('th').textContent)"
    )
    assert {"lea", "bo"} <= set(rows)
    assert phone.locator("#chart svg .bar.gold").count() >= 2
    assert phone.locator("#kappa svg rect.cell:not(.self)").count() >= 2
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.wait_for_function("document.getElementById('gold-count').textContent !== '–'")
    assert phone.inner_text("#gold-count") == f"3 (each batch needs {GOLD})"
    phone.screenshot(path=str(SCREENSHOTS / "team-page-phone.png"), full_page=True)
    phone.fill("#set-batch", "6")
    phone.click("#settings-save")
    phone.wait_for_function("document.getElementById('settings-status').textContent === 'Saved.'")
    assert Library.objects.get(pk=team["library"].pk).batch_size == 6
    assert phone.js_errors == []

    # Back to lea: her next batch, taken up again, with a wrong gold answer is discarded,
    # and the page says so.
    page.context.clear_cookies()
    login(page, live_server, username="lea")
    page.wait_for_function(PLAYING)
    _, size, second_batch = counter(page)
    batch = Batch.objects.get(pk=second_batch, user=lea, state=Batch.State.OPEN)
    for n in range(size):
        video = current_id(page)
        gold = key_for(video, 0)
        page.keyboard.press(str(gold % 6 + 1 if gold else 1))  # every gold answer wrong
        if n < size - 1:
            wait_playing_other(page, video)
    page.wait_for_selector("#team-note[data-state='discarded']")
    assert "a gold answer was wrong, this batch does not count" in page.inner_text("#team-note")
    batch.refresh_from_db()
    assert batch.state == Batch.State.DISCARDED
    assert not Vote.objects.filter(batch=batch, counts=True).exists()
    assert page.js_errors == []
    # No request of the pages may still hold row locks when the test's data is flushed
    # (a TRUNCATE waiting on a batch request's lock deadlocks).
    for open_page in (page, phone):
        open_page.wait_for_load_state("networkidle")
        open_page.goto("about:blank")


def test_without_enough_gold_the_page_says_why(
    real_services, demo_library, django_user_model, live_server, browser_page
):
    library = Library.objects.get()
    lea = django_user_model.objects.create_user("lea", password=PASSWORD)
    member(library, lea, "labeller")
    team_settings_update(library=library, changes={"team_mode": True})  # no gold at all
    page = browser_page
    login(page, live_server, username="lea")
    page.wait_for_selector("#complete:not([hidden])")
    assert page.get_attribute("#complete-team", "data-code") == "not_enough_gold"
    assert "gold" in page.inner_text("#complete-team").lower()
    assert not Batch.objects.exists()
    assert page.js_errors == []


def test_a_reviewer_marks_gold_from_the_gallery(real_services, team, live_server, browser_page):
    page = browser_page
    # A folder with a gold video and one that is not.
    gold = next(
        g
        for g in GoldStandard.objects.select_related("folder").order_by("video_id")
        if Video.objects.filter(folder=g.folder, gold__isnull=True).exists()
    )
    folder = gold.folder
    plain = Video.objects.filter(folder=folder, gold__isnull=True).first()

    login(page, live_server, username="rex", next_url=f"/gallery/{folder.pk}")
    marked = page.locator(f".gold-toggle[data-video='{gold.video_id}']")
    unmarked = page.locator(f".gold-toggle[data-video='{plain.pk}']")
    assert marked.get_attribute("aria-pressed") == "true"
    assert unmarked.get_attribute("aria-pressed") == "false"

    unmarked.click()  # gold, with the folder it is filed in
    page.wait_for_selector(f".gold-toggle[data-video='{plain.pk}'][aria-pressed='true']")
    assert GoldStandard.objects.get(video=plain).folder_id == folder.pk
    marked.click()  # the mark comes off
    page.wait_for_selector(f".gold-toggle[data-video='{gold.video_id}'][aria-pressed='false']")
    assert not GoldStandard.objects.filter(video_id=gold.video_id).exists()
    assert page.js_errors == []

    # A labeller sees the gallery without the toggles.
    page.context.clear_cookies()
    login(page, live_server, username="lea", next_url=f"/gallery/{folder.pk}")
    page.wait_for_selector(".card")
    assert page.locator(".gold-toggle").count() == 0


def test_a_labeller_on_a_phone_sees_the_batch_over_the_video(
    real_services, team, live_server, phone_page
):
    page = phone_page
    login(page, live_server, username="lea")
    page.wait_for_function(PLAYING)
    assert page.is_visible("#phone-team")
    assert page.inner_text("#phone-team") == f"batch 1/{BATCH}"
    first = current_id(page)
    page.tap(f"#folders .folder[data-key='{key_for(first, 1)}']")  # a tap votes
    wait_playing_other(page, first)
    page.wait_for_function(
        "(t) => document.getElementById('phone-team').textContent === t", arg=f"batch 2/{BATCH}"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    batch = team["lea"].batches.get()
    wait_until(
        lambda: Vote.objects.filter(batch=batch).count() + batch.gold_answers.count() == 1,
        message="the tapped vote on the server",
    )
    assert page.js_errors == []
