"""Reads of a small, repeatable sample of a library's videos (checks that run on real files)."""

from __future__ import annotations

from labeling.models import Library, Video


def videos_sample(*, library: Library, count: int) -> list[Video]:
    """Up to ``count`` playable videos spread over the library (every k-th by id: repeatable,
    and not only the oldest imports)."""
    ids = list(
        Video.objects.filter(library=library, status=Video.Status.OK)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids or count < 1:
        return []
    step = max(1, len(ids) // count)
    chosen = ids[::step][:count]
    by_id = Video.objects.select_related("library").in_bulk(chosen)
    return [by_id[pk] for pk in chosen]
