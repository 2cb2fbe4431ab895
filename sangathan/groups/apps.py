from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.groups"
    label = "groups"
