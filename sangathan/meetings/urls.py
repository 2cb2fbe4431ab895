from django.urls import path

from sangathan.meetings import views

app_name = "meetings"
urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("new/", views.meeting_new, name="new"),
    path("ical/", views.feeds, name="feeds"),
    path("ical/<str:token>.ics", views.feed, name="feed"),
    path("<str:code>/", views.meeting_detail, name="detail"),
    path("<str:code>/edit/", views.meeting_edit, name="edit"),
    path("<str:code>/status/", views.meeting_status, name="status"),
    path("<str:code>/meeting.ics", views.meeting_ics, name="ics"),
    path("<str:code>/agenda/", views.agenda_add, name="agenda_add"),
    path("<str:code>/agenda/order/", views.agenda_reorder, name="agenda_reorder"),
    path("<str:code>/agenda/<int:pk>/move/", views.agenda_move, name="agenda_move"),
    path("<str:code>/agenda/<int:pk>/remove/", views.agenda_remove, name="agenda_remove"),
    path("<str:code>/agenda/<int:pk>/minutes/", views.agenda_minutes, name="agenda_minutes"),
    path("<str:code>/rules/", views.rule_add, name="rule_add"),
    path("<str:code>/rules/preview/", views.rule_preview, name="rule_preview"),
    path("<str:code>/rules/<int:pk>/remove/", views.rule_remove, name="rule_remove"),
    path("<str:code>/extras/", views.extra_add, name="extra_add"),
    path("<str:code>/extras/<int:person_id>/remove/", views.extra_remove, name="extra_remove"),
    path("<str:code>/send/", views.send_invitations, name="send"),
    path("<str:code>/checkin/", views.checkin_screen, name="checkin"),
    path("<str:code>/attendance/", views.attendance_mark, name="attendance"),
    path("<str:code>/actions/", views.action_add, name="action_add"),
    path("<str:code>/actions/<int:pk>/done/", views.action_done, name="action_done"),
    path("<str:code>/follow-up/", views.follow_up, name="follow_up"),
]
