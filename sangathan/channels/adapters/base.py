"""What every channel adapter is: a name, a channel, and ``send(messages) -> results``.

The worker (``sangathan.channels.worker``) claims a batch of deliveries, turns each into an
``OutgoingMessage`` and hands a rate-limited slice of them to the channel's adapter, which
answers one ``SendResult`` per message, in any order. An adapter never touches the database
rows of the outbox: it reports, the worker records.

Results are one of three kinds:

- ok: the provider accepted the message (``provider_ref`` is its id, which status webhooks
  quote back);
- transient (``ok=False, permanent=False``): HTTP 429, 5xx, timeouts, refused or broken
  connections; the worker retries with backoff, not before ``retry_after`` seconds when the
  provider said so;
- permanent (``ok=False, permanent=True``): any other 4xx or a provider code that says the
  message will never go (bad number, undeliverable); the worker marks the delivery failed.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit


@dataclass
class OutgoingMessage:
    """One message for one person, as the adapter needs it.

    ``to`` is an E.164 phone number (sms, whatsapp), an email address (email), or the list
    of the person's push subscriptions (push: dicts with ``id``, ``endpoint`` and ``keys``).
    """

    delivery_id: int
    to: Any
    title: str
    body: str
    link: str = ""
    language: str = "hi"
    broadcast_code: str = ""
    purpose: str = "organisational"
    person_id: int | None = None
    channel: str = ""


@dataclass
class SendResult:
    delivery_id: int
    ok: bool
    provider_ref: str = ""
    retry_after: float | None = None
    permanent: bool = False
    error: str = ""

    @classmethod
    def accepted(cls, message: OutgoingMessage, provider_ref: str) -> SendResult:
        return cls(message.delivery_id, True, provider_ref=str(provider_ref)[:128])

    @classmethod
    def transient(
        cls, message: OutgoingMessage, error: str, retry_after: float | None = None
    ) -> SendResult:
        return cls(message.delivery_id, False, retry_after=retry_after, error=str(error)[:300])

    @classmethod
    def rejected(cls, message: OutgoingMessage, error: str) -> SendResult:
        return cls(message.delivery_id, False, permanent=True, error=str(error)[:300])


class Adapter(Protocol):
    name: str
    channel: str

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]: ...

    def close(self) -> None: ...


class BaseAdapter:
    """Optional base class: adapters without connections to close need only ``send``."""

    name = ""
    channel = ""

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def is_transient_status(status: int) -> bool:
    """HTTP statuses worth retrying: 429, 408 and the 5xx family."""
    return status in (408, 429) or status >= 500


@dataclass
class HttpResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    data: Any = field(default=None)


class TransportError(Exception):
    """A timeout, refused or broken connection: the request may or may not have arrived."""


class JsonHttpClient:
    """A persistent (keep-alive) HTTP/1.1 connection to one base URL that speaks JSON.

    One connection, not thread-safe: make one client per sending thread. A connection the
    server closed while idle is reopened before the next request; a failure during a
    request closes it and raises ``TransportError`` (the caller decides whether to retry)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout=10.0):
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.https = url.scheme == "https"
        self.host = url.hostname
        self.port = url.port or (443 if self.https else 80)
        self.prefix = url.path.rstrip("/")
        self.timeout = timeout
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            **(headers or {}),
        }
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is not None and conn.sock is not None and _dropped(conn.sock):
            conn.close()
        if conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = self._conn = cls(self.host, self.port, timeout=self.timeout)
        return conn

    def request(self, method: str, path: str, payload: Any = None) -> HttpResponse:
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        conn = self._connection()
        try:
            conn.request(method, self.prefix + path, body=body, headers=self.headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        if response.will_close:
            self.close()
        result = HttpResponse(response.status, response.headers, raw)
        try:
            result.data = json.loads(raw) if raw else None
        except ValueError:
            result.data = None
        return result

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _dropped(sock: socket.socket) -> bool:
    """An idle keep-alive socket that is readable has been closed by the server."""
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
