"""Reads of imported TikTok favourites and likes (labeling/services/tiktok.py writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q

from labeling.models import Library, TikTokItem


@dataclass(frozen=True, slots=True)
class TikTokSummary:
    items: int
    favorites: int
    likes: int
    matched: int
    missing: int


def tiktok_missing_path(*, library: Library) -> Path:
    """The batch file of links with no file yet, under the data folder."""
    return Path(settings.DATA_DIR) / "tiktok" / f"library-{library.pk}-missing-links.txt"


def tiktok_items_unmatched(*, library: Library, limit: int | None = None) -> list[tuple[str, str]]:
    """(id, link) of the items no library file holds, favourites newest first."""
    rows = (
        TikTokItem.objects.filter(library=library, video__isnull=True)
        .order_by("-favorited_at", "-liked_at", "tiktok_id")
        .values_list("tiktok_id", "link")
    )
    return list(rows[:limit] if limit is not None else rows)


def tiktok_summary(*, library: Library) -> TikTokSummary:
    counts = TikTokItem.objects.filter(library=library).aggregate(
        items=Count("pk"),
        favorites=Count("pk", filter=Q(favorited_at__isnull=False)),
        likes=Count("pk", filter=Q(liked_at__isnull=False)),
        matched=Count("pk", filter=Q(video__isnull=False)),
    )
    return TikTokSummary(
        items=counts["items"],
        favorites=counts["favorites"],
        likes=counts["likes"],
        matched=counts["matched"],
        missing=counts["items"] - counts["matched"],
    )
