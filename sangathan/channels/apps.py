from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.channels"
    label = "channels"
