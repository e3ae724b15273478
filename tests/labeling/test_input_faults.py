"""Hostile input answers a 4xx with the API's error shape, and keys stay out of redirects.

- a NUL character in any query parameter (PostgreSQL cannot hold one): 400, not 500;
- a JSON body nested 50,000 deep (json.loads gives up with RecursionError): 400;
- a stream URL carrying ``?token=<key>``: the login redirect's ``next`` drops the key.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from labeling.models import Video

pytestmark = pytest.mark.django_db

NUL_QUERIES = [
    "/api/videos?q=1%00",
    "/api/videos?folder=1%00",
    "/api/videos?status=ok%00",
    "/api/videos?order=random%00",
    "/api/videos?limit=1%00",
    "/api/videos?offset=0%00",
    "/api/videos?q%00=1",
    "/api/search?q=cat%00",
    "/api/search?like=1%00",
    "/api/search?q=cat&folder=all%00",
    "/api/jobs?state=running%00",
    "/api/export/events?format=csv%00",
    "/api/stats?x=%00",
]


def _error_shape(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) >= {"error", "detail"}, body
    return body


@pytest.mark.parametrize("path", NUL_QUERIES)
def test_nul_in_a_query_parameter_is_a_400_with_the_error_shape(api, lib, path):
    response = api.get(path)
    assert response.status_code == 400, (path, response.status_code, response.content[:300])
    assert _error_shape(response)["error"] == "invalid"


@pytest.mark.parametrize("path", ["/api/sort", "/api/sort/bulk", "/api/undo", "/api/folders"])
def test_a_json_body_nested_50000_deep_is_a_400(path, lib, user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    body = "[" * 50_000 + "]" * 50_000
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400, (path, response.status_code, response.content[:300])
    assert _error_shape(response)["error"] == "parse_error"


@pytest.mark.parametrize("param", ["token", "key", "api_key", "access_token", "password"])
def test_a_key_in_a_stream_url_never_reaches_the_login_redirect(client, lib, param):
    video = Video.objects.filter(library=lib).first()
    assert video is not None
    secret = "0123456789abcdef0123456789abcdef01234567"
    response = client.get(f"/media/videos/{video.pk}?{param}={secret}&t=5")
    assert response.status_code == 302
    location = response["Location"]
    assert secret not in location
    assert location.startswith("/login/?next=")
    nxt = parse_qs(urlsplit(location).query)["next"][0]
    assert urlsplit(nxt).path == f"/media/videos/{video.pk}"
    assert parse_qs(urlsplit(nxt).query) == {"t": ["5"]}  # harmless parameters stay


def test_a_key_in_a_page_url_never_reaches_the_login_redirect(client, lib):
    secret = "fedcba9876543210fedcba9876543210fedcba98"
    response = client.get(f"/?token={secret}")
    assert response.status_code == 302
    assert secret not in response["Location"]
