from django.urls import path

from sangathan.people import import_views, views

app_name = "people"
urlpatterns = [
    path("", views.search, name="search"),
    path("import/", import_views.upload, name="import"),
]
