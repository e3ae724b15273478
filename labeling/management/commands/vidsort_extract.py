from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from labeling.services.encoder_check import encoder_autocheck_pending, encoder_autocheck_run
from labeling.services.extraction import embeddings_extract, encoder_get, videos_needing_embeddings
from labeling.services.library import library_current
from labeling.services.scan import library_get_or_create
from mlpipeline.encoder_config import EncoderUnavailableError


class Command(BaseCommand):
    help = "Extract CLIP embeddings for videos that have none yet (incremental), in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--library", help="Library folder (default: VIDSORT_LIBRARY).")
        parser.add_argument("--workers", type=int, default=None, help="Decode processes.")

    def handle(
        self, *args: Any, library: str | None = None, workers: int | None = None, **opts: Any
    ) -> None:
        lib = library_get_or_create(root=library) if library else library_current()
        if encoder_autocheck_pending():  # as a retrain does: the runtime before any vector
            self.stdout.write("no encoder check stored for this machine: running it once")
            outcome = encoder_autocheck_run(library=lib)
            self.stdout.write(f"encoder auto-check: {outcome.error or outcome.runtime}")
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

        progress = _ProgressPrinter(out=self.stdout)
        report = embeddings_extract(
            video_ids=ids, encoder=encoder, progress=progress.show, workers=workers
        )
        self.stdout.write("")
        for video_id, error in list(report.errors.items())[:20]:
            self.stderr.write(f"video {video_id}: {error}")
        self.stdout.write(self.style.SUCCESS(report.summary()))


@dataclass(slots=True)
class _ProgressPrinter:
    """Done/total, rate and ETA: a bar on a terminal, one line per tenth in logs and pipes."""

    out: OutputWrapper
    started: float = field(default_factory=time.monotonic)
    last_step: int = -1

    def show(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = f"{(total - done) / rate:.0f} s" if rate > 0 else "?"
        status = f"{done}/{total}  {rate:.2f} videos/s  ETA {eta}"
        if sys.stdout.isatty():
            width = 30
            filled = int(width * done / max(total, 1))
            self.out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {status}", ending="")
            return
        step = 10 * done // max(total, 1)
        if step != self.last_step:
            self.last_step = step
            self.out.write(status)
