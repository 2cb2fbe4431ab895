from django.urls import path

from sangathan.broadcasts import views

app_name = "broadcasts"
urlpatterns = [
    path("", views.broadcast_list, name="list"),
    path("new/", views.compose, name="compose"),
    path("approvals/", views.approvals, name="approvals"),
    path("inbox/", views.inbox, name="inbox"),
    path("outbox/", views.outbox, name="outbox"),
    path("poll-dates/", views.poll_dates, name="poll_dates"),
    path("<str:code>/", views.detail, name="detail"),
    path("<str:code>/reach/", views.reach, name="reach"),
    path("<str:code>/reach.csv", views.reach_csv, name="reach_csv"),
    path("<str:code>/attachment/", views.attachment, name="attachment"),
    path("<str:code>/approve/", views.approve, name="approve"),
    path("<str:code>/reject/", views.reject, name="reject"),
    path("<str:code>/cancel/", views.cancel, name="cancel"),
    path("<str:code>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<str:code>/reshare/", views.reshare, name="reshare"),
]
