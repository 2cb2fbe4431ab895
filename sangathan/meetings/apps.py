from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.meetings"
    label = "meetings"
