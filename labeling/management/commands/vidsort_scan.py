from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.library import library_current
from labeling.services.scan import library_get_or_create, library_scan


class Command(BaseCommand):
    help = "Scan the library folder: add new videos, follow moved ones, mark missing ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--library", help="Library folder (default: VIDSORT_LIBRARY).")
        parser.add_argument("--workers", type=int, default=None, help="Probe threads.")

    def handle(
        self, *args: Any, library: str | None = None, workers: int | None = None, **opts: Any
    ) -> None:
        try:
            lib = library_get_or_create(root=library) if library else library_current()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        verbosity = opts.get("verbosity", 1)
        interactive = sys.stdout.isatty()

        def progress(done: int, total: int) -> None:
            if verbosity < 1 or not total:
                return
            # Non-interactive runs get progress from the log (every 10 %).
            if interactive:
                self.stdout.write(f"\rscanning {done}/{total}", ending="")

        report = library_scan(library=lib, progress=progress, workers=workers)
        if interactive and verbosity >= 1:
            self.stdout.write("")
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(self.style.SUCCESS(f"{lib.root}: {report.summary()}"))
