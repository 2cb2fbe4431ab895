from django.urls import path

from sangathan.api.router import api

urlpatterns = [path("", api.urls)]
