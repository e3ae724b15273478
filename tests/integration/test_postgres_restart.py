"""A PostgreSQL restart under a running retrain, on a private server and a real worker.

The shared PostgreSQL of the other tests is never touched: this test makes its own
cluster (initdb on a free port), migrates it, and points a real Celery worker and the
commands it runs at it. Then it restarts that server while the worker is extracting, as
`docker compose restart postgres` or a crash would, and checks what the user is told.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        pytest.fail(f"{name} not found: install the postgresql package (scripts/system-deps.sh)")
    return found


class PostgresServer:
    """A PostgreSQL cluster of this test only (trust auth, unix socket in its folder)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/vidsort"
        # initdb refuses to run as root: the cluster belongs to the postgres account then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}\n{done.stderr}"

    def create(self) -> None:
        self.folder.chmod(0o777)
        self.data.mkdir(mode=0o700)
        if self.as_user:
            shutil.chown(self.data, "postgres", "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()
        self._run(
            _pg_bin("createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "vidsort",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "postgres.log")
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        # Fast shutdown: open sessions are terminated, as in a restart of the service.
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def query(self, sql: str, *params: object) -> list[tuple]:
        import psycopg

        url = self.url.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def private_postgres(real_services) -> Iterator[PostgresServer]:
    # Not under pytest's own temporary folder: that one is private to root, and the
    # server may run as the postgres account.
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="vidsort-pg-")))
    try:
        server.create()
        yield server
    finally:
        try:
            server.stop()
        except AssertionError:
            pass  # already stopped by the test
        shutil.rmtree(server.folder, ignore_errors=True)


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"manage.py {args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def _wait(predicate, *, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - the server may be restarting
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_postgres_restart_during_a_retrain_fails_the_job_with_the_real_reason(
    private_postgres, worker_factory, make_demo, settings
):
    root = make_demo(36)
    env = os.environ | {
        "DATABASE_URL": private_postgres.url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "VIDSORT_DATA_DIR": str(settings.DATA_DIR),
        "VIDSORT_LIBRARY": str(root),
        "VIDSORT_CLIP_MODEL": "vidsort-tiny",
        "VIDSORT_CLIP_PRETRAINED": "",
    }
    _manage(env, "migrate", "--noinput")
    worker = worker_factory(
        DATABASE_URL=private_postgres.url,
        VIDSORT_LIBRARY=str(root),
        VIDSORT_CLIP_MODEL="vidsort-tiny",
        VIDSORT_CLIP_PRETRAINED="",
        VIDSORT_EXTRACT_CHUNK="2",
    )
    out = _manage(env, "vidsort_retrain")
    job_id = int(out.strip().rsplit(" ", 1)[-1])

    def job_row() -> tuple:
        return private_postgres.query(
            "select state, stage, progress_done, error from labeling_job where id = %s", job_id
        )[0]

    _wait(
        lambda: job_row()[1] == "extract" and job_row()[2] > 0,
        timeout=180,
        what=f"extraction to start: {worker.log_text()[-3000:]}",
    )
    private_postgres.stop()
    time.sleep(3)  # the worker's next statement finds the server gone
    private_postgres.start()

    state, stage, _, error = _wait(
        lambda: (row := job_row())[0] not in ("queued", "running") and row,
        timeout=300,
        what=f"job {job_id} to end: {worker.log_text()[-3000:]}",
    )
    log = worker.log_text()
    assert worker.process.poll() is None, f"the worker exited: {log[-4000:]}"
    # The stage's connection was cut (or refused while the server shut down): the user
    # reads what happened, not "the worker stopped".
    assert state == "failed", (state, stage, error, log[-3000:])
    assert "database connection was lost" in error, (error, log[-3000:])
    assert "OperationalError" in error, error
    assert "worker stopped" not in error

    # The same worker goes on with the restarted server: the next retrain runs through.
    out = _manage(env, "vidsort_retrain", "--wait", "--timeout", "300")
    assert "succeeded" in out, out
