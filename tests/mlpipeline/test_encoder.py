from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlpipeline.encoder import (
    EncoderConfig,
    EncoderUnavailableError,
    create_encoder,
    get_encoder,
    resolve_device,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def fixed_frames(count: int = 6, size: int = 224) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, size=(count, size, size, 3), dtype=np.uint8)


def test_tiny_encoder_gives_unit_float32_vectors(tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    vectors = tiny_encoder.encode_images(fixed_frames())

    assert vectors.dtype == np.float32
    assert vectors.shape == (6, tiny_encoder.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert tiny_encoder.model_id == "vidsort-tiny/random20240601"
    assert tiny_encoder.has_text_alignment is False


def test_text_vectors_share_the_image_space(tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    vectors = tiny_encoder.encode_text(["soccer", "cooking", "a cat on a sofa"])

    assert vectors.shape == (3, tiny_encoder.embed_dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_query_encodes_like_the_padded_text(tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    # encode_query runs only the tokens up to end-of-text; the result must not change.
    for text in ["a red ball", "x", "a much longer query about several things " * 3]:
        query = tiny_encoder.encode_query(text)

        assert query.dtype == np.float32 and query.shape == (tiny_encoder.embed_dim,)
        np.testing.assert_allclose(query, tiny_encoder.encode_text([text])[0], atol=1e-5)


def test_batch_size_does_not_change_the_features(tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    frames = fixed_frames(count=10)
    reference = tiny_encoder.encode_images(frames)
    saved = tiny_encoder.batch_size
    try:
        tiny_encoder.batch_size = 3
        in_small_batches = tiny_encoder.encode_images(frames)
    finally:
        tiny_encoder.batch_size = saved

    np.testing.assert_allclose(in_small_batches, reference, atol=1e-5)


def test_frames_of_another_size_are_resized_on_the_device(tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    vectors = tiny_encoder.encode_images(fixed_frames(count=2, size=96))

    assert vectors.shape == (2, tiny_encoder.embed_dim)


def test_get_encoder_loads_once_per_config(tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    assert get_encoder(tiny_encoder.config) is tiny_encoder


def test_auto_device_falls_back_to_cpu_without_an_accelerator() -> None:
    import torch

    expected = "cuda" if torch.cuda.is_available() else None
    assert resolve_device("auto").type in ({expected} if expected else {"cpu", "mps"})
    assert resolve_device("cpu").type == "cpu"


def test_config_validation_names_the_bad_value() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        EncoderConfig(batch_size=0).validate()
    with pytest.raises(ValueError, match="precision"):
        EncoderConfig(precision="fp8").validate()


def assert_says_what_to_set(message: str) -> None:
    assert "VIDSORT_CLIP_PRETRAINED" in message
    assert "VIDSORT_CLIP_MODEL=vidsort-tiny" in message
    assert "network" in message
    assert "\n" not in message


def test_missing_weights_file_says_what_to_set(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "open_clip_model.safetensors"

    with pytest.raises(EncoderUnavailableError) as raised:
        create_encoder(EncoderConfig(pretrained=str(missing), device="cpu"))

    assert str(missing) in str(raised.value) and "no such file" in str(raised.value)
    assert_says_what_to_set(str(raised.value))


def test_corrupt_weights_file_says_what_to_set(tmp_path: Path) -> None:
    corrupt = tmp_path / "open_clip_model.bin"
    corrupt.write_bytes(b"<html>rate limited</html>" * 40)  # what a failed download often leaves

    with pytest.raises(EncoderUnavailableError) as raised:
        create_encoder(EncoderConfig(pretrained=str(corrupt), device="cpu"))

    assert "not a valid" in str(raised.value)
    assert_says_what_to_set(str(raised.value))


def test_unknown_model_name_is_refused() -> None:
    with pytest.raises(EncoderUnavailableError, match="Unknown CLIP model 'ViT-Q-99'"):
        create_encoder(EncoderConfig(model_name="ViT-Q-99", pretrained="", device="cpu"))


CHILD_SCRIPT = """
import json, logging, sys
import numpy as np
logging.disable(logging.WARNING)
from mlpipeline.encoder import EncoderConfig, EncoderUnavailableError, create_encoder
frames = np.random.default_rng(7).integers(0, 256, size=(6, 224, 224, 3), dtype=np.uint8)
encoder = create_encoder(EncoderConfig(model_name="vidsort-tiny", pretrained="", device="cpu"))
report = {"features": encoder.encode_images(frames).tolist(), "model_id": encoder.model_id}
try:
    create_encoder(EncoderConfig(pretrained="laion2b_s34b_b79k", device="cpu", cache_dir=sys.argv[1]))
    report["offline_error"] = None
except EncoderUnavailableError as error:
    report["offline_error"] = str(error)
print(json.dumps(report))
"""


def test_tiny_model_is_identical_in_another_process_and_offline_download_fails_clearly(
    tiny_encoder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    # One child process for both checks: importing torch dominates its run time.
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run(
        [sys.executable, "-c", CHILD_SCRIPT, str(tmp_path / "clip-cache")],
        capture_output=True, text=True, env=environment, cwd=REPO_ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])

    assert report["model_id"] == tiny_encoder.model_id
    np.testing.assert_array_equal(
        np.array(report["features"], dtype=np.float32), tiny_encoder.encode_images(fixed_frames())
    )
    assert report["offline_error"] is not None
    assert "laion2b_s34b_b79k" in report["offline_error"]
    assert str(tmp_path / "clip-cache") in report["offline_error"]
    assert_says_what_to_set(report["offline_error"])


def test_out_of_memory_halves_the_batch_and_keeps_the_results(
    tiny_encoder, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import torch

    frames = np.random.default_rng(3).integers(0, 256, size=(10, 64, 64, 3), dtype=np.uint8)
    expected = tiny_encoder.encode_images(frames)
    real_encode_image = tiny_encoder.model.encode_image
    seen_batches: list[int] = []

    def encode_image_with_little_memory(batch):  # type: ignore[no-untyped-def]
        # Fault injection: a device that cannot hold more than 3 images at once.
        seen_batches.append(len(batch))
        if len(batch) > 3:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return real_encode_image(batch)

    monkeypatch.setattr(tiny_encoder.model, "encode_image", encode_image_with_little_memory)
    monkeypatch.setattr(tiny_encoder, "batch_size", 16)

    got = tiny_encoder.encode_images(frames)

    assert seen_batches[:4] == [10, 8, 4, 2]  # 16 -> 8 -> 4 -> 2: halved until it fits
    assert tiny_encoder.batch_size == 2  # and kept for the rest of the process
    np.testing.assert_allclose(got, expected, atol=1e-5)
