"""The API's error shape outside DRF views, and credentials kept out of login redirects.

DRF's exception handler (labeling.api.errors) only sees what a DRF view raises. A
database outage can surface before (session and user loading in a middleware) or in a
plain Django view, and Django then answers its HTML 500 page. Under /api/ this
middleware answers the JSON shape instead: 503 ``database_unavailable`` for a lost
database, 500 ``server_error`` for anything else (DEBUG keeps Django's page). It also
refuses NUL characters in query parameters (PostgreSQL cannot store or compare them), and
strips credential-looking parameters (``?token=…``) from the ``next`` of a login redirect,
so a key never lands in a Location header or the browser history.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase

API_PREFIX = "/api/"
DATABASE_UNAVAILABLE = (
    "The database is unavailable; try again in a moment (the server log has the cause)."
)
# Query parameters that carry a secret: never copied into a redirect.
CREDENTIAL_PARAMS = frozenset(
    {
        "token",
        "key",
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "auth",
        "auth_token",
        "password",
        "passwd",
        "secret",
        "session",
        "sessionid",
        "signature",
        "sig",
    }
)
_EXCEPTION_ATTR = "_vidsort_exception"


def database_error(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database could not be reached (or the link dropped)."""
    return isinstance(exc, OperationalError | InterfaceError)


def api_error_response(*, status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


def url_without_credentials(url: str) -> str:
    """``url`` with credential-looking query parameters removed (the rest kept in order)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if name.lower() not in CREDENTIAL_PARAMS]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _remember_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Sent by Django's handler while the exception is being handled, wherever it was
    # raised (a view or a middleware): the response that follows is its 500 page.
    if request is not None:
        setattr(request, _EXCEPTION_ATTR, sys.exc_info()[1])


class ApiErrorMiddleware:
    """JSON errors under /api/ (NUL in a parameter: 400; lost database: 503; else 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        got_request_exception.connect(_remember_exception, dispatch_uid="vidsort-api-errors")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        api = request.path.startswith(API_PREFIX)
        if api and _has_nul(request):
            return api_error_response(
                status=400,
                code="invalid",
                detail="Query parameters cannot contain NUL characters.",
            )
        response = self.get_response(request)
        if api and response.status_code == 500:
            return self._api_500(request, response)
        return _login_redirect_cleaned(response)

    @staticmethod
    def _api_500(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        exc = getattr(request, _EXCEPTION_ATTR, None)
        if database_error(exc):
            return api_error_response(
                status=503, code="database_unavailable", detail=DATABASE_UNAVAILABLE
            )
        if settings.DEBUG or response.get("Content-Type", "").startswith("application/json"):
            return response
        return api_error_response(
            status=500,
            code="server_error",
            detail="An unexpected error occurred; the server log has the details.",
        )


def _has_nul(request: HttpRequest) -> bool:
    return any(
        "\x00" in name or any("\x00" in value for value in values)
        for name, values in request.GET.lists()
    )


def _login_redirect_cleaned(response: HttpResponseBase) -> HttpResponseBase:
    """A redirect to the login page keeps ``next`` minus any credential parameter."""
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    if not location or not urlsplit(location).path == str(settings.LOGIN_URL):
        return response
    parts = urlsplit(location)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    cleaned = [
        (name, url_without_credentials(value) if name == "next" else value) for name, value in pairs
    ]
    if cleaned != pairs:
        response["Location"] = urlunsplit(parts._replace(query=urlencode(cleaned, safe="/")))
    return response
