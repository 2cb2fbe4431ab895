from django.urls import path

from sangathan.org import views

app_name = "org"
urlpatterns = [
    path("", views.home, name="home"),
    path("units/<str:code>/", views.unit, name="unit"),
    path("units/<str:code>/people/", views.unit_people, name="unit_people"),
    path("units/<str:code>/appointments/", views.unit_appointments, name="unit_appointments"),
    path("units/<str:code>/appointments/new/", views.appoint, name="appoint"),
    path(
        "units/<str:code>/appointments/<int:pk>/end/",
        views.end_appointment,
        name="end_appointment",
    ),
    path(
        "units/<str:code>/appointments/<int:pk>/transfer/",
        views.transfer_appointment,
        name="transfer_appointment",
    ),
    path("units/<str:code>/vacancies/", views.vacancies, name="vacancies"),
    path("units/<str:code>/move/", views.move_unit, name="move_unit"),
    path("units/<str:code>/rename/", views.rename_unit, name="rename_unit"),
    path("units/<str:code>/import-units/", views.import_units_view, name="import_units"),
]
