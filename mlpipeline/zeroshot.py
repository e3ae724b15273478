"""Zero-shot folder scores from text prompts: works from day 0, with no labels at all.

Each folder has a few prompts (default: "a video of {name}" from the folder name). Their
CLIP text embeddings are averaged per folder (prompt ensembling, as in the CLIP paper),
re-normalised, and compared by cosine with the video embeddings; a softmax with the
model's logit scale (100 for the OpenAI/LAION CLIP models) turns cosines into folder
probabilities.

The text encoder belongs to mlpipeline/encoder.py; this module only takes a callable
``encode_text(list[str]) -> (n, d) L2-normalised array`` and a dict-like cache keyed by
(prompt, model_id), so a prompt is encoded once per model however often folders are
re-scored. The cache can be a plain dict or any MutableMapping the Django side backs
with the database.

Folders can also match what a video says and shows: ``TextZeroShotModel`` hashes each
folder's prompt words (and name) into the video text-feature space of mlpipeline.textfeatures
and scores videos by cosine with their transcript/on-screen text; mlpipeline.blend multiplies
those probabilities into the visual ones for videos with text (docs/text.md).

No Django imports here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass

import numpy as np

from mlpipeline.calibration import fit_temperature, softmax

__all__ = [
    "DEFAULT_LOGIT_SCALE",
    "DEFAULT_PROMPT_TEMPLATES",
    "EncodeText",
    "TextZeroShotModel",
    "ZeroShotModel",
    "build_text_zero_shot_model",
    "build_zero_shot_model",
    "calibrate_zero_shot",
    "default_prompts",
    "encode_prompts_cached",
    "folder_display_name",
    "prompt_keywords",
]

DEFAULT_LOGIT_SCALE = 100.0
DEFAULT_PROMPT_TEMPLATES: tuple[str, ...] = ("a video of {name}",)

EncodeText = Callable[[list[str]], np.ndarray]
TextEmbeddingCache = MutableMapping[tuple[str, str], np.ndarray]
Label = int | str


def folder_display_name(folder_name: str) -> str:
    """'street_food-2024' -> 'street food 2024': separators read as spaces by CLIP."""
    return re.sub(r"\s+", " ", re.sub(r"[_\-.]+", " ", folder_name)).strip()


def default_prompts(
    folder_name: str, *, templates: Sequence[str] = DEFAULT_PROMPT_TEMPLATES
) -> list[str]:
    """Prompts for a folder that has no prompts of its own."""
    name = folder_display_name(folder_name) or folder_name
    return [template.format(name=name) for template in templates]


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), np.float32(1e-12))


def encode_prompts_cached(
    prompts: Sequence[str],
    *,
    encode_text: EncodeText,
    model_id: str,
    cache: TextEmbeddingCache,
) -> np.ndarray:
    """(len(prompts), d) text embeddings, encoding only prompts missing from ``cache``.

    All misses go to ``encode_text`` in one call (one batch on the GPU).
    """
    missing = list(dict.fromkeys(p for p in prompts if (p, model_id) not in cache))
    if missing:
        encoded = np.asarray(encode_text(missing), dtype=np.float32)
        if encoded.shape[0] != len(missing):
            raise ValueError(f"encode_text returned {encoded.shape[0]} rows for {len(missing)}")
        for prompt, vector in zip(missing, encoded, strict=True):
            cache[(prompt, model_id)] = vector
    return _normalise_rows(np.stack([np.asarray(cache[(p, model_id)]) for p in prompts]))


@dataclass(frozen=True, eq=False, kw_only=True)
class ZeroShotModel:
    """Folder text vectors plus the softmax scale: a classifier with no training."""

    classes: tuple[Label, ...]
    text_vectors: np.ndarray  # (k, d) float32, unit rows
    logit_scale: float = DEFAULT_LOGIT_SCALE
    model_id: str = ""

    def similarities(self, X: np.ndarray) -> np.ndarray:
        """(n, k) cosine similarities of (any-norm) embeddings with each folder."""
        X = _normalise_rows(np.atleast_2d(X))
        if X.shape[1] != self.text_vectors.shape[1]:
            raise ValueError(
                f"embeddings are {X.shape[1]}-dim, text vectors {self.text_vectors.shape[1]}-dim"
            )
        return X @ self.text_vectors.T

    def logits(self, X: np.ndarray) -> np.ndarray:
        return self.logit_scale * self.similarities(X).astype(np.float64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, k) folder probabilities for pooled video embeddings."""
        return softmax(self.logits(X))

    def frame_similarities(self, frame_embeddings: np.ndarray) -> np.ndarray:
        """(t, k) cosine per frame and folder: raw material for segments."""
        return self.similarities(frame_embeddings)

    def frame_probabilities(self, frame_embeddings: np.ndarray) -> np.ndarray:
        """(t, k) per-frame softmax over folders: a frame-level 'which folder is this'.

        Probabilities are easier to threshold than cosines (whose level depends on the
        model and the prompt), so segments usually take a column of this.
        """
        return softmax(self.logits(frame_embeddings))

    def with_logit_scale(self, logit_scale: float) -> ZeroShotModel:
        """Copy with another scale, e.g. 100 / T after fitting a temperature on labels."""
        return ZeroShotModel(
            classes=self.classes,
            text_vectors=self.text_vectors,
            logit_scale=float(logit_scale),
            model_id=self.model_id,
        )


def build_zero_shot_model(
    *,
    folder_names: Mapping[Label, str],
    encode_text: EncodeText,
    model_id: str,
    cache: TextEmbeddingCache,
    folder_prompts: Mapping[Label, Sequence[str]] | None = None,
    logit_scale: float = DEFAULT_LOGIT_SCALE,
    templates: Sequence[str] = DEFAULT_PROMPT_TEMPLATES,
) -> ZeroShotModel:
    """Zero-shot model over the folders in ``folder_names`` (id -> folder name).

    ``folder_prompts`` overrides the default prompts for some folders (empty lists and
    blank strings are ignored, so a cleared prompt field falls back to the name).
    Class order is the order of ``folder_names``.
    """
    if not folder_names:
        raise ValueError("zero-shot needs at least one folder")
    prompts_per_folder: dict[Label, list[str]] = {}
    for folder_id, name in folder_names.items():
        custom = [p.strip() for p in (folder_prompts or {}).get(folder_id, ()) if p.strip()]
        prompts_per_folder[folder_id] = custom or default_prompts(name, templates=templates)

    all_prompts = [p for prompts in prompts_per_folder.values() for p in prompts]
    vectors = encode_prompts_cached(
        all_prompts, encode_text=encode_text, model_id=model_id, cache=cache
    )
    folder_vectors: list[np.ndarray] = []
    start = 0
    for prompts in prompts_per_folder.values():
        # Mean of unit vectors, then re-normalised: the centroid direction of the
        # prompts, so a folder with five prompts is not "bigger" than one with one.
        folder_vectors.append(vectors[start : start + len(prompts)].mean(axis=0))
        start += len(prompts)
    return ZeroShotModel(
        classes=tuple(prompts_per_folder),
        text_vectors=_normalise_rows(np.stack(folder_vectors)),
        logit_scale=float(logit_scale),
        model_id=model_id,
    )


# Fewer labelled videos than this: keep the model's own logit scale. One parameter is
# cheap to fit, but on a handful of videos it follows their noise.
MIN_LABELS_FOR_ZERO_SHOT_CALIBRATION = 10


def calibrate_zero_shot(
    model: ZeroShotModel,
    *,
    X: np.ndarray,
    y: Sequence[Label],
    min_labels: int = MIN_LABELS_FOR_ZERO_SHOT_CALIBRATION,
) -> ZeroShotModel:
    """Copy of ``model`` whose logit scale is fitted (temperature scaling) on labelled
    videos, so that its probabilities can be mixed with the trained model's.

    CLIP's scale of 100 was fitted to image-caption pairs, not to this library's
    folders: on pooled video embeddings and short folder names it is often far too
    confident or too timid, and a mis-scaled side dominates any probability blend.
    The zero-shot model is not trained on these labels, so fitting its one scalar on
    all of them is not leakage. Videos whose folder is unknown to ``model`` are ignored.
    """
    index_of = {c: i for i, c in enumerate(model.classes)}
    rows = [i for i, label in enumerate(y) if label in index_of]
    if len(rows) < min_labels:
        return model
    label_indices = np.array([index_of[y[i]] for i in rows], dtype=np.int64)
    temperature = fit_temperature(model.logits(np.asarray(X)[rows]), label_indices)
    return model.with_logit_scale(model.logit_scale / temperature)


# --- Matching folders against what a video says and shows ------------------------------

# Words of a prompt that say nothing about a folder ("a video of {name}").
PROMPT_FILLER_WORDS = frozenset(
    {"video", "videos", "clip", "clips", "footage", "film", "movie", "photo", "picture", "shot"}
)
# Cosine (hashing words + character n-grams, mlpipeline.textfeatures) below which a folder's
# words and a video's text count as unrelated: character n-grams shared by unrelated English
# reach about 0.04-0.07; a folder word said or shown once in 2 sentences + 2 captions, 0.12-0.4.
DEFAULT_TEXT_MIN_SIMILARITY = 0.07
# Logits per unit of cosine above that floor: 0.1 above it makes a folder e^3 = 20 times
# likelier than one with no match. Fixed rather than fitted on labels: the folders that have
# labels are rarely named in their own videos' text, so a fit would switch the text side off
# for exactly the new, unlabelled folders it is for.
DEFAULT_TEXT_LOGIT_SCALE = 30.0

Featurize = Callable[[list[str]], np.ndarray]


def prompt_keywords(prompts: Sequence[str]) -> str:
    """The words of ``prompts`` that can be said or written in a video: lower case, without
    English stop words and filler ("a video of street food" -> "street food")."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = re.findall(r"[^\W_]+", " ".join(prompts).lower())
    skip = ENGLISH_STOP_WORDS | PROMPT_FILLER_WORDS
    return " ".join(dict.fromkeys(w for w in words if w not in skip))


@dataclass(frozen=True, eq=False, kw_only=True)
class TextZeroShotModel:
    """Folder keyword vectors in the video text-feature space: zero-shot on transcripts and
    on-screen text. A video whose text matches no folder has no text evidence (uniform)."""

    classes: tuple[Label, ...]
    keyword_vectors: np.ndarray  # (k, d) float32, unit rows (zero for a folder without words)
    logit_scale: float = DEFAULT_TEXT_LOGIT_SCALE
    min_similarity: float = DEFAULT_TEXT_MIN_SIMILARITY

    def scores(self, T: np.ndarray) -> np.ndarray:
        """(n, k) cosine above the floor (0 = no match) of video text rows with each folder."""
        T = np.atleast_2d(np.asarray(T, dtype=np.float32))
        if T.shape[1] != self.keyword_vectors.shape[1]:
            raise ValueError(
                f"text rows are {T.shape[1]}-dim, keyword vectors "
                f"{self.keyword_vectors.shape[1]}-dim"
            )
        cosine = _normalise_rows(T) @ self.keyword_vectors.T
        return np.maximum(cosine.astype(np.float64) - self.min_similarity, 0.0)

    def has_evidence(self, T: np.ndarray) -> np.ndarray:
        """(n,) bool: the video's text matches at least one folder."""
        return self.scores(T).max(axis=1, initial=0.0) > 0.0

    def predict_proba(self, T: np.ndarray) -> np.ndarray:
        """(n, k) folder probabilities from text alone (uniform where nothing matches)."""
        return softmax(self.logit_scale * self.scores(T))


def build_text_zero_shot_model(
    *,
    folder_names: Mapping[Label, str],
    featurize: Featurize,
    folder_prompts: Mapping[Label, Sequence[str]] | None = None,
    templates: Sequence[str] = DEFAULT_PROMPT_TEMPLATES,
    logit_scale: float = DEFAULT_TEXT_LOGIT_SCALE,
    min_similarity: float = DEFAULT_TEXT_MIN_SIMILARITY,
) -> TextZeroShotModel:
    """Text zero-shot over ``folder_names`` (id -> name), class order as given.

    ``featurize`` must be what makes the video rows (e.g. ``TextFeaturizer.transform``), so
    folder keywords and video texts share one space. Each folder's keywords come from its
    prompts (as for the visual side, blank ones ignored) and its name.
    """
    if not folder_names:
        raise ValueError("zero-shot needs at least one folder")
    documents: list[str] = []
    for folder_id, name in folder_names.items():
        custom = [p.strip() for p in (folder_prompts or {}).get(folder_id, ()) if p.strip()]
        prompts = custom or default_prompts(name, templates=templates)
        documents.append(prompt_keywords([*prompts, folder_display_name(name)]))
    return TextZeroShotModel(
        classes=tuple(folder_names),
        keyword_vectors=_normalise_rows(np.asarray(featurize(documents), dtype=np.float32)),
        logit_scale=float(logit_scale),
        min_similarity=float(min_similarity),
    )
