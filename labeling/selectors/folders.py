"""Reads of folders (categories)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from labeling.models import Folder, Library, Video


def folders_with_counts(*, library: Library | int) -> QuerySet[Folder]:
    """The library's folders, each with ``video_count``: its videos, missing ones excluded."""
    return Folder.objects.filter(library=library).annotate(
        video_count=Count("videos", filter=~Q(videos__status=Video.Status.MISSING))
    )


def folder_with_count(*, library: Library | int, folder_id: int) -> Folder:
    """One folder with ``video_count``; Folder.DoesNotExist when it is not the library's."""
    return folders_with_counts(library=library).get(pk=folder_id)


def folders_by_id(*, library: Library) -> dict[int, Folder]:
    return {f.pk: f for f in Folder.objects.filter(library=library)}


def folder_ids(*, library: Library) -> list[int]:
    """The library's folder ids in id order (the classes of zero-shot and queue orders)."""
    return list(Folder.objects.filter(library=library).order_by("pk").values_list("pk", flat=True))


def folder_names(*, library: Library) -> dict[int, str]:
    return dict(Folder.objects.filter(library=library).values_list("pk", "name"))


def label_counts(*, library: Library) -> dict[int | str, int]:
    """Playable sorted videos per folder id (folders without any are absent)."""
    return dict(
        Video.objects.filter(library=library, folder__isnull=False, status=Video.Status.OK)
        .values_list("folder_id")
        .annotate(n=Count("id"))
    )


def folders_by_name(*, library: Library) -> dict[str, Folder]:
    return {f.name: f for f in Folder.objects.filter(library=library)}


def folder_in_library(*, library: Library, folder_id: int) -> Folder | None:
    return Folder.objects.filter(library=library, pk=folder_id).first()
