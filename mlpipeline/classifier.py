"""Folder classifier on pooled CLIP embeddings: train, cross-validate, predict, persist.

The model is a multinomial logistic regression (scikit-learn, lbfgs) on L2-normalised
embeddings with ``class_weight="balanced"``, because folder sizes are very skewed and a
folder of 40 recipes must not be swallowed by a folder of 3,000 memes.

Honest numbers come from stratified k-fold cross-validation, k = min(5, smallest folder
count). Everything that is fitted to data (the regularisation strength C, the
temperature) is fitted inside the training part of each fold, so the reported metrics
are those of the whole procedure, not of one lucky setting; the shuffled-label test in
tests/mlpipeline/test_classifier.py checks that no label leaks into them.

Persistence: ``TrainedClassifier.to_bytes()`` writes plain arrays (coefficients,
intercepts) plus a JSON header into an ``.npz`` container; ``from_bytes`` reads it with
``allow_pickle=False``. A stored classifier therefore cannot execute code on load and
does not depend on the scikit-learn version that trained it.

No Django imports here.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from mlpipeline.calibration import (
    DEFAULT_ECE_BINS,
    expected_calibration_error,
    fit_temperature,
    log_softmax,
    negative_log_likelihood,
    softmax,
)
from mlpipeline.precision import precision_curves

__all__ = [
    "ClassMetrics",
    "ClassifierConfig",
    "CrossValidationMetrics",
    "Label",
    "NotEnoughLabelsError",
    "TrainedClassifier",
    "TrainingResult",
    "fit_classifier",
    "l2_normalise",
    "train_classifier",
]

# Folder ids: database primary keys (int) or folder names (str). One type per call.
Label = int | str

_FORMAT_NAME = "vidsort.linear-classifier"
_FORMAT_VERSION = 1


class NotEnoughLabelsError(ValueError):
    """Fewer than two folders have the minimum number of labels: nothing to train."""

    def __init__(self, message: str, *, excluded_classes: Sequence[Label]) -> None:
        super().__init__(message)
        self.excluded_classes = list(excluded_classes)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassifierConfig:
    # Inverse regularisation strength. Fixed by default: on the synthetic benchmark
    # (docs/learning.md) C = 0.5-8 were within 0.5 point of each other at 16k labels,
    # and an inner grid search chose C = 32 at 3k labels and lost 1.2 points while
    # costing ~5x the training time; temperature scaling absorbs the confidence
    # side-effects of C anyway. Set ``c_grid`` to tune C per fold instead.
    c: float = 2.0
    # Opt-in tuning: C chosen from this grid by balanced log-loss on an inner
    # validation split of each training fold (never the fold's test part).
    c_grid: tuple[float, ...] = ()
    inner_validation_fraction: float = 0.2
    # Tuning falls back to ``c`` below this many inner validation rows: choosing C on
    # a handful of videos is noise.
    min_inner_validation_rows: int = 20
    max_folds: int = 5
    min_examples_per_class: int = 2
    max_iter: int = 300
    tol: float = 1e-4
    random_state: int = 0
    ece_bins: int = DEFAULT_ECE_BINS
    # BLAS/OpenMP threads while fitting. One is fastest here: on the shared 2-core box
    # two threads made a 20k x 512 training 5x slower (35 s vs 6.7 s) by spinning
    # against other processes, and one thread makes results independent of the core
    # count. None leaves the process default.
    blas_threads: int | None = 1


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    label: Label
    support: int
    precision: float
    recall: float
    f1: float
    average_precision: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossValidationMetrics:
    """Out-of-fold metrics; JSON-ready through ``to_dict()`` for the Job row."""

    n_labels: int
    n_folds: int
    classes: list[Label]
    accuracy: float
    balanced_accuracy: float
    per_class: list[ClassMetrics]
    # Rows: true folder, columns: predicted folder, both in ``classes`` order.
    confusion_matrix: list[list[int]]
    ece_before_calibration: float
    # Temperature fitted on the other folds' logits and applied to each fold, so this
    # is an honest estimate, not the in-sample optimum.
    ece_after_calibration: float
    log_loss_before_calibration: float
    log_loss_after_calibration: float
    temperature: float
    regularisation_c: float
    # Per class, in ``classes`` order: [[confidence, predictions >= it, right ones], ...]
    # from the calibrated out-of-fold predictions (mlpipeline.precision): what auto-file
    # by target precision chooses its thresholds from.
    precision_curves: list[list[list[float]]] = field(default_factory=list)
    # How much sharper the refit's logits are than the fold models' (refit_sharpness):
    # the stored classifier's temperature is ``temperature`` times this, so its
    # confidences live in the space the out-of-fold figures (and thresholds) were made in.
    refit_scale: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingResult:
    classifier: TrainedClassifier
    metrics: CrossValidationMetrics
    # Folders with fewer than ``min_examples_per_class`` labels: left out of training
    # (the blend gives them zero-shot probabilities only).
    excluded_classes: list[Label]
    label_counts: dict[Label, int]
    timings_seconds: dict[str, float] = field(default_factory=dict)


def l2_normalise(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm (float32). Zero rows stay zero rather than NaN."""
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, np.float32(1e-12))


@dataclass(frozen=True, eq=False, kw_only=True)
class TrainedClassifier:
    """A fitted linear classifier: logits = X @ coef.T + intercept, then softmax(./T)."""

    classes: tuple[Label, ...]
    coef: np.ndarray  # (k, d) float64
    intercept: np.ndarray  # (k,) float64
    temperature: float = 1.0
    regularisation_c: float = 1.0
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[1])

    def logits(self, X: np.ndarray) -> np.ndarray:
        X = l2_normalise(X)
        if X.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features}-dim embeddings, got {X.shape[1]}")
        return X.astype(np.float64) @ self.coef.T + self.intercept

    def predict_proba(self, X: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
        """(n, k) probabilities, columns in ``classes`` order."""
        return softmax(self.logits(X), temperature=self.temperature if calibrated else 1.0)

    def predict(self, X: np.ndarray) -> list[Label]:
        return [self.classes[i] for i in self.logits(X).argmax(axis=1)]

    def to_bytes(self) -> bytes:
        header = {
            "format": _FORMAT_NAME,
            "version": _FORMAT_VERSION,
            "classes": list(self.classes),
            "label_type": _label_type(self.classes),
            "temperature": float(self.temperature),
            "regularisation_c": float(self.regularisation_c),
            "metadata": dict(self.metadata),
        }
        arrays: dict[str, np.ndarray] = {
            "coef": np.ascontiguousarray(self.coef, dtype=np.float64),
            "intercept": np.ascontiguousarray(self.intercept, dtype=np.float64),
            "header": np.frombuffer(
                json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8
            ),
        }
        # An .npz written by hand with fixed zip timestamps (np.savez stamps the
        # current time), so equal classifiers give equal bytes and the blob's hash
        # can serve as a version id.
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w") as stream:
                    np.lib.format.write_array(stream, array, allow_pickle=False)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainedClassifier:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            header = json.loads(archive["header"].tobytes().decode("utf-8"))
            coef = archive["coef"].astype(np.float64)
            intercept = archive["intercept"].astype(np.float64)
        if header.get("format") != _FORMAT_NAME or header.get("version") != _FORMAT_VERSION:
            raise ValueError(
                f"not a {_FORMAT_NAME} v{_FORMAT_VERSION} blob: "
                f"{header.get('format')!r} v{header.get('version')!r}"
            )
        caster = int if header["label_type"] == "int" else str
        classes = tuple(caster(c) for c in header["classes"])
        if coef.ndim != 2 or coef.shape[0] != len(classes) or intercept.shape != (len(classes),):
            raise ValueError("corrupt classifier blob: array shapes do not match the classes")
        return cls(
            classes=classes,
            coef=coef,
            intercept=intercept,
            temperature=float(header["temperature"]),
            regularisation_c=float(header["regularisation_c"]),
            metadata=header["metadata"],
        )


def _label_type(labels: Sequence[Any]) -> str:
    if all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in labels
    ):
        return "int"
    if all(isinstance(v, (str, np.str_)) for v in labels):
        return "str"
    raise TypeError("folder labels must be all ints or all strings")


def _as_python_labels(y: Sequence[Label] | np.ndarray) -> list[Label]:
    values = list(y.tolist() if isinstance(y, np.ndarray) else y)
    caster = int if _label_type(values) == "int" else str
    return [caster(v) for v in values]


def _linear_model(*, c: float, config: ClassifierConfig) -> LogisticRegression:
    # lbfgs with more than two classes is the multinomial (softmax) loss, which gives
    # coherent probabilities across folders rather than k independent one-vs-rest ones.
    return LogisticRegression(
        C=c,
        class_weight="balanced",
        solver="lbfgs",
        max_iter=config.max_iter,
        tol=config.tol,
        random_state=config.random_state,
    )


def _multiclass_arrays(model: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """(k, d) coefficients and (k,) intercepts, also for the binary case.

    With two classes scikit-learn stores one row w (logit of class 1). Splitting it
    as (-w/2, +w/2) gives softmax == sigmoid(w.x + b), so one code path serves both.
    """
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef, intercept


def _balanced_log_loss(logits: np.ndarray, label_indices: np.ndarray, n_classes: int) -> float:
    # Weighted like the training objective, so C is chosen for every folder, not for
    # the big ones.
    counts = np.bincount(label_indices, minlength=n_classes).astype(np.float64)
    weights = 1.0 / counts[label_indices]
    log_probs = log_softmax(logits)
    picked = log_probs[np.arange(len(label_indices)), label_indices]
    return float(-(weights * picked).sum() / weights.sum())


def _inner_split(
    label_indices: np.ndarray, *, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-folder holdout that always leaves at least one example of every folder in
    the training part, so the inner model has the same classes as the outer one."""
    rng = np.random.default_rng(seed)
    train_parts: list[np.ndarray] = []
    validation_parts: list[np.ndarray] = []
    for class_index in np.unique(label_indices):
        members = rng.permutation(np.flatnonzero(label_indices == class_index))
        n_hold = min(len(members) - 1, int(round(fraction * len(members))))
        validation_parts.append(members[:n_hold])
        train_parts.append(members[n_hold:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(validation_parts))


@dataclass(frozen=True, slots=True)
class _LinearFit:
    coef: np.ndarray  # (k, d), multiclass form
    intercept: np.ndarray  # (k,)
    # scikit-learn's own arrays ((1, d) for two classes), kept to warm-start a later fit.
    raw_coef: np.ndarray
    raw_intercept: np.ndarray
    c: float


def _fit_linear(
    X: np.ndarray,
    label_indices: np.ndarray,
    *,
    c: float,
    config: ClassifierConfig,
    initial: tuple[np.ndarray, np.ndarray] | None = None,
    weights: np.ndarray | None = None,
) -> _LinearFit:
    model = _linear_model(c=c, config=config)
    if initial is not None:
        # scikit-learn's warm start reads coef_/intercept_ from the estimator; the
        # objective is strictly convex, so the start point changes the cost, not the
        # optimum (up to the solver tolerance).
        model.set_params(warm_start=True)
        model.coef_, model.intercept_ = initial[0].copy(), initial[1].copy()
    # weights: duplicates share one unit of weight (group_weights), on top of the
    # balanced class weights.
    model.fit(X, label_indices, sample_weight=weights)
    coef, intercept = _multiclass_arrays(model)
    return _LinearFit(
        coef=coef,
        intercept=intercept,
        raw_coef=np.array(model.coef_),
        raw_intercept=np.array(model.intercept_),
        c=float(c),
    )


def _choose_c(
    X: np.ndarray, label_indices: np.ndarray, *, n_classes: int, config: ClassifierConfig
) -> float:
    """C chosen on an inner split of the rows given, and only those rows."""
    if len(config.c_grid) == 0:
        return float(config.c)
    if len(config.c_grid) == 1:
        return float(config.c_grid[0])
    inner_train, inner_validation = _inner_split(
        label_indices, fraction=config.inner_validation_fraction, seed=config.random_state
    )
    if len(inner_validation) < config.min_inner_validation_rows:
        return float(config.c)
    # Ascending C with warm starts: each fit starts from the previous optimum, which is
    # close, so the grid costs little more than one fit.
    losses: list[tuple[float, float]] = []
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for c in sorted(config.c_grid):
        fit = _fit_linear(
            X[inner_train], label_indices[inner_train], c=c, config=config, initial=previous
        )
        previous = (fit.raw_coef, fit.raw_intercept)
        logits = X[inner_validation].astype(np.float64) @ fit.coef.T + fit.intercept
        losses.append((_balanced_log_loss(logits, label_indices[inner_validation], n_classes), c))
    # Ties go to the smaller C (stronger regularisation).
    return float(min(losses)[1])


def _prepare(X: np.ndarray, y: Sequence[Label] | np.ndarray) -> tuple[np.ndarray, list[Label]]:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be (n, d), got shape {X.shape}")
    labels = _as_python_labels(y)
    if len(labels) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(labels)} labels")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values")
    return l2_normalise(X), labels


def _select_trainable(
    labels: list[Label], *, min_examples: int
) -> tuple[tuple[Label, ...], list[Label], dict[Label, int], np.ndarray, np.ndarray]:
    counts: dict[Label, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    counts = dict(sorted(counts.items()))
    classes = tuple(c for c, n in counts.items() if n >= min_examples)
    excluded = [c for c, n in counts.items() if n < min_examples]
    if len(classes) < 2:
        raise NotEnoughLabelsError(
            f"need at least two folders with {min_examples}+ labels to train; "
            f"have {len(classes)} (label counts: {counts})",
            excluded_classes=excluded,
        )
    index_of = {c: i for i, c in enumerate(classes)}
    keep = np.array([label in index_of for label in labels], dtype=bool)
    label_indices = np.array([index_of[label] for label in labels if label in index_of])
    return classes, excluded, counts, keep, label_indices.astype(np.int64)


def _blas_limits(config: ClassifierConfig) -> contextlib.AbstractContextManager[Any]:
    if config.blas_threads is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=config.blas_threads)


def fit_classifier(
    *,
    X: np.ndarray,
    y: Sequence[Label] | np.ndarray,
    config: ClassifierConfig | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> TrainedClassifier:
    """Fit on all labels without cross-validation or calibration (temperature 1).

    For loops that retrain many times (the active-learning simulation); the app uses
    ``train_classifier``, which also measures and calibrates.
    """
    cfg = config or ClassifierConfig()
    with _blas_limits(cfg):
        return _fit_classifier(X=X, y=y, cfg=cfg, metadata=metadata)


def _fit_classifier(
    *,
    X: np.ndarray,
    y: Sequence[Label] | np.ndarray,
    cfg: ClassifierConfig,
    metadata: Mapping[str, Any] | None,
) -> TrainedClassifier:
    Xn, labels = _prepare(X, y)
    classes, _, counts, keep, label_indices = _select_trainable(
        labels, min_examples=cfg.min_examples_per_class
    )
    Xn = Xn[keep]
    chosen_c = _choose_c(Xn, label_indices, n_classes=len(classes), config=cfg)
    fit = _fit_linear(Xn, label_indices, c=chosen_c, config=cfg)
    return TrainedClassifier(
        classes=classes,
        coef=fit.coef,
        intercept=fit.intercept,
        regularisation_c=chosen_c,
        metadata={"n_labels": int(keep.sum()), **(metadata or {})},
    )


def train_classifier(
    *,
    X: np.ndarray,
    y: Sequence[Label] | np.ndarray,
    config: ClassifierConfig | None = None,
    metadata: Mapping[str, Any] | None = None,
    groups: Sequence[int] | None = None,
) -> TrainingResult:
    """Cross-validate, calibrate and refit on all labels.

    ``groups``: one duplicate-group id per row (mlpipeline.duplicates.group_labels):
    the rows of one group and label share one unit of sample weight (they count once),
    and a group's rows never straddle a CV split (a copy in the training fold would
    predict its twin in the test fold and inflate the accuracy).

    ``X``: (n, d) pooled embeddings (normalised here, so raw encoder output is fine).
    ``y``: folder ids, ints or strings. ``metadata`` (JSON-serialisable, e.g. the
    encoder model id) is stored in the classifier blob.
    Raises ``NotEnoughLabelsError`` when fewer than two folders have 2+ labels.
    Deterministic: the same X and y in the same order give the same classifier
    (and the same ``to_bytes()``) on the same machine.
    """
    cfg = config or ClassifierConfig()
    with _blas_limits(cfg):
        return _train_classifier(X=X, y=y, cfg=cfg, metadata=metadata, groups=groups)


def group_weights(labels: Sequence[Label], groups: Sequence[int]) -> np.ndarray:
    """Per row 1 / (rows sharing its duplicate group and label): each group counts once."""
    keys = list(zip(groups, labels, strict=True))
    sizes: dict[tuple[int, Any], int] = {}
    for key in keys:
        sizes[key] = sizes.get(key, 0) + 1
    return np.array([1.0 / sizes[key] for key in keys], dtype=np.float64)


def _cv_folds(
    Xn: np.ndarray, label_indices: np.ndarray, groups: np.ndarray | None, n_folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds; group-aware when rows share a duplicate group and every folder
    has enough groups that each training part still holds all folders."""
    stratified = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    if groups is None or len(np.unique(groups)) == len(groups):
        return list(stratified.split(Xn, label_indices))
    n_classes = int(label_indices.max()) + 1
    per_class = [len(np.unique(groups[label_indices == k])) for k in range(n_classes)]
    group_folds = min(n_folds, *per_class)
    if group_folds >= 2:
        splitter = StratifiedGroupKFold(n_splits=group_folds, shuffle=True, random_state=seed)
        folds = list(splitter.split(Xn, label_indices, groups))
        if all(len(np.unique(label_indices[train])) == n_classes for train, _ in folds):
            return folds
    return list(stratified.split(Xn, label_indices))


def _train_classifier(
    *,
    X: np.ndarray,
    y: Sequence[Label] | np.ndarray,
    cfg: ClassifierConfig,
    metadata: Mapping[str, Any] | None,
    groups: Sequence[int] | None = None,
) -> TrainingResult:
    timings: dict[str, float] = {}
    Xn, labels = _prepare(X, y)
    group_ids: np.ndarray | None = None
    weights: np.ndarray | None = None
    if groups is not None:
        if len(groups) != len(labels):
            raise ValueError(f"{len(groups)} groups for {len(labels)} labels")
        group_ids, weights = np.asarray(groups), group_weights(labels, groups)
    classes, excluded, counts, keep, label_indices = _select_trainable(
        labels, min_examples=cfg.min_examples_per_class
    )
    Xn = Xn[keep]
    if group_ids is not None and weights is not None:
        group_ids, weights = group_ids[keep], weights[keep]
    n_classes = len(classes)
    n_folds = int(min(cfg.max_folds, np.bincount(label_indices).min()))

    started = time.perf_counter()
    folds = _cv_folds(Xn, label_indices, group_ids, n_folds, cfg.random_state)
    n_folds = len(folds)
    out_of_fold_logits = np.zeros((len(label_indices), n_classes), dtype=np.float64)
    fold_fits: list[_LinearFit] = []
    for train_rows, test_rows in folds:
        fold_c = _choose_c(
            Xn[train_rows], label_indices[train_rows], n_classes=n_classes, config=cfg
        )
        # Cold start in every fold: starting from another fold's solution would carry
        # this fold's test labels in through the initial point.
        fit = _fit_linear(
            Xn[train_rows],
            label_indices[train_rows],
            c=fold_c,
            config=cfg,
            weights=None if weights is None else weights[train_rows],
        )
        fold_fits.append(fit)
        out_of_fold_logits[test_rows] = (
            Xn[test_rows].astype(np.float64) @ fit.coef.T + fit.intercept
        )
    timings["cross_validation"] = time.perf_counter() - started

    started = time.perf_counter()
    temperature = fit_temperature(out_of_fold_logits, label_indices)
    # Honest "after" figure: each fold is scaled by a temperature fitted on the other
    # folds' logits, never its own.
    calibrated_probs = np.zeros_like(out_of_fold_logits)
    for _, test_rows in folds:
        others = np.setdiff1d(np.arange(len(label_indices)), test_rows)
        fold_temperature = fit_temperature(out_of_fold_logits[others], label_indices[others])
        calibrated_probs[test_rows] = softmax(
            out_of_fold_logits[test_rows], temperature=fold_temperature
        )
    timings["calibration"] = time.perf_counter() - started

    raw_probs = softmax(out_of_fold_logits)
    predicted = out_of_fold_logits.argmax(axis=1)

    started = time.perf_counter()
    chosen_c = _choose_c(Xn, label_indices, n_classes=n_classes, config=cfg)
    # The refit sees all labels anyway, so warm-starting it from the average fold
    # solution leaks nothing and saves most of its iterations.
    final = _fit_linear(
        Xn,
        label_indices,
        c=chosen_c,
        config=cfg,
        initial=(
            np.mean([f.raw_coef for f in fold_fits], axis=0),
            np.mean([f.raw_intercept for f in fold_fits], axis=0),
        ),
        weights=weights,
    )
    timings["refit"] = time.perf_counter() - started
    scale = refit_sharpness(Xn, final, fold_fits)

    metrics = _cross_validation_metrics(
        classes=classes,
        label_indices=label_indices,
        predicted=predicted,
        raw_probs=raw_probs,
        calibrated_probs=calibrated_probs,
        out_of_fold_logits=out_of_fold_logits,
        n_folds=n_folds,
        temperature=temperature,
        chosen_c=chosen_c,
        ece_bins=cfg.ece_bins,
        refit_scale=scale,
    )
    classifier = TrainedClassifier(
        classes=classes,
        coef=final.coef,
        intercept=final.intercept,
        temperature=temperature * scale,
        regularisation_c=chosen_c,
        metadata={
            "n_labels": int(len(label_indices)),
            "duplicate_rows": 0 if weights is None else int((weights < 1).sum()),
            **(metadata or {}),
        },
    )
    return TrainingResult(
        classifier=classifier,
        metrics=metrics,
        excluded_classes=excluded,
        label_counts=counts,
        timings_seconds=timings,
    )


def refit_sharpness(Xn: np.ndarray, final: _LinearFit, fold_fits: Sequence[_LinearFit]) -> float:
    """How much larger the refit's logits are than the fold models' on the same rows.

    The temperature is fitted on out-of-fold logits of models that saw (k-1)/k of the
    labels; the refit sees them all, with the same C, so its weights are larger and its
    confidences higher than those the temperature (and the precision curves) describe:
    about 7 % larger logits on digits and the synthetic library, with the same ratio on
    held-out videos as on the labelled ones. The ratio of the root-mean-square centred
    logits of the refit and of the fold models' average (one linear model) on the
    labelled rows measures it; dividing the refit's logits by it too puts its confidences
    back in the out-of-fold space. 1.0 when it cannot be measured."""
    X64 = Xn.astype(np.float64)

    def spread(coef: np.ndarray, intercept: np.ndarray) -> float:
        logits = X64 @ coef.T + intercept
        centred = logits - logits.mean(axis=1, keepdims=True)
        return float(np.sqrt(np.mean(centred**2)))

    folds = spread(
        np.mean([f.coef for f in fold_fits], axis=0),
        np.mean([f.intercept for f in fold_fits], axis=0),
    )
    refit = spread(final.coef, final.intercept)
    if not (np.isfinite(folds) and np.isfinite(refit)) or folds <= 0 or refit <= 0:
        return 1.0
    return refit / folds


def _cross_validation_metrics(
    *,
    classes: tuple[Label, ...],
    label_indices: np.ndarray,
    predicted: np.ndarray,
    raw_probs: np.ndarray,
    calibrated_probs: np.ndarray,
    out_of_fold_logits: np.ndarray,
    n_folds: int,
    temperature: float,
    chosen_c: float,
    ece_bins: int,
    refit_scale: float = 1.0,
) -> CrossValidationMetrics:
    all_indices = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        label_indices, predicted, labels=all_indices, zero_division=0
    )
    per_class = [
        ClassMetrics(
            label=label,
            support=int(support[i]),
            precision=float(precision[i]),
            recall=float(recall[i]),
            f1=float(f1[i]),
            average_precision=float(
                average_precision_score(label_indices == i, calibrated_probs[:, i])
            ),
        )
        for i, label in enumerate(classes)
    ]
    calibrated_nll = float(
        -np.log(
            np.clip(calibrated_probs[np.arange(len(label_indices)), label_indices], 1e-300, None)
        ).mean()
    )
    return CrossValidationMetrics(
        n_labels=int(len(label_indices)),
        n_folds=n_folds,
        classes=list(classes),
        accuracy=float((predicted == label_indices).mean()),
        balanced_accuracy=float(balanced_accuracy_score(label_indices, predicted)),
        per_class=per_class,
        confusion_matrix=confusion_matrix(label_indices, predicted, labels=all_indices).tolist(),
        ece_before_calibration=expected_calibration_error(
            raw_probs, label_indices, n_bins=ece_bins
        ),
        ece_after_calibration=expected_calibration_error(
            calibrated_probs, label_indices, n_bins=ece_bins
        ),
        log_loss_before_calibration=negative_log_likelihood(out_of_fold_logits, label_indices),
        log_loss_after_calibration=calibrated_nll,
        temperature=float(temperature),
        regularisation_c=float(chosen_c),
        precision_curves=precision_curves(calibrated_probs, label_indices),
        refit_scale=float(refit_scale),
    )
