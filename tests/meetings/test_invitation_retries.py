"""Meeting invitations on the external channels are retried when the failure may pass (the
mail server down, a 451, a gateway's 429/5xx), only on the channel that failed, with backoff
honouring Retry-After, up to MAX_ATTEMPTS tries; never after a permanent refusal or for a
cancelled meeting."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from sangathan.channels.adapters.base import SendResult
from sangathan.meetings import actions, tasks
from sangathan.meetings.models import Invitation
from tests.conftest import client_for
from tests.meetings.conftest import consent
from tests.smtp import RecordingHandler, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    """Django's SMTP backend pointed at a port where no server listens yet; ``start()`` puts
    a real (aiosmtpd) server there."""
    from aiosmtpd.controller import Controller

    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    handler = RecordingHandler()
    controllers = []

    def start():
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


class FlakySms:
    """An SMS adapter whose gateway answers 429 (Retry-After) ``failures`` times, then takes
    everything; or refuses for good with ``permanent``."""

    name, channel = "flaky", "sms"

    def __init__(self, failures=0, retry_after=None, permanent=False):
        self.failures, self.retry_after, self.permanent = failures, retry_after, permanent
        self.calls: list[list[int]] = []

    def __call__(self, channel):
        assert channel == "sms"
        return self

    def send(self, messages):
        self.calls.append([m.delivery_id for m in messages])
        if self.permanent:
            return [SendResult.rejected(m, "DLT template not approved") for m in messages]
        if len(self.calls) <= self.failures:
            return [SendResult.transient(m, "429", self.retry_after) for m in messages]
        return [SendResult.accepted(m, f"ref-{m.delivery_id}") for m in messages]

    def close(self):
        pass


def sms_to_convenor(t, monkeypatch, **flaky):
    adapter = FlakySms(**flaky)
    monkeypatch.setattr("sangathan.channels.adapters.get_adapter", adapter)
    consent(t.convenor_person, "sms")
    actions.do_send_invitations(t.state_admin, t.state_meeting)
    return adapter, Invitation.objects.get(meeting=t.state_meeting, person=t.convenor_person)


def test_mail_server_down_then_up_the_retry_delivers(meetings, smtp):
    t = meetings
    for person, address in (
        (t.convenor_person, "sanjay@example.org"),
        (t.outsider_person, "bounce@example.org"),
        (t.volunteer_person, "busy@example.org"),
    ):
        person.email = address
        person.save()
        consent(person, "email")
    actions.do_send_invitations(t.state_admin, t.state_meeting)
    now = timezone.now()
    counts = tasks.notify(t.state_meeting.pk, now)  # nobody listens on the port yet
    assert counts["email"] == 0 and counts["retrying"] == 3
    invitations = Invitation.objects.filter(meeting=t.state_meeting)
    for inv in invitations:
        assert (inv.notified, inv.retry_channels, inv.attempts) == ("", "email", 1)
        # the first retry after 30 to 60 seconds (full jitter over the upper half)
        assert now + datetime.timedelta(seconds=30) <= inv.retry_at
        assert inv.retry_at <= now + datetime.timedelta(seconds=60)
    server = smtp()
    assert tasks.retry_due(now) == 0  # not due yet: nothing sent
    assert server.messages == []
    later = now + datetime.timedelta(minutes=2)
    assert tasks.retry_due(later) == 1
    assert [m.rcpt_tos for m in server.messages] == [["sanjay@example.org"]]
    by_person = {i.person_id: i for i in invitations.all()}
    sanjay = by_person[t.convenor_person.pk]
    assert (sanjay.notified, sanjay.retry_channels, sanjay.retry_at) == ("email", "", None)
    # 550: refused for good, no more tries; 451: tried again later
    bounced = by_person[t.outsider_person.pk]
    assert (bounced.notified, bounced.retry_channels, bounced.retry_at) == ("", "", None)
    busy = by_person[t.volunteer_person.pk]
    assert busy.retry_channels == "email" and busy.attempts == 2
    # the second retry waits longer: 60 to 120 seconds
    assert later + datetime.timedelta(seconds=60) <= busy.retry_at
    assert busy.retry_at <= later + datetime.timedelta(seconds=120)


def test_only_the_failed_channel_is_retried_after_the_gateways_retry_after(meetings, monkeypatch):
    t = meetings
    t.convenor_person.email = "sanjay@example.org"
    t.convenor_person.save()
    consent(t.convenor_person, "email")
    adapter, inv = sms_to_convenor(t, monkeypatch, failures=1, retry_after=600)
    now = timezone.now()
    tasks.notify(t.state_meeting.pk, now)
    inv.refresh_from_db()
    assert (inv.notified, inv.retry_channels) == ("email", "sms")
    # the gateway asked for ten minutes: no sooner, though the backoff alone says one
    assert inv.retry_at >= now + datetime.timedelta(seconds=600)
    assert tasks.retry_due(now + datetime.timedelta(seconds=300)) == 0
    assert tasks.retry_due(now + datetime.timedelta(seconds=601)) == 1
    inv.refresh_from_db()
    assert (inv.notified, inv.retry_channels, inv.retry_at, inv.attempts) == (
        "email sms",
        "",
        None,
        2,
    )
    assert adapter.calls == [[inv.pk], [inv.pk]]
    assert len(mail.outbox) == 1  # the email that went the first time is not sent again


def test_the_meeting_page_says_how_the_invitations_went(meetings, monkeypatch):
    t = meetings
    t.convenor_person.email = "sanjay@example.org"
    t.convenor_person.save()
    consent(t.convenor_person, "email")
    adapter, inv = sms_to_convenor(t, monkeypatch, failures=1)
    # sent, and the background task not run yet: all three are on their way
    page = client_for(t.state_admin).get(f"/meetings/{t.state_meeting.code}/").content.decode()
    assert "3 being sent." in page
    tasks.notify(t.state_meeting.pk)
    page = client_for(t.state_admin).get(f"/meetings/{t.state_meeting.code}/").content.decode()
    line = page.split('id="invitation-channels">', 1)[1].split("</p>", 1)[0]
    assert "by email 1, push 0, SMS 0." in line
    assert "1 waiting to be tried again." in line and "being sent" not in line
    Invitation.objects.filter(pk=inv.pk).update(retry_at=timezone.now())
    tasks.retry_due()
    page = client_for(t.state_admin).get(f"/meetings/{t.state_meeting.code}/").content.decode()
    line = page.split('id="invitation-channels">', 1)[1].split("</p>", 1)[0]
    assert "by email 1, push 0, SMS 1." in line and "waiting" not in line


def test_it_gives_up_after_the_last_try(meetings, monkeypatch):
    t = meetings
    adapter, inv = sms_to_convenor(t, monkeypatch, failures=100)
    when = timezone.now()
    tasks.notify(t.state_meeting.pk, when)
    for _ in range(tasks.MAX_ATTEMPTS + 2):
        when += datetime.timedelta(hours=2)
        tasks.retry_due(when)
    inv.refresh_from_db()
    assert len(adapter.calls) == tasks.MAX_ATTEMPTS
    assert (inv.notified, inv.retry_channels, inv.retry_at) == ("", "", None)
    assert inv.attempts == tasks.MAX_ATTEMPTS


def test_a_permanent_refusal_is_not_retried(meetings, monkeypatch):
    t = meetings
    adapter, inv = sms_to_convenor(t, monkeypatch, permanent=True)
    tasks.notify(t.state_meeting.pk)
    inv.refresh_from_db()
    assert (inv.notified, inv.retry_channels, inv.retry_at) == ("", "", None)
    assert tasks.retry_due(timezone.now() + datetime.timedelta(days=1)) == 0
    assert len(adapter.calls) == 1


def test_a_cancelled_meeting_drops_its_retries(meetings, monkeypatch):
    t = meetings
    adapter, inv = sms_to_convenor(t, monkeypatch, failures=1)
    tasks.notify(t.state_meeting.pk)
    inv.refresh_from_db()
    assert inv.retry_channels == "sms"
    actions.do_set_meeting_status(t.state_admin, t.state_meeting, "cancelled")
    assert tasks.retry_due(timezone.now() + datetime.timedelta(hours=2)) == 1
    inv.refresh_from_db()
    assert (inv.retry_channels, inv.retry_at) == ("", None)
    assert len(adapter.calls) == 1


def test_the_worker_pass_sends_due_retries(meetings, monkeypatch):
    t = meetings
    adapter, inv = sms_to_convenor(t, monkeypatch, failures=1)
    tasks.notify(t.state_meeting.pk)
    Invitation.objects.filter(pk=inv.pk).update(retry_at=timezone.now())
    result = tasks.periodic(force=True)
    assert result["invitation_retries"] == 1
    inv.refresh_from_db()
    assert inv.notified == "sms" and inv.retry_channels == ""
