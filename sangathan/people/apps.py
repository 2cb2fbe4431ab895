from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.people"
    label = "people"
