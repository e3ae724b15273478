"""Fault injection: the disk or the database fails, or the process dies, mid-move.

Mocks stand in for the faults only (EXDEV, ENOSPC, EIO, a database error); the moves,
the files and the database are real. After every case the invariant holds: each original
file exists exactly once under the root with the same bytes, and the database matches.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import DatabaseError

from labeling.models import Folder, LabelEvent, MoveIntent, Video
from labeling.services import moves_disk
from labeling.services.errors import FailedError, IncompleteError
from labeling.services.reconcile import moves_reconcile
from labeling.services.sorting import video_sort
from tests.conftest import IN_CI, REPO, _database_url_for_worker
from tests.labeling.helpers import assert_safe, make_library

FILES = {"clip.mp4": os.urandom(3000) + b"clip", "cats/tom.mp4": b"tom" * 100}
real_link = os.link


def exdev_link(src, dst, **kwargs):
    """The source is on another device; links inside the destination folder still work."""
    if moves_disk.TEMP_PREFIX not in os.path.basename(src):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    return real_link(src, dst, **kwargs)


def exdev_then_no_links(src, dst, **kwargs):
    """Cross-device source, and a destination disk without hard links (FAT, exFAT)."""
    if moves_disk.TEMP_PREFIX not in os.path.basename(src):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    raise OSError(errno.EPERM, "Operation not permitted")


@pytest.fixture
def lib(library_dir):
    return make_library(library_dir, FILES, folders=("dogs",))


def the_video() -> Video:
    return Video.objects.select_related("library", "folder").get(filename="clip.mp4")


def dogs() -> Folder:
    return Folder.objects.get(name="dogs")


@pytest.mark.django_db
class TestInProcessFaults:
    def test_a_cross_device_move_copies_verifies_then_unlinks(self, lib, library_dir):
        seen: list[int] = []
        with (
            mock.patch("labeling.services.moves_disk.os.link", side_effect=exdev_link),
            mock.patch.object(moves_disk, "STEP_HOOK", seen.append),
        ):
            result = video_sort(video=the_video(), folder=dogs())
        assert result.moved and seen == [1, 2, 3, 4, 5, 6, 7]
        assert MoveIntent.objects.get().tmp_path.startswith("dogs/.vidsort-")
        assert (library_dir / "dogs/clip.mp4").read_bytes() == FILES["clip.mp4"]
        assert_safe(lib, FILES)

    def test_enospc_during_the_copy_leaves_the_original(self, lib, library_dir):
        def half_then_full(source, target):
            target.write(source.read(1000))
            raise OSError(errno.ENOSPC, "No space left on device")

        with (
            mock.patch("labeling.services.moves_disk.os.link", side_effect=exdev_link),
            mock.patch.object(moves_disk, "_copy_bytes", half_then_full),
            pytest.raises(FailedError, match="No space left"),
        ):
            video_sort(video=the_video(), folder=dogs())
        intent = MoveIntent.objects.get()
        assert intent.state == "failed" and "ENOSPC" in intent.error
        assert the_video().path == "clip.mp4" and not LabelEvent.objects.exists()
        assert_safe(lib, FILES)

    def test_eio_on_fsync_of_the_copy_leaves_the_original(self, lib):
        with (
            mock.patch("labeling.services.moves_disk.os.link", side_effect=exdev_link),
            mock.patch(
                "labeling.services.moves_disk.os.fsync", side_effect=OSError(errno.EIO, "I/O error")
            ),
            pytest.raises(FailedError, match="I/O error"),
        ):
            video_sort(video=the_video(), folder=dogs())
        assert MoveIntent.objects.get().state == "failed"
        assert_safe(lib, FILES)

    def test_eio_on_fsync_of_the_folder_undoes_the_link(self, lib, library_dir):
        with (
            mock.patch(
                "labeling.services.moves_disk.os.fsync", side_effect=OSError(errno.EIO, "I/O error")
            ),
            pytest.raises(FailedError),
        ):
            video_sort(video=the_video(), folder=dogs())
        assert (library_dir / "clip.mp4").exists() and not (library_dir / "dogs/clip.mp4").exists()
        assert_safe(lib, FILES)

    def test_eio_on_fsync_of_the_folder_after_placing_a_copy_without_links(self, lib, library_dir):
        # No hard links: the verified temp copy is renamed onto our empty placeholder;
        # when the folder fsync then fails, that placed copy is ours and must go.
        def fsync(fd):
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                raise OSError(errno.EIO, "I/O error")
            return real_fsync(fd)

        real_fsync = os.fsync
        with (
            mock.patch("labeling.services.moves_disk.os.link", side_effect=exdev_then_no_links),
            mock.patch("labeling.services.moves_disk.os.fsync", side_effect=fsync),
            pytest.raises(FailedError, match="I/O error"),
        ):
            video_sort(video=the_video(), folder=dogs())
        assert MoveIntent.objects.get().state == "failed"
        assert the_video().path == "clip.mp4" and not LabelEvent.objects.exists()
        assert sorted(os.listdir(library_dir / "dogs")) == []
        assert_safe(lib, FILES)

    def test_no_links_and_a_cross_device_rename_leave_no_placeholder(self, lib, library_dir):
        # Hard links unsupported and the source on another device: the rename onto the
        # placeholder fails with EXDEV; the copy must then take the planned name, and
        # no empty placeholder may be left behind.
        real_rename = os.rename

        def rename(src, dst):
            if moves_disk.TEMP_PREFIX not in os.path.basename(src):
                raise OSError(errno.EXDEV, "Invalid cross-device link")
            return real_rename(src, dst)

        with (
            mock.patch(
                "labeling.services.moves_disk.os.link", side_effect=OSError(errno.EPERM, "no links")
            ),
            mock.patch("labeling.services.moves_disk.os.rename", side_effect=rename),
        ):
            result = video_sort(video=the_video(), folder=dogs())
        assert result.moved and not result.renamed
        assert sorted(os.listdir(library_dir / "dogs")) == ["clip.mp4"]
        assert (library_dir / "dogs/clip.mp4").read_bytes() == FILES["clip.mp4"]
        assert_safe(lib, FILES)

    def test_a_database_error_after_the_move_is_finished_by_reconcile(self, lib, library_dir):
        with (
            mock.patch.object(
                LabelEvent.objects,
                "create",
                side_effect=DatabaseError("server closed the connection"),
            ),
            pytest.raises(IncompleteError, match="reconcile"),
        ):
            video_sort(video=the_video(), folder=dogs())
        assert (library_dir / "dogs/clip.mp4").exists()
        assert MoveIntent.objects.get().state == "pending"
        assert the_video().path == "clip.mp4"  # the database was rolled back
        report = moves_reconcile(library=lib, min_age_seconds=0)
        assert report.ok and report.finished == 1
        assert the_video().path == "dogs/clip.mp4"
        assert LabelEvent.objects.get().to_name == "dogs"
        assert_safe(lib, FILES)


KILLER = """
import errno, os, signal, sys
import django
django.setup()
from labeling.models import Folder, Video
from labeling.services import moves_disk, sorting

kill_at = int(os.environ["KILL_AT"])
moves_disk.STEP_HOOK = lambda n: os.kill(os.getpid(), signal.SIGKILL) if n == kill_at else None
if os.environ.get("FORCE_EXDEV"):
    real_link = os.link
    def link(src, dst, **kwargs):
        if moves_disk.TEMP_PREFIX not in os.path.basename(src):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_link(src, dst, **kwargs)
    os.link = link
video = Video.objects.select_related("library", "folder").get(pk=int(sys.argv[1]))
sorting.video_sort(video=video, folder=Folder.objects.get(pk=int(sys.argv[2])), route="api")
print("survived")
"""

# step -> where the file is after reconcile
SAME_DEVICE = {
    1: "clip.mp4",
    2: "clip.mp4",
    4: "dogs/clip.mp4",
    6: "dogs/clip.mp4",
    7: "dogs/clip.mp4",
}
CROSS_DEVICE = {
    1: "clip.mp4",
    2: "clip.mp4",
    3: "clip.mp4",
    4: "clip.mp4",
    5: "clip.mp4",
    6: "dogs/clip.mp4",
    7: "dogs/clip.mp4",
}
CASES = [("same", s, p) for s, p in SAME_DEVICE.items()] + [
    ("cross", s, p) for s, p in CROSS_DEVICE.items()
]


@pytest.fixture
def shared_database(db) -> None:
    """The killed subprocess must see the test's database: PostgreSQL, not SQLite.

    (pytest-django's SQLite test database lives in memory, out of another process's
    reach.) Skips without PostgreSQL; with CI=true a missing PostgreSQL fails the run.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    message = "the SIGKILL tests need PostgreSQL (set DATABASE_URL=postgres://postgres@127.0.0.1:5432/vidsort)"
    if IN_CI:
        pytest.fail(message + " (CI=true: missing services fail the run)", pytrace=False)
    pytest.skip(message)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("device", "step", "final"), CASES, ids=[f"{d}-step{s}" for d, s, _ in CASES]
)
def test_sigkill_at_each_step_then_reconcile(
    shared_database, lib, library_dir, device, step, final
):
    video = the_video()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "vidsort_site.settings",
        "DATABASE_URL": _database_url_for_worker(),
        "VIDSORT_DATA_DIR": str(settings.DATA_DIR),
        "KILL_AT": str(step),
        "FORCE_EXDEV": "1" if device == "cross" else "",
    }
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(video.pk), str(dogs().pk)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    intent = MoveIntent.objects.get()
    assert intent.state == ("done" if step == 7 else "pending")

    report = moves_reconcile(library=lib, min_age_seconds=0)
    assert report.ok, report.alerts
    assert report.duplicates == []
    assert the_video().path == final
    assert Path(library_dir / final).read_bytes() == FILES["clip.mp4"]
    assert LabelEvent.objects.filter(route="api").count() == (final != "clip.mp4")
    assert_safe(lib, FILES)
