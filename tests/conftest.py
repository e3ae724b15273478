"""Shared fixtures: real test media, real services, a real Celery worker process.

Integration tests (marker ``integration``) need PostgreSQL and Redis. With CI=true a
missing service fails them; otherwise they skip with a message saying what to start.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.media import build_media

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
# The encoder auto-check (docs/extraction.md) would fix the model id of a whole test session by
# what one timing measured: off in tests (worker processes inherit this), on where tested.
os.environ.setdefault("VIDSORT_ENCODER_AUTO_CHECK", "0")


@pytest.fixture(autouse=True, scope="session")
def _encoder_auto_check_default() -> None:
    from django.conf import settings

    settings.VIDSORT_ENCODER_AUTO_CHECK = os.environ["VIDSORT_ENCODER_AUTO_CHECK"] not in (
        "0",
        "false",
        "no",
        "off",
    )


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_media(tmp_path_factory.mktemp("media"))


@pytest.fixture
def owner_everywhere():
    """`own(user)`: the user becomes owner of every library, now and created later in the test.

    Before roles (docs/team.md) every signed-in user could do everything; tests written for
    that single-user install give their users this, so they keep meaning what they did.
    Role tests do not use it.
    """
    from django.db.models.signals import post_save

    from labeling.models import Library, Membership

    owners: list = []

    def make_owners(library: Library) -> None:
        for user in owners:
            Membership.objects.get_or_create(
                library=library, user=user, defaults={"role": Membership.Role.OWNER}
            )

    def on_library_saved(sender: type, instance: Library, created: bool, **kwargs: object) -> None:
        if created:
            make_owners(instance)

    uid = f"tests-owner-everywhere-{id(owners)}"
    post_save.connect(on_library_saved, sender=Library, weak=False, dispatch_uid=uid)

    def own(user):
        owners.append(user)
        for library in Library.objects.all():
            make_owners(library)
        return user

    yield own
    post_save.disconnect(sender=Library, dispatch_uid=uid)


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    return root


def _service_problem() -> str | None:
    from django.conf import settings
    from django.db import connection

    problems = []
    if connection.vendor != "postgresql":
        problems.append(
            "PostgreSQL (start it, or set DATABASE_URL=postgres://postgres@127.0.0.1:5432/vidsort)"
        )
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis"):
        problems.append("Redis (set CELERY_BROKER_URL=redis://127.0.0.1:6379/15)")
    else:
        import redis

        try:
            redis.Redis.from_url(broker, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            problems.append(f"Redis at {broker} ({exc})")
    return "; ".join(problems) or None


@pytest.fixture(scope="session")
def real_services() -> None:
    problem = _service_problem()
    if problem is None:
        return
    message = f"integration test needs {problem}"
    if IN_CI:
        pytest.fail(message + " (CI=true: missing services fail the run)", pytrace=False)
    pytest.skip(message)


def _die_with_parent() -> None:
    """Runs in the worker child: if pytest is killed, the worker goes too (Linux)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _database_url_for_worker() -> str:
    from django.db import connection

    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


class WorkerProcess:
    """A real `celery worker` subprocess (its own session, so it can be SIGKILLed whole)."""

    def __init__(self, env: dict[str, str], log: Path, name: str) -> None:
        self.log_path = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "vidsort_site",
                "worker",
                "-Q",
                "default,gpu,text",
                "--concurrency",
                "1",
                "--without-mingle",
                "--without-gossip",
                "-n",
                name,
                "--loglevel",
                "INFO",
                "--logfile",
                str(log),
            ],
            cwd=REPO,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.pid = self.process.pid

    def wait_ready(self, app, name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"celery worker exited: {self.log_text()}")
            replies = app.control.ping(timeout=0.5) or []
            if any(name.replace("%h", "") in key for reply in replies for key in reply):
                return
        self.kill()
        pytest.fail(f"celery worker did not answer a ping within {timeout} s: {self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def _worker_database_url(real_services: None, django_db_setup: None, django_db_blocker) -> str:
    with django_db_blocker.unblock():
        return _database_url_for_worker()


@pytest.fixture
def worker_factory(_worker_database_url: str, tmp_path_factory):
    """Start real Celery worker processes on Redis against the test database.

    Function-scoped: each test gets workers nobody else's tasks can land on, and they
    are stopped (and the queues emptied) when the test ends.
    """
    import redis
    from django.conf import settings

    from vidsort_site.celery import app

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    database_url = _worker_database_url
    started: list[WorkerProcess] = []

    def start(**extra_env: str) -> WorkerProcess:
        name = f"test-{os.getpid()}-{len(started)}@%h"
        env = (
            os.environ
            | {
                "DATABASE_URL": database_url,
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                "VIDSORT_DATA_DIR": str(settings.DATA_DIR),
                "VIDSORT_HEARTBEAT_SECONDS": "1",
                "PYTHONUNBUFFERED": "1",
            }
            | extra_env
        )
        log = tmp_path_factory.mktemp("worker") / "worker.log"
        worker = WorkerProcess(env, log, name)
        started.append(worker)
        worker.wait_ready(app, name.split("@")[0])
        return worker

    yield start
    for worker in started:
        worker.kill(signal.SIGTERM)
    broker.flushdb()


@pytest.fixture
def celery_worker_process(worker_factory) -> WorkerProcess:
    """A worker with the default settings for one test."""
    return worker_factory()


def copy_into(library: Path, source: Path, rel: str) -> Path:
    target = library / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


@pytest.fixture
def copy_video():
    return copy_into


@pytest.fixture(scope="session")
def _demo_cache(tmp_path_factory) -> dict[int, Path]:
    return {}


@pytest.fixture
def make_demo(_demo_cache, tmp_path_factory, tmp_path):
    """A fresh copy of a demo library with N videos (generated once per session per N)."""
    from mlpipeline.demo_videos import create_demo_library

    def make(videos: int = 36, name: str = "demo") -> Path:
        if videos not in _demo_cache:
            source = tmp_path_factory.mktemp(f"demo{videos}")
            create_demo_library(root=source, videos=videos)
            _demo_cache[videos] = source
        target = tmp_path / name
        shutil.copytree(_demo_cache[videos], target)
        return target

    return make


@pytest.fixture
def tiny_model(settings) -> None:
    """The small test encoder (random weights, no download) instead of the configured one."""
    settings.VIDSORT_CLIP_MODEL = "vidsort-tiny"
    settings.VIDSORT_CLIP_PRETRAINED = ""


@pytest.fixture
def scanned_library(make_demo, settings, tiny_model):
    """A scanned 36-video demo library, current for the app, with the tiny test model."""
    from labeling.services.scan import library_get_or_create, library_scan

    root = make_demo(36)
    settings.VIDSORT_LIBRARY = root
    library = library_get_or_create(root=root)
    library_scan(library=library)
    return library


@pytest.fixture
def embedded_library(scanned_library):
    """scanned_library with every video's embedding extracted (in-process decoding)."""
    from labeling.services.extraction import (
        embeddings_extract,
        model_id_current,
        videos_needing_embeddings,
    )

    ids = videos_needing_embeddings(library=scanned_library, model_id=model_id_current())
    embeddings_extract(video_ids=list(ids.values_list("pk", flat=True)), workers=0)
    return scanned_library
