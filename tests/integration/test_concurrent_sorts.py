"""Concurrency on real PostgreSQL: many clients sorting the same videos lose nothing.

Two sorts of one video end in exactly one move: the other is a conflict (HTTP 409 through
the API) or, when it wanted the same folder, a no-op.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from labeling.models import Folder, LabelEvent, MoveIntent, Video
from labeling.services.errors import ConflictError
from labeling.services.sorting import video_sort
from tests.labeling.helpers import assert_safe, make_library

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLIENTS = 8
VIDEOS = 200


def _load(pk: int) -> Video:
    return Video.objects.select_related("library", "folder").get(pk=pk)


def _race(targets: list, client) -> list:
    """Run ``client(target)`` in one thread per target, all released together."""
    barrier = threading.Barrier(len(targets))
    outcomes: list = []

    def run(target) -> None:
        try:
            outcomes.append(client(target, barrier))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_concurrent_sorts_of_one_video_make_exactly_one_move(real_services, library_dir):
    lib = make_library(library_dir, {"clip.mp4": b"clip"}, folders=("cats", "dogs"))
    pk = Video.objects.get().pk
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def client(name: str) -> None:
        try:
            video = _load(pk)  # both load the unsorted row
            barrier.wait()
            result = video_sort(video=video, folder=Folder.objects.get(name=name))
            outcomes.append("moved" if result.moved else "noop")
        except ConflictError:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in ("cats", "dogs")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "moved"]
    assert LabelEvent.objects.count() == 1 and MoveIntent.objects.filter(state="done").count() == 1
    assert_safe(lib, {"clip.mp4": b"clip"})


def test_two_concurrent_sorts_into_the_same_folder_make_one_move_and_one_noop(
    real_services, library_dir
):
    lib = make_library(library_dir, {"clip.mp4": b"clip"}, folders=("cats",))
    pk = Video.objects.get().pk

    def client(name: str, barrier: threading.Barrier) -> str:
        video = _load(pk)  # both load the unsorted row
        barrier.wait()
        try:
            result = video_sort(video=video, folder=Folder.objects.get(name=name))
        except ConflictError as exc:
            return f"conflict: {exc}"
        return "moved" if result.moved else "noop"

    outcomes = _race(["cats", "cats"], client)
    assert sorted(outcomes) == ["moved", "noop"], outcomes
    assert Video.objects.get().path == "cats/clip.mp4"
    assert LabelEvent.objects.count() == 1 and MoveIntent.objects.filter(state="done").count() == 1
    assert_safe(lib, {"clip.mp4": b"clip"})


def test_two_concurrent_api_sorts_to_different_folders_give_one_409(
    real_services, library_dir, settings, owner_everywhere
):
    settings.VIDSORT_LIBRARY = library_dir
    lib = make_library(library_dir, {"clip.mp4": b"clip"}, folders=("cats", "dogs"))
    pk = Video.objects.get().pk
    user = owner_everywhere(get_user_model().objects.create_user("ann"))

    def client(name: str, barrier: threading.Barrier) -> tuple[int, dict]:
        api = APIClient()
        api.force_authenticate(user)
        barrier.wait()
        # As the player does: "I saw it unsorted; file it into <name>".
        response = api.post(
            "/api/sort",
            {"video": pk, "folder": name, "expected_folder": None, "route": "player"},
            format="json",
        )
        return response.status_code, response.json()

    outcomes = _race(["cats", "dogs"], client)
    codes = sorted(code for code, _ in outcomes)
    assert codes == [200, 409], outcomes
    moved = next(body for code, body in outcomes if code == 200)
    refused = next(body for code, body in outcomes if code == 409)
    assert moved["moved"] is True and moved["path"] == f"{moved['folder']}/clip.mp4"
    assert "moved since" in str(refused) or "being moved" in str(refused), refused
    assert Video.objects.get().path == moved["path"]
    assert LabelEvent.objects.count() == 1 and MoveIntent.objects.filter(state="done").count() == 1
    assert_safe(lib, {"clip.mp4": b"clip"})


def test_eight_clients_sorting_200_videos_at_random_lose_nothing(real_services, library_dir):
    files = {f"v{i:03d}.mp4": f"video {i}".encode() * 20 for i in range(VIDEOS)}
    # Clashing names in the folders too: every move must pick a free name.
    files |= {"cats/v000.mp4": b"pre-existing cat", "dogs/V001.mp4": b"pre-existing dog"}
    lib = make_library(library_dir, files, folders=("cats", "dogs", "birds"))
    ids = list(Video.objects.values_list("pk", flat=True))
    folder_ids = [None, *Folder.objects.values_list("pk", flat=True)]
    counts = {"moved": 0, "noop": 0, "conflict": 0}
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(seed: int) -> None:
        # Every client touches every video once, in its own random order: all 8 contend
        # for the same 200 videos the whole time.
        rng = random.Random(seed)
        order = ids[:]
        rng.shuffle(order)
        start.wait()
        try:
            for pk in order:
                video = _load(pk)
                target = rng.choice(folder_ids)
                folder = Folder.objects.get(pk=target) if target else None
                try:
                    outcome = (
                        "moved" if video_sort(video=video, folder=folder, wait=5).moved else "noop"
                    )
                except ConflictError:
                    outcome = "conflict"
                with lock:
                    counts[outcome] += 1
        finally:
            connection.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    assert sum(counts.values()) == CLIENTS * len(ids)
    assert counts["moved"] > 400, counts
    print("concurrent sorts:", counts)
    # One label event per move, and the journal is closed.
    assert LabelEvent.objects.count() == counts["moved"]
    assert MoveIntent.objects.filter(state="done").count() == counts["moved"]
    assert_safe(lib, files)
