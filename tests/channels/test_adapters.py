"""Adapters against real local servers: the emulator (SMS), aiosmtpd (email), a local
stand-in for a push service (Web Push)."""

import base64
import logging
import os
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from sangathan.channels import worker
from sangathan.channels.adapters import get_adapter
from sangathan.channels.adapters.base import OutgoingMessage, parse_retry_after
from sangathan.channels.adapters.sms import HttpSmsAdapter, sms_text
from sangathan.channels.models import Delivery, PushSubscription
from tests.channels.conftest import Receiver, counter, people_with_consent, queue, sent_broadcast
from tests.smtp import RecordingHandler, free_port


def message(i=1, to="+919810000003", **kw):
    fields = dict(
        delivery_id=i, to=to, title="बैठक", body="रविवार को बैठक है", language="hi", person_id=7
    )
    return OutgoingMessage(**{**fields, **kw})


# --- choosing an adapter ---


def test_every_channel_defaults_to_the_console(settings):
    for channel in ("sms", "email", "push", "whatsapp"):
        adapter = get_adapter(channel)
        assert (adapter.name, adapter.channel) == ("console", channel)


def test_the_cloud_api_is_refused_to_a_political_organisation(settings):
    settings.SANGATHAN_ORG_KIND = "political"
    settings.SANGATHAN_CHANNEL_ADAPTERS = {"whatsapp": "cloud"}
    with pytest.raises(ImproperlyConfigured) as refused:
        get_adapter("whatsapp")
    assert "WhatsApp Business Messaging Policy" in str(refused.value)
    assert "political" in str(refused.value) and "forward tasks" in str(refused.value)


def test_an_unknown_adapter_names_the_choices(settings):
    settings.SANGATHAN_CHANNEL_ADAPTERS = {"sms": "pigeon"}
    with pytest.raises(ImproperlyConfigured, match=r"'pigeon'.*\['console', 'http'\]"):
        get_adapter("sms")


def test_the_http_sms_adapter_needs_a_url(settings):
    settings.SANGATHAN_CHANNEL_ADAPTERS = {"sms": "http"}
    settings.SANGATHAN_SMS_URL = ""
    with pytest.raises(ImproperlyConfigured, match="SANGATHAN_SMS_URL"):
        get_adapter("sms")


def test_the_console_adapter_logs_each_message(caplog):
    with caplog.at_level(logging.INFO, logger="sangathan.channels"):
        results = get_adapter("sms").send([message(41)])
    assert results[0].ok and results[0].provider_ref == "console-41"
    assert "sms to +919810000003: बैठक" in caplog.text


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("7") == 7
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = (timezone.now() + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 85 <= parse_retry_after(later) <= 91


# --- SMS ---


def test_an_sms_fits_the_segments_and_keeps_the_link():
    short = sms_text("सूचना", "कल बैठक है", "https://x.org/a")
    assert short == "सूचना\nकल बैठक है\nhttps://x.org/a"
    body = "यह एक बहुत लंबा संदेश है " * 40
    text = sms_text("सूचना", body, "https://x.org/a", max_segments=4)
    assert len(text) <= 4 * 67
    assert text.startswith("सूचना\n") and text.endswith("…\nhttps://x.org/a")
    cut = text.split("\n")[1][:-1]  # cut on a word boundary
    normal = " ".join(body.split())
    assert normal.startswith(cut) and normal[len(cut)] == " " and len(cut) > 150
    latin = sms_text("Notice", "word " * 400, max_segments=2)
    assert len(latin) <= 2 * 153 and latin.endswith("…")


@pytest.fixture
def sms_gateway(emulator, settings):
    def start(**kw):
        emu = emulator(api_key="key", **kw)
        settings.SANGATHAN_SMS_URL = emu.url
        settings.SANGATHAN_SMS_API_KEY = "key"
        settings.SANGATHAN_DLT_ENTITY_ID = "1101000000000001"
        settings.SANGATHAN_DLT_TEMPLATE_ID = "1107000000000001"
        settings.SANGATHAN_SMS_TIMEOUT = 0.3
        settings.SANGATHAN_CHANNEL_ADAPTERS = {"sms": "http"}
        return emu

    return start


def test_sms_goes_to_the_gateway_with_the_dlt_ids(sms_gateway):
    emu = sms_gateway()
    adapter = get_adapter("sms")
    results = adapter.send([message(1), message(2, to="+919810000004")])
    assert [r.ok for r in results] == [True, True]
    assert [r.provider_ref for r in results] == [m.id for m in emu.received]
    sent = emu.received[0].body
    assert sent["header"] == "SNGTHN" and sent["entity_id"] == "1101000000000001"
    assert sent["template_id"] == "1107000000000001" and sent["unicode"] is True
    assert sent["text"] == "बैठक\nरविवार को बैठक है" and sent["ref"] == "1"
    adapter.close()


def test_sms_results_classify_the_gateways_answers(sms_gateway):
    emu = sms_gateway(rate=1, undeliverable={"+919999999999"})
    adapter = get_adapter("sms")
    first = adapter.send([message(1), message(2, to="+919999999999")])
    assert first[0].ok
    assert first[1].permanent and first[1].error == "undeliverable number"
    limited = adapter.send([message(3)])[0]
    assert not limited.ok and not limited.permanent and limited.retry_after >= 1
    emu.configure(fail_rate=1.0, rate=1000)
    down = adapter.send([message(4)])[0]
    assert not down.ok and not down.permanent and "503" in down.error
    emu.configure(fail_rate=0.0, hang_rate=1.0, hang_seconds=3)
    hung = adapter.send([message(5)])[0]
    assert not hung.ok and not hung.permanent and "timed out" in hung.error
    emu.configure(hang_rate=0.0)
    assert adapter.send([message(6)])[0].ok  # the connection is re-opened after the timeout
    adapter.close()


def test_a_wrong_sms_key_is_retried_later_not_failed(sms_gateway, settings):
    sms_gateway()
    settings.SANGATHAN_SMS_API_KEY = "wrong"
    result = HttpSmsAdapter().send([message(1)])[0]
    assert not result.ok and not result.permanent and result.retry_after == 300


def test_a_broadcast_reaches_everyone_through_429s_and_5xx(
    tree, sms_gateway, settings, monkeypatch
):
    emu = sms_gateway(rate=30, burst=0.2, fail_rate=0.15)
    settings.SANGATHAN_SEND_RATES = {"sms": 60}  # twice what the gateway takes
    monkeypatch.setattr(worker, "BACKOFF_BASE", 0.05)
    people = people_with_consent(tree.booth1, 20)
    broadcast = sent_broadcast(tree.lucknow)
    rows = queue(broadcast, people)
    deadline = timezone.now() + timedelta(seconds=20)
    while Delivery.objects.exclude(status="sent").exists() and timezone.now() < deadline:
        worker.drain("sms")
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    by_ref = {m.ref: m.id for m in emu.received}
    assert sorted(by_ref) == sorted(str(r.pk) for r in rows)
    assert len(emu.received) == 20  # 429s and 5xx refuse whole requests: nothing twice
    for d in Delivery.objects.all():
        assert d.provider_ref == by_ref[str(d.pk)] and d.adapter == "http"
    stats = emu.stats()
    assert stats["rate_limited"] >= 1 and stats["failed_5xx"] >= 1
    assert counter(broadcast).sent == 20


# --- email ---


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "sangathan@example.org"
    settings.SANGATHAN_CHANNEL_ADAPTERS = {"email": "smtp"}
    yield handler
    controller.stop()


def test_email_goes_through_a_real_smtp_server_with_an_unsubscribe_link(
    tree, smtp_server, monkeypatch
):
    from email import message_from_bytes, policy

    monkeypatch.setattr(
        "sangathan.channels.adapters.email.unsubscribe_link",
        lambda person_id, channel="email": f"https://x.org/u/{person_id}/{channel}",
    )
    people = people_with_consent(tree.booth1, 3, channels=("email",), languages="en")
    broadcast = sent_broadcast(tree.lucknow, channels=("email",), link="https://x.org/news")
    queue(broadcast, people, "email")
    counts = worker.drain("email")
    assert counts["sent"] == 3
    assert sorted(e.rcpt_tos[0] for e in smtp_server.messages) == sorted(p.email for p in people)
    mail = message_from_bytes(smtp_server.messages[0].original_content, policy=policy.default)
    assert mail["Subject"] == "Meeting notice"
    person = next(p for p in people if p.email == smtp_server.messages[0].rcpt_tos[0])
    assert mail["List-Unsubscribe"] == f"<https://x.org/u/{person.pk}/email>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(("plain",)).get_content()
    assert "Booth meeting on Sunday" in text and "https://x.org/news" in text
    assert "To stop these messages, open: https://x.org/u/" in text
    assert mail.get_body(("html",)) is not None
    d = Delivery.objects.get(person=person)
    assert d.provider_ref == mail["Message-ID"] and d.adapter == "smtp"


def test_smtp_rejections_are_permanent_and_busy_replies_transient(smtp_server):
    adapter = get_adapter("email")
    results = adapter.send(
        [
            message(1, to="ok@example.org"),
            message(2, to="bounce@example.org"),
            message(3, to="busy@example.org"),
            message(4, to="ok2@example.org"),
        ]
    )
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1].permanent and "550" in results[1].error
    assert not results[2].permanent and "451" in results[2].error
    assert len(smtp_server.messages) == 2  # one connection carried the batch


def test_email_with_the_server_down_is_retried(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_TIMEOUT = 1
    settings.SANGATHAN_CHANNEL_ADAPTERS = {"email": "smtp"}
    results = get_adapter("email").send([message(1, to="a@example.org"), message(2, to="b@x.org")])
    assert [(r.ok, r.permanent) for r in results] == [(False, False), (False, False)]


# --- Web Push ---


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subscription_keys() -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": b64url(public), "auth": b64url(os.urandom(16))}


@pytest.fixture
def push_service(settings):
    from cryptography.hazmat.primitives.asymmetric import ec

    answers = {"/ok": (201, {"Location": "/m/1"}), "/gone": (410, {}), "/busy": (429, {})}
    service = Receiver(lambda path: answers.get(path.split("-")[0], (201, {})))
    answers["/busy"] = (429, {"Retry-After": "40"})
    vapid = ec.generate_private_key(ec.SECP256R1())
    settings.SANGATHAN_VAPID_PRIVATE_KEY = b64url(
        vapid.private_numbers().private_value.to_bytes(32, "big")
    )
    settings.SANGATHAN_VAPID_SUBJECT = "mailto:ops@example.org"
    settings.SANGATHAN_CHANNEL_ADAPTERS = {"push": "webpush"}
    yield service
    service.close()


def subscribe(person, service, kind):
    keys = subscription_keys()
    return PushSubscription.objects.create(
        person=person,
        endpoint=f"{service.url}/{kind}-{person.pk}-{os.urandom(3).hex()}",
        p256dh=keys["p256dh"],
        auth=keys["auth"],
    )


def test_web_push_reaches_a_device_and_forgets_gone_ones(tree, push_service):
    people = people_with_consent(tree.booth1, 3, channels=("push",))
    both, gone_only, busy = people
    subscribe(both, push_service, "ok")
    stale = subscribe(both, push_service, "gone")
    only = subscribe(gone_only, push_service, "gone")
    subscribe(busy, push_service, "busy")
    broadcast = sent_broadcast(tree.lucknow, channels=("push",))
    queue(broadcast, people, "push")
    counts = worker.drain("push")
    status = dict(Delivery.objects.values_list("person_id", "status"))
    assert status[both.pk] == "sent"
    assert status[gone_only.pk] == "failed"
    assert status[busy.pk] == "queued"
    retry = Delivery.objects.get(person=busy)
    assert retry.next_attempt_at >= timezone.now() + timedelta(seconds=39)
    assert not PushSubscription.objects.filter(pk__in=[stale.pk, only.pk]).exists()
    assert PushSubscription.objects.get(person=both).last_success_at is not None
    assert counts["sent"] == 1 and counts["failed"] == 1
    # What the push service got: an encrypted body and a VAPID signature.
    path, headers, raw = next(p for p in push_service.posts if p[0].startswith("/ok"))
    assert headers["Content-Encoding"] == "aes128gcm"
    assert headers["Authorization"].startswith("vapid t=")
    assert "बैठक".encode() not in raw and len(raw) > 16


def test_web_push_without_keys_is_a_clear_error(settings):
    settings.SANGATHAN_VAPID_PRIVATE_KEY = ""
    settings.SANGATHAN_CHANNEL_ADAPTERS = {"push": "webpush"}
    with pytest.raises(ImproperlyConfigured, match="SANGATHAN_VAPID_PRIVATE_KEY"):
        get_adapter("push")


def test_an_email_carries_the_real_one_click_unsubscribe_link(tree, settings):
    from django.core import mail

    settings.SANGATHAN_CHANNEL_ADAPTERS = {"email": "smtp"}  # Django's backend: locmem here
    settings.SANGATHAN_PUBLIC_URL = "https://org.example"
    people = people_with_consent(tree.booth1, 1, channels=("email",))
    queue(sent_broadcast(tree.lucknow, channels=("email",)), people, "email")
    assert worker.drain("email")["sent"] == 1
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    assert header.startswith("<https://org.example/") and header.endswith(">")
    assert header[1:-1] in mail.outbox[0].body  # and in the text, for readers
