from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "VidSort administration"
admin.site.site_title = "VidSort"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("labeling.api.urls")),
    path("", include("labeling.urls")),
]
