from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.check import INTENT_AGE_SECONDS, library_check, library_scanned
from labeling.services.library import library_current


class Command(BaseCommand):
    help = (
        "Check that the database matches the disk: every video file has one true row "
        "(path, size, content hash, folder), every row's file exists or is marked "
        "missing, no sort is left half-done and no job is active without a heartbeat. "
        "Changes nothing. Exits with status 1 and lists each problem when one is found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--library", help="Library folder (default: VIDSORT_LIBRARY).")
        parser.add_argument(
            "--full",
            action="store_true",
            help="Re-hash every file (default: only files whose size or mtime changed).",
        )
        parser.add_argument(
            "--intent-age",
            type=float,
            default=INTENT_AGE_SECONDS,
            help="Seconds a sort's journal entry may stay pending (default %(default)s).",
        )

    def handle(
        self,
        *args: Any,
        library: str | None = None,
        full: bool = False,
        intent_age: float = INTENT_AGE_SECONDS,
        **opts: Any,
    ) -> None:
        try:
            lib = library_scanned(root=library) if library else library_current()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        report = library_check(library=lib, full=full, intent_age_seconds=intent_age)
        for warning in report.warnings:
            self.stdout.write(f"note: {warning}")
        for violation in report.violations:
            self.stdout.write(self.style.ERROR(str(violation)))
        if not report.ok:
            raise CommandError(f"{lib.root}: {report.summary()}")
        self.stdout.write(self.style.SUCCESS(f"{lib.root}: {report.summary()}"))
