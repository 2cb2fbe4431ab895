from django.urls import path

from sangathan.member import views

app_name = "member"

urlpatterns = [
    path("", views.shell, name="shell"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
]
