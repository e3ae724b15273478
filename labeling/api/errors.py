"""One error shape for the whole API: {"error": code, "detail": message}.

A few errors add keys of their own beside those two: a refusal for a role too low
(labeling/api/access.py) says "required_role", "role" and "library".

DRF's default shapes vary by exception ({"detail": …}, {"field": [...]}); scripts want
one thing to parse. Unexpected exceptions still propagate (and are logged) so bugs are
not hidden, but every anticipated bad input maps to a 4xx here. Service errors
(labeling.services.errors) carry their own code and HTTP status: views let them propagate.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from labeling.services.errors import ServiceError


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"
    default_detail = "The request is well-formed but cannot be carried out."


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request is too large."


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = (
        "The database is unavailable; try again in a moment (the server log has the cause)."
    )


def _raised_by_parser(tb: TracebackType | None) -> bool:
    """Whether the traceback passes through a body parser (DRF's or the json module)."""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename.replace("\\", "/")
        if filename.endswith(("rest_framework/parsers.py", "json/__init__.py")):
            return True
        tb = tb.tb_next
    return False


def service_error_api(exc: ServiceError) -> exceptions.APIException:
    """The API exception for a service error: its status, its code, its message."""
    if exc.field is not None and exc.http_status == status.HTTP_400_BAD_REQUEST:
        return exceptions.ValidationError({exc.field: str(exc)})
    api = exceptions.APIException(str(exc), code=exc.code)
    api.status_code = exc.http_status
    return api


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


def _api_exception(exc: Exception) -> Exception:
    """The DRF exception for an anticipated non-DRF one (else ``exc`` itself)."""
    if isinstance(exc, ServiceError):
        return service_error_api(exc)
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(exc.messages)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is down or the connection dropped: a temporary state, not a bug.
        return DatabaseUnavailable()
    if isinstance(exc, RecursionError) and _raised_by_parser(exc.__traceback__):
        # json.loads gives up on a deeply nested body with RecursionError, which DRF's
        # JSON parser (catching ValueError only) lets through as a 500.
        return exceptions.ParseError("JSON parse error - the body is nested too deeply.")
    if isinstance(exc, RequestDataTooBig):
        # Django raises it when a body exceeds DATA_UPLOAD_MAX_MEMORY_SIZE; unhandled it
        # becomes an HTML 400 page.
        return TooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    return exc


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    exc = _api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "invalid"
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        data = data["detail"]  # DRF's {"detail": message}: the message alone, no "detail: "
    body: dict[str, Any] = {"error": code, "detail": _flatten(data)}
    if isinstance(response.data, dict) and isinstance(exc, exceptions.ValidationError):
        body["fields"] = response.data
    # Keys an exception adds to the shape (a 403 for a role says which role is needed).
    body.update(getattr(exc, "extra", None) or {})
    response.data = body
    return response
