"""What a video says and shows, in the player and the gallery: its transcript and on-screen
lines from GET /api/videos/<id>/text, the words of its folder highlighted, a click on a
line seeking the video there; the panel never holds up the switch to the next video.
"""

from __future__ import annotations

import pytest

from labeling.models import ScreenText, Transcript, Video
from tests.browser.conftest import login
from tests.browser.test_player import CURRENT, PLAYING, current_id, switch_ms, switches

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TRANSCRIPT = "#text .text-part[data-source=transcript]"
SCREEN = "#text .text-part[data-source=screen]"


# The API shows the newest row per content hash, whichever engine made it.
TRANSCRIBER, OCR = "pocketsphinx-test", "rapidocr-test"


def _spoken(video: Video, name: str) -> list[dict]:
    d = video.duration or 2.0
    return [
        {"start": 0.1 * d, "end": 0.3 * d, "text": "hello and welcome"},
        {"start": 0.6 * d, "end": 0.8 * d, "text": f"now the {name.replace('-', ' ')} part"},
    ]


def _written(video: Video) -> list[dict]:
    d = video.duration or 2.0
    return [{"time": 0.4 * d, "end": 0.5 * d, "text": "SALE 50% off", "confidence": 0.93}]


@pytest.fixture
def spoken_and_written(predicted_library) -> dict[int, str]:
    """Every loose video says its predicted folder's name and shows a price; {id: name}."""
    from labeling.selectors import videos_with_prediction
    from labeling.services.library import library_current

    said = {}
    loose = videos_with_prediction(library=library_current())
    for video in loose.filter(folder__isnull=True, status="ok"):
        name = video.pred_top[0]["folder"]
        Transcript.objects.create(
            content_hash=video.content_hash,
            engine=TRANSCRIBER,
            state=Transcript.State.TRANSCRIBED,
            segments=_spoken(video, name),
            text=" ".join(s["text"] for s in _spoken(video, name)),
        )
        ScreenText.objects.create(
            content_hash=video.content_hash,
            engine=OCR,
            state=ScreenText.State.READ,
            lines=_written(video),
            text="SALE 50% off",
        )
        said[video.pk] = name
    assert said
    return said


def _lines(page, section: str) -> list[str]:
    return page.eval_on_selector_all(
        f"{section} .text-line .words", "nodes => nodes.map(n => n.textContent)"
    )


def _marks(page, scope: str) -> list[str]:
    return page.eval_on_selector_all(
        f"{scope} mark", "nodes => nodes.map(n => n.textContent.toLowerCase())"
    )


def test_the_player_shows_what_is_said_and_written(
    real_services, spoken_and_written, live_server, browser_page, browser_user
):
    page = browser_page
    login(page, live_server)
    page.wait_for_function(PLAYING)
    first = current_id(page)
    name = spoken_and_written[first]

    # Open on a desktop: the current video's lines, the predicted folder's words marked.
    assert page.is_visible("#text-panel") and page.get_attribute("#text-panel", "open") is not None
    page.wait_for_function(f"document.getElementById('text').dataset.video === '{first}'")
    assert _lines(page, TRANSCRIPT) == [
        "hello and welcome",
        f"now the {name.replace('-', ' ')} part",
    ]
    assert _lines(page, SCREEN) == ["SALE 50% off"]
    marks = _marks(page, "#text")
    assert marks and set(marks) <= set(name.split("-")), (marks, name)
    assert page.locator(f"{TRANSCRIPT} .text-line mark").count() == len(marks)
    assert page.locator(f"{SCREEN} mark").count() == 0  # "SALE 50% off": no folder word

    # A click on a line plays the video from that line's time.
    line = _spoken(Video.objects.get(pk=first), name)[1]
    page.evaluate(f"{CURRENT}.pause(), {CURRENT}.currentTime = 0")
    page.locator(f"{TRANSCRIPT} .text-line").nth(1).click()
    position = page.evaluate(f"{CURRENT}.currentTime")
    assert position == pytest.approx(line["start"], abs=0.3) and position > 0.05
    page.wait_for_function(PLAYING)
    spot = _written(Video.objects.get(pk=first))[0]["time"]
    page.evaluate(f"{CURRENT}.pause(), {CURRENT}.currentTime = 0")
    page.locator(f"{SCREEN} .text-line").first.click()
    assert page.evaluate(f"{CURRENT}.currentTime") == pytest.approx(spot, abs=0.3)
    page.wait_for_function(PLAYING)

    # The next video plays at once; its lines follow it, the previous ones never linger.
    count = switches(page)
    page.keyboard.press("j")
    page.wait_for_function(f"document.getElementById('player').dataset.video !== '{first}'")
    second = current_id(page)
    ms = switch_ms(page, count)
    page.wait_for_function(f"document.getElementById('text').dataset.video === '{second}'")
    assert (
        _lines(page, TRANSCRIPT)[1]
        == f"now the {spoken_and_written[second].replace('-', ' ')} part"
    )
    print(f"\nkey press -> next video playing with the text panel open: {ms} ms")

    # Back to the first one: from the cache, at once.
    page.keyboard.press("k")
    page.wait_for_function(f"document.getElementById('player').dataset.video === '{first}'")
    assert page.get_attribute("#text", "data-video") == str(first)

    # Closed, it stays closed (and fetches nothing) on the next video.
    page.click("#text-panel summary")
    assert not page.is_visible(TRANSCRIPT)
    page.reload()
    page.wait_for_function(PLAYING)
    assert page.get_attribute("#text-panel", "open") is None
    page.click("#text-panel summary")  # open again for the next test
    page.wait_for_function(f"document.getElementById('text').dataset.video === '{first}'")
    assert page.js_errors == []


def test_the_gallery_shows_a_cards_lines(
    real_services, spoken_and_written, live_server, browser_page, browser_user
):
    page = browser_page
    login(page, live_server, next_url="/gallery/unsorted")
    video_id, name = next(iter(spoken_and_written.items()))
    card = f".card[data-video='{video_id}']"
    page.wait_for_selector(card)
    page.click(f"{card} .text-toggle")
    page.wait_for_function(
        f"document.querySelector(\"{card} .text-body\").dataset.video === '{video_id}'"
    )
    words = page.eval_on_selector_all(
        f"{card} .text-line .words", "nodes => nodes.map(n => n.textContent)"
    )
    assert words == ["hello and welcome", f"now the {name.replace('-', ' ')} part", "SALE 50% off"]
    marks = _marks(page, card)
    assert marks and set(marks) <= set(name.split("-")), (marks, name)

    clip = f'document.querySelector("{card} video")'
    page.wait_for_function(f"{clip}.readyState >= 1")
    page.evaluate(f"{clip}.pause(), {clip}.currentTime = 0")
    page.locator(f"{card} .text-line").nth(1).click()
    start = _spoken(Video.objects.get(pk=video_id), name)[1]["start"]
    assert page.evaluate(f"{clip}.currentTime") == pytest.approx(start, abs=0.3)

    # A video the text stage has not reached yet says so.
    sorted_video = Video.objects.filter(folder__isnull=False, status="ok").first()
    page.goto(f"{live_server.url}/gallery/{sorted_video.folder_id}")
    other = f".card[data-video='{sorted_video.pk}']"
    page.click(f"{other} .text-toggle")
    page.wait_for_selector(f"{other} .text-part[data-source=transcript] .text-state")
    assert page.inner_text(f"{other} .text-part[data-source=transcript] .text-state") == (
        "Not analysed yet"
    )
    page.click(f"{other} .text-toggle")
    assert not page.is_visible(f"{other} .text-body")
    assert page.js_errors == []
