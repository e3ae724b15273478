from django.urls import path

from labeling import streaming, views

app_name = "labeling"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("media/videos/<int:video_id>", streaming.video_stream, name="video-stream"),
]
