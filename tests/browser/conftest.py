"""Browser fixtures: the Debian Chromium driven by Playwright, a logged-in page.

Playwright's own browser downloads are never used (no `playwright install`): the tests
launch /usr/bin/chromium (installed by scripts/system-deps.sh) headless, with a fresh
profile, no background networking and no component updates, so a run touches nothing
outside this machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI

CHROMIUM = os.environ.get("VIDSORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
PASSWORD = "pw-browser-12345"


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message + " (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator:
    """Playwright, once per module; the contexts below launch /usr/bin/chromium with it."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(
            f"browser tests need Chromium at {CHROMIUM} (run ./scripts/system-deps.sh as root)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("browser tests need playwright (pip install -r requirements-dev.txt)")
    # Playwright's sync API keeps an asyncio loop in this thread; Django would take the
    # test's ORM calls for calls from async code. They are not: allow them, only while
    # the browser lives.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _launch(playwright, profile: Path, **options):
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **options
    )


@pytest.fixture(scope="module")
def browser_context(playwright_driver, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    context = _launch(
        playwright_driver, tmp_path_factory.mktemp("chromium-profile"), viewport=DESKTOP
    )
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def phone_context(playwright_driver, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A phone: 375 px wide, touch input (swipes and taps), mobile viewport rules."""
    context = _launch(
        playwright_driver,
        tmp_path_factory.mktemp("chromium-phone-profile"),
        viewport=PHONE,
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    try:
        yield context
    finally:
        context.close()


def _page(context):
    context.clear_cookies()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    return page


@pytest.fixture
def browser_page(browser_context):
    page = _page(browser_context)
    page.set_viewport_size(DESKTOP)
    yield page
    page.close()


@pytest.fixture
def phone_page(phone_context):
    page = _page(phone_context)
    yield page
    page.close()


@pytest.fixture
def browser_user(django_user_model, owner_everywhere):
    # An owner of the test's libraries: the one user of a single-user install.
    return owner_everywhere(django_user_model.objects.create_user("ann", password=PASSWORD))


def login(
    page, live_server, *, username: str = "ann", password: str = PASSWORD, next_url: str = "/"
) -> None:
    page.goto(f"{live_server.url}/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_url}")


@pytest.fixture
def demo_library(make_demo, settings) -> Path:
    """A scanned demo library (24 clips: 12+ sorted into 6 folders, the rest loose)."""
    from labeling.services.scan import library_get_or_create, library_scan

    settings.VIDSORT_CLIP_MODEL = "vidsort-tiny"
    settings.VIDSORT_CLIP_PRETRAINED = ""
    root = make_demo(24)
    settings.VIDSORT_LIBRARY = root
    library_scan(library=library_get_or_create(root=root))
    return root


@pytest.fixture
def predicted_library(demo_library: Path) -> Path:
    """The demo library after a retrain done in-process: every loose video has a prediction."""
    from labeling.services.extraction import (
        embeddings_extract,
        encoder_get,
        videos_needing_embeddings,
    )
    from labeling.services.learning import classifier_train, predictions_compute
    from labeling.services.library import library_current

    library = library_current()
    encoder = encoder_get()
    ids = videos_needing_embeddings(library=library, model_id=encoder.model_id)
    embeddings_extract(video_ids=list(ids.values_list("pk", flat=True)), encoder=encoder, workers=0)
    report = classifier_train(library=library, encoder=encoder)
    predictions_compute(classifier=report.classifier, encoder=encoder)
    # The player test clicks "where it matches" segments: every loose video has some.
    from labeling.models import Prediction

    loose = Prediction.objects.filter(
        classifier_version=report.classifier.version, video__folder__isnull=True
    )
    assert loose.exists() and all(p.segments for p in loose), "predictions without segments"
    return demo_library
