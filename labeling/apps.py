from django.apps import AppConfig


class LabelingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "labeling"
    verbose_name = "VidSort labelling"

    def ready(self) -> None:
        from labeling.security import login_throttle_connect

        login_throttle_connect()
