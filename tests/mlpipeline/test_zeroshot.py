"""Zero-shot: prompts, caching by (prompt, model id), nearest folder, frame scores."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipeline.zeroshot import (
    ZeroShotModel,
    build_zero_shot_model,
    calibrate_zero_shot,
    default_prompts,
    folder_display_name,
)

WORDS = {"soccer": 0, "cooking": 1, "cats": 2, "kitchen": 3}


class FakeTextEncoder:
    """One axis per known word; counts calls and prompts to check the cache."""

    def __init__(self, dim: int = 8) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    def __call__(self, prompts: list[str]) -> np.ndarray:
        self.calls.append(list(prompts))
        out = np.zeros((len(prompts), self.dim), dtype=np.float32)
        for row, prompt in enumerate(prompts):
            for word, axis in WORDS.items():
                if word in prompt:
                    out[row, axis] = 1.0
            out[row, self.dim - 1] = 0.1  # a shared "a video of" component
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_default_prompts_read_separators_as_spaces():
    assert folder_display_name("street_food-2024") == "street food 2024"
    assert default_prompts("funny_cats") == ["a video of funny cats"]
    assert default_prompts("x", templates=("{name}!", "a clip of {name}")) == ["x!", "a clip of x"]


def test_it_picks_the_folder_whose_prompt_is_closest():
    model = build_zero_shot_model(
        folder_names={1: "soccer", 2: "cooking", 3: "cats"},
        encode_text=FakeTextEncoder(),
        model_id="fake",
        cache={},
    )
    videos = np.zeros((3, 8), dtype=np.float32)
    videos[0, 2] = 1.0  # a cat video
    videos[1, 0] = 1.0  # soccer
    videos[2, 1] = 0.9  # cooking, with something else in it
    videos[2, 5] = 0.3
    probs = model.predict_proba(videos)
    assert probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert [model.classes[i] for i in probs.argmax(axis=1)] == [3, 1, 2]
    assert probs.max() > 0.99  # logit scale 100 is sharp


def test_it_encodes_each_prompt_once_per_model():
    encoder = FakeTextEncoder()
    cache: dict = {}
    folders = {1: "soccer", 2: "cooking"}
    build_zero_shot_model(folder_names=folders, encode_text=encoder, model_id="m1", cache=cache)
    build_zero_shot_model(folder_names=folders, encode_text=encoder, model_id="m1", cache=cache)
    assert len(encoder.calls) == 1
    assert set(cache) == {("a video of soccer", "m1"), ("a video of cooking", "m1")}
    build_zero_shot_model(folder_names=folders, encode_text=encoder, model_id="m2", cache=cache)
    assert len(encoder.calls) == 2


def test_folder_vector_is_the_normalised_mean_of_its_prompts():
    model = build_zero_shot_model(
        folder_names={7: "food"},
        folder_prompts={7: ["cooking", "kitchen", "  "]},
        encode_text=FakeTextEncoder(),
        model_id="fake",
        cache={},
    )
    encoder = FakeTextEncoder()
    expected = encoder(["cooking", "kitchen"]).mean(axis=0)
    np.testing.assert_allclose(
        model.text_vectors[0], expected / np.linalg.norm(expected), rtol=1e-6
    )


def test_blank_custom_prompts_fall_back_to_the_folder_name():
    encoder = FakeTextEncoder()
    build_zero_shot_model(
        folder_names={1: "soccer"},
        folder_prompts={1: ["", " "]},
        encode_text=encoder,
        model_id="fake",
        cache={},
    )
    assert encoder.calls == [["a video of soccer"]]


def test_frame_scores_are_per_frame_and_per_folder():
    model = ZeroShotModel(classes=("a", "b"), text_vectors=np.eye(2, dtype=np.float32))
    frames = np.array([[1, 0], [0.7, 0.7], [0, 1]], dtype=np.float32)
    similarities = model.frame_similarities(frames)
    np.testing.assert_allclose(similarities, [[1, 0], [0.7071, 0.7071], [0, 1]], atol=1e-4)
    probabilities = model.frame_probabilities(frames)
    assert probabilities[0, 0] > 0.99 and probabilities[2, 1] > 0.99
    np.testing.assert_allclose(probabilities[1], [0.5, 0.5])
    with pytest.raises(ValueError):
        model.similarities(np.ones((1, 3)))


def test_calibration_softens_an_overconfident_zero_shot_model():
    rng = np.random.default_rng(0)
    text = np.eye(4, 16, dtype=np.float32)
    labels = rng.integers(0, 4, size=400)
    videos = 0.15 * text[labels] + rng.standard_normal((400, 16)).astype(np.float32) * 0.1
    model = ZeroShotModel(classes=(0, 1, 2, 3), text_vectors=text)
    calibrated = calibrate_zero_shot(model, X=videos, y=labels.tolist())
    assert calibrated.logit_scale < model.logit_scale
    assert calibrate_zero_shot(model, X=videos[:5], y=labels[:5].tolist()) is model
