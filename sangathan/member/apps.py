from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.member"
    label = "member"
