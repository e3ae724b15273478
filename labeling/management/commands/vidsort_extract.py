from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.extraction import embeddings_extract, encoder_get, videos_needing_embeddings
from labeling.services.library import library_current
from labeling.services.scan import library_get_or_create
from mlpipeline.encoder import EncoderUnavailableError


class Command(BaseCommand):
    help = "Extract CLIP embeddings for videos that have none yet (incremental), in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--library", help="Library folder (default: VIDSORT_LIBRARY).")
        parser.add_argument("--workers", type=int, default=None, help="Decode processes.")

    def handle(
        self, *args: Any, library: str | None = None, workers: int | None = None, **opts: Any
    ) -> None:
        lib = library_get_or_create(root=library) if library else library_current()
        try:
            encoder = encoder_get()
        except EncoderUnavailableError as exc:
            raise CommandError(str(exc)) from None
        ids = list(
            videos_needing_embeddings(library=lib, model_id=encoder.model_id).values_list(
                "pk", flat=True
            )
        )
        self.stdout.write(f"{len(ids)} videos to embed with {encoder.model_id} on {encoder.device}")

        started = time.monotonic()
        last_step = -1

        def progress(done: int, total: int) -> None:
            nonlocal last_step
            elapsed = time.monotonic() - started
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = f"{(total - done) / rate:.0f} s" if rate > 0 else "?"
            status = f"{done}/{total}  {rate:.2f} videos/s  ETA {eta}"
            if sys.stdout.isatty():
                width = 30
                filled = int(width * done / max(total, 1))
                self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {status}", ending="")
                return
            # Logs and pipes get one line per tenth, not a carriage-return bar.
            step = 10 * done // max(total, 1)
            if step != last_step:
                last_step = step
                self.stdout.write(status)

        report = embeddings_extract(
            video_ids=ids, encoder=encoder, progress=progress, workers=workers
        )
        self.stdout.write("")
        for video_id, error in list(report.errors.items())[:20]:
            self.stderr.write(f"video {video_id}: {error}")
        self.stdout.write(self.style.SUCCESS(report.summary()))
