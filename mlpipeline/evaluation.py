"""Offline evaluation: active-learning simulation and blend comparison on labelled sets.

Both take a fully labelled embedding set (synthetic, or the demo library's embeddings),
hide the labels and "ask" for them as a user would, which answers two questions with
numbers instead of opinions:

- how many labels does each queue order need before the classifier is nearly as good as
  it will get (``simulate_active_learning``)?
- with few labels, is blending zero-shot and trained better than either alone
  (``simulate_blend``)?

No Django imports here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from mlpipeline.blend import DEFAULT_PRIOR_LABELS, BlendConfig, Label, blend_probabilities
from mlpipeline.classifier import ClassifierConfig, fit_classifier, train_classifier
from mlpipeline.strategies import STRATEGIES, QueueCandidates
from mlpipeline.zeroshot import DEFAULT_LOGIT_SCALE, ZeroShotModel, calibrate_zero_shot

__all__ = [
    "BlendRow",
    "LearningCurve",
    "SimulationConfig",
    "SimulationResult",
    "labels_to_reach",
    "simulate_active_learning",
    "simulate_blend",
]

ProgressCallback = Callable[[str], None]

# The app's defaults (fixed C, one BLAS thread): strategies are compared with the
# classifier the app will run.
SIMULATION_CLASSIFIER = ClassifierConfig()


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationConfig:
    initial_labels_per_class: int = 2
    batch_size: int = 20
    max_labels: int = 600
    test_fraction: float = 0.25
    strategies: tuple[str, ...] = (
        "random",
        "uncertainty",
        "margin",
        "entropy",
        "class_balance",
        "uncertainty+diversity",
    )
    seeds: tuple[int, ...] = (0, 1, 2)
    diversity_pool_size: int = 100
    classifier: ClassifierConfig = SIMULATION_CLASSIFIER


@dataclass(frozen=True, slots=True, kw_only=True)
class LearningCurve:
    strategy: str
    seed: int
    n_labels: list[int]
    accuracy: list[float]
    balanced_accuracy: list[float]


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationResult:
    curves: list[LearningCurve]
    # Accuracy of a model trained on the whole pool, per seed: the "final accuracy"
    # that labels-to-reach figures are measured against.
    reference_accuracy: dict[int, float]
    config: SimulationConfig

    def mean_curve(self, strategy: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n_labels, mean accuracy, std accuracy) over seeds, on the common grid."""
        curves = [c for c in self.curves if c.strategy == strategy]
        if not curves:
            raise KeyError(strategy)
        length = min(len(c.n_labels) for c in curves)
        accuracy = np.array([c.accuracy[:length] for c in curves])
        return np.array(curves[0].n_labels[:length]), accuracy.mean(axis=0), accuracy.std(axis=0)

    @property
    def mean_reference_accuracy(self) -> float:
        return float(np.mean(list(self.reference_accuracy.values())))


def labels_to_reach(n_labels: np.ndarray, accuracy: np.ndarray, *, target: float) -> int | None:
    """First label count at which the curve reaches ``target`` (None if never)."""
    reached = np.flatnonzero(np.asarray(accuracy) >= target)
    return int(n_labels[reached[0]]) if len(reached) else None


def _initial_labels(y_pool: np.ndarray, *, per_class: int, rng: np.random.Generator) -> np.ndarray:
    chosen = [
        rng.choice(
            np.flatnonzero(y_pool == c),
            size=min(per_class, int((y_pool == c).sum())),
            replace=False,
        )
        for c in np.unique(y_pool)
    ]
    return np.sort(np.concatenate(chosen))


def _accuracy(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    correct = predicted == truth
    per_class = [correct[truth == c].mean() for c in np.unique(truth)]
    return float(correct.mean()), float(np.mean(per_class))


def simulate_active_learning(
    *,
    X: np.ndarray,
    y: np.ndarray,
    config: SimulationConfig | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Label batches chosen by each strategy, retrain, record held-out accuracy.

    Per seed: a stratified test split is set aside (never queried); the rest is the
    pool. Every strategy starts from the same ``initial_labels_per_class`` labels per
    folder, then repeatedly trains on what is labelled, orders the unlabelled pool and
    "labels" the first ``batch_size`` videos, until ``max_labels``.
    """
    cfg = config or SimulationConfig()
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    curves: list[LearningCurve] = []
    reference: dict[int, float] = {}
    for seed in cfg.seeds:
        pool_rows, test_rows = train_test_split(
            np.arange(len(y)), test_size=cfg.test_fraction, stratify=y, random_state=seed
        )
        X_pool, y_pool, X_test, y_test = X[pool_rows], y[pool_rows], X[test_rows], y[test_rows]
        full = fit_classifier(X=X_pool, y=y_pool, config=cfg.classifier)
        reference[seed] = _accuracy(np.array(full.predict(X_test)), y_test)[0]
        initial = _initial_labels(
            y_pool, per_class=cfg.initial_labels_per_class, rng=np.random.default_rng(seed)
        )
        for strategy in cfg.strategies:
            order_function = STRATEGIES[strategy]
            labelled = np.zeros(len(y_pool), dtype=bool)
            labelled[initial] = True
            n_labels: list[int] = []
            accuracy: list[float] = []
            balanced: list[float] = []
            round_index = 0
            while True:
                model = fit_classifier(
                    X=X_pool[labelled], y=y_pool[labelled], config=cfg.classifier
                )
                acc, bal = _accuracy(np.array(model.predict(X_test)), y_test)
                n_labels.append(int(labelled.sum()))
                accuracy.append(acc)
                balanced.append(bal)
                remaining = np.flatnonzero(~labelled)
                if labelled.sum() >= cfg.max_labels or len(remaining) == 0:
                    break
                counts = dict(zip(*np.unique(y_pool[labelled], return_counts=True), strict=True))
                candidates = QueueCandidates(
                    probs=model.predict_proba(X_pool[remaining]),
                    classes=model.classes,
                    embeddings=X_pool[remaining],
                    label_counts={k: int(v) for k, v in counts.items()},
                    created_at=np.arange(len(remaining), dtype=np.float64),
                    filenames=[f"video_{i}.mp4" for i in remaining],
                    seed=seed * 1000 + round_index,
                    diversity_pool_size=cfg.diversity_pool_size,
                )
                batch = remaining[order_function(candidates)[: cfg.batch_size]]
                labelled[batch] = True
                round_index += 1
            curves.append(
                LearningCurve(
                    strategy=strategy,
                    seed=seed,
                    n_labels=n_labels,
                    accuracy=accuracy,
                    balanced_accuracy=balanced,
                )
            )
            if progress:
                progress(f"seed {seed} {strategy}: {accuracy[0]:.3f} -> {accuracy[-1]:.3f}")
    return SimulationResult(curves=curves, reference_accuracy=reference, config=cfg)


@dataclass(frozen=True, slots=True, kw_only=True)
class BlendRow:
    """Mean held-out accuracy over seeds for one label budget."""

    labels_per_folder: int
    new_folders: int  # folders given 0 labels in this row
    zero_shot: float
    trained: float | None  # None: too few labels to train at all
    blended: dict[float, float] = field(default_factory=dict)  # prior_labels -> accuracy
    # Same blend without calibrating either side (zero-shot at scale 100, trained at
    # temperature 1), at the default prior: shows why calibration matters.
    blended_uncalibrated: float | None = None
    # Accuracy on videos of the 0-label folders only (None when there are none).
    new_folder_zero_shot: float | None = None
    new_folder_trained: float | None = None
    new_folder_blended: dict[float, float] = field(default_factory=dict)


def _accuracy_of(
    probs: np.ndarray,
    *,
    classes: Sequence[int],
    truth: np.ndarray,
    mask: np.ndarray | None = None,
) -> float:
    correct = np.asarray(classes)[probs.argmax(axis=1)] == truth
    return float(correct[mask].mean() if mask is not None else correct.mean())


def simulate_blend(
    *,
    X: np.ndarray,
    y: np.ndarray,
    text_vectors: np.ndarray,
    labels_per_folder: Sequence[int] = (0, 1, 2, 3, 5, 10, 20),
    prior_labels_grid: Sequence[float] = (1.0, 3.0, 5.0, 10.0),
    new_folders: int = 0,
    seeds: Sequence[int] = (0, 1, 2),
    logit_scale: float = DEFAULT_LOGIT_SCALE,
    classifier: ClassifierConfig | None = None,
    test_fraction: float = 0.5,
) -> list[BlendRow]:
    """Zero-shot alone vs trained alone vs blended, for few labels per folder.

    Mirrors the app: the trained side is ``train_classifier`` (cross-validated,
    temperature-calibrated), the zero-shot side is calibrated on the same labels with
    ``calibrate_zero_shot``. ``text_vectors`` (k, d) are the folders' text embeddings
    (folder ids 0..k-1). ``new_folders``: the last this-many folders get no labels at
    all, as a folder created today; their accuracy is also reported separately.
    """
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    classes = tuple(int(c) for c in np.unique(y))
    raw_zero_shot = ZeroShotModel(
        classes=classes, text_vectors=np.asarray(text_vectors), logit_scale=logit_scale
    )
    new_folder_ids = set(classes[len(classes) - new_folders :]) if new_folders else set()
    rows: list[BlendRow] = []
    for per_folder in labels_per_folder:
        zs_acc: list[float] = []
        tr_acc: list[float] = []
        uncalibrated_acc: list[float] = []
        bl_acc: dict[float, list[float]] = {k0: [] for k0 in prior_labels_grid}
        new_zs: list[float] = []
        new_tr: list[float] = []
        new_bl: dict[float, list[float]] = {k0: [] for k0 in prior_labels_grid}
        for seed in seeds:
            pool_rows, test_rows = train_test_split(
                np.arange(len(y)), test_size=test_fraction, stratify=y, random_state=seed
            )
            rng = np.random.default_rng(seed)
            label_rows = [
                rng.choice(
                    pool_rows[y[pool_rows] == c],
                    size=min(per_folder, int((y[pool_rows] == c).sum())),
                    replace=False,
                )
                for c in classes
                if c not in new_folder_ids and per_folder > 0
            ]
            labelled = np.concatenate(label_rows) if label_rows else np.zeros(0, dtype=np.int64)
            label_counts: dict[Label, int] = {
                c: (0 if c in new_folder_ids else per_folder) for c in classes
            }
            X_test, y_test = X[test_rows], y[test_rows]
            is_new = np.isin(y_test, list(new_folder_ids))

            def score(
                probs: np.ndarray, mask: np.ndarray | None = None, truth: np.ndarray = y_test
            ) -> float:
                return _accuracy_of(probs, classes=classes, truth=truth, mask=mask)

            zero_shot = calibrate_zero_shot(raw_zero_shot, X=X[labelled], y=y[labelled].tolist())
            zs_probs = zero_shot.predict_proba(X_test)
            zs_acc.append(score(zs_probs))
            if new_folder_ids:
                new_zs.append(score(zs_probs, is_new))

            trained = None
            if per_folder >= (classifier or ClassifierConfig()).min_examples_per_class:
                trained = train_classifier(
                    X=X[labelled], y=y[labelled], config=classifier
                ).classifier
            trained_probs = None if trained is None else trained.predict_proba(X_test)
            trained_classes = () if trained is None else trained.classes
            for k0 in prior_labels_grid:
                blended = blend_probabilities(
                    classes=classes,
                    label_counts=label_counts,
                    trained_probs=trained_probs,
                    trained_classes=trained_classes,
                    zero_shot_probs=zs_probs,
                    zero_shot_classes=classes,
                    config=BlendConfig(prior_labels=k0),
                )
                bl_acc[k0].append(score(blended.probs))
                if new_folder_ids:
                    new_bl[k0].append(score(blended.probs, is_new))
            uncalibrated = blend_probabilities(
                classes=classes,
                label_counts=label_counts,
                trained_probs=None
                if trained is None
                else trained.predict_proba(X_test, calibrated=False),
                trained_classes=trained_classes,
                zero_shot_probs=raw_zero_shot.predict_proba(X_test),
                zero_shot_classes=classes,
                config=BlendConfig(prior_labels=DEFAULT_PRIOR_LABELS),
            )
            uncalibrated_acc.append(score(uncalibrated.probs))
            if trained_probs is not None:
                trained_only = blend_probabilities(
                    classes=classes,
                    label_counts=label_counts,
                    trained_probs=trained_probs,
                    trained_classes=trained_classes,
                    zero_shot_probs=None,
                )
                tr_acc.append(score(trained_only.probs))
                if new_folder_ids:
                    new_tr.append(score(trained_only.probs, is_new))
        rows.append(
            BlendRow(
                labels_per_folder=per_folder,
                new_folders=new_folders,
                zero_shot=float(np.mean(zs_acc)),
                trained=float(np.mean(tr_acc)) if tr_acc else None,
                blended={k0: float(np.mean(v)) for k0, v in bl_acc.items()},
                blended_uncalibrated=float(np.mean(uncalibrated_acc)),
                new_folder_zero_shot=float(np.mean(new_zs)) if new_zs else None,
                new_folder_trained=float(np.mean(new_tr)) if new_tr else None,
                new_folder_blended={k0: float(np.mean(v)) for k0, v in new_bl.items() if v},
            )
        )
    return rows
