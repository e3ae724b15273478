"""The admin shows every model, with counts, keeps history read-only, and never changes
a row in a way the disk does not follow."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from labeling.models import Folder, LabelEvent, Library, Video
from tests.labeling.helpers import admin_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    call_command("vidsort_demo", str(root), "--videos", "12", stdout=StringIO())
    call_command("vidsort_scan", "--library", str(root), stdout=StringIO())
    return root


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
    url = f"/admin/labeling/video/{video.pk}/change/"
    page = admin_client.get(url)
    body = page.content.decode()
    assert "import" in body and "Label events" in body
    # A complete form (inlines included) that the admin accepts, with the folder cleared:
    # the video must not leave its folder behind the disk's back.
    data = admin_form_data(page) | {"folder": "", "path": "elsewhere.mp4"}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    video.refresh_from_db()
    assert video.folder is not None and video.path.startswith(f"{video.folder.name}/")


def test_renaming_a_folder_moves_its_directory_and_videos(admin_client, scanned):
    folder = Folder.objects.get(name="sunsets")
    count = folder.videos.count()
    url = f"/admin/labeling/folder/{folder.pk}/change/"
    data = admin_form_data(admin_client.get(url)) | {"name": "dusk"}
    assert admin_client.post(url, data).status_code == 302
    folder.refresh_from_db()
    assert folder.name == "dusk"
    assert (scanned / "dusk").is_dir() and not (scanned / "sunsets").exists()
    paths = list(folder.videos.values_list("path", flat=True))
    assert len(paths) == count > 0
    assert all(p.startswith("dusk/") and (scanned / p).is_file() for p in paths)


def test_a_folder_rename_the_service_refuses_changes_nothing(admin_client, scanned):
    folder = Folder.objects.get(name="sunsets")
    url = f"/admin/labeling/folder/{folder.pk}/change/"
    (scanned / "taken").mkdir()
    for name, status in [("../escape", 200), ("taken", 302)]:
        response = admin_client.post(url, admin_form_data(admin_client.get(url)) | {"name": name})
        assert response.status_code == status
        folder.refresh_from_db()
        assert folder.name == "sunsets" and (scanned / "sunsets").is_dir()
    assert not (scanned.parent / "escape").exists()
    assert "Not renamed" in admin_client.get(url).content.decode()


def test_a_folder_stays_in_its_library(admin_client, scanned, tmp_path):
    folder = Folder.objects.get(name="sunsets")
    other = Library.objects.create(name="other", root=str(tmp_path / "other"))
    url = f"/admin/labeling/folder/{folder.pk}/change/"
    data = admin_form_data(admin_client.get(url)) | {"library": other.pk}
    assert admin_client.post(url, data).status_code == 302
    folder.refresh_from_db()
    assert folder.library.root == str(scanned)


def test_a_library_root_is_read_only(admin_client, scanned, tmp_path):
    library = Library.objects.get(root=str(scanned))
    url = f"/admin/labeling/library/{library.pk}/change/"
    page = admin_client.get(url)
    assert "root" not in page.context["adminform"].form.fields
    data = admin_form_data(page) | {"name": "renamed", "root": str(tmp_path / "elsewhere")}
    assert admin_client.post(url, data).status_code == 302
    library.refresh_from_db()
    assert library.name == "renamed" and library.root == str(scanned)


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
