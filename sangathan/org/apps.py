from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.org"
    label = "org"
