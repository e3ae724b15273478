"""Duplicate groups of a library: exact copies (same content hash) and near-duplicates.

Computed on demand with mlpipeline.duplicates from the stored per-frame embeddings
(docs/intelligence.md), and kept per process until a video or an embedding changes: a
5,000-video library takes a few seconds once, then every read (the duplicates page, the
queue keeping a group's members apart, training) is free.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q

from labeling.models import Embedding, Library, Video
from labeling.selectors.classifiers import classifier_active
from labeling.selectors.embeddings import embedding_table_stamp
from mlpipeline.duplicates import Clip, duplicate_groups
from mlpipeline.embeddings import unpack_vector


@dataclass(frozen=True)
class LibraryDuplicates:
    """Groups of video ids (each sorted, largest group first) and who is in which."""

    model_id: str
    groups: list[list[int]]
    exact: list[bool]  # per group: every member has the same content hash
    group_of: dict[int, int] = field(default_factory=dict)  # video id -> group index


_cache: dict[tuple[int, str], tuple[tuple, LibraryDuplicates]] = {}
_lock = threading.Lock()


def _stamp(library: Library) -> tuple:
    """Changes when videos come, go or go missing, or embeddings change; not on moves (a
    sort changes no content), so sorting in the player does not recompute the groups."""
    videos = Video.objects.filter(library=library).aggregate(
        n=Count("id"), top=Max("id"), missing=Count("id", filter=Q(status=Video.Status.MISSING))
    )
    return (*embedding_table_stamp(), videos["n"], videos["top"], videos["missing"])


def library_duplicates(*, library: Library, model_id: str) -> LibraryDuplicates:
    """The library's duplicate groups among present videos (cached until something changes)."""
    stamp = _stamp(library)
    key = (library.pk, model_id)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    found = _compute(library=library, model_id=model_id)
    with _lock:
        _cache[key] = (stamp, found)
    return found


def duplicates_cache_clear() -> None:
    with _lock:
        _cache.clear()


def _compute(*, library: Library, model_id: str) -> LibraryDuplicates:
    rows = list(
        Video.objects.filter(library=library)
        .exclude(status=Video.Status.MISSING)
        .order_by("pk")
        .values_list("pk", "content_hash", "duration")
    )
    hashes = {pk: content_hash for pk, content_hash, _ in rows}
    stored = {
        video_id: (dim, frames)
        for video_id, dim, frames, content_hash in Embedding.objects.filter(
            video__library=library, model_id=model_id
        ).values_list("video_id", "dim", "frame_vectors", "content_hash")
        if hashes.get(video_id) == content_hash and frames
    }
    embedded = [(pk, h, d) for pk, h, d in rows if pk in stored]
    clips = [Clip(unpack_vector(stored[pk][1], dim=stored[pk][0]), d) for pk, _, d in embedded]
    index_groups = duplicate_groups(clips, exact_keys=[h for _, h, _ in embedded])
    groups = [[embedded[i][0] for i in group] for group in index_groups]
    groups = _with_unembedded_copies(groups, rows=rows, embedded={pk for pk, _, _ in embedded})
    exact = [len({hashes[pk] for pk in group}) == 1 for group in groups]
    group_of = {pk: index for index, group in enumerate(groups) for pk in group}
    return LibraryDuplicates(model_id=model_id, groups=groups, exact=exact, group_of=group_of)


def _with_unembedded_copies(
    groups: list[list[int]], *, rows: list[tuple[int, str, float | None]], embedded: set[int]
) -> list[list[int]]:
    """Add videos without an embedding (not extracted yet, unreadable) by content hash."""
    by_hash: dict[str, list[int]] = {}
    for pk, content_hash, _ in rows:
        if content_hash:
            by_hash.setdefault(content_hash, []).append(pk)
    member_group = {pk: index for index, group in enumerate(groups) for pk in group}
    extra: list[list[int]] = []
    for same in by_hash.values():
        loose = [pk for pk in same if pk not in embedded]
        if not loose or len(same) < 2:
            continue
        home = next((member_group[pk] for pk in same if pk in member_group), None)
        if home is not None:
            groups[home] = sorted(groups[home] + loose)
        elif len(loose) == len(same):
            extra.append(sorted(loose))
        else:  # embedded copies of it stand alone: the group starts here
            extra.append(sorted(same))
    return sorted(groups + extra, key=lambda group: (-len(group), group[0]))


def library_duplicates_model_id(*, library: Library) -> str | None:
    """The model whose frames the queue compares: the active classifier's, else the
    newest embedding's in the library (None: nothing is embedded)."""
    active = classifier_active(library=library)
    if active is not None:
        return active.model_id
    return (
        Embedding.objects.filter(video__library=library)
        .order_by("-pk")
        .values_list("model_id", flat=True)
        .first()
    )


def duplicate_group_videos(*, library: Library, video_ids: list[int]) -> dict[int, Video]:
    """The videos of the groups, with their folders, by id."""
    return {
        v.pk: v
        for v in Video.objects.filter(library=library, pk__in=video_ids).select_related("folder")
    }
