"""A scan and users' sorts at the same time, on real PostgreSQL.

The scan reads the rows, probes the files (seconds to minutes on a real library), then
writes what it found. Sorts that land in between must win: the scan never writes a row
back to the path, folder or hash it read before a sort changed it.

The scan runs in a thread and is held at two points (after it read the rows, after it
probed the files) while the test sorts and undoes through the API, so every interleaving
the test names happens on every run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from labeling.models import Folder, LabelEvent, Library, MoveIntent, Video
from labeling.services import scan
from labeling.services.scan import library_get_or_create, library_scan
from labeling.services.undo import label_event_undo
from mlpipeline.hashing import content_hash
from tests.media import make_h264

pytestmark = pytest.mark.django_db(transaction=True)

VIDEOS = 12
WAIT = 120.0  # seconds: generous, a loaded 2-core CI machine


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Small real videos, each with distinct bytes (so distinct content hashes)."""
    folder = tmp_path_factory.mktemp("race_clips")
    return [
        make_h264(folder / f"v{i:02d}.mp4", seconds=1, extra=("-metadata", f"title=clip {i}"))
        for i in range(VIDEOS)
    ]


def _held(
    original: Callable[..., Any], reached: threading.Event, release: threading.Event
) -> Callable[..., Any]:
    """``original``, but signalling ``reached`` and waiting for ``release`` once it returns."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        reached.set()
        assert release.wait(WAIT), "the test never released the scan"
        return result

    return wrapper


def _sort(api: APIClient, pk: int, folder: str, expected: str | None = None) -> None:
    response = api.post(
        "/api/sort",
        {"video": pk, "folder": folder, "expected_folder": expected, "route": "player"},
        format="json",
    )
    assert response.status_code == 200, response.content


def _undo_latest(user: Any, pk: int) -> None:
    event = LabelEvent.objects.filter(video_id=pk).order_by("-id").first()
    label_event_undo(user=user, event=event)


def _assert_rows_match_disk(library: Library) -> None:
    root = Path(library.root)
    for video in Video.objects.filter(library=library).select_related("folder"):
        path = root / video.path
        assert path.is_file(), f"row {video.pk} points at {video.path}, not on disk"
        assert video.status == Video.Status.OK, (video.path, video.status, video.error)
        folder = video.path.split("/")[0] if "/" in video.path else None
        assert (video.folder.name if video.folder else None) == folder, video.path
        assert video.content_hash == content_hash(path), f"stale hash for {video.path}"
        st = path.stat()
        assert (video.size, video.mtime_ns) == (st.st_size, st.st_mtime_ns), video.path


def test_sorts_during_a_scan_are_not_overwritten_by_it(
    real_services: None,
    library_dir: Path,
    settings: Any,
    clips: list[Path],
    monkeypatch: Any,
    owner_everywhere: Any,
) -> None:
    settings.VIDSORT_LIBRARY = library_dir
    for clip in clips:
        (library_dir / clip.name).write_bytes(clip.read_bytes())
    library = library_get_or_create(root=library_dir)
    for name in ("cats", "dogs"):
        (library_dir / name).mkdir()
        Folder.objects.create(library=library, name=name)
    assert library_scan(library=library).new == VIDEOS
    user = owner_everywhere(get_user_model().objects.create_user("ann"))
    api = APIClient()
    api.force_authenticate(user)
    pks = {v.filename: v.pk for v in Video.objects.all()}
    # History from before the scan: it must survive everything below.
    _sort(api, pks["v11.mp4"], "cats")
    # Every file looks changed: the scan re-probes all of them (its slow path).
    for path in library_dir.rglob("*.mp4"):
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))

    read, go_probe = threading.Event(), threading.Event()
    probed, go_write = threading.Event(), threading.Event()
    monkeypatch.setattr(scan, "videos_by_path", _held(scan.videos_by_path, read, go_probe))
    monkeypatch.setattr(scan, "_probe_all", _held(scan._probe_all, probed, go_write))
    failure: list[BaseException] = []

    def run_scan() -> None:
        try:
            library_scan(library=Library.objects.get(pk=library.pk))
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run_scan)
    thread.start()
    try:
        assert read.wait(WAIT), "the scan never read the rows"
        # Sorted before the scan probes them: their old path is gone when it looks.
        for name in ("v00.mp4", "v01.mp4", "v02.mp4"):
            _sort(api, pks[name], "cats")
        _sort(api, pks["v03.mp4"], "dogs")
        _undo_latest(user, pks["v03.mp4"])  # back at the path the scan read, newer row
        go_probe.set()
        assert probed.wait(WAIT), "the scan never finished probing"
        # Sorted after the scan probed them: what it holds is their old place.
        for name in ("v04.mp4", "v05.mp4", "v06.mp4"):
            _sort(api, pks[name], "dogs")
        _sort(api, pks["v11.mp4"], "dogs", expected="cats")  # moved again, from a folder
        _sort(api, pks["v07.mp4"], "cats")
        _undo_latest(user, pks["v07.mp4"])
    finally:
        go_probe.set()
        go_write.set()
        thread.join(WAIT)
    assert not thread.is_alive(), "the scan did not finish"
    assert not failure, failure

    events_before = LabelEvent.objects.count()
    assert MoveIntent.objects.filter(state=MoveIntent.State.PENDING).count() == 0
    _assert_rows_match_disk(library)
    # The next scan finds everything where the rows say: nothing new, nothing missing.
    report = library_scan(library=library)
    assert (report.new, report.moved, report.missing, report.unreadable) == (0, 0, 0, 0)
    assert Video.objects.count() == VIDEOS
    assert LabelEvent.objects.count() == events_before
    _assert_rows_match_disk(library)
    # Each video's history ends where the video is.
    for video in Video.objects.all():
        latest = LabelEvent.objects.filter(video=video).order_by("-id").first()
        if latest is not None:
            assert latest.to_path == video.path, (video.path, latest.to_path)
    assert Video.objects.get(pk=pks["v11.mp4"]).path == "dogs/v11.mp4"
    assert LabelEvent.objects.filter(video_id=pks["v11.mp4"]).count() == 2
