"""Reconcile: every disk state an interrupted move can leave, decided without data loss."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Folder, LabelEvent, MoveIntent, Video
from labeling.services.reconcile import moves_reconcile
from labeling.tasks import moves_reconcile_task
from tests.labeling.helpers import assert_safe, make_library

pytestmark = pytest.mark.django_db

DATA = b"original video bytes" * 50
FILES = {"clip.mp4": DATA}


@pytest.fixture
def lib(library_dir):
    return make_library(library_dir, FILES, folders=("dogs",))


def open_intent(**extra) -> MoveIntent:
    video = Video.objects.get(path="clip.mp4")
    return MoveIntent.objects.create(
        video=video,
        route="player",
        src_path="clip.mp4",
        dst_path="dogs/clip.mp4",
        to_folder=Folder.objects.get(name="dogs"),
        size=len(DATA),
        content_hash=video.content_hash,
        step="intent",
        **extra,
    )


def state(intent: MoveIntent) -> str:
    intent.refresh_from_db()
    return intent.state


def test_source_only_is_rolled_back(lib):
    intent = open_intent()
    report = moves_reconcile(library=lib, min_age_seconds=0)
    assert report.ok and report.rolled_back == 1 and state(intent) == "rolled-back"
    assert_safe(lib, FILES)


def test_destination_only_is_finished(lib, library_dir):
    intent = open_intent()
    os.rename(library_dir / "clip.mp4", library_dir / "dogs/clip.mp4")
    report = moves_reconcile(library=lib, min_age_seconds=0)
    assert report.finished == 1 and state(intent) == "done"
    assert Video.objects.get().path == "dogs/clip.mp4"
    assert LabelEvent.objects.get().route == "player"
    assert_safe(lib, FILES)


def test_two_names_of_one_file_keep_the_destination(lib, library_dir):
    intent = open_intent()
    os.link(library_dir / "clip.mp4", library_dir / "dogs/clip.mp4")
    report = moves_reconcile(library=lib, min_age_seconds=0)
    assert report.finished == 1 and state(intent) == "done"
    assert_safe(lib, FILES)


def test_a_verified_copy_of_ours_is_removed_and_the_original_kept(lib, library_dir):
    intent = open_intent(tmp_path="dogs/.vidsort-abc.tmp")
    (library_dir / "dogs/clip.mp4").write_bytes(DATA)
    report = moves_reconcile(library=lib, min_age_seconds=0)
    assert report.rolled_back == 1 and state(intent) == "rolled-back"
    assert (library_dir / "clip.mp4").read_bytes() == DATA
    assert_safe(lib, FILES)


def test_an_identical_file_not_known_as_ours_is_kept_and_reported(lib, library_dir):
    intent = open_intent()
    (library_dir / "dogs/clip.mp4").write_bytes(DATA)
    report = moves_reconcile(library=lib, min_age_seconds=0, scan=False)
    assert report.duplicates == ["dogs/clip.mp4"] and state(intent) == "rolled-back"
    assert (library_dir / "clip.mp4").exists() and (library_dir / "dogs/clip.mp4").exists()


def test_a_different_file_at_the_destination_is_never_deleted(lib, library_dir):
    intent = open_intent(tmp_path="dogs/.vidsort-abc.tmp")
    (library_dir / "dogs/clip.mp4").write_bytes(b"someone else's")
    report = moves_reconcile(library=lib, min_age_seconds=0, scan=False)
    assert report.duplicates == ["dogs/clip.mp4"] and state(intent) == "rolled-back"
    assert (library_dir / "dogs/clip.mp4").read_bytes() == b"someone else's"
    assert (library_dir / "clip.mp4").read_bytes() == DATA


def test_a_file_at_neither_end_is_an_alert_not_a_success(lib, library_dir):
    intent = open_intent()
    (library_dir / "clip.mp4").unlink()
    report = moves_reconcile(library=lib, min_age_seconds=0)
    assert not report.ok and "neither end" in report.alerts[0]
    assert state(intent) == "alert"
    assert Video.objects.get().status == Video.Status.MISSING


def test_the_command_exits_nonzero_on_an_alert(lib, library_dir):
    open_intent()
    (library_dir / "clip.mp4").unlink()
    err = StringIO()
    with pytest.raises(CommandError, match="ALERT"):
        call_command(
            "vidsort_reconcile", "--library", str(library_dir), stderr=err, stdout=StringIO()
        )
    assert "ALERT" in err.getvalue()


def test_the_command_reports_success(lib, library_dir):
    open_intent()
    out = StringIO()
    call_command("vidsort_reconcile", "--library", str(library_dir), stdout=out)
    assert "1 rolled back, 0 ALERTS" in out.getvalue()


def test_a_temp_copy_that_is_the_only_copy_is_put_in_place(lib, library_dir):
    intent = open_intent(tmp_path="dogs/.vidsort-abc.tmp")
    os.rename(library_dir / "clip.mp4", library_dir / "dogs/.vidsort-abc.tmp")
    report = moves_reconcile(library=lib, min_age_seconds=0)
    assert report.ok and report.finished == 1 and state(intent) == "done"
    assert_safe(lib, FILES)


@pytest.mark.parametrize("temp", [DATA, DATA[:100]], ids=["identical", "partial"])
def test_temp_copies_beside_an_intact_original_are_cleaned(lib, library_dir, temp):
    open_intent(tmp_path="dogs/.vidsort-abc.tmp")
    (library_dir / "dogs/.vidsort-abc.tmp").write_bytes(temp)
    assert moves_reconcile(library=lib, min_age_seconds=0).rolled_back == 1
    assert_safe(lib, FILES)


def test_a_temp_that_differs_is_kept(lib, library_dir):
    open_intent(tmp_path="dogs/.vidsort-abc.tmp")
    (library_dir / "dogs/.vidsort-abc.tmp").write_bytes(b"x" * 5000)
    report = moves_reconcile(library=lib, min_age_seconds=0, scan=False)
    assert report.duplicates == ["dogs/.vidsort-abc.tmp"]
    assert (library_dir / "dogs/.vidsort-abc.tmp").exists()


def test_an_empty_placeholder_of_ours_is_removed(lib, library_dir):
    open_intent(details={"placeholder": True})
    (library_dir / "dogs/clip.mp4").write_bytes(b"")
    assert moves_reconcile(library=lib, min_age_seconds=0).rolled_back == 1
    assert_safe(lib, FILES)


def test_young_entries_are_left_to_the_live_process(lib):
    intent = open_intent()
    assert moves_reconcile(library=lib, min_age_seconds=300, scan=False).items == []
    assert state(intent) == "pending"


def test_the_task_is_safe_to_run_twice(lib):
    open_intent()
    first = moves_reconcile_task(lib.pk, min_age_seconds=0)
    second = moves_reconcile_task(lib.pk, min_age_seconds=0)
    assert first["ok"] and first["rolled_back"] == 1
    assert second["ok"] and second["rolled_back"] == 0
    assert Path(lib.root, "clip.mp4").exists()
