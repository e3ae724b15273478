"""Redis faults: a private redis-server that each test starts, stops and restarts.

The shared Redis of the other integration tests is never touched: the worker, the Celery
app of this process and the login throttle's cache are pointed at the private instance.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import kombu.pools
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from labeling.models import Job
from labeling.services.retrain import jobs_mark_lost
from tests import conftest
from tests.conftest import REPO, WorkerProcess, _die_with_parent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of this test only, saving to its folder as the compose one does."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--dir", str(self.folder), "--save", "60 1", "--appendonly", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=1).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise AssertionError(f"redis-server did not start: {self.log_text()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()  # SIGTERM: saves and exits, as `docker restart` does
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def log_text(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def private_redis(tmp_path_factory, real_services) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_on_private_redis(private_redis: RedisServer, settings, monkeypatch) -> Iterator[None]:
    """This process's Celery app sends to (and pings through) the private instance."""
    from vidsort_site.celery import app

    _broker_connections_drop(app)
    monkeypatch.setitem(app.conf, "broker_url", private_redis.url)
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)  # Celery reads it first
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    settings.CELERY_BROKER_URL = private_redis.url
    yield
    _broker_connections_drop(app)


def _broker_connections_drop(app) -> None:
    """Forget pooled connections and producers: the next send connects to the new URL.

    The app's pool lives in kombu's process-wide registry, keyed by the connection: closing
    it alone would leave a closed pool there for the next test on the same URL to fetch
    ("Acquire on closed pool"), so the registry is emptied too.
    """
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def demo(make_demo, settings, tiny_model) -> Path:
    root = make_demo(36)
    settings.VIDSORT_LIBRARY = root
    return root


@pytest.fixture
def api(owner_everywhere) -> APIClient:
    user = owner_everywhere(get_user_model().objects.create_user("ann", password="pw-12345678"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def job_finished(job_id: int) -> Job | None:
    job = Job.objects.get(pk=job_id)
    return job if job.state not in Job.ACTIVE_STATES else None


class BeatWorkerProcess(WorkerProcess):
    """The worker as run.sh starts it: with beat (-B) and events (-E) in the same process."""

    def __init__(self, env: dict[str, str], log: Path, name: str) -> None:
        self.log_path = log
        schedule = log.parent / "celerybeat-schedule"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "vidsort_site", "worker"]
            + ["-Q", "default,gpu,text", "--concurrency", "1", "-B", "-E"]
            + ["--schedule", str(schedule), "--without-mingle", "--without-gossip"]
            + ["-n", name, "--loglevel", "INFO", "--logfile", str(log)],
            cwd=REPO,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.pid = self.process.pid


@pytest.mark.parametrize("with_beat", [False, True], ids=["worker", "worker-with-beat"])
def test_a_redis_restart_during_a_retrain_leaves_the_worker_running(
    private_redis, app_on_private_redis, worker_factory, demo, api, with_beat, monkeypatch, settings
):
    if with_beat:
        monkeypatch.setattr(conftest, "WorkerProcess", BeatWorkerProcess)
    worker = worker_factory(
        CELERY_BROKER_URL=private_redis.url,
        VIDSORT_CLIP_MODEL="vidsort-tiny",
        VIDSORT_CLIP_PRETRAINED="",
        VIDSORT_EXTRACT_CHUNK="4",
    )
    response = api.post("/api/retrain")
    assert response.status_code == 201, response.content
    job_id = response.json()["job"]
    wait_for(
        lambda: Job.objects.filter(pk=job_id, stage="extract", progress_done__gt=0).exists(),
        timeout=180,
        what=f"extraction to start: {worker.log_text()[-3000:]}",
    )

    private_redis.stop()  # saved and stopped, and back at once, as `docker restart` does
    private_redis.start()

    # The player polls the job's status, and each status read sweeps stalled jobs: a chunk
    # whose message the restart stranded is queued again there (services/retrain.py).
    settings.VIDSORT_JOB_STALE_SECONDS = 20

    def swept_and_finished() -> Job | None:
        jobs_mark_lost()
        return job_finished(job_id)

    job = wait_for(swept_and_finished, timeout=300, what=f"job {job_id} to end")
    log = worker.log_text()
    assert worker.process.poll() is None, f"the worker exited: {log[-4000:]}"
    assert "Unrecoverable error" not in log, log[-4000:]
    assert job.state == "succeeded" or (job.state == "failed" and job.error), job.error

    # The same worker goes on: the next retrain runs through.
    response = api.post("/api/retrain")
    assert response.status_code == 201, response.content
    again = wait_for(
        lambda: job_finished(response.json()["job"]), timeout=300, what="the next retrain"
    )
    assert again.state == "succeeded", f"{again.error}: {worker.log_text()[-4000:]}"


def test_a_retrain_requested_while_redis_is_down_fails_with_the_reason(
    private_redis, app_on_private_redis, api, settings, tmp_path
):
    import redis

    settings.VIDSORT_LIBRARY = tmp_path / "library"
    settings.VIDSORT_LIBRARY.mkdir()
    private_redis.stop()

    response = api.post("/api/retrain")
    assert response.status_code == 503, response.content
    assert response.json()["error"] == "broker_unavailable"
    job = Job.objects.get()
    assert job.state == "failed" and "broker unreachable" in job.error, job.error

    # Nothing is left queued: once Redis is back the next request starts a retrain.
    private_redis.start()
    response = api.post("/api/retrain")
    assert response.status_code == 201, response.content
    queued = Job.objects.get(pk=response.json()["job"])
    assert queued.state == "queued"
    assert redis.Redis.from_url(private_redis.url).llen("default") == 1


def test_login_while_the_throttle_cache_is_down_fails_open(private_redis, settings, client):
    settings.CACHES = settings.CACHES | {
        "vidsort-security": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": private_redis.url,
        }
    }
    get_user_model().objects.create_user("ann", password="pw-12345678")
    private_redis.stop()

    wrong = client.post("/login/", {"username": "ann", "password": "not-it"})
    assert wrong.status_code == 200  # the form again, saying the password is wrong
    right = client.post("/login/", {"username": "ann", "password": "pw-12345678"})
    assert right.status_code == 302, right.content[:500]
    assert client.session.get("_auth_user_id")
