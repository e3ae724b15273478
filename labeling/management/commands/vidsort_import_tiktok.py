from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.errors import ServiceError
from labeling.services.library import library_current
from labeling.services.scan import library_get_or_create
from labeling.services.tiktok import tiktok_import_path
from labeling.services.tiktok_export import MAX_JSON_BYTES

SKIPPED_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import the favourites and likes of a TikTok data export (the zip, user_data.json or "
        "user_data_tiktok.json): match them to library files by video id, list the others."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("export", help="TikTok export: .zip or its user_data*.json.")
        parser.add_argument("--library", help="Library folder (default: VIDSORT_LIBRARY).")
        parser.add_argument(
            "--max-mb",
            type=int,
            default=MAX_JSON_BYTES // (1024 * 1024),
            help="Largest JSON to read, in MB (default %(default)s).",
        )

    def handle(self, *args: Any, export: str, library: str | None = None, **opts: Any) -> None:
        try:
            lib = library_get_or_create(root=library) if library else library_current()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        max_bytes = max(1, int(opts.get("max_mb") or 1)) * 1024 * 1024
        try:
            report = tiktok_import_path(library=lib, path=Path(export), max_bytes=max_bytes)
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        for skipped in report.skipped[:SKIPPED_SHOWN]:
            self.stderr.write(
                f"skipped {skipped.kind} #{skipped.index + 1}: {skipped.reason}"
                + (f" ({skipped.link})" if skipped.link else "")
            )
        if len(report.skipped) > SKIPPED_SHOWN:
            self.stderr.write(f"… and {len(report.skipped) - SKIPPED_SHOWN} more skipped")
        self.stdout.write(
            self.style.SUCCESS(
                f"{lib.root}: {report.favorites} favourites and {report.likes} likes "
                f"({report.items} videos, {report.created} new), {report.matched} matched to "
                f"files, {len(report.skipped)} skipped; {report.missing} without a file"
            )
        )
        if report.missing_links_file:
            self.stdout.write(
                f"links without a file: {report.missing_links_file} "
                f'(yt-dlp -a {report.missing_links_file} -P "{lib.root}", then vidsort_scan)'
            )
