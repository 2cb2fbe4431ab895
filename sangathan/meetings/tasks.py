"""Background work for meetings.

``notify_invitees`` (one task per meeting, never per recipient) tells the invitees not yet
told, on the external channels each has consented to for organisational messages: an email
with the meeting's .ics attached (Django's mail API, one connection), a Web Push
notification and an SMS through the channels' adapters. The in-app task was already created
with the invitation. These messages do not go through the broadcast outbox (``Delivery``
rows belong to a broadcast and its reach): each invitation is claimed by a conditional UPDATE
of ``notified_at``; which channels carried it is recorded on the invitation. A channel that
failed for a reason worth retrying (the mail server or gateway down, a 429 or 5xx, a timeout)
is kept in ``retry_channels`` with a ``retry_at`` (exponential backoff with jitter, honouring
Retry-After), and only that channel is tried again, up to ``MAX_ATTEMPTS`` tries in all;
permanent refusals are not retried. A cancelled or past meeting drops its retries.

``periodic`` escalates overdue action items and sends the invitation retries that are due;
``sangathan worker --until-idle`` runs it on each pass (at most once a minute), like the
groups' sweep."""

from __future__ import annotations

import logging
import random
import smtplib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

logger = logging.getLogger("sangathan.meetings")

PURPOSE = "organisational"
EVERY_SECONDS = 60
CHANNELS = ("email", "push", "sms")
MAX_ATTEMPTS = 6  # the first try and five retries
RETRY_BASE_SECONDS = 60
RETRY_CAP_SECONDS = 3600
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


@dataclass
class Outcome:
    """What one channel did with the invitations handed to it: those it carried, and those
    to try again (each with the provider's Retry-After in seconds, or None)."""

    sent: set[int] = field(default_factory=set)
    retry: dict[int, float | None] = field(default_factory=dict)


def _smtp_permanent(exc: Exception) -> bool:
    """A refusal the mail server will repeat (a 5xx answer, a malformed address); a 4xx, a
    dropped connection or a timeout may pass."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, (ValueError, UnicodeError))


def send_email(meeting, invitations, base_url: str) -> Outcome:
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
    out = Outcome()
    if not rows:
        return out
    url = f"{base_url}/app/#/meetings/{meeting.code}"
    ics = calendar([meeting], method="PUBLISH", url_for=lambda m: url)
    title, body = _invitation_text(meeting)
    agenda = "\n".join(f"{i}. {a.title}" for i, a in enumerate(meeting.agenda.all(), 1))
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("meeting invitation email: the mail server did not answer: %s", exc)
        out.retry = {pk: None for pk, _person, _address in rows}
        return out
    try:
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
                out.sent.add(pk)
            except Exception as exc:  # one bad address must not stop the rest
                permanent = _smtp_permanent(exc)
                logger.warning(
                    "meeting invitation email to %s failed (%s): %s",
                    person_id,
                    "permanent" if permanent else "will retry",
                    exc,
                )
                if not permanent:
                    out.retry[pk] = None
    finally:
        try:
            connection.close()
        except (OSError, smtplib.SMTPException):
            pass  # the server already went away; nothing to tidy
    return out


def _send_adapter(channel: str, messages) -> Outcome:
    from sangathan.channels.adapters import get_adapter

    out = Outcome()
    if not messages:
        return out
    adapter = get_adapter(channel)
    try:
        results = adapter.send(messages)
    except Exception:  # the adapter's own failure: every message may be tried again
        logger.exception("meeting invitations on %s failed; will retry", channel)
        out.retry = {m.delivery_id: None for m in messages}
        return out
    finally:
        close = getattr(adapter, "close", None)
        if close:
            close()
    for r in results:
        if r.ok:
            out.sent.add(r.delivery_id)
        elif not r.permanent:
            out.retry[r.delivery_id] = r.retry_after
    return out


def send_push(meeting, invitations) -> Outcome:
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


def send_sms(meeting, invitations) -> Outcome:
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


def _retry_delay(attempts: int, retry_after: float | None) -> float:
    """Seconds before try ``attempts + 1``: full-jitter exponential backoff from a minute,
    capped at an hour, never sooner than the provider asked."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0)


def _claim(meeting, now) -> dict[int, tuple[list[str], str, int]]:
    """Claim this meeting's invitations not yet tried, and those whose retry is due, by a
    conditional UPDATE of ``notified_at`` to ``now`` (a second run finds them taken).
    Returns {invitation: (channels to try, channels that carried it so far, tries made)}."""
    from sangathan.meetings.models import Invitation

    mine = Invitation.objects.filter(meeting=meeting)
    new = list(mine.filter(notified_at=None).values_list("pk", flat=True))
    for start in range(0, len(new), 1000):
        mine.filter(pk__in=new[start : start + 1000], notified_at=None).update(notified_at=now)
    due = list(mine.filter(retry_at__lte=now).values_list("pk", flat=True))
    for start in range(0, len(due), 1000):
        mine.filter(pk__in=due[start : start + 1000], retry_at__lte=now).update(
            retry_at=None, notified_at=now
        )
    return {
        pk: (retry.split() if attempts else list(CHANNELS), notified, attempts)
        for pk, retry, notified, attempts in mine.filter(notified_at=now).values_list(
            "pk", "retry_channels", "notified", "attempts"
        )
    }


def notify(meeting_id: int, now=None) -> dict:
    """Tell the invitees not yet told and retry the channels due by ``now`` (see the module's
    docstring). Safe to run twice at once: each invitation is claimed by one run."""
    from sangathan.meetings.models import Invitation, Meeting, MeetingStatus

    meeting = Meeting.objects.select_related("chair", "host_unit").get(pk=meeting_id)
    now = now or timezone.now()
    waiting = Invitation.objects.filter(meeting=meeting).exclude(retry_channels="")
    if meeting.status == MeetingStatus.CANCELLED or meeting.ends_at <= now:
        # Nobody needs an invitation to a meeting that will not happen.
        dropped = waiting.update(retry_channels="", retry_at=None)
        if meeting.status == MeetingStatus.CANCELLED:
            return {"invitations": 0, "retries_dropped": dropped}
    todo = _claim(meeting, now)
    base_url = getattr(settings, "SANGATHAN_PUBLIC_URL", "").rstrip("/")
    senders = {
        "email": lambda qs: send_email(meeting, qs, base_url),
        "push": lambda qs: send_push(meeting, qs),
        "sms": lambda qs: send_sms(meeting, qs),
    }
    outcomes: dict[str, Outcome] = {}
    with translation.override(settings.LANGUAGE_CODE):
        for channel in CHANNELS:
            pks = [pk for pk, (channels, _n, _a) in todo.items() if channel in channels]
            if not pks:
                outcomes[channel] = Outcome()
                continue
            try:
                outcomes[channel] = senders[channel](Invitation.objects.filter(pk__in=pks))
            except Exception:  # a channel's trouble must not stop the others
                logger.exception("meeting invitations on %s failed", channel)
                outcomes[channel] = Outcome(retry=dict.fromkeys(pks))
    retry_after = max((s for o in outcomes.values() for s in o.retry.values() if s), default=0)
    delays: dict[int, float] = {}
    groups: dict[tuple, list[int]] = defaultdict(list)
    gave_up = 0
    for pk, (channels, notified, attempts) in todo.items():
        carried = set(notified.split()) | {c for c in CHANNELS if pk in outcomes[c].sent}
        failed = [c for c in channels if pk in outcomes[c].retry]
        attempts += 1
        if failed and attempts >= MAX_ATTEMPTS:
            gave_up += 1
            logger.warning(
                "meeting invitation %s: gave up on %s after %s tries", pk, failed, attempts
            )
            failed = []
        if failed and attempts not in delays:
            delays[attempts] = _retry_delay(attempts, retry_after)
        key = (" ".join(c for c in CHANNELS if c in carried), " ".join(failed), attempts)
        groups[key].append(pk)
    for (carried, failed, attempts), pks in groups.items():
        retry_at = now + timedelta(seconds=delays[attempts]) if failed else None
        for start in range(0, len(pks), 1000):
            Invitation.objects.filter(pk__in=pks[start : start + 1000]).update(
                notified=carried, retry_channels=failed, retry_at=retry_at, attempts=attempts
            )
    counts = {c: len(outcomes[c].sent) for c in CHANNELS}
    counts["invitations"] = len(todo)
    counts["retrying"] = sum(len(p) for (_c, failed, _a), p in groups.items() if failed)
    counts["gave_up"] = gave_up
    return counts


@task()
def notify_invitees(meeting_id: int) -> dict:
    """The background task behind :func:`notify`: one per meeting, never per recipient."""
    return notify(meeting_id)


def retry_due(now=None) -> int:
    """Send the invitation retries that are due, a meeting at a time; how many meetings."""
    from sangathan.meetings.models import Invitation

    now = now or timezone.now()
    meetings = set(
        Invitation.objects.filter(retry_at__lte=now).values_list("meeting_id", flat=True)
    )
    for meeting_id in sorted(meetings):
        notify(meeting_id, now)
    return len(meetings)


@task()
def escalate_overdue_actions() -> int:
    from sangathan.meetings.actions import escalate_overdue

    return escalate_overdue()


def periodic(force: bool = False) -> dict:
    """Overdue action items to the next level up (idempotent), and the invitation retries
    that are due."""
    global _last_run
    from sangathan.meetings.actions import escalate_overdue

    if not force and time.monotonic() - _last_run < EVERY_SECONDS:
        return {}
    _last_run = time.monotonic()
    return {"escalated": escalate_overdue(), "invitation_retries": retry_due()}
