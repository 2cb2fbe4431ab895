from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.org"
    label = "org"

    def ready(self):
        from sangathan.org import lookups  # noqa: F401  (registers path__under)
