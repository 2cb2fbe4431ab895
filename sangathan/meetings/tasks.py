"""Background work for meetings.

``notify_invitees`` (one task per meeting, never per recipient) tells the invitees not yet
told, on the external channels each has consented to for organisational messages: an email
with the meeting's .ics attached (Django's mail API, one connection), a Web Push
notification and an SMS through the channels' adapters. The in-app task was already created
with the invitation. These messages do not go through the broadcast outbox (``Delivery``
rows belong to a broadcast): each invitation is claimed once by a conditional UPDATE of
``notified_at`` and sent once, without the outbox's retries; which channels carried it is
recorded on the invitation.

``periodic`` escalates overdue action items; ``sangathan worker --until-idle`` runs it on
each pass (at most once a minute), like the groups' sweep."""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

logger = logging.getLogger("sangathan.meetings")

PURPOSE = "organisational"
EVERY_SECONDS = 60
_last_run = 0.0


def _consenting(qs, channel: str):
    from sangathan.channels.models import Suppression
    from sangathan.people.models import Consent

    consent = Consent.objects.filter(
        person=OuterRef("person"), channel=channel, purpose=PURPOSE, withdrawn_at=None
    )
    return qs.filter(Exists(consent)), Suppression


def _invitation_text(meeting) -> tuple[str, str]:
    when = timezone.localtime(meeting.starts_at).strftime("%d.%m.%Y %H:%M")
    title = _("Meeting: %(title)s") % {"title": meeting.display_title}
    body = _("%(when)s, %(place)s. Please answer in the app whether you will come.") % {
        "when": when,
        "place": meeting.venue or meeting.online_link or "—",
    }
    return title, body


def send_email(meeting, invitations, base_url: str) -> set[int]:
    """Emails with the .ics attached to invitees with email consent and an address."""
    from sangathan.channels.adapters.email import unsubscribe_link
    from sangathan.meetings.ics import calendar

    qs, suppression = _consenting(invitations, "email")
    suppressed = suppression.objects.filter(channel="email", address=OuterRef("person__email"))
    rows = list(
        qs.exclude(person__email="")
        .exclude(Exists(suppressed))
        .values_list("pk", "person_id", "person__email")
    )
    if not rows:
        return set()
    url = f"{base_url}/app/#/meetings/{meeting.code}"
    ics = calendar([meeting], method="PUBLISH", url_for=lambda m: url)
    title, body = _invitation_text(meeting)
    agenda = "\n".join(f"{i}. {a.title}" for i, a in enumerate(meeting.agenda.all(), 1))
    sent = set()
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
        for pk, person_id, address in rows:
            text = "\n\n".join(filter(None, [body, agenda, url]))
            unsubscribe = unsubscribe_link(person_id)
            if unsubscribe:
                text += f"\n\n--\n{_('To stop these messages, open')}: {unsubscribe}"
            mail = EmailMultiAlternatives(
                subject=title[:200],
                body=text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[address],
                connection=connection,
                headers={"List-Unsubscribe": f"<{unsubscribe}>"} if unsubscribe else {},
            )
            mail.attach(f"meeting-{meeting.code}.ics", ics, "text/calendar; method=PUBLISH")
            try:
                mail.send()
                sent.add(pk)
            except Exception as exc:  # one bad address must not stop the rest
                logger.warning("meeting invitation email to %s failed: %s", person_id, exc)
    finally:
        connection.close()
    return sent


def _send_adapter(channel: str, messages) -> set[int]:
    from sangathan.channels.adapters import get_adapter

    if not messages:
        return set()
    adapter = get_adapter(channel)
    try:
        results = adapter.send(messages)
    finally:
        close = getattr(adapter, "close", None)
        if close:
            close()
    return {r.delivery_id for r in results if r.ok}


def send_push(meeting, invitations) -> set[int]:
    from sangathan.channels.adapters import OutgoingMessage
    from sangathan.channels.models import PushSubscription

    qs, _s = _consenting(invitations, "push")
    rows = list(qs.values_list("pk", "person_id"))
    subs = defaultdict(list)
    for sub in PushSubscription.objects.filter(person_id__in=[p for _i, p in rows]).values(
        "pk", "person_id", "endpoint", "p256dh", "auth"
    ):
        subs[sub["person_id"]].append(
            {
                "id": sub["pk"],
                "endpoint": sub["endpoint"],
                "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]},
            }
        )
    title, body = _invitation_text(meeting)
    messages = [
        OutgoingMessage(
            delivery_id=pk,
            to=subs[person_id],
            title=title,
            body=body,
            link=f"/app/#/meetings/{meeting.code}",
            person_id=person_id,
            channel="push",
        )
        for pk, person_id in rows
        if subs.get(person_id)
    ]
    return _send_adapter("push", messages)


def send_sms(meeting, invitations) -> set[int]:
    from sangathan.channels.adapters import OutgoingMessage

    qs, suppression = _consenting(invitations, "sms")
    suppressed = suppression.objects.filter(channel="sms", address=OuterRef("person__phone"))
    rows = list(qs.exclude(Exists(suppressed)).values_list("pk", "person_id", "person__phone"))
    title, body = _invitation_text(meeting)
    messages = [
        OutgoingMessage(
            delivery_id=pk, to=phone, title=title, body=body, person_id=person_id, channel="sms"
        )
        for pk, person_id, phone in rows
    ]
    return _send_adapter("sms", messages)


@task()
def notify_invitees(meeting_id: int) -> dict:
    """Tell the invitees not yet told (see the module's docstring). Safe to run twice: the
    invitations are claimed first, so a second run finds nobody left."""
    from sangathan.meetings.models import Invitation, Meeting

    meeting = Meeting.objects.select_related("chair", "host_unit").get(pk=meeting_id)
    now = timezone.now()
    ids = list(
        Invitation.objects.filter(meeting=meeting, notified_at=None).values_list("pk", flat=True)
    )
    claimed = []
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        if Invitation.objects.filter(pk__in=part, notified_at=None).update(notified_at=now):
            claimed += part
    invitations = Invitation.objects.filter(pk__in=claimed, notified_at=now)
    base_url = getattr(settings, "SANGATHAN_PUBLIC_URL", "").rstrip("/")
    carried: dict[int, list[str]] = defaultdict(list)
    with translation.override(settings.LANGUAGE_CODE):
        for channel, send in (
            ("email", lambda qs: send_email(meeting, qs, base_url)),
            ("push", lambda qs: send_push(meeting, qs)),
            ("sms", lambda qs: send_sms(meeting, qs)),
        ):
            try:
                for pk in send(invitations):
                    carried[pk].append(channel)
            except Exception:  # a channel's trouble must not stop the others
                logger.exception("meeting invitations on %s failed", channel)
    by_channels: dict[str, list[int]] = defaultdict(list)
    for pk, channels in carried.items():
        by_channels[" ".join(channels)].append(pk)
    for channels, pks in by_channels.items():
        Invitation.objects.filter(pk__in=pks).update(notified=channels)
    counts = {c: sum(1 for v in carried.values() if c in v) for c in ("email", "push", "sms")}
    counts["invitations"] = len(claimed)
    return counts


@task()
def escalate_overdue_actions() -> int:
    from sangathan.meetings.actions import escalate_overdue

    return escalate_overdue()


def periodic(force: bool = False) -> dict:
    """Overdue action items to the next level up (idempotent)."""
    global _last_run
    from sangathan.meetings.actions import escalate_overdue

    if not force and time.monotonic() - _last_run < EVERY_SECONDS:
        return {}
    _last_run = time.monotonic()
    return {"escalated": escalate_overdue()}
