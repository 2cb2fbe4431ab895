from django.urls import path

from sangathan.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/verify/", views.verify, name="verify"),
    path("password/", views.password_login, name="password_login"),
    path("logout/", views.logout, name="logout"),
]
