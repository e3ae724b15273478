"""Concurrency on real PostgreSQL: many clients sorting the same videos lose nothing."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from labeling.models import Folder, LabelEvent, MoveIntent, Video
from labeling.services.sorting import SortConflict, video_sort
from tests.labeling.test_sorting import assert_safe, make_library

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLIENTS = 8
VIDEOS = 200
SORTS_PER_CLIENT = 40


def _load(pk: int) -> Video:
    return Video.objects.select_related("library", "folder").get(pk=pk)


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
        except SortConflict:
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


def test_eight_clients_sorting_200_videos_at_random_lose_nothing(real_services, library_dir):
    files = {f"v{i:03d}.mp4": f"video {i}".encode() * 20 for i in range(VIDEOS)}
    # Clashing names in the folders too: every move must pick a free name.
    files |= {"cats/v000.mp4": b"pre-existing cat", "dogs/V001.mp4": b"pre-existing dog"}
    lib = make_library(library_dir, files, folders=("cats", "dogs", "birds"))
    ids = list(Video.objects.values_list("pk", flat=True))
    folder_ids = [None, *Folder.objects.values_list("pk", flat=True)]
    counts = {"moved": 0, "noop": 0, "conflict": 0}
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(SORTS_PER_CLIENT):
                video = _load(rng.choice(ids))
                target = rng.choice(folder_ids)
                folder = Folder.objects.get(pk=target) if target else None
                try:
                    outcome = "moved" if video_sort(video=video, folder=folder, wait=5).moved else "noop"
                except SortConflict:
                    outcome = "conflict"
                with lock:
                    counts[outcome] += 1
        finally:
            connection.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    assert sum(counts.values()) == CLIENTS * SORTS_PER_CLIENT
    assert counts["moved"] > 100, counts
    print("concurrent sorts:", counts)
    # One label event per move, and the journal is closed.
    assert LabelEvent.objects.count() == counts["moved"]
    assert MoveIntent.objects.filter(state="done").count() == counts["moved"]
    assert_safe(lib, files)
