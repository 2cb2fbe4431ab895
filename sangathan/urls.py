from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("sangathan.org.urls")),
    path("people/", include("sangathan.people.urls")),
    path("accounts/", include("sangathan.accounts.urls")),
    path("api/v1/", include("sangathan.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
