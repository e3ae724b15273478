"""The admin shows every model, with counts, and keeps history read-only."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from labeling.models import LabelEvent, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(tmp_path):
    root = tmp_path / "demo"
    call_command("vidsort_demo", str(root), "--videos", "12", stdout=StringIO())
    call_command("vidsort_scan", "--library", str(root), stdout=StringIO())


@pytest.mark.parametrize(
    "model",
    ["library", "folder", "video", "embedding", "classifier", "job", "prediction", "labelevent"],
)
def test_every_changelist_renders(admin_client, scanned, model):
    response = admin_client.get(f"/admin/labeling/{model}/")
    assert response.status_code == 200


def test_folder_list_shows_counts(admin_client, scanned):
    body = admin_client.get("/admin/labeling/folder/").content.decode()
    folder = Video.objects.exclude(folder=None).first().folder
    count = Video.objects.filter(folder=folder).count()
    assert f'<td class="field-video_count">{count}</td>' in body


def test_video_page_shows_label_history_read_only(admin_client, scanned):
    video = Video.objects.exclude(folder=None).first()
    body = admin_client.get(f"/admin/labeling/video/{video.pk}/change/").content.decode()
    assert "import" in body and "Label events" in body
    # Posting a change must not move the video to another folder behind the disk's back.
    admin_client.post(f"/admin/labeling/video/{video.pk}/change/", {"folder": ""})
    video.refresh_from_db()
    assert video.folder is not None


def test_search_by_filename(admin_client, scanned):
    video = Video.objects.first()
    body = admin_client.get("/admin/labeling/video/", {"q": video.filename}).content.decode()
    assert video.filename in body and "1 result" in body


def test_label_events_cannot_be_edited(admin_client, scanned):
    event = LabelEvent.objects.first()
    response = admin_client.post(f"/admin/labeling/labelevent/{event.pk}/change/", {"route": "api"})
    event.refresh_from_db()
    assert response.status_code == 403 and event.route == "import"


def test_home_page_lists_folders(admin_client, scanned, settings, tmp_path):
    settings.VIDSORT_LIBRARY = tmp_path / "demo"
    body = admin_client.get("/overview").content.decode()
    assert "unsorted" in body and "sunsets" in body


def test_rollback_from_the_admin(admin_client, tmp_path):
    from labeling.models import Classifier, Library

    library = Library.objects.create(name="l", root=str(tmp_path))
    v1 = Classifier.objects.create(library=library, version=1, model_id="m", blob=b"")
    Classifier.objects.create(library=library, version=2, model_id="m", blob=b"", is_active=True)
    response = admin_client.post(
        "/admin/labeling/classifier/",
        {"action": "activate_version", "_selected_action": [v1.pk]},
        follow=True,
    )
    assert response.status_code == 200 and "v1 is now active" in response.content.decode()
    assert list(Classifier.objects.filter(is_active=True)) == [v1]


def test_the_admin_refuses_a_version_a_running_retrain_owns(admin_client, tmp_path):
    from django.utils import timezone

    from labeling.models import Classifier, Job, Library

    library = Library.objects.create(name="l", root=str(tmp_path))
    Classifier.objects.create(library=library, version=1, model_id="m", blob=b"", is_active=True)
    v2 = Classifier.objects.create(library=library, version=2, model_id="m", blob=b"")
    Job.objects.create(
        library=library,
        kind="retrain",
        state="running",
        stage="predict",
        classifier=v2,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    response = admin_client.post(
        "/admin/labeling/classifier/",
        {"action": "activate_version", "_selected_action": [v2.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "Not activated: classifier v2 belongs to retrain job" in body and "still running" in body
    assert list(Classifier.objects.filter(is_active=True).values_list("version", flat=True)) == [1]


def test_the_admin_refuses_a_version_without_predictions(admin_client, tmp_path):
    from labeling.models import Classifier, Library, Video

    library = Library.objects.create(name="l", root=str(tmp_path))
    Video.objects.create(library=library, path="loose.mp4", filename="loose.mp4")
    Classifier.objects.create(library=library, version=1, model_id="m", blob=b"", is_active=True)
    v2 = Classifier.objects.create(
        library=library, version=2, model_id="m", blob=b"", metrics={"predictions": 5}
    )
    response = admin_client.post(
        "/admin/labeling/classifier/",
        {"action": "activate_version", "_selected_action": [v2.pk]},
        follow=True,
    )
    assert "v2 has no predictions (they were pruned)" in response.content.decode()
    v2.refresh_from_db()
    assert not v2.is_active
