"""Embedding storage: each content once, moves and renames never re-extracted."""

from __future__ import annotations

import os
import re
import shutil
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from labeling.models import Embedding, Video
from labeling.services.extraction import embeddings_extract, encoder_get, videos_needing_embeddings
from labeling.services.scan import library_get_or_create, library_scan
from mlpipeline.embeddings import unpack_vector

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tiny_model")]


@pytest.fixture
def library(make_demo):
    root = make_demo(24)
    library = library_get_or_create(root=root)
    library_scan(library=library)
    return library


def pending(library) -> list[int]:
    model_id = encoder_get().model_id
    return list(
        videos_needing_embeddings(library=library, model_id=model_id).values_list("pk", flat=True)
    )


def test_extraction_is_incremental_and_survives_moves(library):
    report = embeddings_extract(video_ids=pending(library), workers=0)
    assert report.extracted == 24 and report.failed == 0
    assert pending(library) == []
    vectors = {e.video_id: bytes(e.vector) for e in Embedding.objects.all()}

    root = library.root
    loose = list(Video.objects.filter(library=library, folder=None).order_by("pk")[:10])
    assert len(loose) == 10
    os.makedirs(f"{root}/moved", exist_ok=True)
    for index, video in enumerate(loose):
        # Moved between folders and renamed, outside VidSort.
        os.rename(f"{root}/{video.path}", f"{root}/moved/renamed_{index}.mp4")
    scan = library_scan(library=library)
    assert scan.moved == 10
    assert pending(library) == []  # nothing to re-extract
    report = embeddings_extract(video_ids=[v.pk for v in loose], workers=0)
    assert report.skipped == 10 and report.extracted == 0
    assert {e.video_id: bytes(e.vector) for e in Embedding.objects.all()} == vectors


def test_a_duplicate_file_is_extracted_once(library):
    embeddings_extract(video_ids=pending(library), workers=0)
    source = Video.objects.filter(library=library).first()
    shutil.copyfile(f"{library.root}/{source.path}", f"{library.root}/copy of clip.mp4")
    library_scan(library=library)
    report = embeddings_extract(video_ids=pending(library), workers=0)
    assert report.copied == 1 and report.extracted == 0
    copy = Video.objects.get(path="copy of clip.mp4")
    assert bytes(copy.embeddings.get().vector) == bytes(source.embeddings.get().vector)


def test_a_changed_file_is_extracted_again(library):
    embeddings_extract(video_ids=pending(library), workers=0)
    a, b = Video.objects.filter(library=library, folder=None).order_by("pk")[:2]
    shutil.copyfile(f"{library.root}/{b.path}", f"{library.root}/{a.path}")
    os.utime(f"{library.root}/{a.path}", ns=(1, 1))
    library_scan(library=library)
    a.refresh_from_db()
    assert a.content_hash == b.content_hash  # a now holds b's bytes
    assert pending(library) == [a.pk]  # its old embedding no longer matches
    report = embeddings_extract(video_ids=[a.pk], workers=0)
    # Same content as b, already embedded: copied from the twin, not decoded again.
    assert (report.copied, report.extracted) == (1, 0)
    assert bytes(Embedding.objects.get(video=a).vector) == bytes(
        Embedding.objects.get(video=b).vector
    )


def test_stored_vectors_are_unit_length_with_frames_and_times(library, settings):
    embeddings_extract(video_ids=pending(library), workers=0)
    embedding = Embedding.objects.first()
    vector = unpack_vector(embedding.vector)
    frames = unpack_vector(embedding.frame_vectors, dim=embedding.dim).reshape(-1, embedding.dim)
    assert vector.shape == (embedding.dim,) and abs(np.linalg.norm(vector) - 1) < 1e-5
    assert frames.shape[0] == len(embedding.frame_times) == settings.VIDSORT_FRAMES
    assert embedding.frame_times == sorted(embedding.frame_times)


def test_a_file_that_fails_to_decode_is_marked_and_not_retried(library, media):
    video = Video.objects.filter(library=library).first()
    embeddings_extract(video_ids=pending(library), workers=0)
    # Replace the file by a truncated copy behind the scan's back (same size and mtime).
    path = f"{library.root}/{video.path}"
    stat = os.stat(path)
    with open(path, "r+b") as handle:
        handle.seek(48)
        handle.write(b"\0" * (stat.st_size - 48))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    Embedding.objects.filter(video=video).delete()
    report = embeddings_extract(video_ids=[video.pk], workers=0)
    assert report.failed == 1 and report.errors[video.pk]
    video.refresh_from_db()
    assert video.extract_error
    assert video.pk not in pending(library)


def test_extract_command_is_incremental(library):
    out = StringIO()
    call_command("vidsort_extract", "--library", library.root, "--workers", "0", stdout=out)
    assert "24 videos to embed" in out.getvalue()
    assert re.search(r"24/24 +[0-9.]+ videos/s +ETA 0 s", out.getvalue())  # rate and ETA shown
    out = StringIO()
    call_command("vidsort_extract", "--library", library.root, "--workers", "0", stdout=out)
    assert "0 videos to embed" in out.getvalue()
