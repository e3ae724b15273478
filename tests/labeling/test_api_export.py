"""GET /api/export/events and /api/export/labels, as JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from labeling.models import Folder, LabelEvent, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(db, owner_everywhere):
    # The export's "who" column is checked by name below.
    return owner_everywhere(get_user_model().objects.create_user("ana"))


@pytest.fixture
def history(library, user):
    """a.mp4 imported in cats; b.mp4 sorted to dogs by ana, then to cats and undone;
    c.mp4 unsorted; d.mp4 sorted but now missing; =e.mp4 (a formula-looking name) in dogs."""
    cats = Folder.objects.create(library=library, name="cats")
    dogs = Folder.objects.create(library=library, name="dogs")
    a = Video.objects.create(
        library=library, path="cats/a.mp4", filename="a.mp4", content_hash="ha", folder=cats
    )
    b = Video.objects.create(
        library=library, path="dogs/b.mp4", filename="b.mp4", content_hash="hb", folder=dogs
    )
    Video.objects.create(library=library, path="c.mp4", filename="c.mp4", content_hash="hc")
    Video.objects.create(
        library=library,
        path="cats/d.mp4",
        filename="d.mp4",
        content_hash="hd",
        folder=cats,
        status=Video.Status.MISSING,
    )
    e = Video.objects.create(
        library=library, path="dogs/=e.mp4", filename="=e.mp4", content_hash="he", folder=dogs
    )
    imported = LabelEvent.objects.create(
        video=a, to_folder=cats, to_name="cats", to_path="cats/a.mp4", route=LabelEvent.Route.IMPORT
    )
    to_dogs = LabelEvent.objects.create(
        video=b,
        user=user,
        to_folder=dogs,
        to_name="dogs",
        from_path="b.mp4",
        to_path="dogs/b.mp4",
        route=LabelEvent.Route.PLAYER,
        predicted_folder=cats,
        predicted_confidence=0.61,
    )
    to_cats = LabelEvent.objects.create(
        video=b,
        user=user,
        from_folder=dogs,
        from_name="dogs",
        to_folder=cats,
        to_name="cats",
        from_path="dogs/b.mp4",
        to_path="cats/b.mp4",
        route=LabelEvent.Route.API,
    )
    undo = LabelEvent.objects.create(
        video=b,
        user=user,
        from_folder=cats,
        from_name="cats",
        to_folder=dogs,
        to_name="dogs",
        from_path="cats/b.mp4",
        to_path="dogs/b.mp4",
        route=LabelEvent.Route.UNDO,
    )
    to_cats.undone_by = undo
    to_cats.save(update_fields=["undone_by"])
    e_event = LabelEvent.objects.create(
        video=e,
        user=user,
        to_folder=dogs,
        to_name="dogs",
        to_path="dogs/=e.mp4",
        route=LabelEvent.Route.BULK,
    )
    return {
        "imported": imported,
        "to_dogs": to_dogs,
        "to_cats": to_cats,
        "undo": undo,
        "e": e_event,
    }


def test_anonymous_is_refused(library):
    for url in ["/api/export/events", "/api/export/labels?format=csv"]:
        assert APIClient().get(url).status_code in (401, 403)


def test_events_leave_out_undone_moves_and_undos(api, history):
    body = api.get("/api/export/events").json()
    assert [r["event"] for r in body["rows"]] == [
        history[k].pk for k in ("imported", "to_dogs", "e")
    ]
    assert body["count"] == 3
    row = body["rows"][1]
    assert row | {"when": None} == {
        "event": history["to_dogs"].pk,
        "video": history["to_dogs"].video_id,
        "path": "dogs/b.mp4",
        "folder": "dogs",
        "from_folder": None,
        "hash": "hb",
        "who": "ana",
        "when": None,
        "route": "player",
        "predicted_folder": "cats",
        "predicted_confidence": 0.61,
    }
    assert row["when"].startswith(str(history["to_dogs"].created_at.year))
    assert body["rows"][0]["who"] is None and body["rows"][0]["route"] == "import"


def test_current_labels_with_the_event_that_set_them(api, history):
    body = api.get("/api/export/labels/").json()
    by_path = {r["path"]: r for r in body["rows"]}
    assert set(by_path) == {"cats/a.mp4", "dogs/b.mp4", "dogs/=e.mp4"}  # not unsorted, not missing
    assert by_path["dogs/b.mp4"]["event"] == history["to_dogs"].pk  # the undone move is skipped
    assert by_path["dogs/b.mp4"]["folder"] == "dogs" and by_path["dogs/b.mp4"]["who"] == "ana"
    assert by_path["cats/a.mp4"]["route"] == "import" and by_path["cats/a.mp4"]["hash"] == "ha"


def test_csv_by_format_parameter_and_accept_header(api, history):
    for response in [
        api.get("/api/export/events", {"format": "csv"}),
        api.get("/api/export/events", HTTP_ACCEPT="text/csv"),
    ]:
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert [r["path"] for r in rows] == ["cats/a.mp4", "dogs/b.mp4", "dogs/=e.mp4"]
        assert rows[1]["who"] == "ana" and rows[0]["who"] == "" and rows[1]["hash"] == "hb"
    labels = api.get("/api/export/labels", {"format": "csv"}).content.decode()
    header, *lines = labels.strip().split("\n")
    assert (
        header == "video,path,folder,hash,who,when,route,event,transcript,screen_text"
        and len(lines) == 3
    )


def test_csv_cells_cannot_start_a_formula(api, library, history):
    e = history["e"].video
    e.path = "=cmd.mp4"
    e.save(update_fields=["path"])
    LabelEvent.objects.filter(pk=history["e"].pk).update(to_path="")
    rows = list(
        csv.DictReader(io.StringIO(api.get("/api/export/events?format=csv").content.decode()))
    )
    assert rows[-1]["path"] == "'=cmd.mp4"


def test_unknown_format_is_a_404_in_the_error_shape(api, history):
    response = api.get("/api/export/events", {"format": "xml"})
    assert response.status_code == 404 and response.json()["error"] == "not_found"
