from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.library import library_current
from labeling.services.reconcile import moves_reconcile
from labeling.services.scan import library_get_or_create


class Command(BaseCommand):
    help = (
        "After a crash: finish or roll back unfinished sorts (the move journal), then "
        "re-sync the database with the disk. Never deletes a user's file. Exits with "
        "status 1 when a file could not be found at either end of a move (an ALERT)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--library", help="Library folder (default: VIDSORT_LIBRARY).")
        parser.add_argument(
            "--min-age",
            type=float,
            default=0.0,
            help="Only handle entries at least this many seconds old (default 0: run it "
            "when VidSort is stopped; use e.g. 300 while it is running).",
        )
        parser.add_argument("--no-scan", action="store_true", help="Skip the re-scan.")

    def handle(
        self,
        *args: Any,
        library: str | None = None,
        min_age: float = 0.0,
        no_scan: bool = False,
        **opts: Any,
    ) -> None:
        try:
            lib = library_get_or_create(root=library) if library else library_current()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        report = moves_reconcile(library=lib, min_age_seconds=min_age, scan=not no_scan)
        for item in report.items:
            self.stdout.write(f"intent {item.intent}: {item.outcome}: {item.detail}")
        for path in report.duplicates:
            self.stderr.write(f"duplicate kept, check it: {path}")
        if report.alerts:
            for alert in report.alerts:
                self.stderr.write(self.style.ERROR(f"ALERT: {alert}"))
            raise CommandError(f"{len(report.alerts)} ALERT(S): {report.summary()}")
        self.stdout.write(self.style.SUCCESS(f"{lib.root}: {report.summary()}"))
