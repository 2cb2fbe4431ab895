"""SMS through a generic HTTP gateway that carries India's DLT registration.

The contract (any gateway that speaks it can be used; ``sangathan emulator`` implements it):

Sending::

    POST {SANGATHAN_SMS_URL}/messages
    Authorization: Bearer {SANGATHAN_SMS_API_KEY}
    Content-Type: application/json

    {"messages": [{"ref": "<delivery id>", "to": "+91…", "text": "…",
                   "header": "SNGTHN", "entity_id": "<DLT entity id>",
                   "template_id": "<DLT template id>", "unicode": true}, …]}

    → 200 {"results": [{"ref": "…", "id": "<gateway id>", "status": "accepted"},
                       {"ref": "…", "error": "…", "permanent": true}, …]}

  One result per message, matched by ``ref``; a result with an ``error`` is permanent when
  ``permanent`` is true and retried otherwise. The whole request may be refused: 429 with a
  ``Retry-After`` header (seconds) when over the account's rate, 5xx when the gateway is in
  trouble; both are retried. Other 4xx fail the messages for good, except 401/403 (a wrong
  key: retried with backoff, as every message would fail until an operator fixes it).
  ``ref`` is the delivery id: a gateway that deduplicates on it closes the at-least-once
  window (a timeout after the gateway took the request is otherwise sent again).

Delivery reports and inbound messages (handled by ``/hooks/sms``)::

    POST {SANGATHAN_PUBLIC_URL}/hooks/sms
    X-Sangathan-Signature: sha256=<hex HMAC-SHA256 of the raw body, key
                           SANGATHAN_SMS_WEBHOOK_SECRET>

    {"events": [{"id": "<gateway id>", "status": "sent|delivered|failed",
                 "timestamp": "<ISO 8601>", "error": "…"}, …],
     "inbound": [{"from": "+91…", "text": "STOP", "id": "…"}, …]}

Texts are the title and the body (and the link), cut on a word boundary to at most
``SANGATHAN_SMS_MAX_SEGMENTS`` (default 4) concatenated segments: 67 characters each in
Unicode (Hindi), 153 in the GSM alphabet. The link is never cut.

Requests go over one persistent keep-alive connection with a timeout
(``SANGATHAN_SMS_TIMEOUT``, default 10 s).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sangathan.channels.adapters.base import (
    BaseAdapter,
    JsonHttpClient,
    OutgoingMessage,
    SendResult,
    TransportError,
    is_transient_status,
    parse_retry_after,
)

SEGMENT = {True: 67, False: 153}  # characters per concatenated segment: unicode, GSM
AUTH_RETRY = 300.0  # seconds before retrying after a refused key
MAX_PER_REQUEST = 500


def is_unicode(text: str) -> bool:
    return any(ord(c) > 127 for c in text)


def sms_text(title: str, body: str, link: str = "", max_segments: int = 4) -> str:
    """Title, body and link as one SMS, the body cut on a word boundary to fit."""
    head = title.strip()
    body = " ".join(body.split())
    tail = f"\n{link}" if link else ""
    full = "\n".join(p for p in (head, body) if p) + tail
    limit = SEGMENT[is_unicode(full)] * max_segments
    if len(full) <= limit:
        return full
    room = limit - len(tail) - (len(head) + 1 if head else 0) - 1
    if room < 20:  # a title too long to leave room for the body: cut the title instead
        return (head + " " + body)[: max(limit - len(tail) - 1, 0)].rstrip() + "…" + tail
    cut = body[:room]
    if " " in cut[room // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return "\n".join(p for p in (head, cut.rstrip() + "…") if p) + tail


class HttpSmsAdapter(BaseAdapter):
    name = "http"
    channel = "sms"

    def __init__(self, *, timeout: float | None = None):
        url = settings.SANGATHAN_SMS_URL
        if not url:
            raise ImproperlyConfigured("Set SANGATHAN_SMS_URL to use the http SMS adapter.")
        self.client = JsonHttpClient(
            url,
            headers={"Authorization": f"Bearer {settings.SANGATHAN_SMS_API_KEY}"},
            timeout=timeout or float(getattr(settings, "SANGATHAN_SMS_TIMEOUT", 10)),
        )
        self.max_segments = int(getattr(settings, "SANGATHAN_SMS_MAX_SEGMENTS", 4))
        self.header = settings.SANGATHAN_DLT_HEADER
        self.entity_id = settings.SANGATHAN_DLT_ENTITY_ID
        self.template_id = settings.SANGATHAN_DLT_TEMPLATE_ID

    def payload(self, message: OutgoingMessage) -> dict:
        text = sms_text(message.title, message.body, message.link, self.max_segments)
        return {
            "ref": str(message.delivery_id),
            "to": message.to,
            "text": text,
            "header": self.header,
            "entity_id": self.entity_id,
            "template_id": self.template_id,
            "unicode": is_unicode(text),
        }

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        for start in range(0, len(messages), MAX_PER_REQUEST):
            results += self._send(messages[start : start + MAX_PER_REQUEST])
        return results

    def _send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        body = {"messages": [self.payload(m) for m in messages]}
        try:
            response = self.client.request("POST", "/messages", body)
        except TransportError as exc:
            return [SendResult.transient(m, str(exc)) for m in messages]
        status = response.status
        if status == 200 and isinstance(response.data, dict):
            by_ref = {
                str(r.get("ref")): r
                for r in response.data.get("results") or []
                if isinstance(r, dict)
            }
            return [self._result(m, by_ref.get(str(m.delivery_id))) for m in messages]
        error = f"HTTP {status}: {response.body[:200].decode(errors='replace')}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status in (401, 403):
            return [SendResult.transient(m, error, retry_after or AUTH_RETRY) for m in messages]
        if is_transient_status(status) or status == 200:  # 200 with an unreadable body
            return [SendResult.transient(m, error, retry_after) for m in messages]
        return [SendResult.rejected(m, error) for m in messages]

    @staticmethod
    def _result(message: OutgoingMessage, result: dict | None) -> SendResult:
        if result is None:
            return SendResult.transient(message, "the gateway did not answer for this message")
        if result.get("id") and not result.get("error"):
            return SendResult.accepted(message, result["id"])
        error = str(result.get("error") or "refused")
        if result.get("permanent"):
            return SendResult.rejected(message, error)
        return SendResult.transient(message, error)

    def close(self) -> None:
        self.client.close()
