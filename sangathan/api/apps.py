from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.api"
    label = "api"
