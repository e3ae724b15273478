from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.encoder_check import EncoderCheckError, encoder_check_run
from labeling.services.library import library_current
from labeling.services.scan import library_get_or_create
from mlpipeline.encoder_config import (
    ENV_RUNTIME,
    MIN_CHECK_AGREEMENT,
    MIN_CHECK_COSINE,
    RUNTIMES,
    EncoderUnavailableError,
)


class Command(BaseCommand):
    help = (
        "Compare each encoder runtime (torch, onnx, onnx-int8) with torch fp32 on a sample of "
        "this library's videos: images/s, cosine of the embeddings, top-1 folder agreement of "
        f"the active classifier. Stores the result; {ENV_RUNTIME}=auto takes the fastest "
        f"runtime with cosine >= {MIN_CHECK_COSINE} and agreement >= {MIN_CHECK_AGREEMENT:.0%}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--library", help="Library folder (default: VIDSORT_LIBRARY).")
        parser.add_argument("--sample", type=int, default=20, help="Videos to decode (N).")
        parser.add_argument(
            "--runtime", action="append", choices=RUNTIMES, help="Only these (repeatable)."
        )
        parser.add_argument(
            "--no-store", action="store_true", help="Print only; auto keeps what it had."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        lib = library_get_or_create(root=opts["library"]) if opts["library"] else library_current()
        try:
            report = encoder_check_run(
                library=lib,
                sample=opts["sample"],
                runtimes=opts["runtime"] or RUNTIMES,
                store=not opts["no_store"],
            )
        except (EncoderUnavailableError, EncoderCheckError) as exc:
            raise CommandError(str(exc)) from None
        from mlpipeline.encoder_check import check_table

        self.stdout.write(
            f"{report.videos} videos, {report.frames} frames; reference: torch cpu fp32"
            + (f"; classifier {report.classifier}" if report.classifier else "")
        )
        self.stdout.write(check_table(report.measures))
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        if report.auto is None:
            self.stdout.write(
                self.style.WARNING(
                    f"auto would take: nothing passed; {ENV_RUNTIME}=auto stays on its default"
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"auto would take: {report.auto}"))
        if report.stored_at is not None:
            self.stdout.write(
                f"stored in {report.stored_at}; restart workers and web for {ENV_RUNTIME}=auto to use it"
            )
