from django.urls import path

from sangathan.drives import views

app_name = "drives"
urlpatterns = [
    path("", views.drive_list, name="list"),
    path("new/", views.drive_new, name="new"),
    path("institutions/", views.institutions, name="institutions"),
    path("institutions/import/", views.institutions_import, name="institutions_import"),
    path("<str:code>/", views.drive_detail, name="detail"),
    path("<str:code>/edit/", views.drive_edit, name="edit"),
    path("<str:code>/recruiters/", views.add_recruiter, name="add_recruiter"),
    path("<str:code>/recruiters/<str:rcode>/", views.recruiter_active, name="recruiter_active"),
    path("<str:code>/locations/", views.add_location, name="add_location"),
    path("<str:code>/targets/", views.add_target, name="add_target"),
    path("<str:code>/posters.pdf", views.posters_all, name="posters"),
    path(
        "<str:code>/poster/<str:poster_code>.<str:fmt>",
        views.poster,
        name="poster",
    ),
    path("<str:code>/suspicious/", views.suspicious, name="suspicious"),
    path("<str:code>/suspicious/<int:pk>/", views.review, name="review"),
]
