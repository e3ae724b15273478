"""Login throttling: refuse a login POST with 429 after too many failures.

Failures are counted per (client IP, username) in a cache every web process shares
(settings.CACHES["vidsort-security"]), from Django's `user_login_failed` signal, so the
count covers every form that authenticates through django.contrib.auth (the login page
and the admin's). A successful login clears its count. The middleware refuses before the
view runs, so a throttled client cannot even test a password.

LabelingConfig.ready() calls login_throttle_connect(): it connects the two signal
receivers and registers a system check that fails when the middleware is missing from
settings.MIDDLEWARE, so counting never depends on this module happening to be imported,
and the refusal cannot be dropped from the settings unnoticed.

The window is fixed (it starts at the first failure): after VIDSORT_LOGIN_WINDOW_SECONDS
the count expires and the user may try again.

When the cache cannot be reached (Redis down) the throttle fails open: logins are checked
as usual and nothing is counted, with a warning in the log, so an outage of the broker
never locks everyone out nor turns the login page into a 500.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core import checks
from django.core.cache import BaseCache, caches
from django.http import HttpRequest, HttpResponse
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CACHE_ALIAS = "vidsort-security"
MIDDLEWARE_PATH = "labeling.security.LoginThrottleMiddleware"


def _cache() -> BaseCache:
    return caches[CACHE_ALIAS]


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by whoever sends the request. Behind the
    # nginx of docs/deploy.md every client shares nginx's address, so the username part
    # of the key still limits guessing per account.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(ip: str, username: str) -> str:
    digest = hashlib.sha256(f"{ip}\0{username.strip().lower()}".encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


# What the cache backends raise when their store is away: Redis down, the data folder
# unreadable.
CACHE_ERRORS = (RedisError, OSError)


def _cache_unavailable(exc: Exception) -> None:
    logger.warning("login throttle cache unavailable, not counting failures: %s", exc)


def login_failures(*, ip: str, username: str) -> int:
    try:
        return int(_cache().get(_key(ip, username), 0))
    except CACHE_ERRORS as exc:
        _cache_unavailable(exc)
        return 0


def login_failure_record(*, ip: str, username: str) -> int:
    try:
        return _failure_count_increment(_key(ip, username))
    except CACHE_ERRORS as exc:
        _cache_unavailable(exc)
        return 0


def _failure_count_increment(key: str) -> int:
    cache = _cache()
    # add() is atomic: two failures at once both count, and the window starts once.
    cache.add(key, 0, timeout=settings.VIDSORT_LOGIN_WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.VIDSORT_LOGIN_WINDOW_SECONDS)
        return 1


def login_failures_clear(*, ip: str, username: str) -> None:
    try:
        _cache().delete(_key(ip, username))
    except CACHE_ERRORS as exc:
        _cache_unavailable(exc)


def _username(credentials: dict[str, Any] | None, request: HttpRequest | None) -> str:
    if credentials and credentials.get("username"):
        return str(credentials["username"])
    if request is not None and request.method == "POST":
        return str(request.POST.get("username", ""))
    return ""


def _on_login_failed(
    sender: object,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: object,
) -> None:
    if request is None:
        return  # authenticate() called outside a request (a shell, a command)
    ip = client_ip(request)
    count = login_failure_record(ip=ip, username=_username(credentials, request))
    if count >= settings.VIDSORT_LOGIN_FAILURES:
        logger.warning("login throttled for %s after %d failures", ip, count)


def _on_logged_in(
    sender: object, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: object
) -> None:
    if request is None:
        return
    login_failures_clear(ip=client_ip(request), username=user.get_username())
    if request.method == "POST" and request.POST.get("username"):
        login_failures_clear(ip=client_ip(request), username=request.POST["username"])


def _check_middleware_installed(
    app_configs: Sequence[AppConfig] | None, **kwargs: object
) -> list[checks.CheckMessage]:
    if MIDDLEWARE_PATH in settings.MIDDLEWARE:
        return []
    return [
        checks.Error(
            f"{MIDDLEWARE_PATH} is not in MIDDLEWARE: failed logins are counted but never refused.",
            hint=f"Add {MIDDLEWARE_PATH!r} to MIDDLEWARE.",
            id="labeling.E001",
        )
    ]


def login_throttle_connect() -> None:
    """Count failed logins and clear the count on success; called by the app's ready()."""
    user_login_failed.connect(_on_login_failed, dispatch_uid="vidsort-login-failed")
    user_logged_in.connect(_on_logged_in, dispatch_uid="vidsort-logged-in")
    checks.register(_check_middleware_installed, checks.Tags.security)


class LoginThrottleMiddleware:
    """429 for a login POST from an (IP, username) that failed too often recently."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in settings.VIDSORT_LOGIN_PATHS:
            username = request.POST.get("username", "")
            if (
                login_failures(ip=client_ip(request), username=username)
                >= settings.VIDSORT_LOGIN_FAILURES
            ):
                minutes = max(1, round(settings.VIDSORT_LOGIN_WINDOW_SECONDS / 60))
                response = HttpResponse(
                    "Too many failed logins for this user from your address; "
                    f"try again in up to {minutes} minutes.\n",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(settings.VIDSORT_LOGIN_WINDOW_SECONDS)
                return response
        return self.get_response(request)
