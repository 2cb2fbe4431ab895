"""Provider webhooks and unsubscribe links, mounted at /hooks/ (public, signed)."""

from django.urls import path

from sangathan.channels import webhooks

app_name = "channels"

urlpatterns = [
    path("whatsapp", webhooks.whatsapp, name="whatsapp"),
    path("sms", webhooks.sms, name="sms"),
    path("unsubscribe/<str:token>", webhooks.unsubscribe, name="unsubscribe"),
]
