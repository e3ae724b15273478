"""Text -> feature vectors, fused with the visual embedding for training and prediction.

Choices (measured by bench/text.py, figures in docs/text.md):

* ``hashing`` (default): scikit-learn's HashingVectorizer on word unigrams + bigrams and character
  3-5-grams inside words. No vocabulary, no weights, nothing fitted: a video's vector depends on its
  own text only, so it can be stored per content hash like an embedding, and character n-grams
  forgive the recogniser's near-misses ("HOTEI", "strikers").
* ``tfidf``: TfidfVectorizer fitted on the library's texts (no labels involved). Needs refitting
  when the library changes, so its vectors cannot be stored per video.
* ``clip``: the CLIP text tower (``Encoder.encode_text``), meaningful only for a text-aligned model;
  the offline tiny model has random weights and gives noise.

``fuse_features`` concatenates the L2-normalised visual block with the weighted L2-normalised text
block; mlpipeline.classifier takes the result as it is (it L2-normalises rows, which keeps the
blocks' relative weight). A video without text has a zero text block, so it is classified on its
pixels alone.

No Django imports here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

FEATURE_KINDS: tuple[str, ...] = ("hashing", "tfidf", "clip")
DEFAULT_TEXT_WEIGHT = 1.0


def video_document(*, transcript: str = "", on_screen: Iterable[str] = ()) -> str:
    """One text per video: what is said, then what is written, lower case."""
    parts = [transcript, *on_screen]
    return re.sub(r"\s+", " ", " ".join(part for part in parts if part)).strip().lower()


class TextEncoder(Protocol):
    def encode_text(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class TextFeatureConfig:
    kind: str = "hashing"
    n_features: int = 2**12  # hashing: columns (float32: 16 KB per video)
    char_ngrams: bool = True  # hashing/tfidf: add character 3-5-grams inside words

    def validate(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"kind must be one of {FEATURE_KINDS}, not {self.kind!r}")

    @property
    def feature_id(self) -> str:
        """Identifies the vectors this config makes (a stored vector's cache key, with the text)."""
        chars = "-char" if self.char_ngrams else ""
        if self.kind == "hashing":
            return f"hashing-{self.n_features}{chars}-v1"
        return f"{self.kind}{chars}-v1"


def _word_vectorizer(config: TextFeatureConfig, *, fitted: bool) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

    if fitted:
        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    return HashingVectorizer(
        n_features=config.n_features, ngram_range=(1, 2), alternate_sign=False, norm="l2"
    )


def _char_vectorizer(config: TextFeatureConfig, *, fitted: bool) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

    if fitted:
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    return HashingVectorizer(
        n_features=config.n_features,
        analyzer="char_wb",
        ngram_range=(3, 5),
        alternate_sign=False,
        norm="l2",
    )


class TextFeaturizer:
    """Documents -> (n, d) float32 rows, L2-normalised; an empty document gives a zero row."""

    def __init__(self, config: TextFeatureConfig, *, encoder: TextEncoder | None = None) -> None:
        config.validate()
        if config.kind == "clip" and encoder is None:
            raise ValueError("kind 'clip' needs the CLIP encoder")
        self.config = config
        self._encoder = encoder
        fitted = config.kind == "tfidf"
        self._vectorizers = [_word_vectorizer(config, fitted=fitted)]
        if config.char_ngrams:
            self._vectorizers.append(_char_vectorizer(config, fitted=fitted))
        self._fitted = not fitted

    def fit(self, documents: Sequence[str]) -> TextFeaturizer:
        """tfidf only: learn vocabulary and weights from the library's texts (no labels)."""
        if self.config.kind == "tfidf":
            corpus = [doc for doc in documents if doc] or ["empty"]
            for vectorizer in self._vectorizers:
                vectorizer.fit(corpus)
            self._fitted = True
        return self

    def transform(self, documents: Sequence[str]) -> np.ndarray:
        if self.config.kind == "clip":
            return self._clip(documents)
        if not self._fitted:
            raise RuntimeError("tfidf features need fit() first")
        blocks = [vectorizer.transform(list(documents)) for vectorizer in self._vectorizers]
        dense = np.hstack([block.toarray().astype(np.float32) for block in blocks])
        return _l2_rows(dense)

    def _clip(self, documents: Sequence[str]) -> np.ndarray:
        assert self._encoder is not None
        vectors = self._encoder.encode_text([doc or " " for doc in documents])
        vectors = np.asarray(vectors, dtype=np.float32)
        empty = np.array([not doc for doc in documents], dtype=bool)
        vectors[empty] = 0.0
        return _l2_rows(vectors)


def _l2_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.maximum(norms, np.float32(1e-12))).astype(np.float32)


def fuse_features(
    visual: np.ndarray, text: np.ndarray, *, text_weight: float = DEFAULT_TEXT_WEIGHT
) -> np.ndarray:
    """[visual / |visual|, text_weight * text / |text|] per row: the classifier's input.

    ``text_weight`` is the text block's norm relative to the visual block's (1 = equal say).
    """
    visual = np.asarray(visual, dtype=np.float32)
    text = np.asarray(text, dtype=np.float32)
    if len(visual) != len(text):
        raise ValueError(f"{len(visual)} visual rows but {len(text)} text rows")
    if text_weight < 0:
        raise ValueError("text_weight must not be negative")
    return np.hstack([_l2_rows(visual), np.float32(text_weight) * _l2_rows(text)])


def text_features(
    documents: Sequence[str],
    *,
    config: TextFeatureConfig | None = None,
    encoder: TextEncoder | None = None,
) -> np.ndarray:
    """Convenience: featurise ``documents`` (tfidf is fitted on them; no labels are used)."""
    featurizer = TextFeaturizer(config or TextFeatureConfig(), encoder=encoder)
    return featurizer.fit(documents).transform(documents)
