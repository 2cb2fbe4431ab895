from django.urls import path

from sangathan.people import import_views, reorg_views, tasks_views, views

app_name = "people"
urlpatterns = [
    # Staff UI (search, detail, appointments): views.py
    path("", views.search, name="search"),
    path("<int:pk>/", views.detail, name="detail"),
    # Import and export: import_views.py
    path("import/", import_views.upload, name="import"),
    path("import/<str:token>/", import_views.preview, name="import_preview"),
    path("export/", import_views.export, name="export"),
    # Tasks for the member app, and erasure on request: tasks_views.py
    path("tasks/", tasks_views.tasks, name="tasks"),
    path("<int:pk>/erase/", tasks_views.erase_person, name="erase"),
    # Team reorganisation: reorg_views.py
    path("committees/", reorg_views.committee_list, name="committees"),
    path("committees/new/", reorg_views.committee_edit, name="committee_new"),
    path("committees/<int:pk>/", reorg_views.committee_edit, name="committee_edit"),
    path("committees/<int:pk>/apply/", reorg_views.committee_apply, name="committee_apply"),
    path(
        "committees/areas/<int:pk>/remove/",
        reorg_views.committee_remove,
        name="committee_remove",
    ),
    path("<int:pk>/posts/", reorg_views.person_appoint, name="person_appoint"),
    path(
        "<int:pk>/posts/<int:appointment>/relieve/",
        reorg_views.person_relieve,
        name="person_relieve",
    ),
    path(
        "<int:pk>/posts/<int:appointment>/transfer/",
        reorg_views.person_transfer,
        name="person_transfer",
    ),
    path("<int:pk>/history/", reorg_views.person_history, name="person_history"),
    path(
        "seats/<str:code>/<int:position>/history/",
        reorg_views.seat_history,
        name="seat_history",
    ),
    path("report/<str:code>/", reorg_views.report, name="report"),
    path("reorganise/", reorg_views.reorganise_upload, name="reorganise"),
    path("reorganise/<str:token>/", reorg_views.reorganise_batch, name="reorganise_batch"),
    path("reorganise/<str:token>/undo/", reorg_views.reorganise_undo, name="reorganise_undo"),
]
