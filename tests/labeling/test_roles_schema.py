"""Roles on every API operation: a walk over the generated OpenAPI schema (issue #14).

For each operation and each role (viewer, labeller, reviewer, owner, and a user with no
role), a role below the operation's one gets a 403 in the API's error shape naming the
role needed; a role that suffices never gets a 403 (it gets the answer, or an ordinary
4xx for the empty input these calls send). Path parameters are real objects of the
library: a video, a folder, a classifier, a job, a member.

EXPECTED is the role table of docs/team.md ("Roles"). An operation that is not in it is
checked against its view's own `roles_required`, which every view must declare: a new
route without one fails `test_every_operation_declares_its_role`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from labeling.api.access import POLICY_LEVELS, required_role
from labeling.models import Classifier, Folder, Job, Library, Membership, Video
from labeling.selectors.roles import ROLE_RANK, SIGNED_IN

pytestmark = pytest.mark.django_db

ROLES = ["viewer", "labeller", "reviewer", "owner"]
METHODS = {"get", "post", "put", "patch", "delete"}

# The least role of each operation (docs/team.md, "Roles").
EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/api/videos/"): "viewer",
    ("GET", "/api/videos/{video_id}/"): "viewer",
    ("GET", "/api/videos/{video_id}/text/"): "viewer",
    ("GET", "/api/folders/"): "viewer",
    ("POST", "/api/folders/"): "reviewer",
    ("GET", "/api/folders/{folder_id}/"): "viewer",
    ("PUT", "/api/folders/{folder_id}/"): "reviewer",
    ("PATCH", "/api/folders/{folder_id}/"): "reviewer",
    ("DELETE", "/api/folders/{folder_id}/"): "reviewer",
    ("GET", "/api/stats/"): "viewer",
    ("GET", "/api/preferences/"): SIGNED_IN,
    ("PUT", "/api/preferences/"): SIGNED_IN,
    ("PATCH", "/api/preferences/"): SIGNED_IN,
    ("GET", "/api/search/"): "viewer",
    ("POST", "/api/sort/"): "labeller",
    ("POST", "/api/sort/bulk/"): "labeller",
    ("POST", "/api/undo/"): "labeller",
    ("POST", "/api/autofile/"): "labeller",  # a dry run; moving needs a reviewer
    ("POST", "/api/retrain/"): "reviewer",
    ("GET", "/api/retrain/status/"): "viewer",
    ("GET", "/api/jobs/"): "viewer",
    ("GET", "/api/jobs/{job_id}/"): "viewer",
    ("POST", "/api/jobs/{job_id}/cancel/"): "reviewer",
    ("GET", "/api/classifiers/"): "viewer",
    ("POST", "/api/classifiers/{classifier_id}/activate/"): "reviewer",
    ("GET", "/api/export/events/"): "reviewer",
    ("GET", "/api/export/labels/"): "reviewer",
    ("GET", "/api/members/"): "owner",
    ("PUT", "/api/members/{user_id}/"): "owner",
    ("DELETE", "/api/members/{user_id}/"): "owner",
}

# A stand-in for path parameters of objects this test does not make (a 404 where allowed).
UNKNOWN_ID = 987654


@functools.cache
def schema_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in METHODS
    )


def _view_of(path: str) -> APIView:
    """The view class instance behind a schema path (parameters filled with 1)."""
    match = resolve(re.sub(r"\{[^}]+\}", "1", path))
    view_class = match.func.view_class  # type: ignore[attr-defined]
    view = view_class()
    view.kwargs = match.kwargs
    return view


def _expected(method: str, path: str) -> str:
    if (method, path) in EXPECTED:
        return EXPECTED[(method, path)]
    declared = required_role(_view_of(path), method)
    assert declared is not None, f"{method} {path}: no roles_required entry"
    return declared


def _allowed(role: str | None, minimum: str) -> bool:
    if minimum == SIGNED_IN:
        return True
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


# --- every operation declares a role ------------------------------------------------------


def test_every_operation_declares_its_role():
    missing = [
        f"{method} {path}"
        for method, path in schema_operations()
        if required_role(_view_of(path), method) not in POLICY_LEVELS
    ]
    assert not missing, f"operations without a roles_required entry: {missing}"


def test_the_table_matches_the_views_and_the_schema():
    operations = set(schema_operations())
    stale = [op for op in EXPECTED if op not in operations]
    assert not stale, f"EXPECTED names operations the schema lacks: {stale}"
    for (method, path), minimum in EXPECTED.items():
        assert required_role(_view_of(path), method) == minimum, (method, path)


class _Undeclared(APIView):
    """A view someone forgot to give roles: every method it handles is refused."""

    def get(self, request: Any) -> Any:  # pragma: no cover - never reached
        raise AssertionError("the permission let an undeclared method through")


def test_a_view_without_roles_required_is_refused(user, lib):
    request = APIRequestFactory().get("/api/whatever")
    force_authenticate(request, user=user)
    response = _Undeclared.as_view()(request)
    assert response.status_code == 403
    assert response.data["error"] == "no_role_policy"


# --- the walk --------------------------------------------------------------------------------


@pytest.fixture
def team(lib: Library) -> dict[str, Any]:
    """A user per role (and one without any) in the sorting library, and its objects."""
    users: dict[str | None, Any] = {}
    for role in ROLES:
        users[role] = get_user_model().objects.create_user(f"{role}-user")
        Membership.objects.create(library=lib, user=users[role], role=role)
    users[None] = get_user_model().objects.create_user("nobody")
    classifier = Classifier.objects.create(library=lib, version=1, model_id="m", blob=b"")
    job = Job.objects.create(library=lib, kind=Job.Kind.SCAN, state=Job.State.SUCCEEDED)
    params = {
        "video_id": Video.objects.get(library=lib, filename="clip.mp4").pk,
        "folder_id": Folder.objects.get(library=lib, name="dogs").pk,
        "classifier_id": classifier.pk,
        "job_id": job.pk,
        "user_id": users["viewer"].pk,
    }
    return {"library": lib, "users": users, "params": params}


def _fill(path: str, params: dict[str, int]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(params.get(m.group(1), UNKNOWN_ID)), path)


def _call(user: Any, method: str, url: str) -> Any:
    client = APIClient()
    client.force_authenticate(user)
    if method in {"GET", "DELETE"}:
        return getattr(client, method.lower())(url)
    return getattr(client, method.lower())(url, {}, format="json")


@pytest.mark.parametrize(("method", "path"), schema_operations())
def test_each_role_is_refused_or_served(team, method, path):
    minimum = _expected(method, path)
    url = _fill(path, team["params"])
    # Lowest first: a refused call changes nothing, so the state each role meets is the
    # same until the first role that may call it.
    for role in [None, *ROLES]:
        response = _call(team["users"][role], method, url)
        where = f"{method} {url} as {role or 'no role'}"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.content!r}"
        if _allowed(role, minimum):
            assert response.status_code != 403, f"{where}: {response.content!r}"
            continue
        assert response.status_code == 403, f"{where}: {response.status_code}"
        body = response.json()
        assert body["error"] == "role_required", where
        assert body["required_role"] == minimum and body["role"] == role, (where, body)
        assert f"needs the {minimum} role" in body["detail"], where
        assert body["library"] == team["library"].pk
