"""The invariant check (`vidsort_check`): a clean library passes, each kind of drift is named."""

from __future__ import annotations

import os
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from labeling.models import Folder, Job, MoveIntent, Video
from labeling.services.check import library_check
from labeling.services.scan import library_get_or_create, library_scan
from tests.labeling.helpers import make_library

pytestmark = pytest.mark.django_db

FILES = {
    "loose.mp4": b"loose video bytes" * 40,
    "other.mp4": b"other video bytes" * 40,
    "cats/tom.mp4": b"tom the cat" * 40,
}


@pytest.fixture
def lib(settings, library_dir):
    settings.VIDSORT_LIBRARY = library_dir
    return make_library(library_dir, FILES, folders=("cats", "dogs"))


def check(lib, **options):
    return library_check(library=lib, **options)


def only(report, kind):
    assert report.kinds() == {kind}, [str(v) for v in report.violations]
    return report.violations


def test_a_clean_library_passes(lib):
    report = check(lib, full=True)
    assert report.ok, report.violations
    assert (report.files, report.rows, report.hashed) == (3, 3, 3)


def test_a_scanned_library_passes(library_dir, media, copy_video):
    copy_video(library_dir, media["h264.mp4"], "clip.mp4")
    copy_video(library_dir, media["h264.mp4"], "cars/twin.mp4")
    (library_dir / "cars" / "notes.txt").write_text("not a video")
    library = library_get_or_create(root=library_dir)
    library_scan(library=library)
    report = check(library, full=True)
    assert report.ok, report.violations
    assert report.files == 2


def test_a_file_without_a_row_is_reported(lib, library_dir):
    (library_dir / "dogs" / "rex.mp4").write_bytes(b"new")
    [violation] = only(check(lib), "untracked")
    assert violation.subject == "dogs/rex.mp4"


def test_a_row_whose_file_is_gone_is_reported(lib, library_dir):
    (library_dir / "other.mp4").unlink()
    [violation] = only(check(lib), "file-gone")
    assert violation.subject == "other.mp4"


def test_a_row_marked_missing_is_fine_without_its_file_but_not_with_it(lib, library_dir):
    Video.objects.filter(path="other.mp4").update(status=Video.Status.MISSING)
    only(check(lib), "marked-missing")
    (library_dir / "other.mp4").unlink()
    assert check(lib).ok


def test_a_wrong_size_is_reported(lib):
    Video.objects.filter(path="loose.mp4").update(size=1)
    [violation] = only(check(lib), "size")
    assert "1 bytes" in violation.detail


def test_a_wrong_folder_is_reported(lib):
    Video.objects.filter(path="cats/tom.mp4").update(folder=Folder.objects.get(name="dogs"))
    [violation] = only(check(lib), "folder")
    assert "'dogs'" in violation.detail


def test_changed_bytes_are_reported_when_the_mtime_changed(lib, library_dir):
    path = library_dir / "loose.mp4"
    path.write_bytes(b"X" * path.stat().st_size)  # same size, new content and mtime
    Video.objects.filter(path="loose.mp4").update(mtime_ns=path.stat().st_mtime_ns - 1)
    only(check(lib), "hash")


def test_changed_bytes_behind_an_unchanged_mtime_need_full(lib, library_dir):
    # What a sort of a changed file could leave: size and mtime true, the hash stale.
    path = library_dir / "loose.mp4"
    stat = path.stat()
    path.write_bytes(b"X" * stat.st_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert check(lib).ok  # the default only re-hashes size/mtime changes
    [violation] = only(check(lib, full=True), "hash")
    assert violation.subject == "loose.mp4"


def test_an_old_pending_intent_is_reported_and_a_fresh_one_is_not(lib):
    video = Video.objects.get(path="loose.mp4")
    intent = MoveIntent.objects.create(
        video=video, route="player", src_path="loose.mp4", dst_path="cats/loose.mp4"
    )
    assert check(lib).ok
    MoveIntent.objects.filter(pk=intent.pk).update(
        created_at=timezone.now() - timedelta(seconds=61)
    )
    [violation] = only(check(lib), "intent")
    assert "loose.mp4 → cats/loose.mp4" in violation.detail


def test_an_active_job_without_a_heartbeat_is_reported(lib, settings):
    settings.VIDSORT_JOB_STALE_SECONDS = 120
    job = Job.objects.create(
        library=lib, kind=Job.Kind.RETRAIN, state=Job.State.RUNNING, heartbeat_at=timezone.now()
    )
    assert check(lib).ok
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=300))
    [violation] = only(check(lib), "job")
    assert violation.subject == f"job {job.pk}" and "no heartbeat" in violation.detail


def test_the_command_reports_every_problem_and_fails(lib, library_dir):
    (library_dir / "other.mp4").unlink()
    (library_dir / "stray.mp4").write_bytes(b"stray")
    out = StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("vidsort_check", stdout=out)
    assert "file-gone: other.mp4" in out.getvalue()
    assert "untracked: stray.mp4" in out.getvalue()


def test_the_command_passes_a_clean_library(lib, library_dir):
    out = StringIO()
    call_command("vidsort_check", "--full", "--library", str(library_dir), stdout=out)
    assert "consistent" in out.getvalue()


def test_the_command_never_creates_a_library(lib, tmp_path):
    with pytest.raises(CommandError, match="has been scanned"):
        call_command("vidsort_check", "--library", str(tmp_path), stdout=StringIO())
