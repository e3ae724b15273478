"""The OpenAPI schema (/api/schema/) and Swagger UI (/api/docs/), offline."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings_and_validates(tmp_path):
    # The CI command: SchemaGenerationError on any warning or error, SchemaValidationError
    # when the result is not valid OpenAPI.
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(tmp_path / "schema.yml"))
    text = (tmp_path / "schema.yml").read_text()
    assert "openapi: 3" in text and "/api/search/" in text


def test_schema_is_served_to_users_with_the_error_shape(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in [
        "/api/videos/",
        "/api/videos/{video_id}/",
        "/api/folders/",
        "/api/sort/",
        "/api/retrain/",
        "/api/retrain/status/",
        "/api/search/",
        "/api/export/events/",
        "/api/export/labels/",
        "/api/undo/",
        "/api/autofile/",
        "/api/stats/",
    ]:
        assert path in paths, path
    assert schema["components"]["schemas"]["Error"]["required"] == ["error", "detail"]
    search = paths["/api/search/"]["get"]
    assert {p["name"] for p in search["parameters"]} == {"q", "like", "limit", "folder"}
    assert search["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert set(schema["components"]["securitySchemes"]) == {"cookieAuth", "tokenAuth"}
    assert "/api/schema/" not in paths


def test_swagger_ui_is_served_from_local_static_files(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    for asset in ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"]:
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}"), asset
    assert '"/api/schema"' in html  # the schema URL Swagger UI loads
