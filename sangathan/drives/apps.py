from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.drives"
    label = "drives"
