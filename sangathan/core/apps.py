from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.core"
    label = "core"
