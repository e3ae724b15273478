"""Library scan on real temporary libraries (real videos, ffmpeg-made variants)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from labeling.models import Folder, LabelEvent, Video
from labeling.services.scan import library_get_or_create, library_scan

pytestmark = pytest.mark.django_db

BROKEN = {
    "empty.mp4": "empty file",
    "text.mp4": "not a video",
    "truncated.mp4": "truncated",
    "truncated_faststart.mp4": "truncated",
    "audio_only.mp4": "no video stream",
}


def scan(root: Path, **kwargs):
    library = library_get_or_create(root=root)
    return library, library_scan(library=library, **kwargs)


def test_it_imports_root_as_unsorted_and_subfolders_as_labels(library_dir, media, copy_video):
    copy_video(library_dir, media["bikes.mp4"], "bikes.mp4")
    copy_video(library_dir, media["hevc.mov"], "cars/HEVC.MOV")
    copy_video(library_dir, media["vp9.webm"], "cars/clip.webm")
    copy_video(library_dir, media["carphone_pristine.mp4"], "people/carphone.mp4")
    library, report = scan(library_dir)

    assert report.new == 4 and report.unreadable == 0
    videos = {v.path: v for v in Video.objects.filter(library=library)}
    assert videos["bikes.mp4"].folder is None
    assert videos["cars/HEVC.MOV"].folder.name == "cars"
    assert videos["people/carphone.mp4"].folder.name == "people"
    assert set(Folder.objects.values_list("name", flat=True)) == {"cars", "people"}
    assert sorted(Folder.objects.values_list("key", flat=True)) == [1, 2]
    # Videos found already sorted are recorded as imported labels.
    assert LabelEvent.objects.filter(route="import").count() == 3


def test_it_probes_metadata(library_dir, media, copy_video):
    copy_video(library_dir, media["bikes.mp4"], "bikes.mp4")
    copy_video(library_dir, media["vp9.webm"], "b.webm")
    copy_video(library_dir, media["hevc.mov"], "c.mov")
    copy_video(library_dir, media["rotated.mp4"], "d.mp4")
    copy_video(library_dir, media["portrait.mp4"], "e.mp4")
    scan(library_dir)
    bikes = Video.objects.get(path="bikes.mp4")
    # Expected values from ffprobe: 640x272, 25 fps, 250 frames, H.264.
    assert (bikes.width, bikes.height, bikes.frame_count) == (640, 272, 250)
    assert bikes.codec == "h264" and bikes.fps == pytest.approx(25, rel=0.01)
    assert bikes.duration == pytest.approx(10.0, rel=0.01)
    assert bikes.duration == pytest.approx(bikes.frame_count / bikes.fps)
    assert bikes.content_hash.startswith("s1:") and bikes.size == os.path.getsize(
        library_dir / "bikes.mp4"
    )
    assert Video.objects.get(path="b.webm").codec == "vp90"
    assert Video.objects.get(path="c.mov").codec in {"hvc1", "hevc"}
    rotated = Video.objects.get(path="d.mp4")
    assert rotated.rotation in (90, 270)
    assert rotated.is_portrait
    assert Video.objects.get(path="e.mp4").is_portrait


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_it_marks_broken_files_unreadable_and_goes_on(library_dir, media, copy_video, name):
    copy_video(library_dir, media["h264.mp4"], "good.mp4")
    copy_video(library_dir, media[name], f"broken_{name}")
    _, report = scan(library_dir)
    assert report.new == 2 and report.unreadable == 1
    broken = Video.objects.get(path=f"broken_{name}")
    assert broken.status == Video.Status.UNREADABLE
    assert BROKEN[name] in broken.error
    assert Video.objects.get(path="good.mp4").status == Video.Status.OK


def test_it_ignores_hidden_non_video_and_accepts_any_case_extension(library_dir, media, copy_video):
    copy_video(library_dir, media["h264.mp4"], "UPPER.MP4")
    copy_video(library_dir, media["h264.mp4"], ".hidden.mp4")
    copy_video(library_dir, media["h264.mp4"], ".trash/gone.mp4")
    copy_video(library_dir, media["h264.mp4"], "notes.txt")
    copy_video(library_dir, media["h264.mp4"], "clip.M4v")
    _, report = scan(library_dir)
    assert sorted(Video.objects.values_list("path", flat=True)) == ["UPPER.MP4", "clip.M4v"]
    assert not Folder.objects.filter(name=".trash").exists()
    assert report.total == 2


def test_deeper_levels_belong_to_their_first_level_folder(library_dir, media, copy_video):
    copy_video(library_dir, media["h264.mp4"], "soccer/2023/goal.mp4")
    scan(library_dir)
    video = Video.objects.get()
    assert video.path == "soccer/2023/goal.mp4" and video.folder.name == "soccer"
    assert list(Folder.objects.values_list("name", flat=True)) == ["soccer"]


def test_symlinks_leaving_the_root_are_ignored_with_a_warning(
    library_dir, tmp_path, media, copy_video
):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copyfile(media["h264.mp4"], outside / "secret.mp4")
    os.symlink(outside / "secret.mp4", library_dir / "link.mp4")
    os.symlink(outside, library_dir / "linkdir")
    copy_video(library_dir, media["h264.mp4"], "real.mp4")
    _, report = scan(library_dir)
    assert list(Video.objects.values_list("path", flat=True)) == ["real.mp4"]
    assert any("link.mp4" in w for w in report.warnings)
    assert any("linkdir" in w for w in report.warnings)


def test_rescan_is_idempotent(library_dir, media, copy_video):
    copy_video(library_dir, media["h264.mp4"], "a.mp4")
    copy_video(library_dir, media["vp9.webm"], "pets/b.webm")
    copy_video(library_dir, media["empty.mp4"], "c.mp4")
    scan(library_dir)
    before = list(Video.objects.order_by("pk").values())
    events = LabelEvent.objects.count()
    _, report = scan(library_dir)
    assert report.unchanged == 3 and report.new == report.updated == report.moved == 0
    assert list(Video.objects.order_by("pk").values()) == before
    assert LabelEvent.objects.count() == events
    assert Folder.objects.count() == 1


def test_a_move_outside_vidsort_is_recognised_by_hash(library_dir, media, copy_video):
    copy_video(library_dir, media["bikes.mp4"], "bikes.mp4")
    copy_video(library_dir, media["h264.mp4"], "cats/a.mp4")
    scan(library_dir)
    video = Video.objects.get(path="bikes.mp4")
    (library_dir / "sports").mkdir()
    os.rename(library_dir / "bikes.mp4", library_dir / "sports" / "renamed.mp4")
    _, report = scan(library_dir)

    assert report.moved == 1 and report.new == 0 and report.missing == 0
    video.refresh_from_db()
    assert video.path == "sports/renamed.mp4" and video.filename == "renamed.mp4"
    assert video.folder.name == "sports" and video.status == Video.Status.OK
    event = LabelEvent.objects.get(video=video, route="external")
    assert (event.from_name, event.to_name) == ("", "sports")
    assert (event.from_path, event.to_path) == ("bikes.mp4", "sports/renamed.mp4")
    assert Video.objects.count() == 2


def test_a_deleted_file_becomes_missing_and_keeps_its_history(library_dir, media, copy_video):
    copy_video(library_dir, media["h264.mp4"], "cats/a.mp4")
    scan(library_dir)
    (library_dir / "cats" / "a.mp4").unlink()
    _, report = scan(library_dir)
    video = Video.objects.get(path="cats/a.mp4")
    assert report.missing == 1 and video.status == Video.Status.MISSING
    assert video.label_events.count() == 1  # the import event survives
    # Coming back makes it ok again, same row.
    copy_video(library_dir, media["h264.mp4"], "cats/a.mp4")
    scan(library_dir)
    video.refresh_from_db()
    assert video.status == Video.Status.OK and Video.objects.count() == 1


def test_a_changed_file_is_re_probed(library_dir, media, copy_video):
    path = copy_video(library_dir, media["h264.mp4"], "a.mp4")
    scan(library_dir)
    old_hash = Video.objects.get().content_hash
    shutil.copyfile(media["vp9.webm"], path)
    _, report = scan(library_dir)
    video = Video.objects.get()
    assert report.updated == 1 and video.content_hash != old_hash and video.codec == "vp90"


def test_duplicates_get_their_own_rows_with_the_same_hash(library_dir, media, copy_video):
    copy_video(library_dir, media["h264.mp4"], "a.mp4")
    copy_video(library_dir, media["h264.mp4"], "dogs/a copy.mp4")
    scan(library_dir)
    hashes = set(Video.objects.values_list("content_hash", flat=True))
    assert Video.objects.count() == 2 and len(hashes) == 1


def test_progress_is_reported(library_dir, media, copy_video):
    for index in range(5):
        copy_video(library_dir, media["h264.mp4"], f"v{index}.mp4")
    calls: list[tuple[int, int]] = []
    scan(library_dir, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 5) and calls[-1] == (5, 5)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_bad_library_path_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        library_get_or_create(root=tmp_path / "nope")


def test_a_move_in_flight_is_left_alone(library_dir, media, copy_video):
    """A sort between its link and unlink: the scan must not add the destination."""
    from labeling.models import MoveIntent

    copy_video(library_dir, media["h264.mp4"], "a.mp4")
    library, _ = scan(library_dir)
    video = Video.objects.get()
    copy_video(library_dir, media["h264.mp4"], "cats/a.mp4")  # linked, not yet unlinked
    MoveIntent.objects.create(video=video, route="player", src_path="a.mp4", dst_path="cats/a.mp4")
    _, report = scan(library_dir)
    assert report.new == 0 and report.missing == 0 and Video.objects.count() == 1
    assert Video.objects.get().path == "a.mp4"
