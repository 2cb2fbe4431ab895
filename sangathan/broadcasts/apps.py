from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.broadcasts"
    label = "broadcasts"
