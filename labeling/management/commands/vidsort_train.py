from __future__ import annotations

import json as jsonlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.services.extraction import encoder_get
from labeling.services.learning import TrainingError, classifier_train
from labeling.services.library import library_current


class Command(BaseCommand):
    help = "Train a classifier version on stored embeddings and print its cross-validated metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print all metrics as JSON.")

    def handle(self, *args: Any, **opts: Any) -> None:
        library = library_current()
        try:
            report = classifier_train(library=library, encoder=encoder_get())
        except TrainingError as exc:
            raise CommandError(str(exc)) from None
        m = report.metrics
        if opts["json"]:
            self.stdout.write(_dumps(m))
            return
        self.stdout.write(
            f"classifier v{report.classifier.version} ({report.classifier.model_id}), "
            f"{m['n_labels']} labels, not active until `vidsort_predict`"
        )
        if "accuracy" in m:
            self._cross_validation_write(m)
        if m.get("excluded_folders"):
            self.stdout.write(f"left out (fewer than 2 labels): {', '.join(m['excluded_folders'])}")
        if m.get("note"):
            self.stdout.write(m["note"])
        if m.get("zero_shot_note"):
            self.stdout.write(m["zero_shot_note"])

    def _cross_validation_write(self, m: dict[str, Any]) -> None:
        """The cross-validated figures, overall then per folder."""
        self.stdout.write(
            f"cross-validated ({m['n_folds']} folds): accuracy {m['accuracy']:.3f}, "
            f"balanced accuracy {m['balanced_accuracy']:.3f}, calibration error "
            f"{m['ece_before_calibration']:.3f} -> {m['ece_after_calibration']:.3f}"
        )
        self.stdout.write(
            f"{'folder':24s} {'n':>5s} {'prec':>6s} {'recall':>6s} {'F1':>6s} {'AP':>6s}"
        )
        for c in m["per_class"]:
            self.stdout.write(
                f"{c['folder'][:24]:24s} {c['support']:5d} {c['precision']:6.3f} "
                f"{c['recall']:6.3f} {c['f1']:6.3f} {c['average_precision']:6.3f}"
            )


def _dumps(value: Any) -> str:
    return jsonlib.dumps(value, indent=2, default=str)
