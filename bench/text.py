"""Benchmark: transcripts and on-screen text as features, on a library where only they differ.

Builds 4 categories x ``--per-category`` videos of random noise (the same kind for every category)
with each category's own espeak-ng sentences and/or burned-in words (mlpipeline/textmedia.py),
plus ``--loose`` more per category for prediction. Prints:

* cross-validated accuracy, visual features only (tiny model) vs fused with each text feature kind;
* the loose videos' prediction accuracy (trained on the library, fused features);
* word error rate of the offline transcriber, character accuracy of OCR on the rendered words;
* videos/s of each text stage and of the whole stage (``--workers`` processes), next to extraction.

    .venv/bin/python bench/text.py                     # 40 + 12 videos of 20 s in a temp dir
    .venv/bin/python bench/text.py --media /tmp/textlib --per-category 10 --workers 2

Prints figures; not a test (tests/mlpipeline/test_textfeatures.py asserts a small version).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlpipeline import textmedia  # noqa: E402
from mlpipeline.ocr import OcrConfig, character_accuracy, frames_for_text, get_reader  # noqa: E402
from mlpipeline.textfeatures import (  # noqa: E402
    TextFeatureConfig,
    TextFeaturizer,
    fuse_features,
    video_document,
)
from mlpipeline.transcribe import TranscriberConfig, get_transcriber, word_error_rate  # noqa: E402


@dataclass(frozen=True)
class TextOutcome:
    path: str
    transcript: str
    transcript_state: str
    lines: tuple[str, ...]
    decode_seconds: float  # frames for OCR (in VidSort: part of extraction, shared)
    ocr_seconds: float
    transcribe_seconds: float
    voiced_seconds: float
    cpu_seconds: tuple[float, float, float]  # the same three stages, CPU time of the worker


def _text_stage(path: str) -> TextOutcome:
    """One video through both text stages, in a worker process (one thread each)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    frames, times = frames_for_text(path)
    decoded, cpu_decoded = time.perf_counter(), time.process_time()
    result = get_reader(OcrConfig()).read_frames(frames, times)
    read, cpu_read = time.perf_counter(), time.process_time()
    transcript = get_transcriber(TranscriberConfig()).transcribe_video(path)
    done, cpu_done = time.perf_counter(), time.process_time()
    return TextOutcome(
        path=path,
        transcript=transcript.text,
        transcript_state=transcript.state,
        lines=tuple(line.text for line in result.lines),
        decode_seconds=decoded - started,
        ocr_seconds=read - decoded,
        transcribe_seconds=done - read,
        voiced_seconds=transcript.voiced_seconds,
        cpu_seconds=(cpu_decoded - cpu_started, cpu_read - cpu_decoded, cpu_done - cpu_read),
    )


def _warm() -> None:
    get_reader(OcrConfig())
    get_transcriber(TranscriberConfig())


def _run_text_stage(paths: list[str], *, workers: int) -> tuple[list[TextOutcome], float]:
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        list(pool.map(_warm_and_wait, range(workers)))  # model loading is not per-video work
        started = time.perf_counter()
        outcomes = list(pool.map(_text_stage, paths))
        return outcomes, time.perf_counter() - started


def _warm_and_wait(_: int) -> None:
    _warm()
    time.sleep(0.5)  # so that each worker takes one warm-up call


def _visual_features(paths: list[str]) -> tuple[np.ndarray, float]:
    from mlpipeline.embeddings import extract_embeddings
    from mlpipeline.encoder import TINY_MODEL_NAME, EncoderConfig, get_encoder

    encoder = get_encoder(EncoderConfig(model_name=TINY_MODEL_NAME, pretrained="", device="cpu"))
    started = time.perf_counter()
    results = list(extract_embeddings(list(enumerate(paths)), encoder=encoder, workers=2))
    seconds = time.perf_counter() - started
    vectors = [r.vector if r.vector is not None else np.zeros(encoder.embed_dim) for r in results]
    return np.stack(vectors).astype(np.float32), seconds


def _cv_accuracy(X: np.ndarray, y: list[str]) -> float:
    from mlpipeline.classifier import train_classifier

    return train_classifier(X=X, y=y).metrics.accuracy


def _quality(videos: list[textmedia.TextVideo], outcomes: list[TextOutcome]) -> None:
    edits = words = 0.0
    char_scores: list[float] = []
    for video, outcome in zip(videos, outcomes, strict=True):
        if video.sentences:
            reference = " ".join(video.sentences).split()
            edits += word_error_rate(reference, outcome.transcript.split()) * len(reference)
            words += len(reference)
        for phrase in video.phrases:
            char_scores.append(
                max((character_accuracy(phrase, line) for line in outcome.lines), default=0.0)
            )
    print(
        f"transcriber WER (pocketsphinx, fast search): {edits / max(words, 1):.3f} over {int(words)} words"
    )
    print(
        f"OCR character accuracy on rendered words: {np.mean(char_scores):.3f} over {len(char_scores)} phrases"
    )


def _speed(
    outcomes: list[TextOutcome], wall: float, *, workers: int, extract_seconds: float
) -> None:
    n = len(outcomes)
    per = {
        "decode frames for OCR": np.mean([o.decode_seconds for o in outcomes]),
        "OCR": np.mean([o.ocr_seconds for o in outcomes]),
        "transcription": np.mean([o.transcribe_seconds for o in outcomes]),
    }
    cpu = np.mean([o.cpu_seconds for o in outcomes], axis=0)
    for (name, seconds), cpu_seconds in zip(per.items(), cpu, strict=True):
        print(
            f"  {name}: {seconds:.2f} s/video in one worker = {1 / seconds:.2f} videos/s "
            f"(CPU {cpu_seconds:.2f} s/video = {1 / cpu_seconds:.2f} videos/s per free core)"
        )
    voiced = np.mean([o.voiced_seconds for o in outcomes])
    print(f"  voiced audio given to the recogniser: {voiced:.1f} s/video")
    print(
        f"whole text stage, {workers} workers: {n / wall:.2f} videos/s ({n} videos in {wall:.1f} s)"
    )
    load = os.getloadavg()[0]
    print(
        f"  CPU per video, all stages: {cpu.sum():.2f} s = {workers / cpu.sum():.2f} videos/s on "
        f"{workers} free cores (load average now {load:.1f}: other work shares these cores)"
    )
    print(
        f"extraction (tiny model, 2 decode workers): {n / extract_seconds:.2f} videos/s; the text "
        f"stage adds {wall / (wall + extract_seconds):.0%} of extraction + text time to a retrain"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--media", type=Path, help="where to build (or reuse) the videos")
    parser.add_argument("--per-category", type=int, default=10)
    parser.add_argument("--loose", type=int, default=3, help="extra videos per category to predict")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--text-weight", type=float, default=1.0)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the text outcomes saved in --media"
    )
    args = parser.parse_args()
    if not textmedia.tools_available():
        sys.exit("needs ffmpeg, espeak-ng and fonts-dejavu-core (scripts/system-deps.sh)")

    root = args.media or Path(tempfile.mkdtemp(prefix="vidsort-text-"))
    started = time.perf_counter()
    library = textmedia.build_library(
        root / "library",
        per_category=args.per_category,
        duration=args.duration,
        reuse_existing=args.reuse,
    )
    loose = textmedia.build_library(
        root / "loose",
        per_category=args.loose,
        duration=args.duration,
        seed=1,
        reuse_existing=args.reuse,
    )
    print(
        f"built {len(library)} + {len(loose)} videos of {args.duration:.0f} s in {time.perf_counter() - started:.0f} s ({root})"
    )

    videos = library + loose
    outcomes = _text_outcomes(root, [str(video.path) for video in videos], args=args)
    visual, extract_seconds = _visual_features([str(video.path) for video in videos])
    _quality(videos, outcomes.rows)
    if outcomes.wall_seconds is not None:
        _speed(
            outcomes.rows,
            outcomes.wall_seconds,
            workers=args.workers,
            extract_seconds=extract_seconds,
        )
    documents = [video_document(transcript=o.transcript, on_screen=o.lines) for o in outcomes.rows]
    labels = [video.category for video in videos]
    _features_report(visual, documents, labels, n=len(library), text_weight=args.text_weight)


@dataclass(frozen=True)
class _Outcomes:
    rows: list[TextOutcome]
    wall_seconds: float | None  # None when reused from a previous run


def _text_outcomes(root: Path, paths: list[str], *, args: argparse.Namespace) -> _Outcomes:
    cache = root / "text-outcomes.json"
    if args.reuse and cache.is_file():
        print(f"text outcomes reused from {cache} (speed not re-measured)")
        rows = [
            TextOutcome(
                **{**row, "lines": tuple(row["lines"]), "cpu_seconds": tuple(row["cpu_seconds"])}
            )
            for row in json.loads(cache.read_text())
        ]
        return _Outcomes(rows, None)
    rows, wall = _run_text_stage(paths, workers=args.workers)
    cache.write_text(json.dumps([dataclasses.asdict(row) for row in rows]))
    return _Outcomes(rows, wall)


def _features_report(
    visual: np.ndarray, documents: list[str], labels: list[str], *, n: int, text_weight: float
) -> None:
    """Cross-validated accuracy on the library (first n rows); the rest are loose videos."""
    from mlpipeline.classifier import train_classifier

    y = labels[:n]
    print(f"chance: {1 / len(set(y)):.2f}")
    print(f"CV accuracy, visual only (tiny model): {_cv_accuracy(visual[:n], y):.3f}")
    kinds = [
        TextFeatureConfig(kind="hashing"),
        TextFeatureConfig(kind="hashing", char_ngrams=False),
        TextFeatureConfig(kind="tfidf"),
    ]
    for config in kinds:
        # tfidf learns its vocabulary from the library's texts only (no labels).
        text = TextFeaturizer(config).fit(documents[:n]).transform(documents)
        accuracy = _cv_accuracy(fuse_features(visual, text, text_weight=text_weight)[:n], y)
        text_only = _cv_accuracy(text[:n], y)
        print(
            f"CV accuracy, visual + text ({config.feature_id}): {accuracy:.3f} "
            f"(text only {text_only:.3f})"
        )
    _clip_text(visual, documents, y, n=n, text_weight=text_weight)
    default_text = TextFeaturizer(TextFeatureConfig()).transform(documents)
    for weight in (0.5, 2.0, 4.0):
        accuracy = _cv_accuracy(fuse_features(visual, default_text, text_weight=weight)[:n], y)
        print(f"CV accuracy, visual + text (hashing, text weight {weight}): {accuracy:.3f}")

    fused = fuse_features(visual, default_text, text_weight=text_weight)
    classifier = train_classifier(X=fused[:n], y=y).classifier
    predicted = classifier.predict(fused[n:])
    right = sum(p == t for p, t in zip(predicted, labels[n:], strict=True))
    print(
        f"loose videos predicted right (visual + hashing text, weight {text_weight}): "
        f"{right}/{len(predicted)} = {right / max(len(predicted), 1):.3f}"
    )


def _clip_text(
    visual: np.ndarray, documents: list[str], y: list[str], *, n: int, text_weight: float
) -> None:
    from mlpipeline.encoder import TINY_MODEL_NAME, EncoderConfig, get_encoder

    encoder = get_encoder(EncoderConfig(model_name=TINY_MODEL_NAME, pretrained="", device="cpu"))
    text = TextFeaturizer(TextFeatureConfig(kind="clip"), encoder=encoder).transform(documents)
    accuracy = _cv_accuracy(fuse_features(visual, text, text_weight=text_weight)[:n], y)
    print(
        f"CV accuracy, visual + CLIP text tower (tiny model: random weights, not text-aligned): {accuracy:.3f}"
    )


if __name__ == "__main__":
    main()
