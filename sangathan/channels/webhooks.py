"""Provider webhooks (/hooks/…) and the one-click unsubscribe page.

A webhook body is checked against its HMAC-SHA256 signature over the raw bytes before it is
parsed: a tampered, unsigned or re-serialised body is refused with 403 and nothing is stored.
Status callbacks are only stored (one ``StatusEvent`` per provider, message and status, so a
replay stores nothing new) and a worker is woken to apply them in batches; the answer goes
back at once. A STOP reply or a provider's opt-out is applied in the request, since it must
take effect before the next message goes out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sangathan.accounts.middleware import public
from sangathan.channels.actions import do_opt_out
from sangathan.channels.models import PendingStatus, StatusEvent
from sangathan.channels.optout import (
    address_of,
    is_stop_word,
    normalise_address,
    read_unsubscribe_token,
)
from sangathan.channels.statuses import EVENT_STATUSES, wake_applier

logger = logging.getLogger(__name__)

# Meta: "the recipient has chosen to stop receiving marketing messages from your business".
WHATSAPP_OPTED_OUT_CODES = {131050}


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``header`` is "sha256=" + the hex HMAC-SHA256 of the raw ``body`` with ``secret``.
    Without a configured secret nothing is accepted."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def _store(events: list[StatusEvent]) -> int:
    """Insert the events (a replayed one is ignored) with a queue row each, and wake the
    applier once they are committed."""
    if not events:
        return 0
    unique = list({(e.provider, e.key): e for e in events}.values())
    columns = ("provider", "key", "provider_ref", "status", "occurred_at", "error", "received_at")
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    params: list = []
    for e in unique:
        params += [e.provider, e.key, e.provider_ref, e.status, adapt(e.occurred_at), e.error]
        params.append(adapt(e.received_at or now))
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    events_table = StatusEvent._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {events_table} ({', '.join(columns)}) VALUES "
            f"{', '.join([row] * len(unique))} ON CONFLICT (provider, key) DO NOTHING RETURNING id",
            params,
        )
        new = [r[0] for r in cursor.fetchall()]
        if new:
            cursor.execute(
                f"INSERT INTO {PendingStatus._meta.db_table} (event_id) VALUES "
                + ", ".join(["(%s)"] * len(new)),
                new,
            )
    transaction.on_commit(wake_applier)
    return len(unique)


def _event(provider: str, ref, status, occurred_at, error: str = "") -> StatusEvent | None:
    ref = str(ref or "").strip()
    status = str(status or "").strip().lower()
    if not ref or len(ref) > 128 or status not in EVENT_STATUSES:
        return None
    return StatusEvent(
        provider=provider,
        key=f"{ref}:{status}",
        provider_ref=ref,
        status=status,
        occurred_at=occurred_at,
        error=error[:300],
    )


def _opt_out(channel: str, address, evidence: str, reason: str, request) -> None:
    address = normalise_address(channel, str(address or ""))
    if address:
        do_opt_out(channel, address, reason, evidence, request=request)


# --- WhatsApp Cloud API ----------------------------------------------------------------------


def _epoch(value) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def _whatsapp_error(errors) -> tuple[str, int | None]:
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return "", None
    first = errors[0]
    try:
        code = int(first.get("code"))
    except (TypeError, ValueError):
        code = None
    details = (first.get("error_data") or {}).get("details") or first.get("message") or ""
    title = first.get("title") or ""
    return " ".join(str(p) for p in (code, title, details) if p)[:300], code


def _inbound_text(message: dict) -> str:
    kind = message.get("type")
    if kind == "text":
        return (message.get("text") or {}).get("body") or ""
    if kind == "button":  # a quick-reply button such as "Stop promotions"
        button = message.get("button") or {}
        return button.get("payload") or button.get("text") or ""
    if kind == "interactive":
        reply = (message.get("interactive") or {}).get("button_reply") or {}
        return reply.get("id") or reply.get("title") or ""
    return ""


@csrf_exempt
@public
@require_http_methods(["GET", "POST"])
def whatsapp(request):
    if request.method == "GET":
        token = settings.SANGATHAN_WHATSAPP_VERIFY_TOKEN
        if (
            token
            and request.GET.get("hub.mode") == "subscribe"
            and hmac.compare_digest(request.GET.get("hub.verify_token", ""), token)
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponseForbidden("verification refused", content_type="text/plain")

    body = request.body
    if not signature_ok(
        settings.SANGATHAN_WHATSAPP_APP_SECRET, body, request.headers.get("X-Hub-Signature-256")
    ):
        return HttpResponseForbidden("bad signature", content_type="text/plain")
    try:
        data = json.loads(body)
    except ValueError:
        return HttpResponse("not JSON", status=400, content_type="text/plain")

    events: list[StatusEvent] = []
    opt_outs: list[tuple[str, str, str]] = []  # (address, evidence, reason)
    for entry in _list(data.get("entry") if isinstance(data, dict) else None):
        for change in _list(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            for status in _list(value.get("statuses")):
                error, code = _whatsapp_error(status.get("errors"))
                event = _event(
                    "whatsapp",
                    status.get("id"),
                    status.get("status"),
                    _epoch(status.get("timestamp")),
                    error,
                )
                if event is not None:
                    events.append(event)
                if code in WHATSAPP_OPTED_OUT_CODES and status.get("recipient_id"):
                    opt_outs.append(
                        (
                            status["recipient_id"],
                            "provider opt-out via whatsapp",
                            "WhatsApp: the recipient stopped messages from us",
                        )
                    )
            for message in _list(value.get("messages")):
                if message.get("from") and is_stop_word(_inbound_text(message)):
                    opt_outs.append((message["from"], "STOP via whatsapp", "STOP via whatsapp"))

    stored = _store(events)
    for address, evidence, reason in opt_outs:
        _opt_out("whatsapp", address, evidence, reason, request)
    return JsonResponse({"stored": stored, "opt_outs": len(opt_outs)})


def _list(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# --- the generic SMS gateway ---------------------------------------------------------------


def _iso(value) -> datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        return timezone.now()
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


@csrf_exempt
@public
@require_POST
def sms(request):
    """The SMS gateway contract: ``{"events": [{"id", "status", "timestamp", "error"}],
    "inbound": [{"from", "text", "id"}], "optouts": [{"phone"}]}`` signed with
    ``X-Sangathan-Signature: sha256=<hex HMAC-SHA256 of the raw body>``."""
    body = request.body
    if not signature_ok(
        settings.SANGATHAN_SMS_WEBHOOK_SECRET, body, request.headers.get("X-Sangathan-Signature")
    ):
        return HttpResponseForbidden("bad signature", content_type="text/plain")
    try:
        data = json.loads(body)
    except ValueError:
        return HttpResponse("not JSON", status=400, content_type="text/plain")
    if not isinstance(data, dict):
        return HttpResponse("not an object", status=400, content_type="text/plain")

    events = []
    for item in _list(data.get("events")):
        event = _event(
            "sms",
            item.get("id"),
            item.get("status"),
            _iso(item.get("timestamp")),
            str(item.get("error") or ""),
        )
        if event is not None:
            events.append(event)
    opt_outs: list[tuple[str, str, str]] = []
    for item in _list(data.get("inbound")):
        if item.get("from") and is_stop_word(item.get("text")):
            opt_outs.append((item["from"], "STOP via sms", "STOP via sms"))
    for item in _list(data.get("optouts")):
        if item.get("phone"):
            opt_outs.append((item["phone"], "provider opt-out via sms", "SMS gateway opt-out"))

    stored = _store(events)
    for address, evidence, reason in opt_outs:
        _opt_out("sms", address, evidence, reason, request)
    return JsonResponse({"stored": stored, "opt_outs": len(opt_outs)})


# --- one-click unsubscribe -----------------------------------------------------------------


@csrf_exempt  # RFC 8058 one-click POSTs come from mail providers; the signed token is the key
@public
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET shows what the link does (mail scanners follow links: a GET changes nothing);
    POST, from the page's button or a mail provider's List-Unsubscribe-Post, opts out."""
    from sangathan.people.models import Person

    try:
        person_id, channel = read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "channels/unsubscribe_invalid.html", status=400)
    person = Person.objects.filter(pk=person_id).only("pk", "phone", "email").first()
    address = address_of(person, channel) if person is not None else ""
    if request.method == "GET":
        return render(request, "channels/unsubscribe.html", _page(channel))
    if address:
        do_opt_out(
            channel,
            address,
            "unsubscribe link",
            f"unsubscribe link ({channel})",
            request=request,
        )
    # A person deleted since the link was sent gets no more messages anyway.
    return render(request, "channels/unsubscribe_done.html", _page(channel))


def _page(channel: str) -> dict:
    from sangathan.people.models import Channel

    return {"channel": channel, "channel_label": Channel(channel).label}
