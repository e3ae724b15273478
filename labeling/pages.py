"""The browser pages: the player, the overview, the per-folder gallery, login and logout,
and the health check.

Thin: the pages render a shell and hand the browser what it needs to start at once
(settings, the user's queue order); everything else comes from the JSON API, which the
scripts use too, so the page and the API cannot disagree.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from labeling.page_access import role_page
from labeling.selectors import (
    QUEUE_ORDERS,
    folders_with_counts,
    library_counts,
    queue_order_for_user,
)
from labeling.selectors.folders import folder_in_library
from labeling.selectors.roles import Role, role_at_least, role_of
from labeling.selectors.tiktok import (
    tiktok_items_unmatched,
    tiktok_missing_path,
    tiktok_summary,
)
from labeling.services.errors import ServiceError
from labeling.services.library import library_current
from labeling.services.tiktok import tiktok_import
from labeling.services.tiktok_export import TikTokExportError

# Shown in the queue-order selector; the keys are the API's `order` values.
QUEUE_ORDER_LABELS = {
    "uncertainty+diversity": "Least certain, varied",
    "uncertainty": "Least certain first",
    "margin": "Smallest margin",
    "entropy": "Highest entropy",
    "class_balance": "Class balance",
    "random": "Random",
    "newest": "Newest",
    "filename": "File name",
    "favourited": "Favourited on TikTok, newest first",
}

GALLERY_PAGE_SIZE = 24


@login_required
@role_page("viewer")
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
            # GET /api/team/stats needs a labeller: a viewer gets no per-labeller chart.
            "labeller_chart": library.team_mode
            and role_at_least(request.user, library, Role.LABELLER),
        },
    )


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


@login_required
@role_page("viewer")
@ensure_csrf_cookie  # the page's POSTs read the csrftoken cookie
def player(request: HttpRequest) -> HttpResponse:
    try:
        library = library_current()
    except ImproperlyConfigured as exc:
        return render(request, "labeling/home.html", {"setup_error": str(exc)})
    queue_order = queue_order_for_user(user=request.user)
    return render(
        request,
        "labeling/player.html",
        {
            "library": library,
            "config": {
                "lowConfidence": settings.VIDSORT_LOW_CONFIDENCE,
                "queueOrder": queue_order,
                "pageSize": 20,
                # Team mode (docs/player.md): a labeller's key votes in batches, a
                # reviewer's decides a disputed video.
                "library": library.pk,
                "teamMode": library.team_mode,
                "role": role_of(request.user, library),
            },
            "queue_orders": [(key, QUEUE_ORDER_LABELS.get(key, key)) for key in QUEUE_ORDERS],
            "current_order": queue_order,
            "low_confidence_percent": round(settings.VIDSORT_LOW_CONFIDENCE * 100),
        },
    )


@login_required
@role_page("viewer")
@ensure_csrf_cookie
def gallery(request: HttpRequest, folder: str) -> HttpResponse:
    try:
        library = library_current()
    except ImproperlyConfigured as exc:
        return render(request, "labeling/home.html", {"setup_error": str(exc)})
    if folder == "unsorted":
        name, folder_id = "Unsorted", "unsorted"
    elif folder.isdigit():
        record = folder_in_library(library=library, folder_id=int(folder))
        if record is None:
            raise Http404("No such folder.")
        name, folder_id = record.name, str(record.pk)
    else:
        raise Http404("No such folder.")
    return render(
        request,
        "labeling/gallery.html",
        {
            "library": library,
            "folder_name": name,
            "config": {
                "folder": folder_id,
                "pageSize": GALLERY_PAGE_SIZE,
                # In team mode reviewers and owners mark filed videos as gold standards.
                "library": library.pk,
                "canGold": library.team_mode
                and role_of(request.user, library) in (Role.REVIEWER, Role.OWNER),
            },
        },
    )


@login_required
@role_page("viewer")
@ensure_csrf_cookie  # the settings form PATCHes
def team(request: HttpRequest) -> HttpResponse:
    """The team page: each labeller's figures, agreement, and the team settings (owners)."""
    try:
        library = library_current()
    except ImproperlyConfigured as exc:
        return render(request, "labeling/home.html", {"setup_error": str(exc)})
    role = role_of(request.user, library)
    return render(
        request,
        "labeling/team.html",
        {
            "library": library,
            "role": role,
            "config": {"library": library.pk, "role": role, "canEdit": role == Role.OWNER},
        },
    )


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    # Django's LogoutView answers POST only (a GET link could be forged by any page).
    next_page = "/login/"


TIKTOK_SHOWN = 200


@login_required
@role_page("viewer", write="reviewer")  # importing an export writes the library's data
def tiktok(request: HttpRequest) -> HttpResponse:
    """Import a TikTok data export (upload), and what it matched or still misses."""
    try:
        library = library_current()
    except ImproperlyConfigured as exc:
        return render(request, "labeling/home.html", {"setup_error": str(exc)})
    context: dict[str, object] = {"library": library}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("export")
        try:
            if upload is None:
                raise TikTokExportError("choose the export file (.zip or user_data.json) first")
            report = tiktok_import(library=library, stream=upload, name=upload.name or "export")
        except ServiceError as exc:
            context["error"], status = str(exc), 400
        else:
            context["report"] = report
            context["skipped"] = report.skipped[:TIKTOK_SHOWN]
    missing = tiktok_items_unmatched(library=library, limit=TIKTOK_SHOWN)
    context |= {
        "summary": tiktok_summary(library=library),
        "missing": missing,
        "missing_file": tiktok_missing_path(library=library),
        "shown": TIKTOK_SHOWN,
    }
    return render(request, "labeling/tiktok.html", context, status=status)


@login_required
@role_page("viewer")
def tiktok_missing(request: HttpRequest) -> HttpResponse:
    """The links with no file, one a line: a batch file for `yt-dlp -a`."""
    try:
        library = library_current()
    except ImproperlyConfigured as exc:
        raise Http404(str(exc)) from None
    links = "".join(f"{link}\n" for _, link in tiktok_items_unmatched(library=library))
    response = HttpResponse(links, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="tiktok-missing-links.txt"'
    return response
