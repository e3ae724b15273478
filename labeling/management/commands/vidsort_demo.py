from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlpipeline.demo_videos import CATEGORIES, create_demo_library


class Command(BaseCommand):
    help = "Write a synthetic demo library of browser-playable H.264 clips to PATH."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--videos", type=int, default=60)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, path: str, videos: int, seed: int, **opts: Any) -> None:
        if videos < 1:
            raise CommandError("--videos must be at least 1")
        root = Path(path).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise CommandError(f"{root} exists and is not a folder")
        written = create_demo_library(
            root=root,
            videos=videos,
            seed=seed,
            progress=lambda d, t: self.stdout.write(f"\rwriting {d}/{t}", ending=""),
        )
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"demo library at {root}: {len(written)} videos in "
                f"{len(CATEGORIES)} categories ({', '.join(CATEGORIES)})"
            )
        )
