"""Crash recovery: finish or roll back open journal entries, then re-sync with the disk.

An intent still ``pending`` means the sorting process stopped between committing the
journal row and closing it (crash, SIGKILL, power cut, database outage). The disk tells
how far it got; the table in docs/sorting.md lists every case. The one rule above all:
reconcile never deletes a user's file. It removes only

- a second *name* of the same file (``os.path.samefile``: a hard link we made), which
  frees no data, and
- a temporary or destination copy that VidSort itself made, after verifying with a full
  SHA-256 that an identical original still exists.

When in doubt it keeps both files and reports the duplicate; when the file is at neither
end it raises an alert (never a success).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from labeling.models import Library, MoveIntent, Video
from labeling.services.library import library_current
from labeling.services.moves import move_intent_apply
from labeling.services.paths import UnsafePath, path_resolve
from labeling.services.scan import ScanReport, library_scan
from mlpipeline.hashing import content_hash

logger = logging.getLogger(__name__)

FINISHED = "finished"
ROLLED_BACK = "rolled-back"
ALERT = "alert"


@dataclass
class ReconcileItem:
    intent: int
    video: int
    src: str
    dst: str
    outcome: str
    detail: str


@dataclass
class ReconcileReport:
    items: list[ReconcileItem] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    scan: ScanReport | None = None

    @property
    def finished(self) -> int:
        return sum(1 for i in self.items if i.outcome == FINISHED)

    @property
    def rolled_back(self) -> int:
        return sum(1 for i in self.items if i.outcome == ROLLED_BACK)

    @property
    def alerts(self) -> list[str]:
        return [
            f"intent {i.intent} ({i.src} → {i.dst}): {i.detail}"
            for i in self.items
            if i.outcome == ALERT
        ]

    @property
    def ok(self) -> bool:
        return not self.alerts

    def summary(self) -> str:
        text = (
            f"{len(self.items)} open journal entries: {self.finished} finished, "
            f"{self.rolled_back} rolled back, {len(self.alerts)} ALERTS; "
            f"{len(self.duplicates)} duplicates left for you to check"
        )
        if self.scan is not None:
            text += f"; scan: {self.scan.summary()}"
        return text

    def as_task_result(self) -> dict[str, Any]:
        """What the reconcile task returns (JSON-safe)."""
        return {
            "ok": self.ok,
            "finished": self.finished,
            "rolled_back": self.rolled_back,
            "alerts": self.alerts,
            "duplicates": self.duplicates,
        }


def _full(path: str) -> str:
    return content_hash(path, mode="full")


def moves_reconcile_by_id(
    *, library_id: int | None, min_age_seconds: float, scan: bool
) -> dict[str, Any]:
    """Reconcile a library by id (None: the configured one; none configured: skipped)."""
    if library_id is None:
        try:
            library = library_current()
        except ImproperlyConfigured as exc:
            logger.info("reconcile skipped: %s", exc)
            return {"ok": True, "skipped": str(exc)}
    else:
        library = Library.objects.get(pk=library_id)
    report = moves_reconcile(library=library, min_age_seconds=min_age_seconds, scan=scan)
    for alert in report.alerts:
        logger.error("reconcile ALERT: %s", alert)
    logger.info("reconcile %s: %s", library.root, report.summary())
    return report.as_task_result()


def moves_reconcile(
    *, library: Library, min_age_seconds: float = 60.0, scan: bool = True
) -> ReconcileReport:
    """Resolve every open intent of ``library`` older than ``min_age_seconds``; then scan.

    The age guard keeps a periodic run from touching a move that a live process is in
    the middle of (a sort takes milliseconds; a large cross-device copy, seconds). After
    a crash, run it with ``min_age_seconds=0``.
    """
    report = ReconcileReport()
    cutoff = timezone.now() - timedelta(seconds=min_age_seconds)
    ids = list(
        MoveIntent.objects.filter(
            video__library=library, state=MoveIntent.State.PENDING, created_at__lte=cutoff
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        with transaction.atomic():
            # SKIP LOCKED: two reconcilers (the command and the task) never handle the
            # same entry; the lock is held while the disk is inspected and repaired.
            intent = (
                MoveIntent.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, state=MoveIntent.State.PENDING)
                .select_related("video__library", "from_folder", "to_folder")
                .first()
            )
            if intent is None:
                continue
            item = move_intent_reconcile(intent=intent, report=report)
        report.items.append(item)
        log = logger.error if item.outcome == ALERT else logger.info
        log("reconcile intent %s: %s (%s)", item.intent, item.outcome, item.detail)
    if scan:
        report.scan = library_scan(library=library)
    return report


def move_intent_reconcile(*, intent: MoveIntent, report: ReconcileReport) -> ReconcileItem:
    """Decide one open intent from the disk (caller holds the intent's row lock)."""
    root = intent.video.library.root

    def item(outcome: str, detail: str) -> ReconcileItem:
        return ReconcileItem(
            intent.pk, intent.video_id, intent.src_path, intent.dst_path, outcome, detail
        )

    try:
        src = path_resolve(root=root, rel=intent.src_path)
        dst = path_resolve(root=root, rel=intent.dst_path)
        tmp = path_resolve(root=root, rel=intent.tmp_path) if intent.tmp_path else ""
    except UnsafePath as exc:
        return _close(
            intent, MoveIntent.State.ALERT, f"unsafe path in the journal: {exc}", item, ALERT
        )
    has_src, has_dst = os.path.isfile(src), os.path.isfile(dst)
    notes: list[str] = []
    if tmp and os.path.lexists(tmp):
        has_dst = _temp_settle(
            intent=intent,
            report=report,
            paths=(src, dst, tmp),
            ends=(has_src, has_dst),
            notes=notes,
        )
    if has_src and has_dst and _placeholder_drop(intent=intent, src=src, dst=dst, notes=notes):
        has_dst = False
    return _ends_decide(
        intent=intent,
        report=report,
        item=item,
        paths=(src, dst),
        ends=(has_src, has_dst),
        notes=notes,
    )


def _temp_settle(
    *,
    intent: MoveIntent,
    report: ReconcileReport,
    paths: tuple[str, str, str],
    ends: tuple[bool, bool],
    notes: list[str],
) -> bool:
    """Step 1, the temp copy of a cross-device move; returns whether the destination exists.

    The temp is only ever removed when it is provably redundant: another name of the
    destination's data, or a verified-identical copy.
    """
    src, dst, tmp = paths
    has_src, has_dst = ends
    if has_dst and os.path.samefile(tmp, dst):
        os.unlink(tmp)
        notes.append("removed the temp name (same file as the destination)")
    elif has_src and _full(tmp) == _full(src):
        os.unlink(tmp)
        notes.append("removed a verified-identical temp copy")
    elif has_dst and _full(tmp) == _full(dst):
        os.unlink(tmp)
        notes.append("removed a verified-identical temp copy")
    elif not has_src and not has_dst:
        # The temp is the only copy left: put it in place, never delete it.
        os.link(tmp, dst)
        os.unlink(tmp)
        has_dst = True
        notes.append("the temp copy was the only copy: placed it at the destination")
    elif has_src and os.path.getsize(tmp) < os.path.getsize(src):
        # An interrupted copy (killed mid-write, disk full): a prefix of the intact
        # original, which is still there. It is VidSort's scrap, not a user's file.
        os.unlink(tmp)
        notes.append("removed an incomplete temp copy (the original is intact)")
    else:
        report.duplicates.append(intent.tmp_path)
        notes.append(f"left the temp file {intent.tmp_path} (it differs from the original)")
    return has_dst


def _placeholder_drop(*, intent: MoveIntent, src: str, dst: str, notes: list[str]) -> bool:
    """Step 2: remove our empty reserved name of a no-hard-link file system, if it is one."""
    if (
        (intent.details or {}).get("placeholder")
        and os.path.getsize(dst) == 0
        and os.path.getsize(src) > 0
    ):
        os.unlink(dst)
        notes.append("removed our empty placeholder at the destination")
        return True
    return False


def _ends_decide(
    *,
    intent: MoveIntent,
    report: ReconcileReport,
    item: Callable[[str, str], ReconcileItem],
    paths: tuple[str, str],
    ends: tuple[bool, bool],
    notes: list[str],
) -> ReconcileItem:
    """Step 3: close the intent from where the file is, source and/or destination."""
    src, dst = paths
    has_src, has_dst = ends
    if has_src and not has_dst:
        return _close(
            intent,
            MoveIntent.State.ROLLED_BACK,
            _join("the move never happened", notes),
            item,
            ROLLED_BACK,
        )
    if has_dst and not has_src:
        return _finish(intent, item, _join("the file was at the destination", notes), dst)
    if has_src and has_dst:
        return _both_ends_decide(
            intent=intent, report=report, item=item, src=src, dst=dst, notes=notes
        )
    return _close(
        intent,
        MoveIntent.State.ALERT,
        _join(
            "the file is at neither end of the move; look for it (or restore it from a backup)",
            notes,
        ),
        item,
        ALERT,
    )


def _both_ends_decide(
    *,
    intent: MoveIntent,
    report: ReconcileReport,
    item: Callable[[str, str], ReconcileItem],
    src: str,
    dst: str,
    notes: list[str],
) -> ReconcileItem:
    if os.path.samefile(src, dst):
        # Killed between link and unlink: two names, one file. Dropping the old name
        # frees nothing, so this is safe.
        os.unlink(src)
        return _finish(
            intent, item, _join("removed the old name of a hard-linked file", notes), dst
        )
    same = os.path.getsize(src) == os.path.getsize(dst) and _full(src) == _full(dst)
    if same and intent.tmp_path:
        # Cross-device copy placed but the original not yet removed: the destination
        # is VidSort's own verified-identical copy. Drop the copy, keep the original.
        os.unlink(dst)
        return _close(
            intent,
            MoveIntent.State.ROLLED_BACK,
            _join("removed VidSort's verified-identical copy; the original stays", notes),
            item,
            ROLLED_BACK,
        )
    report.duplicates.append(intent.dst_path)
    why = "an identical file" if same else "a different file"
    return _close(
        intent,
        MoveIntent.State.ROLLED_BACK,
        _join(f"{intent.dst_path} holds {why}; both kept, the video stays at its source", notes),
        item,
        ROLLED_BACK,
    )


def _join(text: str, notes: list[str]) -> str:
    return "; ".join([text, *notes])


def _close(
    intent: MoveIntent,
    state: str,
    detail: str,
    item: Callable[[str, str], ReconcileItem],
    outcome: str,
) -> ReconcileItem:
    intent.state = state
    intent.error = detail if state == MoveIntent.State.ALERT else intent.error
    intent.details = {**(intent.details or {}), "reconcile": detail}
    intent.finished_at = timezone.now()
    intent.save(update_fields=["state", "error", "details", "finished_at"])
    if state == MoveIntent.State.ROLLED_BACK:
        # The database was never moved (step 7 is one transaction with closing the
        # intent); make sure the row still names the source.
        Video.objects.filter(pk=intent.video_id).exclude(path=intent.src_path).filter(
            path=intent.dst_path
        ).update(path=intent.src_path, folder=intent.from_folder)
    return item(outcome, detail)


def _finish(
    intent: MoveIntent, item: Callable[[str, str], ReconcileItem], detail: str, dst: str
) -> ReconcileItem:
    if intent.size and os.path.getsize(dst) != intent.size:
        detail += f"; note: its size is now {os.path.getsize(dst)} bytes, journalled {intent.size}"
    move_intent_apply(intent=intent)
    MoveIntent.objects.filter(pk=intent.pk).update(
        details={**(intent.details or {}), "reconcile": detail}
    )
    return item(FINISHED, detail)
