from django.apps import AppConfig


class IblConfig(AppConfig):
    name = "ibl"
    verbose_name = "Interbibliothecair leenverkeer (IBL)"

    def ready(self):
        # Circulation asks interlibrary loan what only it knows (circulation.interlibrary).
        from circulation.interlibrary import register

        from .policy import CirculationAnswers

        register(CirculationAnswers())
