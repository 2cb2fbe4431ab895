from django.urls import path

from sangathan.people import import_views, views

app_name = "people"
urlpatterns = [
    # Staff UI (search, detail, appointments): views.py
    path("", views.search, name="search"),
    path("<int:pk>/", views.detail, name="detail"),
    # Import and export: import_views.py
    path("import/", import_views.upload, name="import"),
    path("import/<str:token>/", import_views.preview, name="import_preview"),
    path("export/", import_views.export, name="export"),
]
