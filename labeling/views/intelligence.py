"""The duplicates and new-folder suggestion pages: shells that read the JSON API.

/duplicates lists the duplicate groups (GET /api/duplicates) and resolves one (POST
/api/duplicates/resolve); /suggestions shows the proposed folders (GET /api/suggestions)
and creates one (POST /api/suggestions/accept). docs/intelligence.md has the methods.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from labeling.page_access import role_page
from labeling.services.library import library_current


def _page(request: HttpRequest, template: str, config: dict) -> HttpResponse:
    try:
        library = library_current()
    except ImproperlyConfigured as exc:
        return render(request, "labeling/home.html", {"setup_error": str(exc)})
    return render(
        request, template, {"library": library, "config": config | {"library": library.pk}}
    )


@login_required
@role_page("viewer")
@ensure_csrf_cookie
def duplicates(request: HttpRequest) -> HttpResponse:
    return _page(request, "labeling/duplicates.html", {"defaultFolder": "Duplicates"})


@login_required
@role_page("viewer")
@ensure_csrf_cookie
def suggestions(request: HttpRequest) -> HttpResponse:
    return _page(request, "labeling/suggestions.html", {})
