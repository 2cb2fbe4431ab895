from django.contrib import admin
from django.urls import include, path

from sangathan.core import views as core_views

urlpatterns = [
    # First: the member app's API is the busiest, and URLs are matched in order.
    path("api/v1/", include("sangathan.api.urls")),
    path("", include("sangathan.org.urls")),
    path("people/", include("sangathan.people.urls")),
    path("broadcasts/", include("sangathan.broadcasts.urls")),
    path("accounts/", include("sangathan.accounts.urls")),
    path("drives/", include("sangathan.drives.urls")),
    path("join/", include("sangathan.drives.join_urls")),
    path("app/", include("sangathan.member.urls")),
    path("groups/", include("sangathan.groups.urls")),
    path("meetings/", include("sangathan.meetings.urls")),
    path("hooks/", include("sangathan.channels.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("privacy/", core_views.privacy, name="privacy"),
    path("admin/", admin.site.urls),
]
