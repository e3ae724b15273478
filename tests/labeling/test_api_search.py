"""GET /api/search: ?q=<text> and ?like=<video id>, ranked by cosine similarity."""

from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from labeling.models import Embedding, Folder, Video
from labeling.selectors import search
from labeling.services.extraction import encoder_config, encoder_get
from labeling.services.search import configured_model_id
from mlpipeline.embeddings import pack_vector

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tiny_model")]

DIM = 64


@pytest.fixture(autouse=True)
def _fresh_matrix():
    search.matrix_cache_clear()
    yield
    search.matrix_cache_clear()


@pytest.fixture
def model_id(library) -> str:
    return configured_model_id(encoder_config())


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.fixture
def vectors(library, model_id) -> dict[int, np.ndarray]:
    """40 videos with random unit vectors (a 41st has none); 10 of them sorted into 'cats'."""
    rng = np.random.default_rng(3)
    cats = Folder.objects.create(library=library, name="cats", key=1)
    out = {}
    for i in range(41):
        video = Video.objects.create(
            library=library,
            path=f"v{i:03}.mp4" if i >= 10 else f"cats/v{i:03}.mp4",
            filename=f"v{i:03}.mp4",
            content_hash=f"h{i}",
            folder=cats if i < 10 else None,
        )
        if i == 40:
            continue
        vector = _unit(rng.normal(size=DIM))
        Embedding.objects.create(
            video=video,
            model_id=model_id,
            content_hash=video.content_hash,
            dim=DIM,
            vector=pack_vector(vector),
            frame_vectors=pack_vector(vector[None]),
            frame_times=[0.0],
        )
        out[video.pk] = vector
    return out


def _expected(
    vectors: dict[int, np.ndarray], query: np.ndarray, exclude: int | None = None
) -> list[int]:
    scored = [(-float(v @ query), pk) for pk, v in vectors.items() if pk != exclude]
    return [pk for _, pk in sorted(scored)]


def test_anonymous_is_refused(library):
    assert APIClient().get("/api/search", {"like": 1}).status_code in (401, 403)


def test_like_ranks_by_cosine_similarity_and_leaves_out_the_video_itself(api, vectors):
    first = next(iter(vectors))
    body = api.get("/api/search", {"like": first, "limit": 5}).json()
    assert [r["id"] for r in body["results"]] == _expected(vectors, vectors[first], exclude=first)[
        :5
    ]
    assert body["searched"] == 40 and body["count"] == 5 and body["like"] == first
    top = body["results"][0]
    assert top["score"] == pytest.approx(float(vectors[top["id"]] @ vectors[first]), abs=1e-5)
    assert top["url"] == f"/media/videos/{top['id']}" and "top_predictions" in top


def test_folder_filter_and_default_limit(api, vectors):
    first = next(iter(vectors))
    body = api.get("/api/search/", {"like": first, "folder": "unsorted"}).json()
    assert body["count"] == 20 and all(r["folder"] is None for r in body["results"])
    cats = Folder.objects.get(name="cats")
    body = api.get("/api/search", {"like": first, "folder": cats.pk, "limit": 100}).json()
    assert body["count"] == 9 and {r["folder"] for r in body["results"]} == {"cats"}


def test_text_search_is_refused_with_random_weights(api, vectors):
    response = api.get("/api/search", {"q": "a cat on a sofa"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "unprocessable"
    assert (
        "text search needs a CLIP model with pretrained weights; vidsort-tiny has none"
        in body["detail"]
    )


def test_text_search_ranks_by_the_encoded_text(api, library, model_id, settings):
    # The bench-only switch lets the random-weight model answer: the ranking is then
    # meaningless, but the path (encode, rank, fetch) is the real one.
    settings.VIDSORT_SEARCH_RANDOM_TEXT = True
    encoder = encoder_get()
    rng = np.random.default_rng(5)
    stored = {}
    for i in range(12):
        video = Video.objects.create(
            library=library, path=f"t{i}.mp4", filename=f"t{i}.mp4", content_hash=f"t{i}"
        )
        vector = _unit(rng.normal(size=encoder.embed_dim))
        Embedding.objects.create(
            video=video,
            model_id=encoder.model_id,
            content_hash=video.content_hash,
            dim=encoder.embed_dim,
            vector=pack_vector(vector),
            frame_vectors=pack_vector(vector[None]),
        )
        stored[video.pk] = vector
    query = encoder.encode_text(["a red ball"])[0]
    # The short-sequence query encoding equals the full 77-token one.
    for text in ["a red ball", "x", "a much longer query about several things " * 3]:
        assert np.allclose(encoder.encode_query(text), encoder.encode_text([text])[0], atol=1e-5)
    body = api.get("/api/search", {"q": "a red ball", "limit": 4}).json()
    assert body["query"] == "a red ball" and body["model_id"] == encoder.model_id
    assert [r["id"] for r in body["results"]] == _expected(stored, query)[:4]


def test_the_matrix_follows_new_and_deleted_embeddings(api, vectors, library, model_id):
    first = next(iter(vectors))
    assert api.get("/api/search", {"like": first}).json()["searched"] == 40
    twin = Video.objects.create(
        library=library, path="twin.mp4", filename="twin.mp4", content_hash="tw"
    )
    Embedding.objects.create(
        video=twin,
        model_id=model_id,
        content_hash="tw",
        dim=DIM,
        vector=pack_vector(vectors[first]),
        frame_vectors=pack_vector(vectors[first][None]),
    )
    body = api.get("/api/search", {"like": first, "limit": 1}).json()
    assert body["searched"] == 41 and body["results"][0]["id"] == twin.pk
    assert body["results"][0]["score"] == pytest.approx(1.0, abs=1e-5)
    Embedding.objects.filter(video=twin).delete()
    body = api.get("/api/search", {"like": first, "limit": 1}).json()
    assert body["searched"] == 40 and body["results"][0]["id"] != twin.pk


def test_missing_and_changed_files_are_left_out(api, vectors):
    first, second, third = list(vectors)[:3]
    Video.objects.filter(pk=second).update(status=Video.Status.MISSING)
    Video.objects.filter(pk=third).update(content_hash="changed")  # awaits re-extraction
    search.matrix_cache_clear()
    ids = [r["id"] for r in api.get("/api/search", {"like": first, "limit": 100}).json()["results"]]
    assert second not in ids and third not in ids and len(ids) == 37


def test_bad_input_is_a_400_or_404_or_422(api, vectors):
    no_embedding = Video.objects.get(filename="v040.mp4")
    cases = [
        ({}, 400),
        ({"q": "x", "like": 1}, 400),
        ({"like": "abc"}, 400),
        ({"like": 0}, 400),
        ({"like": 1, "limit": 0}, 400),
        ({"like": 1, "limit": 101}, 400),
        ({"q": "x" * 301}, 400),
        ({"like": 1, "folder": "../x"}, 400),
        ({"q": "   "}, 400),
        ({"like": 999999}, 404),
        ({"like": 99999999999999999999}, 400),
        ({"like": no_embedding.pk}, 422),
    ]
    for params, expected in cases:
        response = api.get("/api/search", params)
        assert response.status_code == expected, (params, response.content)
        assert set(response.json()) >= {"error", "detail"}


def test_an_empty_library_answers_no_results(api, library, model_id):
    video = Video.objects.create(
        library=library, path="only.mp4", filename="only.mp4", content_hash="o"
    )
    vector = _unit(np.ones(DIM))
    Embedding.objects.create(
        video=video,
        model_id=model_id,
        content_hash="o",
        dim=DIM,
        vector=pack_vector(vector),
        frame_vectors=pack_vector(vector[None]),
    )
    body = api.get("/api/search", {"like": video.pk}).json()
    assert body["count"] == 0 and body["results"] == []
