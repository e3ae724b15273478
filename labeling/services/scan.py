"""Library scan: turn a folder of videos into database rows, and keep them in sync.

Rules (documented in the README):
- files in the root are unsorted; files in a first-level sub-folder are labelled with it;
  videos deeper down belong to their first-level folder (``soccer/2023/a.mp4`` is
  labelled ``soccer``) so nothing a person already sorted is ignored;
- hidden files and folders (leading dot) and non-video extensions are ignored; symlinks
  that resolve outside the root are ignored with a warning; symlinked folders are not
  followed (a link loop cannot hang a scan, a file cannot be counted twice); a symlinked
  file inside the root is skipped with a warning (the file it points to is scanned
  itself, so a link never becomes a second row);
- a file or folder whose name is not valid UTF-8 is skipped with a warning that names it
  escaped: the database and URLs cannot hold such a name (rename it to sort it);
- a folder named like a video (``dir.mp4/``) is a folder, so a category like any other;
- a file whose size and modification time are unchanged since the last scan is not
  re-read, so a re-scan of an unchanged library only stats files;
- a file that appears at a new path with the hash of a row whose path has vanished is
  the same video, moved outside VidSort: the row follows it and, if its folder changed,
  a LabelEvent with route ``external`` records that;
- a vanished file makes its row ``missing``; rows are never deleted (they hold history).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labeling.models import Folder, LabelEvent, Library, MoveIntent, Video
from labeling.selectors.folders import folders_by_name
from labeling.selectors.videos import move_paths_in_flight, videos_by_path
from labeling.services.tiktok import tiktok_items_match
from mlpipeline.hashing import content_hash
from mlpipeline.probe import UnreadableVideo, VideoInfo, probe_video, probe_video_isolated

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi"})

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class DiskFile:
    rel_path: str  # '/'-separated, relative to the library root
    folder_name: str | None  # first-level folder, None for the root
    size: int
    mtime_ns: int


@dataclass(slots=True)
class ProbeResult:
    disk: DiskFile
    content_hash: str
    info: VideoInfo | None
    error: str


@dataclass(slots=True)
class ScanReport:
    total: int = 0
    new: int = 0
    unchanged: int = 0
    updated: int = 0
    moved: int = 0
    missing: int = 0
    unreadable: int = 0
    folders_created: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.total} videos on disk: {self.new} new, {self.unchanged} unchanged, "
            f"{self.updated} updated, {self.moved} moved, {self.missing} missing, "
            f"{self.unreadable} unreadable; {self.folders_created} folders created "
            f"({self.seconds:.1f} s)"
        )


def is_video_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def library_get_or_create(*, root: str | os.PathLike[str], name: str = "") -> Library:
    resolved = Path(root).expanduser().resolve()
    if not resolved.is_dir():
        raise ValueError(f"library folder {str(resolved)!r} does not exist or is not a folder")
    library, _ = Library.objects.get_or_create(
        root=str(resolved), defaults={"name": name or resolved.name or str(resolved)}
    )
    return library


def library_walk(*, root: Path) -> tuple[list[DiskFile], list[str], list[str]]:
    """List the videos and first-level folders under ``root``; returns warnings too."""
    walk = _Walk(root_real=os.path.realpath(root))
    walk.visit(str(root), "", None)
    return walk.files, walk.folders, walk.warnings


@dataclass(slots=True)
class _Walk:
    root_real: str
    files: list[DiskFile] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def inside_root(self, path: str) -> bool:
        real = os.path.realpath(path)
        return os.path.commonpath([self.root_real, real]) == self.root_real

    def visit(self, directory: str, rel_dir: str, folder_name: str | None) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self.warnings.append(f"cannot list {rel_dir or '.'}: {exc.strerror}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if not _utf8_name(entry.name):
                self.warnings.append(f"ignored name that is not valid UTF-8: {_escaped(rel)}")
                continue
            try:
                self._entry(entry, rel, folder_name)
            except OSError as exc:
                self.warnings.append(f"cannot read {rel}: {exc.strerror}")

    def _entry(self, entry: os.DirEntry[str], rel: str, folder_name: str | None) -> None:
        is_link = entry.is_symlink()
        if is_link and not self.inside_root(entry.path):
            self.warnings.append(f"ignored symlink leaving the library: {rel}")
        elif entry.is_dir(follow_symlinks=False):
            if folder_name is None:
                self.folders.append(entry.name)
            self.visit(entry.path, rel, folder_name or entry.name)
        elif is_link and os.path.isdir(entry.path):
            self.warnings.append(f"ignored symlinked folder: {rel}")
        elif is_link and is_video_name(entry.name):
            self.warnings.append(f"ignored symlink (its target is scanned itself): {rel}")
        elif is_video_name(entry.name) and entry.is_file():
            stat = entry.stat()
            self.files.append(DiskFile(rel, folder_name, stat.st_size, stat.st_mtime_ns))


def _utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, held by Python as surrogate escapes
        return False
    return True


def _escaped(name: str) -> str:
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _probe_one(root: Path, disk: DiskFile, hash_mode: str, isolated: bool) -> ProbeResult:
    path = root / disk.rel_path
    try:
        digest = content_hash(path, mode=hash_mode)
    except OSError as exc:
        return ProbeResult(disk, "", None, f"cannot read file: {exc.strerror}")
    try:
        info = probe_video_isolated(path) if isolated else probe_video(path)
    except UnreadableVideo as exc:
        return ProbeResult(disk, digest, None, str(exc))
    except OSError as exc:
        return ProbeResult(disk, digest, None, f"cannot read file: {exc.strerror}")
    return ProbeResult(disk, digest, info, "")


def _folders_ensure(library: Library, names: list[str]) -> tuple[dict[str, Folder], int]:
    existing = folders_by_name(library=library)
    used_keys = {f.key for f in existing.values() if f.key}
    created = 0
    for name in sorted(set(names) - set(existing)):
        free_key = next((k for k in range(1, 10) if k not in used_keys), None)
        if free_key:
            used_keys.add(free_key)
        existing[name] = Folder.objects.create(library=library, name=name, key=free_key)
        created += 1
    return existing, created


def _apply_probe(video: Video, result: ProbeResult) -> None:
    disk = result.disk
    video.size = disk.size
    video.mtime_ns = disk.mtime_ns
    video.content_hash = result.content_hash
    video.extract_error = ""  # the file changed: give extraction another chance
    info = result.info
    if info is None:
        video.status = Video.Status.UNREADABLE
        video.error = result.error
        return
    video.status = Video.Status.OK
    video.error = ""
    video.duration = info.duration
    video.fps = info.fps
    video.frame_count = info.frame_count
    video.width = info.width
    video.height = info.height
    video.codec = info.codec
    video.pix_fmt = info.pix_fmt
    video.rotation = info.rotation


PROBED_FIELDS = [
    "size",
    "mtime_ns",
    "content_hash",
    "status",
    "error",
    "duration",
    "fps",
    "frame_count",
    "width",
    "height",
    "codec",
    "pix_fmt",
    "rotation",
    "path",
    "filename",
    "folder",
    "extract_error",
    "updated_at",
]
# What a re-read of one file changes (its place is the caller's business).
REREAD_FIELDS = [f for f in PROBED_FIELDS if f not in {"path", "filename", "folder", "updated_at"}]


def video_file_reread(*, path: Path, size: int, mtime_ns: int) -> dict[str, Any]:
    """The probed fields of one file found changed outside a scan (a sort saw it):
    hashed and probed now, as a scan would, so the row is true again and the next scan
    finds the file unchanged. A new hash leaves the old content's embedding stale."""
    disk = DiskFile(rel_path=path.name, folder_name=None, size=size, mtime_ns=mtime_ns)
    digest = ""
    try:
        digest = content_hash(path, mode=getattr(settings, "VIDSORT_HASH", "sampled"))
        result = ProbeResult(disk, digest, probe_video(path), "")
    except UnreadableVideo as exc:
        result = ProbeResult(disk, digest, None, str(exc))
    except OSError as exc:
        result = ProbeResult(disk, digest, None, f"cannot read file: {exc.strerror}")
    video = Video()
    _apply_probe(video, result)
    return {name: getattr(video, name) for name in REREAD_FIELDS}


def library_scan(
    *,
    library: Library,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    isolated: bool = False,
) -> ScanReport:
    """Scan the library; ``isolated`` probes each file in a child process (slower), so a
    file that crashes the decoder is marked unreadable instead of killing the caller."""
    started = time.perf_counter()
    root = Path(library.root)
    if not root.is_dir():
        raise ValueError(f"library folder {library.root!r} is not there (unmounted or moved?)")
    disk_files, folder_names, warnings = library_walk(root=root)
    report = ScanReport(total=len(disk_files), warnings=warnings)
    for warning in warnings:
        logger.warning("scan %s: %s", library.root, warning)

    # Moves in flight (journalled by the sort service, not yet closed) are left alone:
    # their destination is not a new video and their source is not missing.
    busy = move_paths_in_flight(library=library)
    disk_files = [d for d in disk_files if d.rel_path not in busy]
    known = videos_by_path(library=library, skip=busy)
    to_probe = [d for d in disk_files if not _unchanged(known.get(d.rel_path), d)]
    report.unchanged = len(disk_files) - len(to_probe)
    results = _probe_all(
        root, to_probe, report=report, progress=progress, workers=workers, isolated=isolated
    )
    with transaction.atomic():
        # Lock the library row: two scans (a command and a task) write one at a time.
        Library.objects.select_for_update().filter(pk=library.pk).first()
        folders, report.folders_created = _folders_ensure(library, folder_names)
        _scan_write(library, root, disk_files, results, known, folders, report)
        Library.objects.filter(pk=library.pk).update(last_scan_at=timezone.now())
    # Files downloaded for imported TikTok favourites find their items (docs/intelligence.md).
    tiktok_items_match(library=library)

    report.seconds = time.perf_counter() - started
    logger.info("scan %s: %s", library.root, report.summary())
    return report


def _unchanged(row: Video | None, disk: DiskFile) -> bool:
    """Whether the file is the one the row describes (same size and mtime, not missing)."""
    return (
        row is not None
        and row.status != Video.Status.MISSING
        and row.size == disk.size
        and row.mtime_ns == disk.mtime_ns
    )


def _probe_all(
    root: Path,
    to_probe: list[DiskFile],
    *,
    report: ScanReport,
    progress: ProgressCallback | None,
    workers: int | None,
    isolated: bool = False,
) -> list[ProbeResult]:
    done = report.unchanged
    _report_progress(progress, done, report.total)
    results: list[ProbeResult] = []
    hash_mode = getattr(settings, "VIDSORT_HASH", "sampled")
    with ThreadPoolExecutor(max_workers=workers or settings.VIDSORT_SCAN_WORKERS) as pool:
        # Hashing and decoding release the GIL, so threads keep every core busy.
        for result in pool.map(lambda d: _probe_one(root, d, hash_mode, isolated), to_probe):
            results.append(result)
            done += 1
            _report_progress(progress, done, report.total)
    return results


@dataclass(frozen=True, slots=True)
class _RowState:
    """A row as the scan read it: a sort, an undo or a rename since then changes this."""

    path: str
    folder_id: int | None
    status: str
    size: int
    mtime_ns: int
    content_hash: str
    updated_at: datetime


def _row_state(video: Video) -> _RowState:
    return _RowState(
        path=video.path,
        folder_id=video.folder_id,
        status=video.status,
        size=video.size,
        mtime_ns=video.mtime_ns,
        content_hash=video.content_hash,
        updated_at=video.updated_at,
    )


_LOCK_CHUNK = 2000  # ids per locking query (SQLite limits the parameters of one query)


def _rows_locked_now(pks: list[int]) -> tuple[dict[int, _RowState], set[int]]:
    """Lock these rows (id order, as sorts lock one row at a time: no deadlock) and read
    them as they are now, with the ids among them that have a move in flight."""
    now: dict[int, _RowState] = {}
    moving: set[int] = set()
    ordered = sorted(pks)
    for start in range(0, len(ordered), _LOCK_CHUNK):
        chunk = ordered[start : start + _LOCK_CHUNK]
        for row in Video.objects.select_for_update().filter(pk__in=chunk).order_by("pk"):
            now[row.pk] = _row_state(row)
        moving.update(
            MoveIntent.objects.filter(
                video_id__in=chunk, state=MoveIntent.State.PENDING
            ).values_list("video_id", flat=True)
        )
    return now, moving


@dataclass(slots=True)
class _ScanBatch:
    """The rows one scan writes: collected first, then written in bulk."""

    library: Library
    root: Path
    report: ScanReport
    vanished_by_hash: dict[str, list[Video]]
    to_create: list[Video] = field(default_factory=list)
    to_update: list[Video] = field(default_factory=list)
    events: list[LabelEvent] = field(default_factory=list)
    kinds: dict[int, str] = field(default_factory=dict)  # row id -> the report's counter

    def apply(self, result: ProbeResult, row: Video | None, folder: Folder | None) -> Video | None:
        """The row for a probed file: its own, a vanished twin's (moved), or a new one."""
        if row is not None:
            _apply_probe(row, result)
            row.folder = folder
            self.to_update.append(row)
            self.report.updated += 1
            self.kinds[row.pk] = "updated"
            return row
        candidates = self.vanished_by_hash.get(result.content_hash) if result.info else None
        if candidates:
            return self._moved(candidates.pop(0), result, folder)
        if not (self.root / result.disk.rel_path).exists():
            return None  # gone since the walk (sorted meanwhile): not a new video
        return self._created(result, folder)

    def _moved(self, row: Video, result: ProbeResult, folder: Folder | None) -> Video:
        old_path, old_folder = row.path, row.folder
        _apply_probe(row, result)
        row.path = result.disk.rel_path
        row.filename = os.path.basename(row.path)
        row.folder = folder
        self.to_update.append(row)
        self.report.moved += 1
        self.kinds[row.pk] = "moved"
        if old_folder != folder:
            self.events.append(
                LabelEvent(
                    video=row,
                    route=LabelEvent.Route.EXTERNAL,
                    from_folder=old_folder,
                    to_folder=folder,
                    from_name=old_folder.name if old_folder else "",
                    to_name=folder.name if folder else "",
                    from_path=old_path,
                    to_path=row.path,
                )
            )
        return row

    def _created(self, result: ProbeResult, folder: Folder | None) -> Video:
        path = result.disk.rel_path
        row = Video(library=self.library, path=path, filename=os.path.basename(path), folder=folder)
        _apply_probe(row, result)
        self.to_create.append(row)
        self.report.new += 1
        if folder is not None:
            self.events.append(
                LabelEvent(
                    video=row,
                    route=LabelEvent.Route.IMPORT,
                    to_folder=folder,
                    to_name=folder.name,
                    to_path=row.path,
                )
            )
        return row

    def missing_mark(self, vanished: list[Video]) -> None:
        """Vanished rows that were not found moved: missing, unless the file is back."""
        moved_ids = {v.pk for v in self.to_update}
        for video in vanished:
            if video.pk in moved_ids or video.status == Video.Status.MISSING:
                continue
            # Double-check: a file sorted by VidSort while this scan ran is not missing.
            if (self.root / video.path).exists():
                continue
            video.status = Video.Status.MISSING
            self.to_update.append(video)
            self.report.missing += 1
            self.kinds[video.pk] = "missing"

    def concurrent_drop(self, read_as: dict[int, _RowState]) -> None:
        """Leave out what changed since the scan read it: sorting, undo and renames run
        while the scan probes, and writing what it saw would undo their work.

        The rows to write are locked (id order) and compared with what the scan read; a
        row that changed, or that has a move in flight, is left as it is, and so is a new
        or moved row whose path another row holds now. The next scan looks at them again.
        """
        now, moving = _rows_locked_now([v.pk for v in self.to_update])
        stale = {v.pk for v in self.to_update if v.pk in moving or now.get(v.pk) != read_as[v.pk]}
        paths = [v.path for v in self.to_create]
        paths += [v.path for v in self.to_update if self.kinds.get(v.pk) == "moved"]
        taken = dict(
            Video.objects.filter(library=self.library, path__in=paths).values_list("path", "pk")
        )
        dropped = [
            v for v in self.to_update if v.pk in stale or taken.get(v.path, v.pk) != v.pk
        ] + [v for v in self.to_create if v.path in taken]
        if not dropped:
            return
        gone = {id(v) for v in dropped}
        self.to_update = [v for v in self.to_update if id(v) not in gone]
        self.to_create = [v for v in self.to_create if id(v) not in gone]
        self.events = [e for e in self.events if id(e.video) not in gone]
        for video in dropped:
            kind = self.kinds.get(video.pk, "new") if video.pk else "new"
            setattr(self.report, kind, getattr(self.report, kind) - 1)
        logger.info(
            "scan %s: %d videos changed while the scan ran (sorted?), left for the next scan",
            self.library.root,
            len(dropped),
        )

    def save(self) -> None:
        now = timezone.now()
        for video in self.to_update:
            video.updated_at = now
        Video.objects.bulk_create(self.to_create, batch_size=500)
        Video.objects.bulk_update(self.to_update, PROBED_FIELDS, batch_size=500)
        LabelEvent.objects.bulk_create(self.events, batch_size=500)


def _scan_write(
    library: Library,
    root: Path,
    disk_files: list[DiskFile],
    results: list[ProbeResult],
    known: dict[str, Video],
    folders: dict[str, Folder],
    report: ScanReport,
) -> None:
    on_disk = {d.rel_path for d in disk_files}
    # Before the batch changes them in memory: what the scan read, to compare at write time.
    read_as = {v.pk: _row_state(v) for v in known.values()}
    # Rows whose file is gone: either moved (matched by hash below) or missing.
    vanished = [v for path, v in known.items() if path not in on_disk]
    vanished_by_hash: dict[str, list[Video]] = {}
    for video in vanished:
        if video.content_hash and video.size > 0:
            vanished_by_hash.setdefault(video.content_hash, []).append(video)
    batch = _ScanBatch(library=library, root=root, report=report, vanished_by_hash=vanished_by_hash)
    for result in results:
        name = result.disk.folder_name
        batch.apply(result, known.get(result.disk.rel_path), folders[name] if name else None)
    batch.missing_mark(vanished)
    batch.concurrent_drop(read_as)
    written = {v.pk for v in batch.to_update}
    report.unreadable += sum(
        1 for v in [*batch.to_update, *batch.to_create] if v.status == Video.Status.UNREADABLE
    )
    report.unreadable += sum(
        1
        for d in disk_files
        if d.rel_path in known
        and known[d.rel_path].pk not in written
        and read_as[known[d.rel_path].pk].status == Video.Status.UNREADABLE
    )
    batch.save()


def _report_progress(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
    step = max(1, total // 10)
    if total and (done % step == 0 or done == total):
        logger.info("scan progress %d/%d", done, total)
