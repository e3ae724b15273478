"""Roles beyond the schema walk: pages, the video stream, tokens, the membership API and
service, the token command (docs/team.md, "Roles"; the API walk is test_roles_schema.py).
"""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.models import Classifier, Folder, Library, Membership, Prediction, TokenScope, Video
from labeling.selectors.roles import role_at_least, role_check, role_of
from labeling.services.errors import ConflictError
from labeling.services.members import member_remove, member_set
from labeling.services.users import user_token_get_or_create
from tests.labeling.helpers import admin_form_data, make_library

pytestmark = pytest.mark.django_db

# Pages that need no role: signing in and out, and the health check.
OPEN_PAGES = {"login", "logout", "healthz"}


def member(library: Library, name: str, role: str | None) -> Any:
    user = get_user_model().objects.create_user(name)
    if role is not None:
        Membership.objects.create(library=library, user=user, role=role)
    return user


def other_library(tmp_path: Any) -> Library:
    """A second library (not the current one): one loose video and a folder 'a'."""
    (tmp_path / "other").mkdir()
    return make_library(tmp_path / "other", {"x.mp4": b"x"}, folders=("a",))


def token_client(user: Any, *, read_only: bool = False) -> APIClient:
    token, _ = user_token_get_or_create(user=user, read_only=read_only)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def activatable(library: Library) -> Classifier:
    """An older classifier version that may be activated (it predicted every video)."""
    Classifier.objects.create(library=library, version=2, model_id="m", blob=b"", is_active=True)
    old = Classifier.objects.create(library=library, version=1, model_id="m", blob=b"")
    folder = Folder.objects.get(library=library, name="cats")
    for video in Video.objects.filter(library=library):
        Prediction.objects.create(
            video=video,
            classifier_version=1,
            folder=folder,
            confidence=0.9,
            margin=0.8,
            entropy=0.1,
            source=Prediction.Source.TRAINED,
        )
    return old


# --- the one place that answers ------------------------------------------------------------


def test_role_of_superusers_members_and_strangers(lib):
    boss = get_user_model().objects.create_superuser("boss", password="x-12345678")
    lab = member(lib, "lab", "labeller")
    stranger = member(lib, "stranger", None)
    assert role_of(boss, lib) == "owner"
    assert role_of(lab, lib) == "labeller" and role_of(stranger, lib) is None
    assert role_at_least(lab, lib, "viewer") and role_at_least(lab, lib, "labeller")
    assert not role_at_least(lab, lib, "reviewer")
    check = role_check(stranger, lib, "viewer")
    assert (
        not check.allowed
        and check.message == "needs the viewer role (you have no role in this library)"
    )
    assert role_check(lab, lib, "owner").message == "needs the owner role (you are labeller)"
    with pytest.raises(ValueError, match="unknown role"):
        role_check(lab, lib, "admin")


# --- pages and the stream ---------------------------------------------------------------------


def _pages() -> list[str]:
    """Every page of labeling/urls.py (parameters filled in), but the open ones and media."""
    pages = []
    for pattern in get_resolver("labeling.urls").url_patterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in OPEN_PAGES or str(pattern.pattern).startswith("media/"):
            continue
        pages.append("/" + re.sub(r"<[^>]+>", "unsorted", str(pattern.pattern)))
    return pages


def test_the_page_list_covers_the_player_overview_and_gallery():
    assert {"/", "/overview", "/gallery/unsorted"} <= set(_pages())


@pytest.mark.parametrize("page", _pages())
def test_pages_refuse_a_user_without_a_role_and_serve_a_viewer(client: Client, lib, page):
    client.force_login(member(lib, "stranger", None))
    refused = client.get(page)
    assert refused.status_code == 403, page
    assert b"needs the viewer role" in refused.content
    client.force_login(member(lib, "vic", "viewer"))
    assert client.get(page).status_code == 200, page


def test_pages_send_anonymous_visitors_to_the_login(client: Client, lib):
    for page in _pages():
        response = client.get(page)
        assert response.status_code == 302 and "login" in response["Location"], page


def test_a_superuser_without_membership_is_an_owner_of_the_pages(client: Client, lib):
    client.force_login(get_user_model().objects.create_superuser("boss", password="x-1234567"))
    assert client.get("/").status_code == 200


def test_the_stream_needs_a_role_in_the_videos_library(client: Client, lib):
    video = Video.objects.get(library=lib, filename="clip.mp4")
    client.force_login(member(lib, "stranger", None))
    refused = client.get(f"/media/videos/{video.pk}")
    assert refused.status_code == 403
    assert refused.json()["required_role"] == "viewer"
    client.force_login(member(lib, "vic", "viewer"))
    served = client.get(f"/media/videos/{video.pk}")
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == b"clip-bytes" * 10


def test_every_media_route_needs_a_role(client: Client, lib):
    video = Video.objects.get(library=lib, filename="clip.mp4")
    client.force_login(member(lib, "stranger", None))
    routes = [
        "/" + str(p.pattern).replace("<int:video_id>", str(video.pk))
        for p in get_resolver("labeling.urls").url_patterns
        if str(p.pattern).startswith("media/")
    ]
    assert f"/media/videos/{video.pk}" in routes
    for route in routes:
        refused = client.get(route)
        assert refused.status_code == 403, route
        assert refused.json()["error"] == "role_required", route


def test_a_page_that_writes_needs_the_higher_role_to_post(client: Client, lib):
    client.force_login(member(lib, "vic", "viewer"))
    assert client.get("/tiktok").status_code == 200
    refused = client.post("/tiktok", {})
    assert refused.status_code == 403 and b"needs the reviewer role" in refused.content
    client.force_login(member(lib, "rev", "reviewer"))
    assert client.post("/tiktok", {}).status_code != 403  # no file chosen: the page's own 400


def test_a_role_in_one_library_is_no_role_in_another(client: Client, lib, tmp_path):
    other = other_library(tmp_path)
    vic = member(other, "vic", "owner")  # owner there, nothing in the current library
    client.force_login(vic)
    assert client.get("/").status_code == 403
    assert client.get(f"/media/videos/{Video.objects.get(library=other).pk}").status_code == 200
    api = APIClient()
    api.force_authenticate(vic)
    assert api.get("/api/videos").status_code == 403
    # The `library` parameter names the library the role is checked in.
    answer = api.post("/api/autofile", {"library": other.pk}, format="json")
    assert answer.status_code == 200, answer.content
    refused = api.post("/api/autofile", {"library": lib.pk}, format="json")
    assert refused.status_code == 403 and refused.json()["library"] == lib.pk


def test_a_sort_is_checked_in_the_videos_own_library(lib, tmp_path):
    other = other_library(tmp_path)
    lab = member(lib, "lab", "labeller")  # labeller in the current library only
    api = APIClient()
    api.force_authenticate(lab)
    video = Video.objects.get(library=other)
    response = api.post("/api/sort", {"video": video.pk, "folder": "a"}, format="json")
    assert response.status_code == 403 and response.json()["library"] == other.pk
    video.refresh_from_db()
    assert video.folder is None and (tmp_path / "other" / "x.mp4").exists()


# --- tokens ---------------------------------------------------------------------------------------


def test_a_labellers_token_cannot_activate_a_classifier(lib):
    """The issue's bug: a plain user's token activated an old classifier (200)."""
    old = activatable(lib)
    refused = token_client(member(lib, "lab", "labeller")).post(
        f"/api/classifiers/{old.pk}/activate"
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "role_required",
        "detail": "needs the reviewer role (you are labeller)",
        "required_role": "reviewer",
        "role": "labeller",
        "library": lib.pk,
    }
    old.refresh_from_db()
    assert not old.is_active
    # A user without any membership (the second, non-staff user) neither.
    assert (
        token_client(member(lib, "plain", None))
        .post(f"/api/classifiers/{old.pk}/activate")
        .json()["role"]
        is None
    )
    accepted = token_client(member(lib, "rev", "reviewer")).post(
        f"/api/classifiers/{old.pk}/activate"
    )
    assert accepted.status_code == 200, accepted.content
    old.refresh_from_db()
    assert old.is_active


def test_a_read_only_token_reads_but_never_writes(lib):
    owner = member(lib, "own", "owner")
    client = token_client(owner, read_only=True)
    assert client.get("/api/videos").status_code == 200
    assert client.get("/api/folders").status_code == 200
    created = client.post("/api/folders", {"name": "birds"}, format="json")
    assert created.status_code == 403 and created.json()["error"] == "read_only_token"
    assert not Folder.objects.filter(name="birds").exists()
    video = Video.objects.get(library=lib, filename="clip.mp4")
    moved = client.post("/api/sort", {"video": video.pk, "folder": "dogs"}, format="json")
    assert moved.status_code == 403
    assert (
        client.put("/api/preferences", {"queue_order": "random"}, format="json").status_code == 403
    )
    # The same user's session is not limited by the token's scope.
    session = APIClient()
    session.force_authenticate(owner)
    assert session.post("/api/folders", {"name": "birds"}, format="json").status_code == 201
    # Lifting the limit gives the token its user's role back.
    full = token_client(owner, read_only=False)
    assert full.post("/api/folders", {"name": "fish"}, format="json").status_code == 201


def test_options_needs_the_least_role_of_the_view(lib):
    viewer, labeller = APIClient(), APIClient()
    viewer.force_authenticate(member(lib, "vic", "viewer"))
    labeller.force_authenticate(member(lib, "lab", "labeller"))
    assert viewer.options("/api/folders").status_code == 200  # GET viewer, POST reviewer
    refused = viewer.options("/api/sort")  # POST only, labeller
    assert refused.status_code == 403 and refused.json()["required_role"] == "labeller"
    assert labeller.options("/api/sort").status_code == 200


def test_a_token_never_exceeds_its_users_role(lib):
    client = token_client(member(lib, "vic", "viewer"))
    assert client.get("/api/stats").status_code == 200
    refused = client.post("/api/sort", {"video": 1, "folder": "dogs"}, format="json")
    assert refused.status_code == 403 and refused.json()["required_role"] == "labeller"


def test_the_token_command_makes_and_lifts_read_only_tokens(lib):
    user = member(lib, "script", "owner")
    out = StringIO()
    call_command("vidsort_token", "script", "--read-only", stdout=out, stderr=StringIO())
    key = out.getvalue().strip()
    assert TokenScope.objects.get(token_id=key).read_only
    # A rotated key keeps the scope.
    out = StringIO()
    call_command("vidsort_token", "script", "--rotate", stdout=out, stderr=StringIO())
    rotated = out.getvalue().strip()
    assert rotated != key and TokenScope.objects.get(token_id=rotated).read_only
    call_command("vidsort_token", "script", "--full", stdout=StringIO(), stderr=StringIO())
    assert not TokenScope.objects.get(token_id=rotated).read_only
    assert Token.objects.get(user=user).key == rotated


# --- memberships --------------------------------------------------------------------------------


def test_owners_manage_members_through_the_api(lib):
    owner = member(lib, "own", "owner")
    newcomer = get_user_model().objects.create_user("new")
    api = APIClient()
    api.force_authenticate(owner)
    created = api.put(f"/api/members/{newcomer.pk}", {"role": "labeller"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["role"] == "labeller" and created.json()["username"] == "new"
    changed = api.put(
        f"/api/members/{newcomer.pk}", {"role": "reviewer", "library": lib.pk}, format="json"
    )
    assert changed.status_code == 200 and role_of(newcomer, lib) == "reviewer"
    listed = api.get(f"/api/members?library={lib.pk}").json()
    assert listed["library"] == lib.pk
    assert [(m["username"], m["role"]) for m in listed["members"]] == [
        ("new", "reviewer"),
        ("own", "owner"),
    ]
    assert (
        api.put(f"/api/members/{newcomer.pk}", {"role": "boss"}, format="json").status_code == 400
    )
    assert api.put("/api/members/987654", {"role": "viewer"}, format="json").status_code == 404
    assert api.delete(f"/api/members/{newcomer.pk}?library={lib.pk}").status_code == 204
    assert role_of(newcomer, lib) is None
    assert api.delete(f"/api/members/{newcomer.pk}").status_code == 404


def test_a_reviewer_cannot_manage_members(lib):
    api = APIClient()
    rev = member(lib, "rev", "reviewer")
    api.force_authenticate(rev)
    refused = api.put(f"/api/members/{rev.pk}", {"role": "owner"}, format="json")
    assert refused.status_code == 403 and refused.json()["required_role"] == "owner"
    assert role_of(rev, lib) == "reviewer"


def test_the_last_owner_can_be_neither_removed_nor_demoted(lib):
    owner = member(lib, "own", "owner")
    api = APIClient()
    api.force_authenticate(owner)
    removed = api.delete(f"/api/members/{owner.pk}")
    assert removed.status_code == 409 and removed.json()["error"] == "last_owner"
    demoted = api.put(f"/api/members/{owner.pk}", {"role": "viewer"}, format="json")
    assert demoted.status_code == 409 and role_of(owner, lib) == "owner"
    second = get_user_model().objects.create_user("second")
    member_set(library=lib, user_id=second.pk, role="owner")
    assert api.put(f"/api/members/{owner.pk}", {"role": "viewer"}, format="json").status_code == 200
    with pytest.raises(ConflictError, match="last owner"):
        member_remove(library=lib, user_id=second.pk)


def test_the_admin_keeps_the_last_owner(admin_client: Client, lib):
    owner = member(lib, "own", "owner")
    membership = Membership.objects.get(user=owner)
    url = f"/admin/labeling/membership/{membership.pk}/change/"
    demoted = admin_client.post(url, admin_form_data(admin_client.get(url)) | {"role": "viewer"})
    assert demoted.status_code == 200 and "the last owner" in demoted.content.decode()
    assert (
        admin_client.get(f"/admin/labeling/membership/{membership.pk}/delete/").status_code == 403
    )
    # On the library's page: removing every owner row is refused too.
    library_url = f"/admin/labeling/library/{lib.pk}/change/"
    data = admin_form_data(admin_client.get(library_url))
    data |= {"memberships-0-DELETE": "on"}
    refused = admin_client.post(library_url, data)
    assert refused.status_code == 200 and "the last owner" in refused.content.decode()
    assert role_of(owner, lib) == "owner"
    # With a second owner the first may step down.
    member_set(library=lib, user_id=member(lib, "two", None).pk, role="owner")
    changed = admin_client.post(url, admin_form_data(admin_client.get(url)) | {"role": "viewer"})
    assert changed.status_code == 302 and role_of(owner, lib) == "viewer"
