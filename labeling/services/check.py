"""The invariant check: does the database say what the disk holds?

Read-only. It walks the library with the scan's own rules (so a file the scan ignores,
a symlink or an undecodable name, is ignored here too) and reports every place where

- a video file under the root has no row, or its row is marked missing;
- a row that is not missing has no file at its path;
- a row's size, content hash or folder is not the file's (the hash is re-read only for
  files whose size or mtime differ from the row, unless ``full``);
- a sort's journal entry has stayed pending longer than ``intent_age_seconds``;
- a job counts as active but has had no heartbeat for VIDSORT_JOB_STALE_SECONDS;
- a team decision (docs/team.md) older than ``intent_age_seconds`` whose video is not in
  the decided folder.

`manage.py vidsort_check` prints the report; the fault tests assert it is clean.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from labeling.models import Library, MoveIntent, Video
from labeling.selectors.jobs import jobs_stale
from labeling.selectors.team import decisions_unmoved
from labeling.services.scan import DiskFile, library_walk
from mlpipeline.hashing import FULL_PREFIX, SAMPLED_PREFIX, content_hash

INTENT_AGE_SECONDS = 60.0  # a sort journals, moves and closes its intent well within this


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str  # untracked, marked-missing, file-gone, size, hash, folder, intent, job, decision
    subject: str  # a path relative to the root, "intent 12" or "job 3"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


@dataclass(slots=True)
class CheckReport:
    root: str
    files: int = 0
    rows: int = 0
    hashed: int = 0
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the walk's: names the scan skips

    @property
    def ok(self) -> bool:
        return not self.violations

    def kinds(self) -> set[str]:
        return {v.kind for v in self.violations}

    def summary(self) -> str:
        verdict = "consistent" if self.ok else f"{len(self.violations)} problem(s)"
        return f"{self.files} video files, {self.rows} rows, {self.hashed} re-hashed: {verdict}"


@dataclass(frozen=True, slots=True)
class _Row:
    pk: int
    path: str
    status: str
    size: int
    mtime_ns: int
    content_hash: str
    folder: str | None


def library_scanned(*, root: str) -> Library:
    """The library at ``root``, which must exist already: a check never creates one."""
    resolved = str(Path(root).expanduser().resolve())
    library = Library.objects.filter(root=resolved).first()
    if library is None:
        raise ValueError(f"no library at {resolved!r} has been scanned")
    return library


def library_check(
    *, library: Library, full: bool = False, intent_age_seconds: float = INTENT_AGE_SECONDS
) -> CheckReport:
    """Compare the library's rows with its files, and its journal and jobs with the clock."""
    root = Path(library.root)
    report = CheckReport(root=str(root))
    if not root.is_dir():
        report.violations.append(Violation("root", str(root), "the library folder is not there"))
        return report
    disk_files, _, report.warnings = library_walk(root=root)
    rows = _rows(library=library)
    report.files, report.rows = len(disk_files), len(rows)
    by_path = {row.path: row for row in rows}
    for disk in disk_files:
        _check_file(report, root=root, disk=disk, row=by_path.pop(disk.rel_path, None), full=full)
    for row in by_path.values():
        _check_row_without_file(report, root=root, row=row)
    _check_intents(report, library=library, age_seconds=intent_age_seconds)
    _check_jobs(report, library=library)
    _check_decisions(report, library=library, age_seconds=intent_age_seconds)
    return report


def _rows(*, library: Library) -> list[_Row]:
    fields = ("pk", "path", "status", "size", "mtime_ns", "content_hash", "folder__name")
    return [_Row(*values) for values in Video.objects.filter(library=library).values_list(*fields)]


def _check_file(
    report: CheckReport, *, root: Path, disk: DiskFile, row: _Row | None, full: bool
) -> None:
    path = disk.rel_path
    if row is None:
        report.violations.append(Violation("untracked", path, "a video file with no row"))
        return
    if row.status == Video.Status.MISSING:
        report.violations.append(
            Violation("marked-missing", path, f"row {row.pk} says missing, the file is there")
        )
        return
    if row.folder != disk.folder_name:
        where = f"folder {row.folder!r}" if row.folder else "the root (unsorted)"
        report.violations.append(Violation("folder", path, f"row {row.pk} puts it in {where}"))
    if row.size != disk.size:
        report.violations.append(
            Violation("size", path, f"row {row.pk} says {row.size} bytes, the file has {disk.size}")
        )
    if full or row.size != disk.size or row.mtime_ns != disk.mtime_ns:
        _check_hash(report, file=root / path, row=row)


def _check_hash(report: CheckReport, *, file: Path, row: _Row) -> None:
    # The method the row's hash was made with (its prefix), so either kind compares.
    if row.content_hash.startswith(FULL_PREFIX):
        mode = "full"
    elif row.content_hash.startswith(SAMPLED_PREFIX):
        mode = "sampled"
    else:
        mode = settings.VIDSORT_HASH
    report.hashed += 1
    try:
        actual = content_hash(file, mode=mode)
    except OSError as exc:
        # A file the scan could not read either has an empty hash: that row is true.
        if row.content_hash:
            report.violations.append(Violation("hash", row.path, f"cannot read: {exc.strerror}"))
        return
    if actual != row.content_hash:
        stored = row.content_hash or "no hash"
        report.violations.append(
            Violation("hash", row.path, f"row {row.pk} has {stored}, the file's is {actual}")
        )


def _check_row_without_file(report: CheckReport, *, root: Path, row: _Row) -> None:
    if row.status == Video.Status.MISSING:
        return
    # The walk skips what the scan skips; a row for such a path is still a row without
    # a video file the scan would keep.
    detail = "no file at this path" if not os.path.lexists(root / row.path) else "not a video file"
    report.violations.append(
        Violation("file-gone", row.path, f"row {row.pk} is {row.status}: {detail}")
    )


def _check_intents(report: CheckReport, *, library: Library, age_seconds: float) -> None:
    cutoff = timezone.now() - timedelta(seconds=age_seconds)
    pending = MoveIntent.objects.filter(
        video__library=library, state=MoveIntent.State.PENDING, created_at__lt=cutoff
    ).order_by("pk")
    for intent in pending:
        age = (timezone.now() - intent.created_at).total_seconds()
        report.violations.append(
            Violation(
                "intent",
                f"intent {intent.pk}",
                f"{intent.src_path} → {intent.dst_path} pending for {age:.0f} s "
                f"(step {intent.step or 'none'}); `vidsort_reconcile` finishes or rolls it back",
            )
        )


def _check_jobs(report: CheckReport, *, library: Library) -> None:
    stale_after = settings.VIDSORT_JOB_STALE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    for job in jobs_stale(cutoff=cutoff).filter(library=library).order_by("pk"):
        beat = job.heartbeat_at or job.created_at
        silent = (timezone.now() - beat).total_seconds()
        report.violations.append(
            Violation(
                "job",
                f"job {job.pk}",
                f"{job.kind} {job.state} at stage {job.stage or 'none'} with no heartbeat "
                f"for {silent:.0f} s (more than {stale_after} s)",
            )
        )


def _check_decisions(report: CheckReport, *, library: Library, age_seconds: float) -> None:
    cutoff = timezone.now() - timedelta(seconds=age_seconds)
    for decision in decisions_unmoved(library=library, before=cutoff):
        report.violations.append(
            Violation(
                "decision",
                decision.video.path,
                f"decided for {decision.folder.name!r} ({decision.kind}) but not moved there; "
                "the next batch request or the same reviewer decision moves it",
            )
        )
