"""Scan faults: hostile names, links, cut files, decoder crashes and decoder noise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labeling.models import Folder, Job, Video
from labeling.services import retrain
from labeling.services.jobs import JobStopped
from labeling.services.scan import library_get_or_create, library_scan
from mlpipeline import probe
from tests.media import ffmpeg

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
# 'inv\xffalid.mp4': a byte that is not UTF-8, as a copy from an old disk can hold.
BAD_NAME = b"inv\xffalid.mp4"


def _probe_in_child(path: bytes) -> subprocess.CompletedProcess[bytes]:
    """Probe in a child process: before the fix this crashed the process (SIGSEGV)."""
    code = "import os, sys; from mlpipeline.probe import probe_video; print(probe_video(os.fsdecode(sys.argv[1])))"
    return subprocess.run(
        [sys.executable, "-c", code, path], cwd=REPO, capture_output=True, timeout=120
    )


def test_a_name_that_is_not_utf8_is_probed_without_crashing(media, library_dir):
    target = os.path.join(os.fsencode(library_dir), BAD_NAME)
    Path(os.fsdecode(target)).write_bytes(media["bikes.mp4"].read_bytes())
    done = _probe_in_child(target)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert b"width=640" in done.stdout


def test_a_scan_skips_names_that_are_not_utf8_with_a_warning(media, library_dir, copy_video):
    copy_video(library_dir, media["bikes.mp4"], "good.mp4")
    bad_dir = os.path.join(os.fsencode(library_dir), b"caf\xe9")
    os.mkdir(bad_dir)
    for target in (
        os.path.join(os.fsencode(library_dir), BAD_NAME),
        os.path.join(bad_dir, b"x.mp4"),
    ):
        Path(os.fsdecode(target)).write_bytes(media["bikes.mp4"].read_bytes())
    library = library_get_or_create(root=library_dir)
    report = library_scan(library=library)
    assert report.new == 1 and Video.objects.get().path == "good.mp4"
    assert not Folder.objects.exists()
    assert "ignored name that is not valid UTF-8: inv\\xffalid.mp4" in report.warnings
    assert "ignored name that is not valid UTF-8: caf\\xe9" in report.warnings


def test_a_symlink_to_a_video_in_the_library_is_skipped_and_a_video_named_folder_is_a_category(
    media, library_dir, copy_video
):
    copy_video(library_dir, media["bikes.mp4"], "cats/tom.mp4")
    (library_dir / "alias.mp4").symlink_to(library_dir / "cats" / "tom.mp4")
    copy_video(library_dir, media["vp9.webm"], "dir.mp4/clip.webm")
    library = library_get_or_create(root=library_dir)
    report = library_scan(library=library)
    assert sorted(Video.objects.values_list("path", flat=True)) == [
        "cats/tom.mp4",
        "dir.mp4/clip.webm",
    ]
    assert "ignored symlink (its target is scanned itself): alias.mp4" in report.warnings
    assert set(Folder.objects.values_list("name", flat=True)) == {"cats", "dir.mp4"}
    # The target moves: the link dangles, and no row turns missing or duplicates.
    (library_dir / "cats" / "tom.mp4").rename(library_dir / "tom.mp4")
    report = library_scan(library=library)
    assert report.missing == 0 and Video.objects.count() == 2


@pytest.fixture(scope="module")
def cut_faststart(tmp_path_factory) -> Path:
    """An MP4 with its index at the front, cut in half: the index survives, samples not."""
    folder = tmp_path_factory.mktemp("cut")
    whole = folder / "whole.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "6",
        "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(whole),
    )  # fmt: skip
    data = whole.read_bytes()
    cut = folder / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    return cut


def test_a_cut_mp4_whose_index_is_at_the_front_is_unreadable(cut_faststart, media, library_dir):
    with pytest.raises(probe.UnreadableVideo, match="truncated: the index promises sample data"):
        probe.probe_video(cut_faststart)
    # Whole files of every kind the suite has still pass the check.
    for name in ("bikes.mp4", "hevc.mov", "vp9.webm", "rotated.mp4", "portrait.mp4"):
        probe.probe_video(media[name])


def test_an_audio_only_file_says_so(media):
    with pytest.raises(probe.UnreadableVideo) as caught:
        probe.probe_video(media["audio_only.mp4"])
    assert str(caught.value) == "no video stream (audio only)"


def test_probing_bad_files_prints_nothing_to_the_terminal(cut_faststart, media, tmp_path):
    (tmp_path / "junk.mp4").write_bytes(os.urandom(5000))
    (tmp_path / "head.mp4").write_bytes(media["bikes.mp4"].read_bytes()[:3000])
    files = [str(tmp_path / "junk.mp4"), str(tmp_path / "head.mp4"), str(cut_faststart)]
    code = (
        "import sys; from mlpipeline.probe import probe_video, UnreadableVideo\n"
        "for f in sys.argv[1:]:\n"
        "    try: probe_video(f)\n"
        "    except UnreadableVideo: pass\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    done = subprocess.run(
        [sys.executable, "-c", code, *files], cwd=REPO, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0
    assert done.stderr == b"" and done.stdout == b"", done.stderr[-2000:]


@pytest.fixture
def running_scan_job(scanned_library) -> Job:
    return Job.objects.create(
        library=scanned_library, kind=Job.Kind.RETRAIN, state=Job.State.RUNNING, stage="scan"
    )


def test_a_scan_stage_that_keeps_killing_its_worker_fails_the_job(running_scan_job):
    # Three starts already died (each redelivery re-claims the stage and beats again).
    Job.objects.filter(pk=running_scan_job.pk).update(attempts=retrain.MAX_STAGE_ATTEMPTS)
    with pytest.raises(JobStopped):
        retrain.retrain_stage_scan(job_id=running_scan_job.pk)
    job = Job.objects.get(pk=running_scan_job.pk)
    assert job.state == "failed"
    assert job.error.startswith("Failed at scan: its worker died 3 times running this stage")


def test_a_redelivered_scan_probes_in_a_child_and_names_the_file_that_crashes_it(
    running_scan_job, monkeypatch, tmp_path
):
    # The first start died; this start is the redelivery. The "decoder" crashes on every
    # file it is given, as a hostile file would crash it.
    Job.objects.filter(pk=running_scan_job.pk).update(attempts=1)
    library = running_scan_job.library
    crasher = tmp_path / "crasher"
    crasher.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crasher.chmod(0o755)
    monkeypatch.setattr(probe.sys, "executable", str(crasher))
    poison = Video.objects.filter(library=library).order_by("pk").first()
    path = Path(library.root) / poison.path
    path.write_bytes(path.read_bytes() + b"\0")  # changed: probed again

    retrain.retrain_stage_scan(job_id=running_scan_job.pk)
    job = Job.objects.get(pk=running_scan_job.pk)
    assert (job.state, job.stage, job.attempts) == ("running", "extract", 0)
    poison.refresh_from_db()
    assert poison.status == "unreadable"
    assert poison.error == "the video decoder crashed on this file (SIGSEGV)"


def test_a_scan_job_that_keeps_killing_its_worker_fails(scanned_library):
    from labeling.services.jobs import library_scan_job

    job = Job.objects.create(
        library=scanned_library,
        kind=Job.Kind.SCAN,
        state=Job.State.RUNNING,
        stage="scan",
        attempts=retrain.MAX_STAGE_ATTEMPTS,
    )
    library_scan_job(library_id=scanned_library.pk, job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.error.startswith("Failed at scan: its worker died 3 times running this stage")
