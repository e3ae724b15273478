"""POST /api/sort, /api/sort/bulk, /api/undo, /api/autofile: codes, effects, auth, CSRF."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.models import Classifier, Folder, LabelEvent, MoveIntent, Prediction, Video

pytestmark = pytest.mark.django_db


def vid(path: str) -> Video:
    return Video.objects.get(path=path)


def test_sort_by_id_moves_and_answers_the_old_shape(api, lib, library_dir, user):
    dogs = Folder.objects.get(name="dogs")
    response = api.post(
        "/api/sort", {"video": vid("clip.mp4").pk, "folder": dogs.pk}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["success"] is True and body["filename"] == "clip.mp4" and body["folder"] == "dogs"
    assert body["path"] == "dogs/clip.mp4" and body["video"] == vid("dogs/clip.mp4").pk
    assert {"id": dogs.pk, "name": "dogs", "count": 1, "key": None} in body["folders"]
    event = LabelEvent.objects.get(pk=body["event"])
    assert (event.user, event.route) == (user, "api")
    assert (library_dir / "dogs/clip.mp4").exists()


SORT_KEYS = {"success", "filename", "folder", "folders"} | {
    "video",
    "path",
    "moved",
    "renamed",
    "event",
}


def test_sort_keys_are_pinned_and_match_the_schema(api, lib):
    body = api.post("/api/sort", {"filename": "clip.mp4", "folder": "dogs"}, format="json").json()
    assert set(body) == SORT_KEYS  # the old script's four, then VidSort's
    assert body["folders"] and all(
        set(f) == {"id", "name", "count", "key"} for f in body["folders"]
    )
    undo = api.post("/api/undo", {}, format="json").json()
    assert set(undo) == SORT_KEYS | {"undone"}
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    result = schema["components"]["schemas"]["SortResult"]
    assert set(result["properties"]) == set(result["required"]) == SORT_KEYS
    operation = schema["paths"]["/api/sort/"]["post"]["responses"]["200"]
    assert operation["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SortResult"
    }


def test_sort_by_filename_and_name_with_a_trailing_slash(api, lib):
    response = api.post("/api/sort/", {"filename": "clip.mp4", "folder": "cats"}, format="json")
    assert response.status_code == 200 and response.json()["path"] == "cats/clip.mp4"


def test_unsort_with_null(api, lib):
    response = api.post(
        "/api/sort", {"video": vid("cats/tom.mp4").pk, "folder": None}, format="json"
    )
    assert response.status_code == 200 and response.json()["folder"] is None
    assert vid("tom.mp4").folder is None


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"video": 999999, "folder": "dogs"}, 404),
        ({"filename": "../../etc/passwd", "folder": "dogs"}, 404),
        ({"filename": "nope.mp4", "folder": "dogs"}, 404),
        ({"filename": "clip.mp4", "folder": "../../etc"}, 404),
        ({"filename": "clip.mp4", "folder": 424242}, 404),
        ({"filename": "clip.mp4"}, 400),
        ({"folder": "dogs"}, 400),
        ({"video": "abc", "folder": "dogs"}, 400),
        ({"video": 1, "folder": [1]}, 400),
        ({"filename": "a\x00b.mp4", "folder": "dogs"}, 400),
    ],
)
def test_bad_input_gets_the_error_shape(api, lib, payload, code):
    response = api.post("/api/sort", payload, format="json")
    assert response.status_code == code, response.content
    body = response.json()
    assert set(body) >= {"error", "detail"} and body["detail"]
    assert MoveIntent.objects.count() == 0


def test_a_stale_expected_folder_is_a_conflict(api, lib):
    response = api.post(
        "/api/sort",
        {"video": vid("cats/tom.mp4").pk, "folder": "dogs", "expected_folder": None},
        format="json",
    )
    assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert vid("cats/tom.mp4")


def test_anonymous_is_refused(lib):
    for url in ["/api/sort", "/api/sort/bulk", "/api/undo", "/api/autofile"]:
        response = APIClient().post(
            url, {"video": vid("clip.mp4").pk, "folder": "dogs"}, format="json"
        )
        assert response.status_code in (401, 403), url
    assert vid("clip.mp4")


def test_token_auth_works(lib, user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = client.post("/api/sort", {"filename": "clip.mp4", "folder": "dogs"}, format="json")
    assert response.status_code == 200


def test_a_session_post_without_csrf_is_refused(lib, user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/sort", {"filename": "clip.mp4", "folder": "dogs"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert vid("clip.mp4").folder is None


def test_bulk_reports_partial_failure_item_by_item(api, lib):
    response = api.post(
        "/api/sort/bulk",
        {
            "items": [
                {"video": vid("clip.mp4").pk, "folder": "dogs"},
                {"video": 999999, "folder": "dogs"},
            ]
        },
        format="json",
    )
    assert response.status_code == 207
    body = response.json()
    assert body["success"] is False and body["moved"] == 1 and body["failed"] == 1
    assert [r["ok"] for r in body["results"]] == [True, False]
    assert body["results"][1]["error"] == "not_found"
    assert vid("dogs/clip.mp4")
    ok = api.post(
        "/api/sort/bulk/", {"items": [{"filename": "other.mp4", "folder": "cats"}]}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["success"] is True
    assert api.post("/api/sort/bulk", {"items": []}, format="json").status_code == 400


def test_bulk_over_the_item_limit_is_413_and_changes_nothing(api, lib):
    from labeling.api.sorting import BULK_MAX_ITEMS

    items = [{"video": vid("clip.mp4").pk, "folder": "dogs"}] * (BULK_MAX_ITEMS + 1)
    response = api.post("/api/sort/bulk", {"items": items}, format="json")
    assert response.status_code == 413
    assert response.json() == {
        "error": "too_large",
        "detail": f"at most {BULK_MAX_ITEMS} items per request",
    }
    assert vid("clip.mp4").folder is None


@pytest.mark.parametrize("url", ["/api/sort", "/api/sort/bulk"])
def test_a_body_over_data_upload_max_memory_size_is_413_json(user, lib, settings, url):
    # Django raises RequestDataTooBig; unmapped it was an HTML 400 page.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    items = [{"video": vid("clip.mp4").pk, "folder": "dogs" + "x" * 40}] * 50
    response = client.post(url, {"items": items, "video": vid("clip.mp4").pk}, format="json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "too_large",
        "detail": "The request body is larger than 1000 bytes.",
    }
    assert vid("clip.mp4").folder is None


def test_undo(api, lib, library_dir):
    sort = api.post("/api/sort", {"filename": "clip.mp4", "folder": "dogs"}, format="json").json()
    response = api.post("/api/undo", {}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["undone"] == sort["event"] and body["path"] == "clip.mp4"
    assert LabelEvent.objects.get(pk=sort["event"]).undone_by_id == body["event"]
    assert (library_dir / "clip.mp4").exists()
    nothing = api.post("/api/undo", {}, format="json")
    assert nothing.status_code == 409 and nothing.json()["error"] == "nothing_to_undo"


def test_undo_refused_when_the_file_changed(api, lib, library_dir):
    api.post("/api/sort", {"filename": "clip.mp4", "folder": "dogs"}, format="json")
    (library_dir / "dogs/clip.mp4").write_bytes(b"edited in another app")
    response = api.post("/api/undo", {}, format="json")
    assert response.status_code == 409 and "changed on disk" in response.json()["detail"]


def test_undo_of_someone_elses_event_is_not_found(api, lib, owner_everywhere):
    bob = APIClient()
    bob.force_authenticate(owner_everywhere(get_user_model().objects.create_user("bob")))
    event = bob.post("/api/sort", {"filename": "clip.mp4", "folder": "dogs"}, format="json").json()[
        "event"
    ]
    assert api.post("/api/undo", {"event": event}, format="json").status_code == 404


def test_autofile_dry_run_then_for_real(api, lib, library_dir):
    Classifier.objects.create(library=lib, version=3, model_id="m", is_active=True)
    Prediction.objects.create(
        video=vid("clip.mp4"),
        classifier_version=3,
        folder=Folder.objects.get(name="dogs"),
        confidence=0.99,
        margin=0.5,
        entropy=0.1,
        source="trained",
    )
    dry = api.post("/api/autofile", {"threshold": 0.95, "dry_run": True}, format="json")
    assert dry.status_code == 200
    body = dry.json()
    assert body["dry_run"] and body["count"] == 1 and body["moved"] == 0
    assert body["items"][0]["filename"] == "clip.mp4" and body["items"][0]["folder"] == "dogs"
    assert (library_dir / "clip.mp4").exists()
    real = api.post(
        "/api/autofile/",
        {"threshold": 0.95, "per_folder": {"dogs": 0.9}, "dry_run": False},
        format="json",
    )
    assert real.status_code == 200 and real.json()["moved"] == 1
    assert (library_dir / "dogs/clip.mp4").exists()
    bad = api.post("/api/autofile", {"threshold": 2}, format="json")
    assert bad.status_code == 400
    unknown = api.post("/api/autofile", {"per_folder": {"nope": 0.5}}, format="json")
    assert unknown.status_code == 404


def test_stats_count_labels_per_day_without_undone_sorts(api, lib):
    before = {row["day"]: row for row in api.get("/api/stats").json()["labels_over_time"]}
    api.post("/api/sort", {"filename": "clip.mp4", "folder": "dogs"}, format="json")
    api.post("/api/sort", {"filename": "other.mp4", "folder": "dogs"}, format="json")
    api.post("/api/undo", {}, format="json")  # takes back other.mp4: neither event counts

    series = api.get("/api/stats").json()["labels_over_time"]

    today = series[-1]
    earlier = before.get(today["day"], {"labels": 0, "total": 0})
    assert today["labels"] == earlier["labels"] + 1
    assert today["total"] == earlier["total"] + 1
    assert [row["day"] for row in series] == sorted(row["day"] for row in series)
