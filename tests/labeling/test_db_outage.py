"""A PostgreSQL outage, tried on the real database.

- the API answers a JSON 503 (``database_unavailable``) while the database cannot be
  reached: the connection really fails (its port points at a closed one), during session
  and token loading as well as in the view;
- a sort whose file moved but whose database update failed leaves an open journal entry;
  the next sort of that video settles it on the spot instead of answering 409 until the
  periodic reconcile;
- a retrain stage that lost its database fails the job with that reason once the
  database is back, instead of being swept up later as "the worker stopped".

Faults inside one connection are injected with ``connection.execute_wrapper`` (the
statement never reaches the server, as when the link is down).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.handlers.exception import convert_exception_to_response
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from labeling import tasks
from labeling.middleware import ApiErrorMiddleware
from labeling.models import Job, LabelEvent, MoveIntent, Video
from labeling.services import moves_disk
from labeling.services.sorting import PENDING_SETTLE_SECONDS

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Every new connection is refused (nothing listens on the port) until the end."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    settings_dict = connection.settings_dict
    saved = (settings_dict["HOST"], settings_dict["PORT"])
    connection.close()
    settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", str(_closed_port())
    try:
        yield
    finally:
        connection.close()
        settings_dict["HOST"], settings_dict["PORT"] = saved


class FlakyDatabase:
    """An execute wrapper: while ``down`` is set, every statement fails as a lost link."""

    def __init__(self, *, down_at: str = "") -> None:
        self.down = threading.Event()
        self.down_at = down_at  # goes down at the first statement naming this table
        self.refused = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if self.down_at and self.down_at in sql:
            self.down_at = ""
            self.down.set()
            threading.Timer(2.0, self.down.clear).start()  # back, as after a restart
        if self.down.is_set():
            self.refused += 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def _json_503(response) -> None:
    assert response.status_code == 503, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["error"] == "database_unavailable", body
    assert body["detail"]


def test_the_api_answers_a_json_503_while_the_database_is_unreachable(lib, user):
    session = Client(raise_request_exception=False)
    session.force_login(user)
    token = Token.objects.create(user=user).key
    by_token = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token}")
    video = Video.objects.filter(library=lib).first()
    assert video is not None
    with database_unreachable():
        _json_503(session.get("/api/videos"))
        _json_503(by_token.get("/api/videos?q=clip"))
        _json_503(session.get("/api/retrain/status"))
        _json_503(
            by_token.post(
                "/api/sort", {"video": video.pk, "folder": "dogs"}, content_type="application/json"
            )
        )
        _json_503(by_token.get("/api/no-such-endpoint"))
    # And once it is back, the same clients work again.
    assert session.get("/api/videos").status_code == 200


def test_a_sort_interrupted_by_a_database_outage_is_settled_by_the_next_sort(
    lib, user, monkeypatch
):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    clip = Video.objects.get(library=lib, filename="clip.mp4")
    flaky = FlakyDatabase()

    def hook(step: int) -> None:
        if step == moves_disk.STEP_SOURCE_REMOVED:
            flaky.down.set()  # the file is at its destination; now the database goes

    monkeypatch.setattr(moves_disk, "STEP_HOOK", hook)
    with connection.execute_wrapper(flaky):
        first = client.post(
            "/api/sort", {"video": clip.pk, "folder": "cats"}, content_type="application/json"
        )
    flaky.down.clear()
    monkeypatch.setattr(moves_disk, "STEP_HOOK", None)
    assert flaky.refused > 0
    assert first.status_code == 503 and first.json()["error"] == "incomplete", first.content
    root = Path(lib.root)
    assert (root / "cats" / "clip.mp4").is_file() and not (root / "clip.mp4").exists()
    intent = MoveIntent.objects.get(video=clip, state=MoveIntent.State.PENDING)
    # Time passes (the process that started the move is long gone).
    MoveIntent.objects.filter(pk=intent.pk).update(
        created_at=timezone.now() - timedelta(seconds=PENDING_SETTLE_SECONDS + 5)
    )

    second = client.post(
        "/api/sort", {"video": clip.pk, "folder": "dogs"}, content_type="application/json"
    )

    assert second.status_code == 200, second.content
    assert second.json()["moved"] is True and second.json()["folder"] == "dogs"
    assert (root / "dogs" / "clip.mp4").is_file() and not (root / "cats" / "clip.mp4").exists()
    intent.refresh_from_db()
    assert intent.state == MoveIntent.State.DONE
    clip.refresh_from_db()
    assert clip.path == "dogs/clip.mp4"
    routes = list(
        LabelEvent.objects.filter(video=clip)
        .order_by("pk")
        .values_list("to_folder__name", flat=True)
    )
    assert routes == ["cats", "dogs"]  # the interrupted sort is recorded, then the new one
    assert not MoveIntent.objects.filter(state=MoveIntent.State.PENDING).exists()


def test_a_fresh_open_move_is_left_to_its_owner(lib, user):
    """Within the guard the open entry may belong to a move in flight: still a 409."""
    clip = Video.objects.get(library=lib, filename="clip.mp4")
    MoveIntent.objects.create(
        video=clip, route="api", src_path=clip.path, dst_path="cats/clip.mp4", step="intent"
    )
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.post(
        "/api/sort", {"video": clip.pk, "folder": "dogs"}, content_type="application/json"
    )
    assert response.status_code == 409, response.content
    assert MoveIntent.objects.filter(video=clip, state=MoveIntent.State.PENDING).count() == 1


def test_a_retrain_stage_that_lost_its_database_says_so(lib, settings):
    settings.VIDSORT_HEARTBEAT_SECONDS = 0.2
    job = Job.objects.create(library=lib, kind=Job.Kind.RETRAIN)
    # The job is claimed; the database goes when the scan reads the videos.
    flaky = FlakyDatabase(down_at='"labeling_video"')
    started = time.monotonic()
    with connection.execute_wrapper(flaky):
        tasks.retrain_scan_task(job_id=job.pk)
    assert flaky.refused > 0
    assert time.monotonic() - started < 60
    job.refresh_from_db()
    assert job.state == Job.State.FAILED, (job.state, job.error)
    assert "database connection was lost" in job.error, job.error
    assert "server closed the connection unexpectedly" in job.error
    assert "worker stopped" not in job.error


def test_a_lost_database_outside_a_drf_view_is_a_json_503_too(rf):
    """Raised in a middleware or a plain view: Django's own handler makes its 500 page,
    which the API's middleware answers in the JSON shape instead."""

    def session_loading(request):  # type: ignore[no-untyped-def]
        raise OperationalError("connection to server failed: Connection refused")

    middleware = ApiErrorMiddleware(convert_exception_to_response(session_loading))
    _json_503(middleware(rf.get("/api/videos")))
    page = middleware(rf.get("/overview"))
    assert page.status_code == 500 and not page["Content-Type"].startswith("application/json")
