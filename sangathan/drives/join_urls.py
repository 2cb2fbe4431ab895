from django.urls import path

from sangathan.drives import join_views

app_name = "join"
urlpatterns = [path("<str:code>", join_views.join, name="join")]
