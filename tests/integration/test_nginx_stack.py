"""nginx + gunicorn as local processes (no Docker): the production path for video bytes.

gunicorn runs the project's wsgi with VIDSORT_ACCEL_REDIRECT_PREFIX set; nginx runs the
docker template (rendered by tests/test_compose.py) in front of it. Django authorises each
video request and answers with X-Accel-Redirect; nginx sends the bytes with Range.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labeling.models import Library, Video
from tests.conftest import REPO, _database_url_for_worker, _die_with_parent
from tests.test_compose import IN_CI, nginx_binary, render_nginx_config

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ACCEL_PREFIX = "/_protected/library"
PASSWORD = "a-long-test-password-31"
VIDEO = os.urandom(200_000)
STATIC_PROBE = b"/* served by nginx, unknown to gunicorn */\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited: {log.read_text() if log.exists() else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(
        f"{url} did not answer within {timeout} s: {log.read_text() if log.exists() else ''}"
    )


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Browser:
    """urllib with a cookie jar; redirects are not followed so tests see them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect()
        )

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=20) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read())

    def log_in(self, username: str, password: str) -> None:
        page = self.request("/admin/login/")
        assert page.status == 200, page.body[:500]
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.decode(),
                "username": username,
                "password": password,
                "next": "/",
            }
        ).encode()
        answer = self.request(
            "/admin/login/",
            method="POST",
            data=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": self.base + "/admin/login/",
            },
        )
        assert answer.status == 302, answer.body[:2000]
        assert any(cookie.name == "sessionid" for cookie in self.cookies)


@dataclass
class Servers:
    base: str
    gunicorn_base: str
    library_root: Path


@dataclass
class Stack:
    base: str
    gunicorn_base: str
    video: Video
    odd_video: Video
    escaping_video: Video


ODD_NAME = "soccer/goal of the year é#?.webm"


@pytest.fixture(scope="module")
def servers(
    real_services, django_db_setup, django_db_blocker, tmp_path_factory
) -> Iterator[Servers]:
    """gunicorn and nginx, started once for the module, on the test database."""
    nginx = nginx_binary()
    if nginx is None:
        message = "nginx is not installed (./scripts/system-deps.sh installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from django.conf import settings

    tmp_path = tmp_path_factory.mktemp("nginx-stack")
    library_root = tmp_path / "library"
    (library_root / "soccer").mkdir(parents=True)
    (library_root / "clip.mp4").write_bytes(VIDEO)
    (library_root / ODD_NAME).write_bytes(VIDEO[:5000])
    (tmp_path / "outside.mp4").write_bytes(b"SECRET" * 1000)
    nginx_static = tmp_path / "nginx-static"
    (nginx_static / "vidsort").mkdir(parents=True)
    (nginx_static / "vidsort" / "probe.css").write_bytes(STATIC_PROBE)
    # gunicorn gets an empty STATIC_ROOT, so a static answer can only come from nginx.
    (tmp_path / "gunicorn-static").mkdir()

    gunicorn_port, nginx_port = free_port(), free_port()
    gunicorn_log = tmp_path / "gunicorn.log"
    with django_db_blocker.unblock():
        database_url = _database_url_for_worker()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "VIDSORT_DATA_DIR": str(tmp_path / "data"),
        "VIDSORT_LIBRARY": str(library_root),
        "VIDSORT_ACCEL_REDIRECT_PREFIX": ACCEL_PREFIX,
        "STATIC_ROOT": str(tmp_path / "gunicorn-static"),
        "SECRET_KEY": "integration-test-secret-key-" + "x" * 30,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "vidsort_site.wsgi",
            "--bind",
            f"127.0.0.1:{gunicorn_port}",
            "--worker-class",
            "gthread",
            "--workers",
            "1",
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--error-logfile",
            "-",
        ],
        cwd=REPO,
        env=env,
        stdout=gunicorn_log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    config = render_nginx_config(
        nginx_dir,
        port=nginx_port,
        upstream=f"127.0.0.1:{gunicorn_port}",
        static_root=nginx_static,
        library_root=library_root,
        accel_prefix=ACCEL_PREFIX,
    )
    nginx_process = subprocess.Popen(
        [
            nginx,
            "-p",
            str(nginx_dir),
            "-c",
            str(config),
            "-e",
            str(nginx_dir / "error.log"),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(nginx_dir / "stderr.log").open("wb"),
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{gunicorn_port}/healthz", gunicorn, gunicorn_log, 60)
        wait_for_http(
            f"http://127.0.0.1:{nginx_port}/.nginx-health", nginx_process, nginx_dir / "error.log"
        )
        yield Servers(
            base=f"http://127.0.0.1:{nginx_port}",
            gunicorn_base=f"http://127.0.0.1:{gunicorn_port}",
            library_root=library_root,
        )
    finally:
        stop(nginx_process)
        stop(gunicorn)


@pytest.fixture
def stack(servers: Servers, django_user_model, owner_everywhere) -> Stack:
    """Rows in the test database (committed: transaction=True) that gunicorn can see."""
    library = Library.objects.create(name="stack", root=str(servers.library_root))
    video = Video.objects.create(library=library, path="clip.mp4", filename="clip.mp4")
    odd = Video.objects.create(library=library, path=ODD_NAME, filename=Path(ODD_NAME).name)
    escaping = Video.objects.create(library=library, path="../outside.mp4", filename="outside.mp4")
    # is_staff: LOGIN_URL is still the admin login, which only lets staff in.
    owner_everywhere(
        django_user_model.objects.create_user(username="watcher", password=PASSWORD, is_staff=True)
    )
    return Stack(
        base=servers.base,
        gunicorn_base=servers.gunicorn_base,
        video=video,
        odd_video=odd,
        escaping_video=escaping,
    )


def test_nginx_sends_video_bytes_only_after_django_authorised(stack: Stack):
    browser = Browser(stack.base)
    url = f"/media/videos/{stack.video.pk}"

    # Anonymous: sent to the login page, and not one byte of the file.
    anonymous = browser.request(url, headers={"Range": "bytes=0-99"})
    assert anonymous.status == 302
    assert anonymous.headers["Location"].startswith("/login/")
    assert VIDEO[:100] not in anonymous.body and "Content-Range" not in anonymous.headers
    # The internal location cannot be asked for directly.
    direct = browser.request(f"{ACCEL_PREFIX}/clip.mp4")
    assert direct.status == 404 and VIDEO[:100] not in direct.body

    browser.log_in("watcher", PASSWORD)

    ranged = browser.request(url, headers={"Range": "bytes=0-99"})
    assert ranged.status == 206
    assert ranged.body == VIDEO[:100]
    assert ranged.headers["Content-Range"] == f"bytes 0-99/{len(VIDEO)}"
    assert ranged.headers["Content-Type"] == "video/mp4"
    assert "X-Accel-Redirect" not in ranged.headers

    full = browser.request(url)
    assert full.status == 200 and full.body == VIDEO
    assert full.headers["Accept-Ranges"] == "bytes"

    suffix = browser.request(url, headers={"Range": "bytes=-500"})
    assert suffix.status == 206 and suffix.body == VIDEO[-500:]
    assert browser.request(url, headers={"Range": "bytes=9999999999-"}).status == 416
    several = browser.request(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status == 200 and several.body == VIDEO

    head = browser.request(url, method="HEAD")
    assert head.status == 200 and head.headers["Content-Length"] == str(len(VIDEO))
    assert head.body == b""


def test_odd_names_and_escaping_paths(stack: Stack):
    browser = Browser(stack.base)
    browser.log_in("watcher", PASSWORD)
    odd = browser.request(f"/media/videos/{stack.odd_video.pk}", headers={"Range": "bytes=10-19"})
    assert odd.status == 206 and odd.body == VIDEO[10:20]
    assert odd.headers["Content-Type"] == "video/webm"
    escaping = browser.request(f"/media/videos/{stack.escaping_video.pk}")
    assert escaping.status == 404 and b"SECRET" not in escaping.body


def test_gunicorn_alone_answers_with_the_accel_header(stack: Stack):
    browser = Browser(stack.gunicorn_base)
    browser.log_in("watcher", PASSWORD)
    answer = browser.request(f"/media/videos/{stack.odd_video.pk}")
    assert answer.status == 200 and answer.body == b""
    assert answer.headers["X-Accel-Redirect"] == (
        f"{ACCEL_PREFIX}/soccer/goal%20of%20the%20year%20%C3%A9%23%3F.webm"
    )


def test_nginx_serves_static_files(stack: Stack):
    answer = Browser(stack.base).request("/static/vidsort/probe.css")
    assert answer.status == 200 and answer.body == STATIC_PROBE
    assert answer.headers["Content-Type"].startswith("text/css")
    assert Browser(stack.gunicorn_base).request("/static/vidsort/probe.css").status == 404
