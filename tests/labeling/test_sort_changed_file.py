"""Sorting a file that changed on disk since the last scan stores what the file is now.

The move sees the file's size and mtime; when they differ from the row's, it hashes and
probes the file again, so the row never pairs the new size with the old content's hash
(the next scan would trust it and the old content's embedding would keep training).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from labeling.models import Embedding, Folder, Library, Video
from labeling.selectors.embeddings import videos_needing_embeddings
from labeling.services.scan import library_get_or_create, library_scan
from mlpipeline.hashing import content_hash
from tests.media import make_h264

MODEL_ID = "test-model"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("changed_clips")
    return {
        "short": make_h264(folder / "short.mp4", seconds=1),
        "long": make_h264(folder / "long.mp4", seconds=3, size="160x120"),
    }


def _scanned(library_dir: Path, settings: Any, clips: dict[str, Path]) -> Library:
    settings.VIDSORT_LIBRARY = library_dir
    (library_dir / "clip.mp4").write_bytes(clips["short"].read_bytes())
    (library_dir / "cats").mkdir()
    library = library_get_or_create(root=library_dir)
    Folder.objects.create(library=library, name="cats")
    library_scan(library=library)
    return library


@pytest.mark.parametrize("change", ["append a byte", "other bytes over it"])
def test_sorting_a_changed_file_rehashes_it_and_the_next_scan_trusts_it(
    change: str, api: APIClient, library_dir: Path, settings: Any, clips: dict[str, Path]
) -> None:
    library = _scanned(library_dir, settings, clips)
    video = Video.objects.get()
    old_hash, old_duration = video.content_hash, video.duration
    assert video.status == Video.Status.OK and old_duration is not None
    Embedding.objects.create(
        video=video, model_id=MODEL_ID, content_hash=old_hash, dim=1, vector=b"", frame_vectors=b""
    )
    assert not videos_needing_embeddings(library=library, model_id=MODEL_ID).exists()
    loose = library_dir / "clip.mp4"
    if change == "append a byte":
        with loose.open("ab") as handle:
            handle.write(b"\0")
    else:
        loose.write_bytes(clips["long"].read_bytes())

    response = api.post("/api/sort", {"filename": "clip.mp4", "folder": "cats"}, format="json")
    assert response.status_code == 200, response.content

    video.refresh_from_db()
    moved = library_dir / "cats" / "clip.mp4"
    assert video.path == "cats/clip.mp4"
    assert video.content_hash == content_hash(moved) != old_hash
    st = moved.stat()
    assert (video.size, video.mtime_ns) == (st.st_size, st.st_mtime_ns)
    if change == "other bytes over it":
        assert video.duration is not None and video.duration > old_duration + 1
        assert (video.width, video.height) == (160, 120)
    # The old content's embedding no longer counts: the next retrain extracts again.
    assert videos_needing_embeddings(library=library, model_id=MODEL_ID).filter(pk=video.pk)

    report = library_scan(library=library)
    assert (report.unchanged, report.updated, report.new) == (1, 0, 0)

    undo = api.post("/api/undo", {}, format="json")
    assert undo.status_code == 200, undo.content
    video.refresh_from_db()
    assert video.path == "clip.mp4" and loose.is_file()
