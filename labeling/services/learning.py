"""Training and prediction on stored embeddings (the algorithms live in mlpipeline).

A classifier version is written inactive; `predictions_compute` writes that version's
predictions and activates it in one transaction, so a reader sees either the previous
version with all its predictions or the new one with all of its own, never a mix.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from labeling.models import (
    Classifier,
    Embedding,
    Folder,
    Job,
    Library,
    Prediction,
    TextEmbedding,
    Video,
)
from labeling.selectors.classifiers import (
    classifier_active,
    classifier_has_predictions,
    classifier_versions_newest,
)
from labeling.selectors.duplicates import library_duplicates
from labeling.selectors.embeddings import (
    PREDICT_BATCH,
    labelled_embeddings,
    text_vectors,
    unpredicted_embeddings,
    unsorted_embeddings,
)
from labeling.selectors.folders import folder_names, folders_by_id
from labeling.selectors.folders import label_counts as folder_label_counts
from labeling.selectors.stats import library_counts
from labeling.selectors.text import library_has_text, text_documents_for_videos
from labeling.selectors.videos import videos_unsorted_exist
from labeling.services.dispatch import task_enqueue
from labeling.services.jobs import job_create
from mlpipeline.blend import BlendedPredictions, PredictionSummary, predict_blended, summarise
from mlpipeline.embeddings import pack_vector, unpack_vector
from mlpipeline.segments import segments_per_folder
from mlpipeline.textfeatures import TextFeatureConfig, TextFeaturizer, fuse_features
from mlpipeline.zeroshot import (
    TextZeroShotModel,
    ZeroShotModel,
    build_text_zero_shot_model,
    build_zero_shot_model,
    calibrate_zero_shot,
)

if TYPE_CHECKING:
    # Annotations only: web processes import this module (job and classifier views) and
    # must not load torch or scikit-learn; the functions that train import them.
    from mlpipeline.classifier import TrainedClassifier
    from mlpipeline.encoder import Encoder

logger = logging.getLogger(__name__)

TOP_K = 3
SEGMENT_THRESHOLD = 0.5
KEEP_PREDICTION_VERSIONS = 5  # older versions' predictions are pruned (their classifiers stay)


class TrainingError(Exception):
    """Training cannot run; the message is for the user."""


# --- Data ----------------------------------------------------------------------------


class DatabaseTextCache(MutableMapping[tuple[str, str], np.ndarray]):
    """zeroshot's (prompt, model_id) -> vector cache, backed by the TextEmbedding table."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self._vectors = {
            (prompt, model_id): vector for prompt, vector in text_vectors(model_id=model_id).items()
        }

    def __contains__(self, key: object) -> bool:
        return key in self._vectors

    def __getitem__(self, key: tuple[str, str]) -> np.ndarray:
        return self._vectors[key]

    def __setitem__(self, key: tuple[str, str], vector: np.ndarray) -> None:
        prompt, model_id = key
        TextEmbedding.objects.update_or_create(
            model_id=model_id, prompt=prompt, defaults={"vector": pack_vector(vector)}
        )
        self._vectors[key] = np.asarray(vector, np.float32)

    def __delitem__(self, key: tuple[str, str]) -> None:
        del self._vectors[key]  # this process's copy only: stored prompts stay valid

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._vectors)

    def __len__(self) -> int:
        return len(self._vectors)


def zero_shot_off_note(model_id: str) -> str:
    return f"zero-shot is off: {model_id} has no pretrained text-image alignment"


def zero_shot_status() -> tuple[bool, str | None]:
    """(on, note) for the configured model, without loading it (for status pages)."""
    from labeling.services.extraction import encoder_config, model_id_current

    if encoder_config().uses_random_weights:
        return False, zero_shot_off_note(model_id_current())
    return True, None


def zero_shot_build(*, library: Library, encoder: Encoder | None) -> ZeroShotModel | None:
    """Zero-shot over every folder, or None when the model has no text-image alignment."""
    if encoder is None or not encoder.has_text_alignment:
        return None
    folders = folders_by_id(library=library)
    if not folders:
        return None
    return build_zero_shot_model(
        folder_names={pk: f.name for pk, f in sorted(folders.items())},
        folder_prompts={pk: f.prompts for pk, f in sorted(folders.items()) if f.prompts},
        encode_text=encoder.encode_text,
        model_id=encoder.model_id,
        cache=DatabaseTextCache(encoder.model_id),
    )


def text_zero_shot_build(*, library: Library) -> TextZeroShotModel | None:
    """Folders' prompt words matched against what videos say and show (docs/text.md), or
    None when the library's text stage is off or none of its videos has text."""
    from labeling.services.text import text_stage_enabled

    if not text_stage_enabled(library=library) or not library_has_text(library=library):
        return None
    folders = folders_by_id(library=library)
    if not folders:
        return None
    return build_text_zero_shot_model(
        folder_names={pk: f.name for pk, f in sorted(folders.items())},
        folder_prompts={pk: f.prompts for pk, f in sorted(folders.items()) if f.prompts},
        featurize=TextFeaturizer(text_feature_config()).transform,
    )


# --- Training ------------------------------------------------------------------------


@dataclass(slots=True)
class TrainReport:
    classifier: Classifier
    metrics: dict


def classifier_train(*, library: Library, encoder: Encoder) -> TrainReport:
    """Cross-validate, calibrate and store a new (inactive) classifier version."""
    started = time.perf_counter()
    model_id = encoder.model_id
    ids, X, y = labelled_embeddings(library=library, model_id=model_id)
    names = folder_names(library=library)
    counts = Counter(y)
    zero_shot = zero_shot_build(library=library, encoder=encoder)
    metrics: dict = {
        "n_labels": len(ids),
        "label_counts": {names[k]: v for k, v in sorted(counts.items())},
        "zero_shot": zero_shot is not None,
    }
    if zero_shot is None:
        metrics["zero_shot_note"] = zero_shot_off_note(model_id)
    fused = _text_fused(library=library, video_ids=ids, X=X, metrics=metrics)
    blob, classes = _train(
        X=fused,
        y=y,
        model_id=model_id,
        names=names,
        zero_shot=zero_shot,
        metrics=metrics,
        groups=_duplicate_group_ids(library=library, model_id=model_id, video_ids=ids),
    )
    if zero_shot is not None and len(ids) >= 10:
        calibrated = calibrate_zero_shot(zero_shot, X=X, y=y)
        metrics["zero_shot_logit_scale"] = calibrated.logit_scale
    metrics["train_seconds"] = round(time.perf_counter() - started, 3)
    classifier = _classifier_store(
        library=library, model_id=model_id, blob=blob, classes=classes, metrics=metrics
    )
    logger.info("trained classifier v%s on %s labels", classifier.version, len(ids))
    return TrainReport(classifier=classifier, metrics=metrics)


# --- Text features (docs/text.md) ----------------------------------------------------


def text_feature_config() -> TextFeatureConfig:
    return TextFeatureConfig()


def text_rows(*, video_ids: list[int]) -> np.ndarray:
    """Hashed text features of these videos' stored text (zero rows where there is none)."""
    documents = text_documents_for_videos(video_ids=video_ids)
    return TextFeaturizer(text_feature_config()).transform(documents)


def _text_fused(
    *, library: Library, video_ids: list[int], X: np.ndarray, metrics: dict
) -> np.ndarray:
    """X with the text block when the library's videos have text; else X unchanged (and
    no "text_features" in ``metrics``, so prediction does not fuse either)."""
    from labeling.services.text import text_stage_enabled

    if (
        not video_ids
        or not text_stage_enabled(library=library)
        or not library_has_text(library=library)
    ):
        return X
    T = text_rows(video_ids=video_ids)
    weight = float(settings.VIDSORT_TEXT_WEIGHT)
    metrics["text_features"] = {
        "feature_id": text_feature_config().feature_id,
        "weight": weight,
        "videos_with_text": int(np.count_nonzero(np.abs(T).sum(axis=1))),
    }
    return fuse_features(X, T, text_weight=weight)


class _TextFused:
    """A trained classifier on [visual, text] rows, fed visual rows plus one video's text:
    what predict_blended calls (zero-shot keeps the visual rows)."""

    def __init__(self, trained: TrainedClassifier, text: np.ndarray, weight: float) -> None:
        self.trained = trained
        self.classes = trained.classes
        self.text = text
        self.weight = weight

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        text = self.text if len(self.text) == len(X) else np.repeat(self.text[:1], len(X), axis=0)
        return self.trained.predict_proba(fuse_features(X, text, text_weight=self.weight))


def _duplicate_group_ids(*, library: Library, model_id: str, video_ids: list[int]) -> list[int]:
    """One id per video: its duplicate group's (docs/intelligence.md), else its own."""
    group_of = library_duplicates(library=library, model_id=model_id).group_of
    return [group_of.get(pk, -pk) for pk in video_ids]


def _train(
    *,
    X: np.ndarray,
    y: list[int],
    model_id: str,
    names: dict[int, str],
    zero_shot: ZeroShotModel | None,
    metrics: dict,
    groups: list[int] | None = None,
) -> tuple[bytes, list[int]]:
    """(model bytes, classes) of the cross-validated classifier, its metrics added to
    ``metrics``; (b"", []) when too few labels leave zero-shot alone."""
    # Here, not at the top: scikit-learn is for workers (see the TYPE_CHECKING note).
    from mlpipeline.classifier import NotEnoughLabelsError, train_classifier

    counts = Counter(y)
    try:
        result = train_classifier(X=X, y=y, metadata={"model_id": model_id}, groups=groups)
    except NotEnoughLabelsError as exc:
        trainable = [names[k] for k, v in counts.items() if v >= 2]
        if zero_shot is None:
            raise TrainingError(_not_enough_labels_message(trainable, names)) from exc
        metrics["excluded_folders"] = _excluded_folders(names, counts)
        metrics["note"] = "zero-shot only: " + _not_enough_labels_message(trainable, names)
        return b"", []
    cv = result.metrics.to_dict()
    for entry in cv["per_class"]:
        entry["folder"] = names.get(entry["label"], str(entry["label"]))
    cv["class_names"] = [names.get(c, str(c)) for c in cv["classes"]]
    metrics.update(cv)
    # Duplicates count once: rows sharing a duplicate group and a label share one weight.
    metrics["duplicate_rows"] = result.classifier.metadata.get("duplicate_rows", 0)
    metrics["excluded_folders"] = _excluded_folders(names, counts, result.excluded_classes)
    metrics["timings_seconds"] = result.timings_seconds
    return result.classifier.to_bytes(), [int(c) for c in result.classifier.classes]


def _classifier_store(
    *, library: Library, model_id: str, blob: bytes, classes: list[int], metrics: dict
) -> Classifier:
    with transaction.atomic():
        # Serialise version numbers per library (one retrain at a time anyway).
        Library.objects.select_for_update().get(pk=library.pk)
        version = (
            Classifier.objects.filter(library=library).aggregate(v=Max("version"))["v"] or 0
        ) + 1
        classifier = Classifier.objects.create(
            library=library,
            version=version,
            model_id=model_id,
            blob=blob,
            classes=classes,
            metrics=metrics,
            is_active=False,
        )
    return classifier


def _excluded_folders(
    names: dict[int, str], counts: Counter, also: Iterable[int | str] = ()
) -> list[str]:
    """Folders the trained model does not know: fewer than 2 labels, 0 included."""
    left_out = {k for k in names if counts.get(k, 0) < 2} | {k for k in also if k in names}
    return sorted(names[k] for k in left_out)


def _not_enough_labels_message(trainable: list[str], names: dict[int, str]) -> str:
    if not names:
        return "no folders yet: create sub-folders in the library or sort some videos"
    if not trainable:
        return (
            "no folder has 2 or more labelled videos; sort at least 2 videos into each of 2 folders"
        )
    return (
        f"only one folder has labelled videos ({trainable[0]}); sort at least 2 videos "
        "into another folder"
    )


# --- Prediction ----------------------------------------------------------------------


def classifier_load(classifier: Classifier) -> TrainedClassifier | None:
    from mlpipeline.classifier import TrainedClassifier  # scikit-learn: on use, not at import

    blob = bytes(classifier.blob)
    return TrainedClassifier.from_bytes(blob) if blob else None


def predictions_compute(
    *,
    classifier: Classifier,
    encoder: Encoder | None,
    progress: Callable[[int, int], None] | None = None,
    activate: bool = True,
) -> int:
    """Predict every unsorted video with this version; write atomically; activate it."""
    library = classifier.library
    predictor = _predictor_for(classifier=classifier, encoder=encoder)
    total = library_counts(library=library)["unsorted"]
    rows: list[Prediction] = []
    for chunk in unsorted_embeddings(library=library, model_id=classifier.model_id):
        rows += predictor.rows(chunk)
        if progress is not None:
            progress(len(rows), total)
    with transaction.atomic():
        Library.objects.select_for_update().get(pk=library.pk)
        # Idempotent: a re-delivered task replaces its own version's rows.
        Prediction.objects.filter(
            video__library=library, classifier_version=classifier.version
        ).delete()
        Prediction.objects.bulk_create(rows, batch_size=1000)
        if activate:
            classifier_activate(classifier=classifier)
    _predictions_prune(library=library)
    if progress is not None:
        progress(total, total)
    return len(rows)


def predictions_backfill_compute(
    *,
    classifier: Classifier,
    encoder: Encoder | None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Predict the unsorted videos this version has no prediction for (added after it
    was trained); its other predictions stay. Activates nothing."""
    library = classifier.library
    todo = (
        unpredicted_embeddings(
            library=library, model_id=classifier.model_id, version=classifier.version
        )
        .select_related("video")
        .order_by("video_id")
    )
    total = todo.count()
    if not total:
        return 0
    predictor = _predictor_for(classifier=classifier, encoder=encoder)
    rows: list[Prediction] = []
    chunk: list[tuple[Video, Embedding]] = []
    for embedding in todo.iterator(chunk_size=PREDICT_BATCH):
        chunk.append((embedding.video, embedding))
        if len(chunk) == PREDICT_BATCH:
            rows += predictor.rows(chunk)
            chunk = []
            if progress is not None:
                progress(len(rows), total)
    rows += predictor.rows(chunk) if chunk else []
    with transaction.atomic():
        Library.objects.select_for_update().get(pk=library.pk)
        # A redelivered task, or a retrain predicting meanwhile: rows already there stay.
        Prediction.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def _predictor_for(*, classifier: Classifier, encoder: Encoder | None) -> _Predictor:
    library = classifier.library
    trained = classifier_load(classifier)
    zero_shot = zero_shot_build(library=library, encoder=encoder)
    if zero_shot is not None and "zero_shot_logit_scale" in classifier.metrics:
        zero_shot = zero_shot.with_logit_scale(classifier.metrics["zero_shot_logit_scale"])
    if trained is None and zero_shot is None:
        raise TrainingError("nothing to predict with: no trained classifier and no zero-shot")
    folders = folders_by_id(library=library)
    text_zero_shot = text_zero_shot_build(library=library)
    # Without any zero-shot there is a trained classifier (checked above): its classes.
    classes: list[int | str] = (
        list(trained.classes)
        if zero_shot is None and text_zero_shot is None and trained is not None
        else sorted(folders)
    )
    text = classifier.metrics.get("text_features")
    return _Predictor(
        version=classifier.version,
        trained=trained,
        text_weight=float(text["weight"]) if text and trained is not None else None,
        zero_shot=zero_shot,
        text_zero_shot=text_zero_shot,
        classes=classes,
        label_counts=folder_label_counts(library=library),
        folders=folders,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Predictor:
    """What one classifier version predicts with: Prediction rows for embedded videos."""

    version: int
    trained: TrainedClassifier | None
    text_weight: float | None  # trained on [visual, text] rows: fuse the same way
    zero_shot: ZeroShotModel | None
    text_zero_shot: TextZeroShotModel | None  # folders' prompt words against videos' text
    classes: Sequence[int | str]
    label_counts: dict[int | str, int]
    folders: dict[int, Folder]

    def blend(
        self, X: np.ndarray, classes: Sequence[int | str], text: np.ndarray | None = None
    ) -> BlendedPredictions:
        trained = self.trained
        if trained is not None and self.text_weight is not None and text is not None:
            trained = cast("TrainedClassifier", _TextFused(trained, text, self.text_weight))
        return predict_blended(
            X=X,
            classes=classes,
            label_counts=self.label_counts,
            trained=trained,
            zero_shot=self.zero_shot,
            text_zero_shot=self.text_zero_shot,
            text=text,
        )

    def rows(self, chunk: list[tuple[Video, Embedding]]) -> list[Prediction]:
        X = np.stack([unpack_vector(e.vector) for _, e in chunk])
        uses_text = self.text_weight is not None or self.text_zero_shot is not None
        text = text_rows(video_ids=[v.pk for v, _ in chunk]) if uses_text else None
        blended = self.blend(X, self.classes, text)
        summaries = [
            replace(summary, source=blended.source_at(i))
            for i, summary in enumerate(
                summarise(blended.probs, blended.classes, top_k=TOP_K, source=blended.source)
            )
        ]
        return [
            self._row(video, embedding, summary, blended, None if text is None else text[i : i + 1])
            for i, ((video, embedding), summary) in enumerate(zip(chunk, summaries, strict=True))
        ]

    def _row(
        self,
        video: Video,
        embedding: Embedding,
        summary: PredictionSummary,
        blended: BlendedPredictions,
        text: np.ndarray | None,
    ) -> Prediction:
        segments, ratio = self._segments(embedding, summary, blended.classes, video, text)
        top = [
            {
                "folder_id": fid,
                "folder": self.folders[cast(int, fid)].name,
                "probability": round(p, 6),
            }
            for fid, p in summary.top
        ]
        return Prediction(
            video=video,
            classifier_version=self.version,
            folder_id=summary.predicted,
            confidence=summary.confidence,
            margin=summary.margin,
            entropy=summary.entropy,
            source=summary.source or blended.source,
            top=top,
            segments=segments,
            duration_ratio=ratio,
        )

    def _segments(
        self,
        embedding: Embedding,
        summary: PredictionSummary,
        classes: Sequence[int | str],
        video: Video,
        text: np.ndarray | None,
    ) -> tuple[list[dict], float | None]:
        """Where in the video each of the top folders matches, and the top one's share."""
        frames = unpack_vector(embedding.frame_vectors, dim=embedding.dim)
        frames = frames.reshape(-1, embedding.dim)
        if len(frames) == 0:
            return [], None
        per_frame = self.blend(frames, classes, text)
        column = {c: j for j, c in enumerate(per_frame.classes)}
        top = [folder_id for folder_id, _ in summary.top]
        found = segments_per_folder(
            frame_scores=per_frame.probs[:, [column[folder_id] for folder_id in top]],
            classes=top,
            timestamps=embedding.frame_times,
            duration=video.duration,
            threshold=SEGMENT_THRESHOLD,
        )
        segments = [
            {
                "folder_id": folder_id,
                "start": round(seg.start, 3),
                "end": round(seg.end, 3),
                "score": round(seg.score, 4),
            }
            for folder_id in top
            for seg in found[folder_id].segments
        ]
        ratio = round(found[top[0]].duration_ratio, 4) if top else None
        return segments, ratio


def classifier_activate(*, classifier: Classifier) -> None:
    """Make this version the one the player and API read (also used for rollback)."""
    with transaction.atomic():
        Classifier.objects.filter(library=classifier.library, is_active=True).exclude(
            pk=classifier.pk
        ).update(is_active=False)
        Classifier.objects.filter(pk=classifier.pk).update(is_active=True)
        classifier.is_active = True


class ActivationRefused(Exception):
    """A classifier version cannot be activated now; the message is for the user."""


# The predict job's task (labeling/tasks.py; labeling.services.backfill runs it).
TASK_PREDICTIONS_BACKFILL = "labeling.tasks.predictions_backfill_task"


@dataclass(frozen=True, kw_only=True)
class Rollback:
    """An activated version, how many unsorted videos it had no prediction for (added
    after it was trained), and the predict job that fills them in (None: nothing to do)."""

    classifier: Classifier
    unpredicted: int = 0
    job: Job | None = None


def classifier_rollback(*, classifier: Classifier) -> Classifier:
    """Activate a stored version on a user's request (admin action or API): the rules.

    Refused when a retrain still running could be training or predicting that version
    (it activates its own version when it finishes, and a cancel would delete it), or
    when the version has no predictions while unsorted videos wait for one (never
    predicted, or its predictions were pruned): activating it would empty the player's
    predictions. Activating the active version is a no-op. Videos the version never
    predicted are predicted by a job (``classifier_rollback_report`` says which).
    """
    return classifier_rollback_report(classifier=classifier).classifier


def classifier_rollback_report(*, classifier: Classifier) -> Rollback:
    """``classifier_rollback``, answering what is left unpredicted and the job queued."""
    with transaction.atomic():
        # Lock the library's active jobs: a retrain cannot link or activate a version
        # between this check and the activation.
        active_jobs = list(
            Job.objects.select_for_update().filter(
                library=classifier.library_id, state__in=Job.ACTIVE_STATES
            )
        )
        classifier = Classifier.objects.select_for_update().get(pk=classifier.pk)
        if not classifier.is_active:
            for job in active_jobs:
                if job.kind != Job.Kind.PREDICT:  # a predict job writes no version
                    _refuse_if_job_owns(classifier=classifier, job=job)
            _refuse_if_no_predictions(classifier=classifier)
            classifier_activate(classifier=classifier)
        return _backfill_queue(classifier=classifier)


def _backfill_queue(*, classifier: Classifier) -> Rollback:
    """Queue the predict job when the active ``classifier`` misses unsorted videos.

    The job predicts with whichever version is active when it runs: a second rollback
    while one is queued needs no job of its own.
    """
    unpredicted = unpredicted_embeddings(
        library=classifier.library, model_id=classifier.model_id, version=classifier.version
    ).count()
    if not unpredicted:
        return Rollback(classifier=classifier)
    job, created = job_create(library=classifier.library, kind=Job.Kind.PREDICT)
    if created:
        task_enqueue(task=TASK_PREDICTIONS_BACKFILL, kwargs={"job_id": job.pk})
    return Rollback(classifier=classifier, unpredicted=unpredicted, job=job)


def _refuse_if_job_owns(*, classifier: Classifier, job: Job) -> None:
    # A version is the job's own once linked; before that (the train stage writes it,
    # then links it) it is one created after the job started.
    started = job.started_at or job.created_at
    if job.classifier_id == classifier.pk or classifier.created_at >= started:
        stage = f" at {job.stage}" if job.stage else ""
        raise ActivationRefused(
            f"classifier v{classifier.version} belongs to {job.kind} job {job.pk}, "
            f"still {job.state}{stage}; wait for it to finish or cancel it"
        )


def _refuse_if_no_predictions(*, classifier: Classifier) -> None:
    waiting = videos_unsorted_exist(library=classifier.library_id)
    if waiting and not classifier_has_predictions(classifier=classifier):
        why = "were pruned" if classifier.metrics.get("predictions") else "were never made"
        raise ActivationRefused(
            f"classifier v{classifier.version} has no predictions (they {why}); "
            "start a retrain, or run `manage.py vidsort_predict`, instead"
        )


def _predictions_prune(*, library: Library) -> None:
    keep = classifier_versions_newest(library=library, limit=KEEP_PREDICTION_VERSIONS)
    active = classifier_active(library=library)
    if active is not None:
        keep.append(active.version)
    Prediction.objects.filter(video__library=library).exclude(classifier_version__in=keep).delete()


def top1_folders(
    *, classifier: Classifier, encoder: Encoder | None, video_ids: list[int], vectors: np.ndarray
) -> list[int | str]:
    """The folder this classifier version puts first for each video, given its vectors (rows
    of ``vectors``, in video_ids' order), blended exactly as its predictions are."""
    predictor = _predictor_for(classifier=classifier, encoder=encoder)
    uses_text = predictor.text_weight is not None or predictor.text_zero_shot is not None
    text = text_rows(video_ids=video_ids) if uses_text else None
    blended = predictor.blend(vectors, predictor.classes, text)
    return [blended.classes[int(i)] for i in np.asarray(blended.probs).argmax(axis=1)]
