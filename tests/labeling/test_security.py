"""Authentication on every endpoint, CSRF, tokens, login throttling, check --deploy."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling import security
from labeling.security import login_failures_clear

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"


@pytest.fixture
def user(db, owner_everywhere):
    # With a password: the login tests post it.
    return owner_everywhere(get_user_model().objects.create_user("lee", password=PASSWORD))


def _api_operations() -> list[tuple[str, str]]:
    """(method, concrete path) of every operation in the schema, plus the schema and its UI."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [("get", "/api/schema/"), ("get", "/api/docs/")]
    for path, item in schema["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        operations += [(method, concrete) for method in item]
    return operations


def test_every_endpoint_refuses_anonymous_requests(library):
    operations = _api_operations()
    assert len(operations) > 25 and ("get", "/api/search/") in operations
    client = APIClient()
    for method, path in operations:
        for variant in (path, path.rstrip("/")):
            response = getattr(client, method)(variant, {}, format="json")
            assert response.status_code in (401, 403), (method, variant, response.status_code)
            if variant.startswith("/api/") and response["Content-Type"].startswith(
                "application/json"
            ):
                assert response.json()["error"] == "not_authenticated"


def test_session_post_without_csrf_is_refused(library, user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    for path, data in [
        ("/api/sort", {"video": 1, "folder": "x"}),
        ("/api/retrain", {}),
        ("/api/folders", {"name": "new"}),
        ("/api/autofile", {}),
    ]:
        response = client.post(path, data, content_type="application/json")
        assert response.status_code == 403, path
        assert (
            response.json()["error"] == "permission_denied" and "CSRF" in response.json()["detail"]
        )
    # With the token from the cookie the same session gets through CSRF (to a 404: no video 1).
    client.get("/api/videos")
    token = client.cookies.get("csrftoken")
    if token is None:  # the API does not set the cookie itself; the pages do
        from django.middleware.csrf import _get_new_csrf_string

        token_value = _get_new_csrf_string()
        client.cookies["csrftoken"] = token_value
    else:
        token_value = token.value
    response = client.post(
        "/api/sort",
        {"video": 1, "folder": "x"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token_value,
    )
    assert response.status_code == 404


def test_every_unsafe_operation_refuses_a_session_without_csrf(library, user):
    from labeling.models import Folder, Job, LabelEvent

    unsafe = [(m, p) for m, p in _api_operations() if m in ("post", "put", "patch", "delete")]
    assert (
        len(unsafe) >= 10
        and ("post", "/api/sort/") in unsafe
        and ("delete", "/api/folders/1/") in unsafe
    )
    folder = Folder.objects.create(library=library, name="keep")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = (Folder.objects.count(), Job.objects.count(), LabelEvent.objects.count())
    for method, path in unsafe:
        concrete = (
            path.replace("/1/", f"/{folder.pk}/") if path.startswith("/api/folders/") else path
        )
        for variant in (concrete, concrete.rstrip("/")):
            response = getattr(client, method)(
                variant, {"name": "renamed"}, content_type="application/json"
            )
            assert response.status_code == 403, (method, variant, response.status_code)
            body = response.json()
            assert body["error"] == "permission_denied" and "CSRF" in body["detail"], (
                method,
                variant,
            )
    assert (Folder.objects.count(), Job.objects.count(), LabelEvent.objects.count()) == before
    assert Folder.objects.get(pk=folder.pk).name == "keep"


def test_token_in_the_header_only(library, user):
    key = Token.objects.create(user=user).key
    assert APIClient().get("/api/videos", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    for name in ("token", "auth_token", "access_token", "key", "Authorization"):
        response = APIClient().get("/api/videos", {name: key})
        assert response.status_code in (401, 403), name
        response = APIClient().get("/api/videos", {name: f"Token {key}"})
        assert response.status_code in (401, 403), name
    assert APIClient().get("/api/videos", HTTP_AUTHORIZATION="Token wrong").status_code in (
        401,
        403,
    )
    # A token request needs no CSRF token (no cookie is involved).
    response = Client(enforce_csrf_checks=True).post(
        "/api/folders",
        {"name": "cats"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 201


@pytest.fixture
def throttle(settings, user):
    settings.VIDSORT_LOGIN_FAILURES = 3
    names = ["lee", "LEE", "kim", "admin"]
    for name in names:
        login_failures_clear(ip="127.0.0.1", username=name)
    yield settings
    for name in names:
        login_failures_clear(ip="127.0.0.1", username=name)


def test_login_is_throttled_per_address_and_username(throttle, user):
    client = Client()
    for _ in range(3):
        response = client.post("/login/", {"username": "lee", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    refused = client.post("/login/", {"username": "lee", "password": PASSWORD})
    assert (
        refused.status_code == 429
        and int(refused["Retry-After"]) == throttle.VIDSORT_LOGIN_WINDOW_SECONDS
    )
    assert "_auth_user_id" not in client.session  # the right password did not get through
    assert client.post("/login/", {"username": "LEE", "password": PASSWORD}).status_code == 429
    assert (
        client.post("/admin/login/", {"username": "lee", "password": PASSWORD}).status_code == 429
    )
    # Another account from the same address is not affected.
    assert client.post("/login/", {"username": "kim", "password": "wrong"}).status_code == 200
    # When the window ends (here: the count is cleared) the right password works again.
    login_failures_clear(ip="127.0.0.1", username="lee")
    assert client.post("/login/", {"username": "lee", "password": PASSWORD}).status_code == 302


def test_a_successful_login_resets_the_count(throttle, user):
    client = Client()
    for _ in range(2):
        client.post("/login/", {"username": "lee", "password": "wrong"})
    assert client.post("/login/", {"username": "lee", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(2):
        assert Client().post("/login/", {"username": "lee", "password": "wrong"}).status_code == 200


def test_the_app_connects_the_failure_counting(throttle, user):
    # Counting must not depend on the middleware's module being imported first.
    user_login_failed.disconnect(dispatch_uid="vidsort-login-failed")
    apps.get_app_config("labeling").ready()
    with override_settings(
        MIDDLEWARE=[m for m in throttle.MIDDLEWARE if m != security.MIDDLEWARE_PATH]
    ):
        Client().post("/login/", {"username": "lee", "password": "wrong"})
    assert security.login_failures(ip="127.0.0.1", username="lee") == 1


def test_a_missing_throttle_middleware_fails_the_system_check(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != security.MIDDLEWARE_PATH]
    with pytest.raises(SystemCheckError, match="labeling.E001"):
        call_command("check")


def test_token_command_creates_shows_rotates_and_revokes(user, capsys):
    call_command("vidsort_token", "lee")
    first = capsys.readouterr().out.strip()
    assert first == Token.objects.get(user=user).key and len(first) == 40
    call_command("vidsort_token", "lee")
    assert capsys.readouterr().out.strip() == first
    call_command("vidsort_token", "lee", "--rotate")
    rotated = capsys.readouterr().out.strip()
    assert rotated != first and Token.objects.get(user=user).key == rotated
    call_command("vidsort_token", "lee", "--revoke")
    assert not Token.objects.filter(user=user).exists()
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("vidsort_token", "nobody")


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "k" * 10 + "Zq8!x" * 12, "ALLOWED_HOSTS": "vidsort.lan"}
SECURITY_SETTINGS = [
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SILENCED_SYSTEM_CHECKS",
]


def test_manage_py_check_deploy_is_clean_on_a_lan(tmp_path):
    env = (
        os.environ
        | PRODUCTION
        | {
            "VIDSORT_HTTPS": "0",
            "VIDSORT_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (4 silenced)." in result.stdout


def _settings_from_env(tmp_path: Path, **env: str) -> dict:
    """Evaluate vidsort_site/settings.py afresh under `env` (production + overrides)."""
    spec = importlib.util.spec_from_file_location(
        "settings_probe", REPO / "vidsort_site" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, PRODUCTION | {"VIDSORT_DATA_DIR": str(tmp_path)} | env):
        spec.loader.exec_module(module)
    return {name: getattr(module, name) for name in SECURITY_SETTINGS}


def test_https_turns_on_redirect_hsts_and_secure_cookies(tmp_path):
    values = _settings_from_env(tmp_path, VIDSORT_HTTPS="1")
    assert values["SECURE_SSL_REDIRECT"] and values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SILENCED_SYSTEM_CHECKS"] == ["security.W021"]
    with override_settings(**values):
        call_command("check", deploy=True, fail_level="WARNING")  # raises on any warning
    lan = _settings_from_env(tmp_path, VIDSORT_HTTPS="0")
    assert not (
        lan["SECURE_SSL_REDIRECT"] or lan["SESSION_COOKIE_SECURE"] or lan["SECURE_HSTS_SECONDS"]
    )


def test_the_silencing_is_not_a_blanket(tmp_path):
    values = _settings_from_env(tmp_path, VIDSORT_HTTPS="0", DEBUG="1")
    with override_settings(**values), pytest.raises(SystemCheckError, match="security.W018"):
        call_command("check", deploy=True, fail_level="WARNING")
    values = _settings_from_env(tmp_path, VIDSORT_HTTPS="0", SECRET_KEY="short")
    with override_settings(**values), pytest.raises(SystemCheckError, match="security.W009"):
        call_command("check", deploy=True, fail_level="WARNING")
