from django.apps import AppConfig


class Config(AppConfig):
    name = "sangathan.accounts"
    label = "accounts"
