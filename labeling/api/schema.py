"""OpenAPI: the schema at /api/schema/ and Swagger UI at /api/docs/.

Swagger UI's files come from drf-spectacular-sidecar (settings.SPECTACULAR_SETTINGS), so
the page works without internet access. Both need a signed-in user, with any role or none
(labeling/api/access.py).
"""

from __future__ import annotations

from typing import Any

from django.urls import re_path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import SIGNED_IN

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The API's one error shape (labeling/api/errors.py).",
    "properties": {
        "error": {"type": "string", "description": "A short machine-readable code."},
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "fields": {
            "type": "object",
            "additionalProperties": True,
            "description": "Per-field messages (validation errors only).",
        },
        "required_role": {
            "type": "string",
            "description": "The role the operation needs (error 'role_required' only).",
        },
        "role": {
            "type": "string",
            "nullable": True,
            "description": "The caller's role in the library; null: none ('role_required').",
        },
        "library": {
            "type": "integer",
            "nullable": True,
            "description": "The library the role was checked in ('role_required' only).",
        },
    },
    "required": ["error", "detail"],
}

# Documented on every operation; an operation's own declaration of a status wins.
ERROR_STATUSES = {
    "400": "Bad input.",
    "401": "Not authenticated.",
    "403": "Not authenticated, CSRF token missing on a session POST, the user's role in the "
    "library is below the one the operation needs (error 'role_required', with "
    "'required_role'), or a read-only token tried to change something.",
    "404": "No such object.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "Conflicts with the current state.",
    "413": "Too large.",
    "415": "Unsupported media type.",
    "422": "Well-formed but cannot be carried out.",
    "429": "Too many requests.",
    "503": "A dependency (disk, encoder) is unavailable; nothing was changed.",
}


def postprocess_error_responses(
    result: dict, generator: SchemaGenerator, request: Request | None, public: bool
) -> dict:
    """drf-spectacular hook: add the Error component and the error responses."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_STATUSES.items():
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result


class SchemaView(SpectacularAPIView):
    """The schema: documentation of the API, readable by any signed-in user."""

    roles_required = {"GET": SIGNED_IN}


class SwaggerView(SpectacularSwaggerView):
    roles_required = {"GET": SIGNED_IN}


@extend_schema(exclude=True)
class ApiNotFoundView(APIView):
    """Any other /api/ path (or a path parameter that is not an id): a 404 in the API's
    error shape, not Django's HTML page, so scripts parse one format. It goes last."""

    roles_required = dict.fromkeys(["GET", "POST", "PUT", "PATCH", "DELETE"], SIGNED_IN)

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound(f"no API endpoint at {request.path[:200]!r}; see /api/docs/")

    get = post = put = patch = delete = head = options = _not_found


urlpatterns = [
    re_path(r"^schema/?$", SchemaView.as_view(), name="api-schema"),
    re_path(r"^docs/?$", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
not_found_urlpatterns = [re_path(r"^", ApiNotFoundView.as_view(), name="api-not-found")]
