"""Import a TikTok data export: favourites and likes matched to the library's files.

Each favourited or liked video is kept as a TikTokItem row (its numeric id, link and
dates). A library file whose name holds the id (as a run of digits of its own, e.g.
``7212345678901234567.mp4`` or ``cats [7212345678901234567].mp4``) is that video. Items
with no file yet are written, one link a line, to a text file under the data folder that
a downloader takes as a batch file (``yt-dlp -a``); every scan matches again, so the
files downloaded into the library find their items. Nothing is written outside the data
folder, and the export itself is never unpacked to disk (docs/intelligence.md).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction

from labeling.models import Library, TikTokItem, Video
from labeling.selectors.tiktok import tiktok_items_unmatched, tiktok_missing_path
from labeling.services.tiktok_export import (
    MAX_JSON_BYTES,
    ExportItem,
    ParsedExport,
    Skipped,
    TikTokExportError,
    read_export,
)

logger = logging.getLogger(__name__)

# An archive (or JSON) upload larger than this is refused before it is opened.
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
_DIGIT_RUNS = re.compile(r"(?<![0-9])[0-9]{15,21}(?![0-9])")


@dataclass(slots=True)
class TikTokImportReport:
    shape: str
    favorites: int
    likes: int
    items: int  # distinct videos in the export
    created: int
    matched: int  # items of this export that have a file now
    missing: int  # items of the library with no file
    skipped: list[Skipped] = field(default_factory=list)
    missing_links_file: str = ""


@dataclass(frozen=True, slots=True)
class TikTokMatchReport:
    matched: int
    newly_matched: int
    missing: int
    missing_links_file: str


def tiktok_import(
    *,
    library: Library,
    stream: IO[bytes],
    name: str,
    max_bytes: int = MAX_JSON_BYTES,
) -> TikTokImportReport:
    """Read an export (zip or JSON, from a seekable stream), store its items, match files."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size > max(MAX_UPLOAD_BYTES, max_bytes):
        raise TikTokExportError(f"{name} is {size} bytes: over the upload limit, refused")
    if size == 0:
        raise TikTokExportError(f"{name} is empty")
    parsed = read_export(stream, name=name, max_bytes=max_bytes)
    created = _items_store(library=library, parsed=parsed)
    match = tiktok_items_match(library=library)
    ids = list(parsed.items)
    matched = TikTokItem.objects.filter(
        library=library, tiktok_id__in=ids, video__isnull=False
    ).count()
    logger.info(
        "tiktok import into %s: %s items (%s new), %s matched, %s skipped",
        library.root,
        len(ids),
        created,
        matched,
        len(parsed.skipped),
    )
    return TikTokImportReport(
        shape=parsed.shape,
        favorites=parsed.favorites,
        likes=parsed.likes,
        items=len(ids),
        created=created,
        matched=matched,
        missing=match.missing,
        skipped=parsed.skipped,
        missing_links_file=match.missing_links_file,
    )


def tiktok_import_path(
    *, library: Library, path: Path, max_bytes: int = MAX_JSON_BYTES
) -> TikTokImportReport:
    """``tiktok_import`` of a file on disk (the management command)."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise TikTokExportError(f"cannot open {path}: {exc.strerror}") from exc
    with stream:
        return tiktok_import(library=library, stream=stream, name=path.name, max_bytes=max_bytes)


def _items_store(*, library: Library, parsed: ParsedExport) -> int:
    """Upsert the export's items; a date already known stays unless this one is newer."""
    with transaction.atomic():
        existing = {
            item.tiktok_id: item
            for item in TikTokItem.objects.select_for_update().filter(
                library=library, tiktok_id__in=list(parsed.items)
            )
        }
        new = [
            TikTokItem(
                library=library,
                tiktok_id=item.tiktok_id,
                link=item.link,
                favorited_at=item.favorited_at,
                liked_at=item.liked_at,
            )
            for tid, item in parsed.items.items()
            if tid not in existing
        ]
        changed = [row for tid, row in existing.items() if _merged(row, parsed.items[tid])]
        TikTokItem.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        TikTokItem.objects.bulk_update(
            changed, ["link", "favorited_at", "liked_at"], batch_size=1000
        )
    return len(new)


def _merged(row: TikTokItem, item: ExportItem) -> bool:
    changed = False
    for attr in ("favorited_at", "liked_at"):
        new, old = getattr(item, attr), getattr(row, attr)
        if new is not None and (old is None or new > old):
            setattr(row, attr, new)
            changed = True
    return changed


def tiktok_items_match(*, library: Library) -> TikTokMatchReport:
    """Link every item to the library file whose name holds its id (a playable one first);
    rewrite the missing-links file. Called after an import and after every scan."""
    items = list(TikTokItem.objects.filter(library=library).only("pk", "tiktok_id", "video_id"))
    if not items:
        return TikTokMatchReport(0, 0, 0, "")
    by_id: dict[str, int] = {}
    videos = Video.objects.filter(library=library).exclude(status=Video.Status.MISSING)
    # Playable files first, then by id: a stable choice when two files hold one id.
    rows = videos.order_by("status", "pk").values_list("pk", "filename", "status")
    for pk, filename, _status in rows:
        for run in _DIGIT_RUNS.findall(filename):
            by_id.setdefault(run, pk)
    changed: list[TikTokItem] = []
    newly = 0
    for item in items:
        video_id = by_id.get(item.tiktok_id)
        if video_id != item.video_id:
            newly += item.video_id is None and video_id is not None
            item.video_id = video_id
            changed.append(item)
    TikTokItem.objects.bulk_update(changed, ["video"], batch_size=1000)
    missing_file = _missing_links_write(library=library)
    matched = sum(1 for item in items if item.video_id is not None)
    return TikTokMatchReport(matched, newly, len(items) - matched, missing_file)


def _missing_links_write(*, library: Library) -> str:
    """One link a line, for a downloader's batch file; written whole (temp file + rename)
    under the data folder. Removed when nothing is missing."""
    target = tiktok_missing_path(library=library)
    links = [link for _, link in tiktok_items_unmatched(library=library)]
    data_dir = Path(settings.DATA_DIR).resolve()
    if not target.resolve().is_relative_to(data_dir):
        raise TikTokExportError("the missing-links file would fall outside the data folder")
    if not links:
        target.unlink(missing_ok=True)
        return ""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".missing-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write("".join(f"{link}\n" for link in links))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return str(target)
