"""Benchmark: the retrain's train and predict stages through the services, from stored embeddings.

`bench/train_predict.py` times the algorithms on arrays in memory. This one times what a
retrain really does after extraction: read the labelled embeddings from the database,
cross-validate, calibrate and store a classifier version (`classifier_train`), then read every
unsorted video's pooled and per-frame embeddings, predict, find segments and write the
predictions atomically (`predictions_compute`).

Target (the "Learning" issue): 20,000 videos in 20 folders trained and predicted from stored
embeddings in < 30 s on the 2-core machine. By default 20,000 sorted videos train the model
and 20,000 loose videos (8 frame vectors each) are predicted.

    .venv/bin/python bench/retrain_db.py                          # SQLite in a temp folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vidsort_bench_retrain \\
        .venv/bin/python bench/retrain_db.py                      # PostgreSQL (db recreated)

Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import numpy as np

if TYPE_CHECKING:
    from labeling.models import Library
    from mlpipeline.encoder import Encoder

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODEL_ID = "ViT-B-32/bench-random"


def _setup_django(data_dir: Path) -> str:
    os.environ.setdefault("VIDSORT_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vidsort_site.settings")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = url.rsplit("/", 1)[1]
        admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1) + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    return connection.vendor


def _populate(
    *, labelled: int, loose: int, folders: int, dim: int, frames: int, root: Path
) -> Library:
    from labeling.models import Embedding, Folder, Library, Video
    from mlpipeline.embeddings import pack_vector
    from mlpipeline.synthetic import SyntheticConfig, make_library

    data = make_library(
        SyntheticConfig(n_samples=labelled + loose, n_classes=folders, dim=dim, seed=1)
    )
    rng = np.random.default_rng(2)
    library = Library.objects.create(name="bench", root=str(root))
    folder_rows = [
        Folder.objects.create(library=library, name=f"folder{i:02}", key=i + 1 if i < 9 else None)
        for i in range(folders)
    ]
    batch = 2000
    for start in range(0, labelled + loose, batch):
        stop = min(start + batch, labelled + loose)
        videos = Video.objects.bulk_create(
            [
                Video(
                    library=library,
                    path=f"clip_{i:06}.mp4"
                    if i >= labelled
                    else f"{folder_rows[data.y[i]].name}/clip_{i:06}.mp4",
                    filename=f"clip_{i:06}.mp4",
                    folder=folder_rows[data.y[i]] if i < labelled else None,
                    content_hash=f"s1:{i:064x}",
                    size=1000,
                    duration=20.0,
                    width=720,
                    height=1280,
                )
                for i in range(start, stop)
            ]
        )
        embeddings = []
        for i, video in zip(range(start, stop), videos, strict=True):
            # Frame vectors scatter around the pooled vector, as a real clip's frames do.
            per_frame = data.X[i] + rng.normal(scale=0.02, size=(frames, dim)).astype(np.float32)
            per_frame /= np.linalg.norm(per_frame, axis=1, keepdims=True)
            embeddings.append(
                Embedding(
                    video=video,
                    model_id=MODEL_ID,
                    content_hash=video.content_hash,
                    dim=dim,
                    vector=pack_vector(data.X[i]),
                    frame_vectors=pack_vector(per_frame),
                    frame_times=[round(20.0 * (k + 0.5) / frames, 3) for k in range(frames)],
                )
            )
        Embedding.objects.bulk_create(embeddings)
    return library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=int, default=20_000, help="sorted videos (train)")
    parser.add_argument("--loose", type=int, default=20_000, help="unsorted videos (predict)")
    parser.add_argument("--folders", type=int, default=20)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--frames", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vidsort-bench-retrain-") as tmp:
        vendor = _setup_django(Path(tmp))
        started = time.perf_counter()
        library = _populate(
            labelled=args.labelled,
            loose=args.loose,
            folders=args.folders,
            dim=args.dim,
            frames=args.frames,
            root=Path(tmp),
        )
        print(
            f"database: {vendor}; {args.labelled} sorted + {args.loose} loose videos, "
            f"{args.folders} folders, {args.dim} dims, {args.frames} frames each "
            f"(set up in {time.perf_counter() - started:.0f} s, not timed)"
        )
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

        from labeling.models import Prediction
        from labeling.services.learning import classifier_train, predictions_compute

        # No text tower: zero-shot is off for random weights, as for the real ViT-B-32 here.
        # A stand-in: training reads only these two attributes of the encoder.
        encoder = cast("Encoder", SimpleNamespace(model_id=MODEL_ID, has_text_alignment=False))
        started = time.perf_counter()
        report = classifier_train(library=library, encoder=encoder)
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        written = predictions_compute(classifier=report.classifier, encoder=None)
        predict_seconds = time.perf_counter() - started

        metrics = report.metrics
        timings = metrics.get("timings_seconds", {})
        print(
            f"train stage (read {metrics['n_labels']} labels, CV, calibrate, refit, store): "
            f"{train_seconds:6.2f} s  [cv {timings.get('cross_validation', 0):.2f} s, "
            f"refit {timings.get('refit', 0):.2f} s]"
        )
        print(
            f"predict stage ({written} videos: read, predict, segments, atomic write): "
            f"{predict_seconds:6.2f} s"
        )
        total = train_seconds + predict_seconds
        print(f"TOTAL train + predict:  {total:6.2f} s  (target < 30 s)")
        print(
            f"CV accuracy {metrics['accuracy']:.4f}, balanced {metrics['balanced_accuracy']:.4f}; "
            f"predictions stored {Prediction.objects.count()}"
        )
        print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
