from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

admin.site.site_header = "VidSort administration"
admin.site.site_title = "VidSort"


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico on every page: send them to the icon (no login)."""
    return HttpResponseRedirect(static("vidsort/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("api/", include("labeling.api.urls")),
    path("", include("labeling.urls")),
]
