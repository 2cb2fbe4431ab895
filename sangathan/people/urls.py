from django.urls import path

from sangathan.people import import_views, tasks_views, views

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
]
