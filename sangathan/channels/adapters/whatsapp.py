"""WhatsApp Cloud API adapter: approved template messages, one HTTP request per message.

Meta's WhatsApp Business Messaging Policy does not admit political parties, candidates or
campaigns to the WhatsApp Business Platform, so the adapter refuses to start for an
organisation configured as ``political``; there, WhatsApp reach goes through people
forwarding in the organisation's groups.

Requests go over persistent (keep-alive) connections, one per sending thread, so that a batch
costs no TLS handshakes; a few threads overlap the provider's latency, while the worker's
token bucket keeps the rate. Errors are classified from Meta's error object
(https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes): throughput and
pair-rate limits and server trouble are retried (honouring Retry-After), a recipient or
template the provider will never accept is not.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from sangathan.channels.adapters.base import (
    BaseAdapter,
    JsonHttpClient,
    OutgoingMessage,
    SendResult,
    TransportError,
    is_transient_status,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

POLITICAL_REFUSAL = _(
    "The WhatsApp Cloud API adapter cannot be used by a political organisation: Meta's "
    "WhatsApp Business Messaging Policy does not admit political parties, candidates or "
    "campaigns to the WhatsApp Business Platform. Reach members on WhatsApp through the "
    "organisation's groups (forward tasks with ready text), and use the member app, SMS or "
    "email for direct messages."
)

# Rate limits: retry after the provider's Retry-After, or after this many seconds.
RATE_LIMIT_WAIT = {
    4: 60,  # application request limit
    80007: 60,  # WhatsApp Business Account rate limit
    130429: 1,  # throughput (messages per second of the phone number)
    131056: 6,  # pair rate: one message to the same person every ~6 seconds
}
# Meta's side had trouble: the same request may succeed later.
TRANSIENT_CODES = {1, 2, 17, 341, 131000, 131016, 131057, 133004}
# The access token or the app's permissions are wrong: every message fails until an operator
# fixes the configuration, so wait and retry rather than fail the whole broadcast for good.
CONFIG_CODES = {0, 3, 10, 190}
CONFIG_WAIT = 300
# Everything else with a code (100 invalid parameter, 131026 undeliverable, 131047
# re-engagement, 131049 per-user marketing limit, 131050 the user stopped marketing messages,
# 1320xx template errors, 368 policy block, …) will fail again: permanent.


def _is_political() -> bool:
    return getattr(settings, "SANGATHAN_ORG_KIND", "") == "political"


def classify_error(status: int, payload, retry_after: str | None) -> tuple[bool, float | None, str]:
    """(permanent, seconds to wait or None, error text) for a request Meta refused."""
    error = payload.get("error") if isinstance(payload, dict) else None
    code = None
    text = f"HTTP {status}"
    if isinstance(error, dict):
        try:
            code = int(error.get("code"))
        except (TypeError, ValueError):
            code = None
        details = (error.get("error_data") or {}).get("details")
        text = f"{code if code is not None else status} {error.get('message') or ''}".strip()
        if details:
            text = f"{text}: {details}"
    text = text[:300]
    wait = parse_retry_after(retry_after)

    if code in RATE_LIMIT_WAIT:
        return False, wait if wait is not None else float(RATE_LIMIT_WAIT[code]), text
    if code in TRANSIENT_CODES:
        return False, wait, text
    if code in CONFIG_CODES or (code is not None and 200 <= code <= 299):
        return False, wait if wait is not None else float(CONFIG_WAIT), text
    if is_transient_status(status):
        return False, wait, text  # 429, 408, 5xx with no code we know: try again
    return True, None, text


class CloudAdapter(BaseAdapter):
    """Sends broadcasts as WhatsApp template messages through Meta's Cloud API."""

    name = "cloud"
    channel = "whatsapp"

    def __init__(self, *, timeout: float | None = None, concurrency: int | None = None):
        if _is_political():
            raise ImproperlyConfigured(str(POLITICAL_REFUSAL))
        self.base_url = settings.SANGATHAN_WHATSAPP_URL
        if not self.base_url:
            raise ImproperlyConfigured("Set SANGATHAN_WHATSAPP_URL to use the WhatsApp adapter.")
        self.path = "/{}/{}/messages".format(
            settings.SANGATHAN_WHATSAPP_API_VERSION.strip("/"),
            settings.SANGATHAN_WHATSAPP_PHONE_NUMBER_ID,
        )
        self.template = settings.SANGATHAN_WHATSAPP_TEMPLATE
        self.headers = {"Authorization": f"Bearer {settings.SANGATHAN_WHATSAPP_TOKEN}"}
        self.timeout = timeout or float(getattr(settings, "SANGATHAN_WHATSAPP_TIMEOUT", 10))
        self.concurrency = concurrency or int(
            getattr(settings, "SANGATHAN_WHATSAPP_CONCURRENCY", 8)
        )
        self._client(check_only=True)  # a malformed URL fails here, not at the first send
        self._local = threading.local()
        self._clients: list[JsonHttpClient] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def _client(self, check_only: bool = False) -> JsonHttpClient:
        if check_only:
            try:
                return JsonHttpClient(self.base_url, self.headers, self.timeout)
            except ValueError as exc:
                raise ImproperlyConfigured(f"SANGATHAN_WHATSAPP_URL: {exc}") from exc
        client = getattr(self._local, "client", None)
        if client is None:
            # One keep-alive connection per sending thread.
            client = self._local.client = JsonHttpClient(self.base_url, self.headers, self.timeout)
            with self._lock:
                self._clients.append(client)
        return client

    def payload(self, message: OutgoingMessage) -> dict:
        language = "en" if (message.language or "").startswith("en") else "hi"
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": str(message.to).lstrip("+"),
            "type": "template",
            "template": {
                "name": self.template,
                "language": {"code": language},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": message.title or ""},
                            {"type": "text", "text": message.body or ""},
                        ],
                    }
                ],
            },
        }

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        if len(messages) <= 1 or self.concurrency <= 1:
            return [self._send_one(m) for m in messages]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="whatsapp")
        return list(self._pool.map(self._send_one, messages))

    def _send_one(self, message: OutgoingMessage) -> SendResult:
        try:
            response = self._client().request("POST", self.path, self.payload(message))
        except TransportError as exc:
            # The provider may or may not have taken it: a retry can deliver it twice (the
            # at-least-once window).
            return SendResult.transient(message, str(exc))
        if 200 <= response.status < 300:
            try:
                return SendResult.accepted(message, response.data["messages"][0]["id"])
            except (TypeError, KeyError, IndexError):
                return SendResult.transient(message, f"HTTP {response.status} without a message id")
        permanent, wait, error = classify_error(
            response.status, response.data, response.headers.get("Retry-After")
        )
        if permanent:
            return SendResult.rejected(message, error)
        return SendResult.transient(message, error, retry_after=wait)

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
            self._local = threading.local()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
