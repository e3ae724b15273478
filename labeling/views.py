"""Pages. Thin: reads come from selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from labeling.selectors import folders_with_counts, library_counts
from labeling.services.library import library_current


@login_required
def home(request: HttpRequest) -> HttpResponse:
    try:
        library = library_current()
    except ImproperlyConfigured as exc:
        return render(request, "labeling/home.html", {"setup_error": str(exc)})
    return render(
        request,
        "labeling/home.html",
        {
            "library": library,
            "folders": folders_with_counts(library=library),
            "counts": library_counts(library=library),
        },
    )


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
