from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from labeling.services.extraction import embeddings_extract, encoder_get, videos_needing_embeddings
from labeling.services.library import library_current
from labeling.services.scan import library_get_or_create
from mlpipeline.encoder import EncoderUnavailableError


class Command(BaseCommand):
    help = "Extract CLIP embeddings for videos that have none yet (incremental), in the foreground."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--library", help="Library folder (default: VIDSORT_LIBRARY).")
        parser.add_argument("--workers", type=int, default=None, help="Decode processes.")

    def handle(self, *args, library: str | None = None, workers: int | None = None, **opts) -> None:
        lib = library_get_or_create(root=library) if library else library_current()
        try:
            encoder = encoder_get()
        except EncoderUnavailableError as exc:
            raise CommandError(str(exc)) from None
        ids = list(
            videos_needing_embeddings(library=lib, model_id=encoder.model_id).values_list("pk", flat=True)
        )
        self.stdout.write(f"{len(ids)} videos to embed with {encoder.model_id} on {encoder.device}")

        def progress(done: int, total: int) -> None:
            if sys.stdout.isatty():
                width = 30
                filled = int(width * done / max(total, 1))
                self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")

        report = embeddings_extract(video_ids=ids, encoder=encoder, progress=progress, workers=workers)
        self.stdout.write("")
        for video_id, error in list(report.errors.items())[:20]:
            self.stderr.write(f"video {video_id}: {error}")
        self.stdout.write(self.style.SUCCESS(report.summary()))
