"""Roles on the browser pages (docs/team.md, "Roles"): the pages' side of
labeling/api/access.py, for labeling/pages.py and labeling/views/.

    @login_required
    @role_page("viewer", write="reviewer")
    def tiktok(request): ...

A user below the page's role gets a 403 page that says which role is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from labeling.selectors.roles import role_check
from labeling.services.library import library_current

PageView = Callable[..., HttpResponse]
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def role_page(minimum: str, *, write: str | None = None) -> Callable[[PageView], PageView]:
    """The page needs `minimum` (a role) in the current library, and `write` (default: the
    same) for a POST or another unsafe method: else 403.

    Goes under @login_required, so an anonymous visitor is sent to the login page first.
    Without any library the page itself shows the setup message.
    """

    def decorate(view: PageView) -> PageView:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                library = library_current()
            except ImproperlyConfigured:
                return view(request, *args, **kwargs)
            needed = minimum if request.method in SAFE_METHODS or write is None else write
            check = role_check(request.user, library, needed)
            if not check.allowed:
                context = {"library": library, "message": check.message}
                return render(request, "labeling/forbidden.html", context, status=403)
            return view(request, *args, **kwargs)

        return checked

    return decorate
