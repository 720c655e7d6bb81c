from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Summarizer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, serving  # noqa: F401  (registers system checks, worker signals)
