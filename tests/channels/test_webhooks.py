"""Provider webhooks: the WhatsApp verify handshake, signatures over the raw body, storing
status callbacks once, and the SMS gateway contract."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from django.test import Client, TestCase

from sangathan.broadcasts.models import Broadcast, ReachCounter
from sangathan.broadcasts.reach import record_status_changes
from sangathan.channels.models import Delivery, PendingStatus, StatusEvent
from tests.factories import make_person

WA_SECRET = "whatsapp-app-secret-for-tests"
SMS_SECRET = "sms-gateway-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"


# --- helpers the other channel tests share ---------------------------------------------------


@pytest.fixture
def hooks(settings):
    settings.SANGATHAN_WHATSAPP_APP_SECRET = WA_SECRET
    settings.SANGATHAN_WHATSAPP_VERIFY_TOKEN = VERIFY_TOKEN
    settings.SANGATHAN_SMS_WEBHOOK_SECRET = SMS_SECRET
    return Client()


def sign(body: bytes, secret: str = WA_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def dump(payload) -> bytes:
    """As a provider would send it: compact, UTF-8, Hindi not escaped."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def wa_status(ref, status, ts=1732770000, recipient="919810000003", errors=None):
    item = {"id": ref, "status": status, "timestamp": str(ts), "recipient_id": recipient}
    if errors:
        item["errors"] = errors
    return item


def wa_text(sender, text, msg_id="wamid.IN1"):
    return {
        "from": sender,
        "id": msg_id,
        "timestamp": "1732770000",
        "type": "text",
        "text": {"body": text},
    }


def wa_body(statuses=(), messages=()) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1065403522"},
    }
    if statuses:
        value["statuses"] = list(statuses)
    if messages:
        value["messages"] = list(messages)
        value["contacts"] = [{"profile": {"name": "पूजा"}, "wa_id": messages[0]["from"]}]
    return dump(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}
            ],
        }
    )


def post_whatsapp(client, body: bytes, signature: str | None = "sign"):
    headers = {}
    if signature == "sign":
        signature = sign(body)
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    with TestCase.captureOnCommitCallbacks(execute=True):  # the applier's wake-up
        return client.post("/hooks/whatsapp", body, content_type="application/json", **headers)


def post_sms(client, payload, signature: str | None = "sign"):
    body = payload if isinstance(payload, bytes) else dump(payload)
    headers = {}
    if signature == "sign":
        signature = sign(body, SMS_SECRET)
    if signature is not None:
        headers["HTTP_X_SANGATHAN_SIGNATURE"] = signature
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/hooks/sms", body, content_type="application/json", **headers)


def make_broadcast(unit, channels=("whatsapp", "sms")) -> Broadcast:
    """A sent broadcast with its reach counters (as the fan-out makes them)."""
    from sangathan.broadcasts.fanout import create_counters

    broadcast = Broadcast.objects.create(
        audience_unit=unit,
        channels=["feed", *channels],
        status="sent",
        title_hi="बूथ बैठक",
        body_hi="रविवार को बूथ बैठक है",
    )
    create_counters(broadcast)
    broadcast.refresh_from_db()
    assert ReachCounter.objects.filter(broadcast=broadcast).exists()
    return broadcast


def add_delivery(broadcast, person, channel="whatsapp", status="sent", ref="") -> Delivery:
    """A delivery as the worker leaves it, with the counters moved as the worker moves them."""
    delivery = Delivery.objects.create(
        broadcast=broadcast,
        person=person,
        channel=channel,
        status=status,
        provider_ref=ref,
        unit_path=person.unit.path,
    )
    record_status_changes([(broadcast.pk, channel, delivery.unit_path, "queued", status)])
    return delivery


MEMBERSHIP = {
    "sent": ("sent", "delivered", "read"),
    "delivered": ("delivered", "read"),
    "read": ("read",),
    "failed": ("failed",),
    "suppressed": ("suppressed",),
}


def assert_counters_match_statuses(broadcast):
    """Every external counter row equals a recount of the deliveries under its unit."""
    counters = ReachCounter.objects.filter(broadcast=broadcast).exclude(channel="feed")
    assert counters.exists()
    deliveries = list(
        Delivery.objects.filter(broadcast=broadcast).values_list("channel", "unit_path", "status")
    )
    for counter in counters:
        mine = [
            s
            for ch, p, s in deliveries
            if ch == counter.channel and p.startswith(counter.unit_path)
        ]
        for field, statuses in MEMBERSHIP.items():
            expected = sum(1 for s in mine if s in statuses)
            assert getattr(counter, field) == expected, (counter.unit_path, counter.channel, field)


# --- the verify handshake ----------------------------------------------------------------------


def test_handshake_answers_the_challenge(hooks):
    response = hooks.get(
        "/hooks/whatsapp",
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_handshake_with_a_wrong_token_or_mode_is_refused(hooks, params):
    response = hooks.get("/hooks/whatsapp", params)
    assert response.status_code == 403
    assert b"1" not in response.content


def test_handshake_is_refused_when_no_verify_token_is_configured(hooks, settings):
    settings.SANGATHAN_WHATSAPP_VERIFY_TOKEN = ""
    response = hooks.get(
        "/hooks/whatsapp", {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    )
    assert response.status_code == 403


# --- signatures -----------------------------------------------------------------------------


@pytest.fixture
def sent(cast):
    """A WhatsApp delivery the provider accepted as wamid.A1."""
    broadcast = make_broadcast(cast.lucknow)
    return add_delivery(broadcast, cast.volunteer_person, ref="wamid.A1")


def _untouched(delivery):
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert StatusEvent.objects.count() == 0


def test_an_unsigned_body_is_refused_and_nothing_stored(hooks, sent):
    response = post_whatsapp(hooks, wa_body([wa_status("wamid.A1", "read")]), signature=None)
    assert response.status_code == 403
    _untouched(sent)


def test_a_tampered_body_is_refused_and_nothing_stored(hooks, sent):
    body = wa_body([wa_status("wamid.A1", "delivered")])
    signature = sign(body)
    tampered = body.replace(b'"delivered"', b'"read"')
    assert tampered != body
    response = post_whatsapp(hooks, tampered, signature=signature)
    assert response.status_code == 403
    _untouched(sent)


def test_a_reserialised_body_is_refused_and_nothing_stored(hooks, sent):
    """Same JSON, other bytes: the signature covers the raw body, not its meaning."""
    body = wa_body(
        [wa_status("wamid.A1", "read")], [wa_text("919810000003", "नमस्ते", msg_id="wamid.I")]
    )
    reserialised = json.dumps(json.loads(body)).encode()
    assert json.loads(reserialised) == json.loads(body) and reserialised != body
    response = post_whatsapp(hooks, reserialised, signature=sign(body))
    assert response.status_code == 403
    _untouched(sent)


@pytest.mark.parametrize(
    "signature",
    [
        "sha256=",
        "sha1=" + hashlib.sha1(b"x").hexdigest(),
        "deadbeef",
        sign(b"another body"),
        "sha256=" + hmac.new(b"wrong secret", b"", hashlib.sha256).hexdigest(),
    ],
)
def test_a_wrong_signature_is_refused(hooks, sent, signature):
    response = post_whatsapp(hooks, wa_body([wa_status("wamid.A1", "read")]), signature=signature)
    assert response.status_code == 403
    _untouched(sent)


def test_nothing_is_accepted_when_no_app_secret_is_configured(hooks, sent, settings):
    settings.SANGATHAN_WHATSAPP_APP_SECRET = ""
    body = wa_body([wa_status("wamid.A1", "read")])
    response = post_whatsapp(
        hooks, body, signature="sha256=" + hmac.new(b"", body, "sha256").hexdigest()
    )
    assert response.status_code == 403
    _untouched(sent)


def test_a_signed_body_that_is_not_json_is_a_bad_request(hooks, sent):
    response = post_whatsapp(hooks, b"not json{")
    assert response.status_code == 400
    _untouched(sent)


def test_sms_bodies_need_the_gateway_signature(hooks, sent):
    payload = {
        "events": [{"id": "sms-1", "status": "delivered", "timestamp": "2024-11-28T05:00:00Z"}]
    }
    body = dump(payload)
    assert post_sms(hooks, body, signature=None).status_code == 403
    assert post_sms(hooks, body, signature=sign(body)).status_code == 403  # WhatsApp's secret
    assert (
        post_sms(
            hooks, json.dumps(payload, indent=1).encode(), signature=sign(body, SMS_SECRET)
        ).status_code
        == 403
    )
    assert StatusEvent.objects.count() == 0


def test_webhooks_need_no_login_and_no_csrf_token(hooks, sent):
    strict = Client(enforce_csrf_checks=True)
    response = post_whatsapp(strict, wa_body([wa_status("wamid.A1", "delivered")]))
    assert response.status_code == 200


# --- storing and applying -----------------------------------------------------------------------


def test_a_signed_status_is_stored_once_and_applied(hooks, sent):
    body = wa_body([wa_status("wamid.A1", "delivered", ts=1732770000)])
    response = post_whatsapp(hooks, body)
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == "delivered"
    assert sent.status_at == datetime.fromtimestamp(1732770000, tz=UTC)
    event = StatusEvent.objects.get()
    assert (event.provider, event.key, event.status) == (
        "whatsapp",
        "wamid.A1:delivered",
        "delivered",
    )
    assert not PendingStatus.objects.exists()  # used up

    assert post_whatsapp(hooks, body).status_code == 200  # Meta retries: a replay
    assert StatusEvent.objects.count() == 1
    assert_counters_match_statuses(sent.broadcast)


def test_a_failed_status_keeps_the_providers_error(hooks, sent):
    errors = [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
        }
    ]
    post_whatsapp(hooks, wa_body([wa_status("wamid.A1", "failed", errors=errors)]))
    sent.refresh_from_db()
    assert sent.status == "failed"
    assert "131026" in sent.error
    assert_counters_match_statuses(sent.broadcast)


def test_unknown_statuses_and_malformed_entries_are_ignored(hooks, sent):
    body = dump(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"changes": [{"value": {"statuses": [wa_status("wamid.A1", "deleted"), "x", {}]}}]},
                {"changes": "nonsense"},
                "nonsense",
            ],
        }
    )
    assert post_whatsapp(hooks, body).status_code == 200
    _untouched(sent)


def test_sms_gateway_events_are_applied(hooks, cast):
    broadcast = make_broadcast(cast.lucknow)
    delivery = add_delivery(broadcast, cast.volunteer_person, channel="sms", ref="gw-42")
    other = add_delivery(broadcast, make_person(cast.booth2, "गीता"), channel="sms", ref="gw-43")
    payload = {
        "events": [
            {"id": "gw-42", "status": "delivered", "timestamp": "2024-11-28T10:30:00+05:30"},
            {
                "id": "gw-43",
                "status": "failed",
                "timestamp": "2024-11-28T10:31:00Z",
                "error": "DND",
            },
            {"id": "gw-42", "status": "sent", "timestamp": "2024-11-28T10:29:00+05:30"},
        ]
    }
    response = post_sms(hooks, payload)
    assert response.status_code == 200
    assert response.json()["stored"] == 3
    delivery.refresh_from_db()
    other.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.status_at == datetime(2024, 11, 28, 5, 0, tzinfo=UTC)
    assert (other.status, other.error) == ("failed", "DND")
    assert_counters_match_statuses(broadcast)


def test_a_whatsapp_id_does_not_touch_an_sms_delivery_with_the_same_reference(hooks, cast):
    broadcast = make_broadcast(cast.lucknow)
    delivery = add_delivery(broadcast, cast.volunteer_person, channel="sms", ref="same-ref")
    post_whatsapp(hooks, wa_body([wa_status("same-ref", "read")]))
    delivery.refresh_from_db()
    assert delivery.status == "sent"
