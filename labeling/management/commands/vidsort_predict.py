from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.selectors.classifiers import classifier_latest, predictions_of_version
from labeling.services.extraction import encoder_get
from labeling.services.learning import TrainingError, predictions_compute
from labeling.services.library import library_current


class Command(BaseCommand):
    help = (
        "Predict a folder for every unsorted video with the newest classifier version, "
        "store the predictions and activate that version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", help="Also write the predictions as JSON to this file.")

    def handle(self, *args: Any, output: str | None = None, **opts: Any) -> None:
        library = library_current()
        classifier = classifier_latest(library=library)
        if classifier is None:
            raise CommandError("no classifier yet: run `manage.py vidsort_train` first")
        try:
            count = predictions_compute(classifier=classifier, encoder=encoder_get())
        except TrainingError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{count} predictions stored with classifier v{classifier.version} (now active)"
            )
        )
        if output:
            rows = [
                {
                    "video": p.video.filename,
                    "path": p.video.path,
                    "predicted_folder": p.top[0]["folder"] if p.top else None,
                    "confidence": p.confidence,
                    "top_predictions": [
                        {"folder": t["folder"], "confidence": t["probability"]} for t in p.top
                    ],
                }
                for p in predictions_of_version(classifier=classifier)
            ]
            Path(output).write_text(json.dumps(rows, indent=2))
            self.stdout.write(f"wrote {len(rows)} predictions to {output}")
