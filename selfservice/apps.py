from django.apps import AppConfig


class SelfserviceConfig(AppConfig):
    name = "selfservice"
    verbose_name = "Selfservice en koppelingen"
    default_auto_field = "django.db.models.BigAutoField"
