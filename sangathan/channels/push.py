"""Web Push subscriptions of the member app: subscribe and unsubscribe.

Subscribing is the member's own act in the app, so it also records their consent to push
notifications (organisational purpose); unsubscribing the last device withdraws it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sangathan.accounts.audit import audit
from sangathan.channels.models import PushSubscription
from sangathan.people.actions import ActionRefused
from sangathan.people.models import Consent

PUSH_PURPOSE = "organisational"


def do_subscribe_push(person, endpoint: str, p256dh: str, auth: str, *, request=None):
    endpoint = (endpoint or "").strip()
    if not endpoint.startswith("https://") or not p256dh or not auth:
        raise ActionRefused(
            _("A push subscription needs an https endpoint and its two keys."),
            code="bad_subscription",
        )
    with transaction.atomic(durable=True):
        sub, created = PushSubscription.objects.update_or_create(
            endpoint=endpoint[:1000],
            defaults={"person": person, "p256dh": p256dh[:200], "auth": auth[:100]},
        )
        if (
            not Consent.objects.active()
            .filter(person=person, channel="push", purpose=PUSH_PURPOSE)
            .exists()
        ):
            Consent.objects.create(
                person=person,
                channel="push",
                purpose=PUSH_PURPOSE,
                evidence="subscribed to notifications in the member app",
            )
        audit("push_subscribed", obj=sub, request=request, person=person.pk, new=created)
    return sub


def do_unsubscribe_push(person, endpoint: str, *, request=None) -> bool:
    with transaction.atomic(durable=True):
        deleted, _ignored = PushSubscription.objects.filter(
            person=person, endpoint=endpoint
        ).delete()
        if deleted and not PushSubscription.objects.filter(person=person).exists():
            Consent.objects.active().filter(
                person=person, channel="push", purpose=PUSH_PURPOSE
            ).update(withdrawn_at=timezone.now())
        if deleted:
            audit("push_unsubscribed", request=request, person=person.pk)
    return bool(deleted)
