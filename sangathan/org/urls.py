from django.urls import path

from sangathan.org import views

app_name = "org"
urlpatterns = [
    path("", views.home, name="home"),
]
