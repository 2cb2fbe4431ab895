from django.urls import path

from sangathan.groups import views

app_name = "groups"
urlpatterns = [
    path("", views.group_list, name="list"),
    path("new/", views.group_new, name="new"),
    path("coverage/", views.coverage, name="coverage"),
    path("targets/", views.target_new, name="target_new"),
    path("targets/<int:pk>/archive/", views.target_archive, name="target_archive"),
    path("import/", views.import_groups, name="import"),
    path("broadcasts/<str:code>/", views.broadcast_forwards, name="forwards"),
    path(
        "broadcasts/<str:code>/<str:group_code>/confirm/",
        views.forward_confirm,
        name="forward_confirm",
    ),
    path("<str:code>/", views.group_detail, name="detail"),
    path("<str:code>/edit/", views.group_edit, name="edit"),
    path("<str:code>/link/", views.group_link, name="link"),
    path("<str:code>/count/", views.group_count, name="count"),
    path("<str:code>/admins/", views.group_admin_add, name="admin_add"),
    path(
        "<str:code>/admins/<int:person_id>/remove/", views.group_admin_remove, name="admin_remove"
    ),
    path("<str:code>/status/", views.group_status, name="status"),
]
