"""Blend zero-shot and trained probabilities per folder, and summarise predictions.

The rule (see docs/learning.md for the measurements behind the default):

    w_f   = n_f / (n_f + k0)            trained weight of folder f with n_f labels
    Z_T   = sum of p_zs(g) over the folders g the trained model knows
    p(f)  = w_f * p_tr(f) * Z_T + (1 - w_f) * p_zs(f)     for f in the trained model
    p(f)  = p_zs(f)                                       for f not in it
    then rows are renormalised to sum to 1.

Why the Z_T factor: the trained model only knows the folders it was trained on, so its
probabilities are conditional on "the video belongs to one of those". Zero-shot knows
every folder, so Z_T is its estimate of that condition. Scaling by it lets a brand-new
folder (0 labels) keep all of its zero-shot mass instead of being out-voted by a trained
model that has never heard of it; when every folder has many labels, Z_T = 1 and
p = p_tr. A folder whose labels were too few to train on (1 label) is not in the
trained model and is treated as new.

What a video says and shows (docs/text.md): for a video whose transcript/on-screen text
matches some folder's prompt words, the zero-shot side is the visual zero-shot times the text
zero-shot (a product of experts, renormalised), or the text zero-shot alone where the model
has no visual zero-shot. Videos without such text are blended exactly as before.

No Django imports here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    # Annotations only: the queue orders import this module in web processes, which must
    # not load scikit-learn (mlpipeline.classifier) to sort a queue.
    from mlpipeline.classifier import TrainedClassifier
    from mlpipeline.zeroshot import TextZeroShotModel, ZeroShotModel

__all__ = [
    "DEFAULT_PRIOR_LABELS",
    "BlendConfig",
    "BlendedPredictions",
    "PredictionSummary",
    "Source",
    "blend_probabilities",
    "predict_blended",
    "summarise",
    "trained_weights",
    "uncertainty_measures",
]

Label = int | str
Source = Literal["trained", "zero-shot", "blended"]

# Labels at which a folder's trained and zero-shot sides weigh the same. Chosen with
# the blend part of bench/active_learning.py (docs/learning.md): of k0 = 1 / 3 / 10,
# 3 was best or within 0.003 of the best from 2 to 20 labels per folder.
DEFAULT_PRIOR_LABELS = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BlendConfig:
    prior_labels: float = DEFAULT_PRIOR_LABELS


@dataclass(frozen=True, eq=False, kw_only=True)
class BlendedPredictions:
    classes: tuple[Label, ...]
    probs: np.ndarray  # (n, k), rows sum to 1, columns in ``classes`` order
    source: Source
    # Trained-side weight used per folder (0 for folders the trained model lacks).
    trained_weights: np.ndarray  # (k,)
    # Per row, where rows differ (text zero-shot without a visual one); else empty.
    row_sources: tuple[Source, ...] = ()

    def source_at(self, row: int) -> Source:
        return self.row_sources[row] if self.row_sources else self.source


def trained_weights(
    *,
    classes: Sequence[Label],
    label_counts: Mapping[Label, int],
    trained_classes: Sequence[Label],
    prior_labels: float = DEFAULT_PRIOR_LABELS,
) -> np.ndarray:
    """w_f = n_f / (n_f + k0) for folders in the trained model, 0 for the others."""
    known = set(trained_classes)
    weights = np.zeros(len(classes), dtype=np.float64)
    for i, folder in enumerate(classes):
        if folder in known:
            count = float(max(label_counts.get(folder, 0), 0))
            weights[i] = count / (count + prior_labels) if count + prior_labels > 0 else 1.0
    return weights


def _aligned(
    probs: np.ndarray, source_classes: Sequence[Label], target_classes: Sequence[Label]
) -> np.ndarray:
    """Columns of ``probs`` re-ordered to ``target_classes``; missing folders get 0."""
    position = {c: i for i, c in enumerate(source_classes)}
    out = np.zeros((probs.shape[0], len(target_classes)), dtype=np.float64)
    for j, folder in enumerate(target_classes):
        if folder in position:
            out[:, j] = probs[:, position[folder]]
    return out


def blend_probabilities(
    *,
    classes: Sequence[Label],
    label_counts: Mapping[Label, int],
    trained_probs: np.ndarray | None,
    trained_classes: Sequence[Label] = (),
    zero_shot_probs: np.ndarray | None,
    zero_shot_classes: Sequence[Label] = (),
    config: BlendConfig | None = None,
) -> BlendedPredictions:
    """Blend per folder; either side may be None (no classifier yet / no zero-shot).

    ``classes`` is the full folder list and fixes the output column order.
    ``label_counts`` counts labels per folder (all of them, also for folders the
    trained model left out). With zero-shot unavailable (e.g. a random-weight encoder)
    the result is the trained model alone with source "trained"; folders it does not
    know get probability 0.
    """
    cfg = config or BlendConfig()
    classes = tuple(classes)
    if trained_probs is None and zero_shot_probs is None:
        raise ValueError("nothing to blend: neither trained nor zero-shot probabilities")

    if zero_shot_probs is None:
        assert trained_probs is not None
        probs = _aligned(np.asarray(trained_probs, np.float64), trained_classes, classes)
        known = np.isin(np.array(classes, dtype=object), np.array(trained_classes, dtype=object))
        return BlendedPredictions(
            classes=classes,
            probs=_renormalised(probs),
            source="trained",
            trained_weights=known.astype(np.float64),
        )

    zero_shot = _aligned(np.asarray(zero_shot_probs, np.float64), zero_shot_classes, classes)
    zero_shot = _renormalised(zero_shot)
    if trained_probs is None:
        return BlendedPredictions(
            classes=classes,
            probs=zero_shot,
            source="zero-shot",
            trained_weights=np.zeros(len(classes)),
        )

    trained = _aligned(np.asarray(trained_probs, np.float64), trained_classes, classes)
    weights = trained_weights(
        classes=classes,
        label_counts=label_counts,
        trained_classes=trained_classes,
        prior_labels=cfg.prior_labels,
    )
    in_trained_model = np.isin(
        np.array(classes, dtype=object), np.array(tuple(trained_classes), dtype=object)
    )
    known_mass = (zero_shot * in_trained_model).sum(axis=1, keepdims=True)
    blended = weights * trained * known_mass + (1.0 - weights) * zero_shot
    return BlendedPredictions(
        classes=classes,
        probs=_renormalised(blended),
        source="blended",
        trained_weights=weights,
    )


def _renormalised(probs: np.ndarray) -> np.ndarray:
    totals = probs.sum(axis=1, keepdims=True)
    # An all-zero row (every folder unknown to the only model available) becomes
    # uniform rather than NaN: "no idea" is the honest answer.
    uniform = np.full_like(probs, 1.0 / max(probs.shape[1], 1))
    return np.where(totals > 0, probs / np.where(totals > 0, totals, 1.0), uniform)


def uncertainty_measures(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: confidence (top-1 p), margin (top-1 minus top-2), entropy (nats)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape[1] == 1:
        top = probs[:, 0]
        return top, top.copy(), np.zeros(len(probs))
    top_two = -np.partition(-probs, 1, axis=1)[:, :2]
    safe = np.clip(probs, 1e-300, 1.0)
    entropy = -(probs * np.log(safe)).sum(axis=1)
    return top_two[:, 0], top_two[:, 0] - top_two[:, 1], np.maximum(entropy, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PredictionSummary:
    """What a Prediction row stores for one video."""

    top: list[tuple[Label, float]]  # best first
    predicted: Label
    confidence: float
    margin: float
    entropy: float  # nats; log(k) is "no idea"
    source: Source | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["top"] = [[label, p] for label, p in self.top]
        return data


def summarise(
    probs: np.ndarray,
    classes: Sequence[Label],
    *,
    top_k: int = 3,
    source: Source | None = None,
) -> list[PredictionSummary]:
    """Top-k folders with probabilities and the uncertainty numbers, one per row.

    Ties are broken by class order, so the same probabilities always give the same
    summary.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(classes):
        raise ValueError(f"probs must be (n, {len(classes)}), got {probs.shape}")
    confidence, margin, entropy = uncertainty_measures(probs)
    order = np.argsort(-probs, axis=1, kind="stable")[:, : max(1, min(top_k, len(classes)))]
    summaries: list[PredictionSummary] = []
    for row in range(len(probs)):
        # A folder at exactly 0 is one no model knows (e.g. unknown to the trained model,
        # with no zero-shot for this row): not a candidate, so not listed after the first.
        top = [(classes[j], float(probs[row, j])) for j in order[row] if probs[row, j] > 0]
        top = top or [(classes[order[row][0]], float(probs[row, order[row][0]]))]
        summaries.append(
            PredictionSummary(
                top=top,
                predicted=top[0][0],
                confidence=float(confidence[row]),
                margin=float(margin[row]),
                entropy=float(entropy[row]),
                source=source,
            )
        )
    return summaries


def predict_blended(
    *,
    X: np.ndarray,
    classes: Sequence[Label],
    label_counts: Mapping[Label, int],
    trained: TrainedClassifier | None,
    zero_shot: ZeroShotModel | None,
    config: BlendConfig | None = None,
    text_zero_shot: TextZeroShotModel | None = None,
    text: np.ndarray | None = None,
) -> BlendedPredictions:
    """Score pooled embeddings with whichever models exist and blend them.

    Pass ``zero_shot=None`` when the encoder has no usable text tower (the random-weight
    test model) and ``trained=None`` before the first successful retrain. ``text`` holds
    the videos' text-feature rows (one per row of ``X``, or one for all of them, e.g. a
    video's frames) for ``text_zero_shot``.
    """
    trained_probs = None if trained is None else trained.predict_proba(X)
    trained_classes = () if trained is None else trained.classes
    zero_shot_probs = None if zero_shot is None else zero_shot.predict_proba(X)
    zero_shot_classes = () if zero_shot is None else zero_shot.classes
    evidence = _text_evidence(text_zero_shot, text, len(X))
    if text_zero_shot is None or text is None or not evidence.any():
        return blend_probabilities(
            classes=classes,
            label_counts=label_counts,
            trained_probs=trained_probs,
            trained_classes=trained_classes,
            zero_shot_probs=zero_shot_probs,
            zero_shot_classes=zero_shot_classes,
            config=config,
        )
    classes = tuple(classes)
    rows = _text_rows(text, len(X))
    by_text = _aligned(text_zero_shot.predict_proba(rows), text_zero_shot.classes, classes)
    blend = partial(
        blend_probabilities,
        classes=classes,
        label_counts=label_counts,
        trained_classes=trained_classes,
        config=config,
    )
    if zero_shot_probs is not None:
        visual = _renormalised(_aligned(zero_shot_probs, zero_shot_classes, classes))
        combined = np.where(evidence[:, None], _renormalised(visual * by_text), visual)
        return blend(
            trained_probs=trained_probs, zero_shot_probs=combined, zero_shot_classes=classes
        )
    return _blend_rows_apart(
        blend=blend,
        classes=classes,
        trained_probs=trained_probs,
        by_text=by_text,
        evidence=evidence,
    )


def _text_rows(text: np.ndarray, n: int) -> np.ndarray:
    """One text row per embedding row: a video's single row serves all of its frames."""
    text = np.atleast_2d(np.asarray(text))
    return text if len(text) == n else np.repeat(text[:1], n, axis=0)


def _text_evidence(model: TextZeroShotModel | None, text: np.ndarray | None, n: int) -> np.ndarray:
    if model is None or text is None or n == 0:
        return np.zeros(n, dtype=bool)
    return model.has_evidence(_text_rows(text, n))


def _blend_rows_apart(
    *,
    blend: Callable[..., BlendedPredictions],
    classes: tuple[Label, ...],
    trained_probs: np.ndarray | None,
    by_text: np.ndarray,
    evidence: np.ndarray,
) -> BlendedPredictions:
    """No visual zero-shot: rows with text evidence blend with the text zero-shot, the
    others are the trained model's alone (as without text)."""
    with_text = blend(
        trained_probs=None if trained_probs is None else trained_probs[evidence],
        zero_shot_probs=by_text[evidence],
        zero_shot_classes=classes,
    )
    probs = np.zeros((len(evidence), len(with_text.classes)), dtype=np.float64)
    probs[evidence] = with_text.probs
    sources: list[Source] = [with_text.source] * len(evidence)
    if not evidence.all():
        without = blend(
            trained_probs=None if trained_probs is None else trained_probs[~evidence],
            zero_shot_probs=None,
        )
        probs[~evidence] = without.probs
        for row in np.flatnonzero(~evidence):
            sources[row] = without.source
    return BlendedPredictions(
        classes=with_text.classes,
        probs=probs,
        source=with_text.source,
        trained_weights=with_text.trained_weights,
        row_sources=tuple(sources),
    )
