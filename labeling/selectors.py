"""Reads: queries the pages, the API and the admin share."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from labeling.models import Folder, Library, Video


def folders_with_counts(*, library: Library) -> QuerySet[Folder]:
    return Folder.objects.filter(library=library).annotate(
        video_count=Count("videos", filter=~Q(videos__status=Video.Status.MISSING))
    )


def library_counts(*, library: Library) -> dict[str, int]:
    rows = Video.objects.filter(library=library).aggregate(
        total=Count("id", filter=~Q(status=Video.Status.MISSING)),
        unsorted=Count("id", filter=Q(folder__isnull=True, status=Video.Status.OK)),
        unreadable=Count("id", filter=Q(status=Video.Status.UNREADABLE)),
        missing=Count("id", filter=Q(status=Video.Status.MISSING)),
    )
    return {key: value or 0 for key, value in rows.items()}
