from django.apps import AppConfig


class OpacConfig(AppConfig):
    name = "opac"
    verbose_name = "Catalogus voor leden (OPAC)"
