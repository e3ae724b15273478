"""Who may call which API operation: roles per library (docs/team.md, "Roles").

Every API view declares ``roles_required``: HTTP method -> the least role that may call
it ("viewer", "labeller", "reviewer", "owner", or SIGNED_IN for any signed-in user).
`LibraryRolePermission` (REST_FRAMEWORK's DEFAULT_PERMISSION_CLASSES) enforces it:

- a method the view handles but ``roles_required`` does not name is refused (fail closed);
- the library a request concerns is the one of the object its URL names (a video,
  folder, classifier or job id; labeling.selectors.roles.OBJECT_PARAMS), else the
  ``library`` query or body parameter, else the current library;
- the answer to a role too low is a 403 in the API's error shape that says which role is
  needed: {"error": "role_required", "detail": "needs the reviewer role (you are
  labeller)", "required_role": "reviewer", "role": "labeller", "library": 1};
- an API token acts with its user's role, never more, and a read-only token
  (TokenScope.read_only) only reads: GET, HEAD and OPTIONS.

A view that needs more than its method's role for some inputs (a real auto-file) calls
`require_role` with the library `library_of_request` found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import SAFE_METHODS, BasePermission

from labeling.selectors.roles import (
    OBJECT_PARAMS,
    ROLE_RANK,
    SIGNED_IN,
    RoleCheck,
    library_of_object,
    role_check,
    token_is_read_only,
)
from labeling.services.library import library_by_id_or_current

if TYPE_CHECKING:
    # Not at run time: DRF imports this module while rest_framework.views is loading.
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from labeling.models import Library

VIEWER, LABELLER, REVIEWER, OWNER = "viewer", "labeller", "reviewer", "owner"
POLICY_LEVELS = {SIGNED_IN, *ROLE_RANK}
# HEAD reads what GET reads; OPTIONS (what the view accepts) needs the least role any of
# the view's methods needs.
METHOD_ALIASES = {"HEAD": "GET"}
LEVEL_RANK = {SIGNED_IN: 0, **ROLE_RANK}
_RESOLVED = "_vidsort_role_library"


class RoleRequired(exceptions.APIException):
    """403: the user's role in the library is below the one the operation needs."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "role_required"

    def __init__(self, check: RoleCheck) -> None:
        super().__init__(check.message, code="role_required")
        # Added to the error body beside "error" and "detail" (labeling/api/errors.py).
        self.extra: dict[str, Any] = {
            "required_role": check.required,
            "role": check.role,
            "library": check.library_id,
        }


class NoRolePolicy(exceptions.APIException):
    """403: the view declares no role for this method, so nobody may call it."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "no_role_policy"


class ReadOnlyToken(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "read_only_token"
    default_detail = "This API token is read-only: it may GET, never change anything."


def required_role(view: APIView, method: str) -> str | None:
    """The least role `view` asks for `method`, or None when it names none."""
    policy: dict[str, str] = getattr(view, "roles_required", None) or {}
    if method == "OPTIONS":
        levels = [level for level in policy.values() if level in LEVEL_RANK]
        return min(levels, key=LEVEL_RANK.__getitem__) if levels else None
    return policy.get(METHOD_ALIASES.get(method, method))


def _library_param(request: Request) -> int | None:
    raw: Any = request.query_params.get("library")
    if raw is None and isinstance(request.data, dict):
        raw = request.data.get("library")
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not str(raw).isdigit():
        raise exceptions.ValidationError({"library": "must be a library id (an integer)"})
    return int(raw)


def request_library(request: Request, view: APIView) -> Library | None:
    """The library the request concerns (None: no library exists yet)."""
    for param, value in (getattr(view, "kwargs", None) or {}).items():
        if param in OBJECT_PARAMS:
            library = library_of_object(param=param, pk=value)
            if library is not None:
                return library
    library_id = _library_param(request)
    try:
        return library_by_id_or_current(library_id=library_id)
    except ImproperlyConfigured:
        return None


def library_of_request(request: Request) -> Library | None:
    """The library LibraryRolePermission checked the request's role in."""
    return getattr(request, _RESOLVED, None)


def require_role(request: Request, library: Library | None, minimum: str) -> None:
    """RoleRequired unless the request's user holds `minimum` (or more) in `library`."""
    check = role_check(request.user, library, minimum)
    if not check.allowed:
        raise RoleRequired(check)


def _is_read_only_token(auth: object) -> bool:
    return isinstance(auth, Token) and token_is_read_only(token_key=auth.key)


class LibraryRolePermission(BasePermission):
    """Signed in, and the view's role for this method in the request's library."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False  # DRF answers "not authenticated"
        method = request.method or "GET"
        handler = method.lower() if method != "HEAD" else "get"
        if method != "OPTIONS" and not hasattr(view, handler):
            return True  # the view answers 405
        minimum = required_role(view, method)
        if minimum is None or minimum not in POLICY_LEVELS:
            raise NoRolePolicy(
                f"{type(view).__name__} declares no role for {method}; refused (fail closed)"
            )
        if method not in SAFE_METHODS and _is_read_only_token(request.auth):
            raise ReadOnlyToken()
        if minimum == SIGNED_IN:
            return True
        library = request_library(request, view)
        setattr(request, _RESOLVED, library)
        require_role(request, library, minimum)
        return True
