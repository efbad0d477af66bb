from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = "Berichten aan leden"

    def ready(self):
        # The member data export and erasure know about notices through their registries.
        from . import privacy

        privacy.register()
