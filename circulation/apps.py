from django.apps import AppConfig


class CirculationConfig(AppConfig):
    name = "circulation"
    verbose_name = "Uitlening"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Loans and holds plug into the member privacy registries (export, erasure, anonymising, merge).
        from .services import privacy  # noqa: F401
