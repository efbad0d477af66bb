from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Landelijk register"

    def ready(self):
        from . import signals  # noqa: F401
