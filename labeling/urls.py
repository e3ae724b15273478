from django.urls import path

from labeling import pages, streaming
from labeling.views import intelligence

app_name = "labeling"

urlpatterns = [
    path("", pages.player, name="player"),
    path("overview", pages.home, name="home"),
    path("gallery/<str:folder>", pages.gallery, name="gallery"),
    path("team/", pages.team, name="team"),
    path("tiktok", pages.tiktok, name="tiktok"),
    path("tiktok/missing.txt", pages.tiktok_missing, name="tiktok-missing"),
    path("duplicates", intelligence.duplicates, name="duplicates"),
    path("suggestions", intelligence.suggestions, name="suggestions"),
    path("login/", pages.LoginView.as_view(), name="login"),
    path("logout/", pages.LogoutView.as_view(), name="logout"),
    path("healthz", pages.healthz, name="healthz"),
    path("media/videos/<int:video_id>", streaming.video_stream, name="video-stream"),
    path(
        "media/videos/<int:video_id>/proxy",
        streaming.video_proxy_stream,
        name="video-proxy-stream",
    ),
]
