"""The sort service: journalled moves, clashes, undo, bulk, auto-file.

Files are small byte strings (the service never probes); each test gets its own library
(`lib` in conftest.py, built by helpers.make_library).
"""

from __future__ import annotations

import errno
import os
import unicodedata
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from labeling.models import (
    Classifier,
    Embedding,
    Folder,
    LabelEvent,
    MoveIntent,
    Prediction,
    Video,
)
from labeling.selectors.events import label_events_standing
from labeling.services import moves_disk
from labeling.services.autofile import videos_autofile
from labeling.services.errors import ConflictError, NotFoundError, RefusedError
from labeling.services.folders import (
    FolderNameInvalid,
    FolderNameTaken,
    folder_create,
    folder_name_validate,
    folder_rename,
)
from labeling.services.sorting import (
    folder_resolve,
    video_resolve,
    video_sort,
    videos_sort_bulk,
)
from labeling.services.undo import label_event_undo
from mlpipeline.embeddings import pack_vector
from tests.labeling.helpers import assert_safe, make_library

pytestmark = pytest.mark.django_db


def video(path: str) -> Video:
    return Video.objects.select_related("library", "folder").get(path=path)


def folder(name: str) -> Folder:
    return Folder.objects.get(name=name)


# --- moves -----------------------------------------------------------------------------


def test_it_moves_the_file_and_records_the_event(lib, library_dir, user):
    result = video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user, route="api")
    assert result.moved and not result.renamed
    assert not (library_dir / "clip.mp4").exists()
    assert (library_dir / "dogs/clip.mp4").read_bytes() == b"clip-bytes" * 10
    row = Video.objects.get(pk=result.video.pk)
    assert (row.path, row.filename, row.folder.name) == ("dogs/clip.mp4", "clip.mp4", "dogs")
    event = result.event
    assert (event.user, event.route, event.from_folder, event.to_folder) == (
        user,
        "api",
        None,
        folder("dogs"),
    )
    assert (event.from_path, event.to_path, event.to_name) == ("clip.mp4", "dogs/clip.mp4", "dogs")
    intent = MoveIntent.objects.get()
    assert (intent.state, intent.step, intent.src_path, intent.dst_path) == (
        "done",
        "done",
        "clip.mp4",
        "dogs/clip.mp4",
    )
    assert_safe(lib, {"a": b"clip-bytes" * 10, "b": b"other", "c": b"tom"})


def test_sorting_into_the_current_folder_is_a_noop(lib, user):
    result = video_sort(video=video("cats/tom.mp4"), folder=folder("cats"), user=user)
    assert not result.moved and result.event is None
    assert not MoveIntent.objects.exists() and not LabelEvent.objects.exists()


def test_unsort_moves_back_to_the_root(lib, library_dir, user):
    result = video_sort(video=video("cats/tom.mp4"), folder=None, user=user)
    assert result.moved and (library_dir / "tom.mp4").exists()
    assert Video.objects.get(pk=result.video.pk).folder is None
    assert result.event.from_name == "cats" and result.event.to_name == ""


def test_it_creates_the_folder_directory_on_demand(lib, library_dir, user):
    birds = Folder.objects.create(library=lib, name="birds")
    assert not (library_dir / "birds").exists()
    video_sort(video=video("clip.mp4"), folder=birds, user=user)
    assert (library_dir / "birds/clip.mp4").is_file()


def test_it_refuses_to_overwrite_a_clash(lib, library_dir, user):
    (library_dir / "dogs/clip.mp4").write_bytes(b"somebody else's file")
    result = video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    assert result.renamed and result.video.path == "dogs/clip (2).mp4"
    assert (library_dir / "dogs/clip.mp4").read_bytes() == b"somebody else's file"
    assert (library_dir / "dogs/clip (2).mp4").read_bytes() == b"clip-bytes" * 10
    assert MoveIntent.objects.get().dst_path == "dogs/clip (2).mp4"


@pytest.mark.parametrize("existing", ["CLIP.mp4", "Clip.MP4"])
def test_a_case_only_clash_is_detected(lib, library_dir, user, existing):
    (library_dir / "dogs" / existing).write_bytes(b"x")
    result = video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    assert result.video.path == "dogs/clip (2).mp4"
    assert (library_dir / "dogs" / existing).read_bytes() == b"x"


def test_a_unicode_equivalent_clash_is_detected(library_dir, user):
    nfc = unicodedata.normalize("NFC", "café.mp4")
    nfd = unicodedata.normalize("NFD", "café.mp4")
    lib = make_library(library_dir, {nfc: b"mine"}, folders=("dogs",))
    (library_dir / "dogs" / nfd).write_bytes(b"theirs")
    result = video_sort(video=Video.objects.get(), folder=folder("dogs"), user=user)
    assert result.video.filename == "café (2).mp4"
    assert (library_dir / "dogs" / nfd).read_bytes() == b"theirs"
    assert lib.videos.count() == 1


def test_a_row_of_a_missing_file_keeps_its_name(lib, library_dir, user):
    Video.objects.create(
        library=lib,
        path="dogs/clip.mp4",
        filename="clip.mp4",
        folder=folder("dogs"),
        status=Video.Status.MISSING,
    )
    result = video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    assert result.video.path == "dogs/clip (2).mp4"


def test_a_name_taken_between_plan_and_link_gets_the_next_name(lib, library_dir, user):
    real_link = os.link

    def racing_link(src, dst, **kw):
        if dst.endswith("dogs/clip.mp4") and not os.path.exists(dst):
            Path(dst).write_bytes(b"arrived meanwhile")
        return real_link(src, dst, **kw)

    with mock.patch("labeling.services.moves_disk.os.link", side_effect=racing_link):
        result = video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    assert result.video.path == "dogs/clip (2).mp4"
    assert (library_dir / "dogs/clip.mp4").read_bytes() == b"arrived meanwhile"


def test_without_hard_links_it_reserves_the_name_then_renames(lib, library_dir, user):
    with mock.patch(
        "labeling.services.moves_disk.os.link", side_effect=OSError(errno.EPERM, "no links")
    ):
        result = video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    assert result.moved and (library_dir / "dogs/clip.mp4").read_bytes() == b"clip-bytes" * 10
    assert not (library_dir / "clip.mp4").exists()
    assert MoveIntent.objects.get().details["placeholder"] is True


def test_it_records_the_active_classifier_prediction(lib, user):
    v = video("clip.mp4")
    Classifier.objects.create(library=lib, version=1, model_id="m", is_active=False)
    Classifier.objects.create(library=lib, version=2, model_id="m", is_active=True)
    for version, name, conf in [(1, "cats", 0.5), (2, "dogs", 0.81)]:
        Prediction.objects.create(
            video=v,
            classifier_version=version,
            folder=folder(name),
            confidence=conf,
            margin=0.1,
            entropy=0.2,
            source="trained",
        )
    event = video_sort(video=v, folder=folder("cats"), user=user).event
    assert (event.predicted_folder, event.predicted_confidence) == (folder("dogs"), 0.81)
    # What the player showed can be passed explicitly.
    event = video_sort(
        video=video("other.mp4"),
        folder=folder("cats"),
        user=user,
        predicted_folder=folder("cats"),
        predicted_confidence=0.4,
    ).event
    assert (event.predicted_folder, event.predicted_confidence) == (folder("cats"), 0.4)


def test_a_stale_view_gets_a_conflict_not_a_second_move(lib, user):
    stale = video("clip.mp4")
    video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    with pytest.raises(ConflictError, match="moved since"):
        video_sort(video=stale, folder=folder("cats"), user=user)
    # Same target as what happened: a no-op, not an error.
    assert not video_sort(video=stale, folder=folder("dogs"), user=user).moved
    assert LabelEvent.objects.count() == 1


def test_an_open_journal_entry_blocks_other_sorts(lib, user):
    v = video("clip.mp4")
    MoveIntent.objects.create(video=v, route="api", src_path="clip.mp4", dst_path="dogs/clip.mp4")
    with pytest.raises(ConflictError, match="being moved"):
        video_sort(video=v, folder=folder("cats"), user=user, wait=0)


def test_it_refuses_a_file_that_is_not_there(lib, library_dir, user):
    (library_dir / "clip.mp4").unlink()
    with pytest.raises(RefusedError, match="not on disk"):
        video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    assert not MoveIntent.objects.exists()


def test_it_refuses_a_folder_symlinked_outside_the_root(lib, library_dir, tmp_path, user):
    outside = tmp_path / "outside"
    outside.mkdir()
    (library_dir / "evil").symlink_to(outside)
    evil = Folder.objects.create(library=lib, name="evil")
    with pytest.raises(RefusedError, match="leaves the library"):
        video_sort(video=video("clip.mp4"), folder=evil, user=user)
    assert list(outside.iterdir()) == [] and (library_dir / "clip.mp4").exists()


def test_it_refuses_a_row_whose_path_escapes(lib, library_dir, tmp_path, user):
    (tmp_path / "secret.mp4").write_bytes(b"secret")
    v = Video.objects.create(library=lib, path="../secret.mp4", filename="secret.mp4")
    with pytest.raises(RefusedError):
        video_sort(video=Video.objects.get(pk=v.pk), folder=folder("dogs"), user=user)
    assert (tmp_path / "secret.mp4").read_bytes() == b"secret"


def test_resolvers_match_known_records_only(lib):
    assert video_resolve(filename="clip.mp4").path == "clip.mp4"
    assert folder_resolve(library=lib, ref="dogs") == folder("dogs")
    assert folder_resolve(library=lib, ref=None) is None
    for ref in ["../../etc/passwd", "nope", "dogs/..", 99999]:
        with pytest.raises(NotFoundError):
            folder_resolve(library=lib, ref=ref)
    for name in ["../../etc/passwd", "/etc/passwd", "cats/tom.mp4"]:
        with pytest.raises(NotFoundError):
            video_resolve(filename=name)


# --- undo ------------------------------------------------------------------------------


def test_undo_moves_back_one_by_one(lib, library_dir, user):
    first = video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user).event
    second = video_sort(video=video("dogs/clip.mp4"), folder=folder("cats"), user=user).event
    undo = label_event_undo(user=user)
    assert undo.event.route == "undo" and undo.video.path == "dogs/clip.mp4"
    second.refresh_from_db()
    assert second.undone_by == undo.event
    undo2 = label_event_undo(user=user)
    assert undo2.video.path == "clip.mp4" and undo2.video.folder is None
    first.refresh_from_db()
    assert first.undone_by == undo2.event
    assert (library_dir / "clip.mp4").read_bytes() == b"clip-bytes" * 10
    # Undone labels do not count; training reads Video.folder, which was reverted.
    assert not label_events_standing().exists()
    with pytest.raises(ConflictError, match="nothing"):
        label_event_undo(user=user)


def test_undo_is_refused_when_the_file_changed(lib, library_dir, user):
    video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    (library_dir / "dogs/clip.mp4").write_bytes(b"re-encoded")
    with pytest.raises(ConflictError, match="changed on disk"):
        label_event_undo(user=user)
    assert (library_dir / "dogs/clip.mp4").read_bytes() == b"re-encoded"


def test_undo_is_refused_when_the_content_changed_behind_the_same_size_and_mtime(
    lib, library_dir, user
):
    video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    path = library_dir / "dogs/clip.mp4"
    st = path.stat()
    path.write_bytes(b"CLIP-BYTES" * 10)  # same size, different bytes, mtime put back
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ConflictError, match="changed on disk"):
        label_event_undo(user=user)
    assert path.read_bytes() == b"CLIP-BYTES" * 10 and video("dogs/clip.mp4")


def test_an_undone_sort_no_longer_trains_the_model(lib, user):
    from labeling.services.learning import labelled_embeddings

    for row in Video.objects.filter(library=lib):
        Embedding.objects.create(
            video=row,
            model_id="m",
            content_hash=row.content_hash,
            dim=2,
            vector=pack_vector(np.array([1.0, 0.0])),
            frame_vectors=b"",
        )
    clip = video("clip.mp4")
    before, _, _ = labelled_embeddings(library=lib, model_id="m")
    assert before == [video("cats/tom.mp4").pk]
    video_sort(video=clip, folder=folder("dogs"), user=user)
    ids, X, folders = labelled_embeddings(library=lib, model_id="m")
    assert clip.pk in ids and folders[ids.index(clip.pk)] == folder("dogs").pk
    label_event_undo(user=user)
    ids, X, folders = labelled_embeddings(library=lib, model_id="m")
    assert ids == before and X.shape == (1, 2)
    assert not label_events_standing().filter(video=clip).exists()


def test_undo_is_refused_when_moved_since_by_someone_else(lib, user):
    bob = get_user_model().objects.create_user("bob")
    video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    video_sort(video=video("dogs/clip.mp4"), folder=folder("cats"), user=bob)
    with pytest.raises(ConflictError, match="moved again"):
        label_event_undo(user=user)
    assert video("cats/clip.mp4")


# --- bulk and auto-file ----------------------------------------------------------------


def test_bulk_reports_each_item(lib, library_dir, user):
    report = videos_sort_bulk(
        user=user,
        items=[
            {"video": video("clip.mp4").pk, "folder": "dogs"},
            {"video": 999999, "folder": "dogs"},
            {"filename": "other.mp4", "folder": "nope"},
            {"filename": "other.mp4", "folder": None},
            {"video": video("cats/tom.mp4").pk},
        ],
    )
    outcomes = report.items
    assert [o.ok for o in outcomes] == [True, False, False, True, False]
    assert [o.error for o in outcomes] == ["", "not_found", "not_found", "", "invalid"]
    assert outcomes[0].moved and outcomes[0].path == "dogs/clip.mp4"
    assert not outcomes[3].moved  # already unsorted: a no-op
    assert LabelEvent.objects.get().route == "bulk"


def test_autofile_dry_run_then_real(lib, library_dir, user):
    Classifier.objects.create(library=lib, version=1, model_id="m", is_active=True)
    for path, name, conf in [("clip.mp4", "dogs", 0.97), ("other.mp4", "cats", 0.90)]:
        Prediction.objects.create(
            video=video(path),
            classifier_version=1,
            folder=folder(name),
            confidence=conf,
            margin=0.1,
            entropy=0.2,
            source="trained",
        )
    dry = videos_autofile(library=lib, user=user, threshold=0.95, dry_run=True)
    assert [(i.filename, i.folder, i.moved) for i in dry.items] == [("clip.mp4", "dogs", False)]
    assert (library_dir / "clip.mp4").exists() and not MoveIntent.objects.exists()
    per = videos_autofile(
        library=lib, user=user, threshold=0.95, per_folder={"cats": 0.85}, dry_run=True
    )
    assert {i.filename for i in per.items} == {"clip.mp4", "other.mp4"}
    real = videos_autofile(library=lib, user=user, threshold=0.95, per_folder={"cats": 0.85})
    assert real.success and real.moved == 2
    assert (library_dir / "dogs/clip.mp4").exists() and (library_dir / "cats/other.mp4").exists()
    event = LabelEvent.objects.get(video__filename="clip.mp4")
    assert (event.route, event.predicted_confidence) == ("auto-file", 0.97)


# --- folders ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        ".hidden",
        "a/b",
        "a\\b",
        "a\x00b",
        "tab\there",
        "x" * 101,
        "trailing.",
        "trailing ",
        " leading",
        "é" * 128,
    ],
)
def test_bad_folder_names_are_refused(name):
    with pytest.raises(FolderNameInvalid):
        folder_name_validate(name=name)


def test_folder_names_are_nfc():
    assert folder_name_validate(name=unicodedata.normalize("NFD", "Café")) == "Café"


def test_folder_create_and_rename(lib, library_dir, user):
    birds = folder_create(library=lib, name="birds")
    assert (library_dir / "birds").is_dir()
    with pytest.raises(FolderNameTaken):
        folder_create(library=lib, name="Birds")
    video_sort(video=video("clip.mp4"), folder=birds, user=user)
    folder_rename(folder=birds, name="Birds")
    assert (library_dir / "Birds/clip.mp4").exists()
    assert video("Birds/clip.mp4").folder.name == "Birds"
    with pytest.raises(FolderNameTaken):
        folder_rename(folder=folder("Birds"), name="dogs")


def test_step_hook_sees_every_step_of_a_same_device_move(lib, user, monkeypatch):
    seen = []
    monkeypatch.setattr(moves_disk, "STEP_HOOK", seen.append)
    video_sort(video=video("clip.mp4"), folder=folder("dogs"), user=user)
    assert seen == [
        moves_disk.STEP_INTENT,
        moves_disk.STEP_DIR,
        moves_disk.STEP_LINKED,
        moves_disk.STEP_SOURCE_REMOVED,
        moves_disk.STEP_DONE,
    ]


# --- admin -----------------------------------------------------------------------------


def test_admin_autofile_actions(admin_client, lib, library_dir):
    Classifier.objects.create(library=lib, version=1, model_id="m", is_active=True)
    Prediction.objects.create(
        video=video("clip.mp4"),
        classifier_version=1,
        folder=folder("dogs"),
        confidence=0.99,
        margin=0.5,
        entropy=0.1,
        source="trained",
    )
    url = "/admin/labeling/library/"
    dry = admin_client.post(
        url, {"action": "autofile_dry_run", "_selected_action": [lib.pk]}, follow=True
    )
    assert "would move 1 video(s): clip.mp4 → dogs (0.99)" in dry.content.decode()
    assert (library_dir / "clip.mp4").exists()
    real = admin_client.post(
        url, {"action": "autofile_now", "_selected_action": [lib.pk]}, follow=True
    )
    assert "moved 1 video(s)" in real.content.decode()
    assert (library_dir / "dogs/clip.mp4").exists()
    assert admin_client.get("/admin/labeling/moveintent/").status_code == 200
