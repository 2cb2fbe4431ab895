"""A local emulator of the providers' contracts, for tests and benchmarks.

One HTTP server (``ThreadingHTTPServer``, HTTP/1.1 keep-alive) answers:

- the SMS gateway contract of ``sangathan.channels.adapters.sms``:
  ``POST /messages`` with ``Authorization: Bearer <api key>``;
- the WhatsApp Cloud API send contract: ``POST /{version}/{phone_number_id}/messages`` with a
  Bearer token and a template message body, answering ``{"messaging_product": "whatsapp",
  "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid.…"}]}``, and errors in Meta's
  shape ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``: 429 code
  130429 over the throughput, 400 code 131056 over the pair rate, 500 code 131000 or 503
  code 2 when injected, 400 code 131026 for an undeliverable recipient, 401 code 190 for a
  wrong token, 400 code 100 for a malformed body;
- ``GET /_emulator/stats`` (counters), ``GET /_emulator/messages?since=N`` (what it accepted),
  ``POST /_emulator/config`` (change the injections below at run time) and
  ``POST /_emulator/inbound`` (``{"from", "text"}``: an inbound SMS such as STOP).

It accepts ``rate`` messages a second (a token bucket holding ``burst`` seconds' worth) and
answers 429 with ``Retry-After`` above that; it injects 5xx answers at ``fail_rate`` and hangs
(no answer for ``hang_seconds``, so the client times out) at ``hang_rate``. Accepted messages
get status callbacks: WhatsApp's webhook shape signed with ``X-Hub-Signature-256`` (HMAC-SHA256
of the raw body with the app secret) to ``webhook_url``, and the SMS events shape signed with
``X-Sangathan-Signature`` to ``sms_webhook_url``; ``status_batch`` statuses per POST,
optionally ``shuffle``\\d (out of order) and duplicated at ``duplicate_rate``.

In-process use::

    with Emulator(rate=100, fail_rate=0.05) as emu:
        settings.SANGATHAN_SMS_URL = emu.url
        ...
        assert emu.stats()["accepted"] == 10
        emu.received  # [Received(kind, ref, to, text, id, at, body), …]

From a shell: ``sangathan emulator --port 9000 --rate 80 --webhook URL --app-secret S``.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import http.client
import itertools
import json
import math
import random
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sangathan.channels.ratelimit import TokenBucket

WHATSAPP_PATH = re.compile(r"^/(v[\d.]+)/([^/]+)/messages/?$")
SMS_STATUSES = ("sent", "delivered", "failed")
CONFIGURABLE = (
    "fail_rate",
    "hang_rate",
    "hang_seconds",
    "status_delay",
    "status_batch",
    "shuffle",
    "duplicate_rate",
    "read_rate",
    "statuses",
    "webhook_url",
    "sms_webhook_url",
    "pair_limit_seconds",
    "latency",
)


@dataclass
class Received:
    """One message the emulator accepted."""

    kind: str  # "sms" | "whatsapp"
    ref: str  # the SMS contract's ref (the delivery id); "" for WhatsApp
    to: str
    text: str  # SMS text, or the WhatsApp template's body parameters joined by newlines
    id: str  # the provider id it answered with
    at: float = field(default_factory=time.time)
    body: dict = field(default_factory=dict, repr=False)


class Emulator:
    def __init__(
        self,
        rate: float = 100.0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        burst: float = 1.0,
        api_key: str | None = None,
        token: str | None = None,
        webhook_url: str | None = None,
        sms_webhook_url: str | None = None,
        app_secret: str = "",
        sms_secret: str = "",
        fail_rate: float = 0.0,
        hang_rate: float = 0.0,
        hang_seconds: float = 30.0,
        undeliverable: tuple[str, ...] | set[str] = (),
        statuses: tuple[str, ...] = ("sent", "delivered", "read"),
        read_rate: float = 1.0,
        status_delay: float = 0.0,
        status_batch: int = 1,
        shuffle: bool = False,
        duplicate_rate: float = 0.0,
        pair_limit_seconds: float | None = None,
        require_dlt: bool = True,
        latency: float = 0.0,
        seed: int | None = None,
    ):
        self.host, self.port = host, port
        self.rate = rate
        self.burst = burst
        self.bucket = TokenBucket(rate, capacity=max(1.0, rate * burst))
        self.api_key, self.token = api_key, token
        self.webhook_url, self.sms_webhook_url = webhook_url, sms_webhook_url
        self.app_secret, self.sms_secret = app_secret, sms_secret
        self.fail_rate, self.hang_rate, self.hang_seconds = fail_rate, hang_rate, hang_seconds
        self.undeliverable = {u.lstrip("+") for u in undeliverable}
        self.statuses, self.read_rate = tuple(statuses), read_rate
        self.status_delay, self.status_batch = status_delay, status_batch
        self.shuffle, self.duplicate_rate = shuffle, duplicate_rate
        self.pair_limit_seconds = pair_limit_seconds
        self.require_dlt = require_dlt
        self.latency = latency
        self.random = random.Random(seed)
        self.received: list[Received] = []
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "requests",
                "accepted",
                "rate_limited",
                "rate_limited_messages",
                "failed_5xx",
                "hung",
                "rejected",
                "unauthorized",
                "callbacks_posted",
                "callbacks_failed",
                "statuses_sent",
            ),
            0,
        )
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._last_to: dict[str, float] = {}
        self._stopping = threading.Event()
        self._queue: list = []  # heap of (due, seq, kind, event, tries)
        self._queue_cv = threading.Condition()
        self._in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._connections: dict[str, http.client.HTTPConnection] = {}

    # --- life cycle ---

    def start(self) -> Emulator:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = _Server((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        server = self._server
        for name, target, kwargs in (
            ("serve", server.serve_forever, {"poll_interval": 0.05}),  # stops quickly
            ("dispatch", self._dispatch, {}),
        ):
            thread = threading.Thread(
                target=target, kwargs=kwargs, daemon=True, name=f"emulator-{name}"
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._queue_cv:
            self._queue_cv.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        for conn in self._connections.values():
            conn.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- what tests and benches read and change ---

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counters[key] += n

    def stats(self) -> dict:
        with self._lock:
            stats = dict(self.counters)
        with self._queue_cv:
            stats["callbacks_pending"] = len(self._queue) + self._in_flight
        stats["rate"] = self.rate
        return stats

    def messages(self, since: int = 0) -> list[dict]:
        with self._lock:
            return [
                {k: v for k, v in asdict(r).items() if k != "body"} for r in self.received[since:]
            ]

    def configure(self, **options) -> None:
        for key, value in options.items():
            if key == "rate":
                self.rate = float(value)
                self.bucket = TokenBucket(self.rate, capacity=max(1.0, self.rate * self.burst))
            elif key in CONFIGURABLE:
                setattr(self, key, tuple(value) if key == "statuses" else value)
            else:
                raise ValueError(f"unknown emulator option {key!r}")

    def wait_for_callbacks(self, timeout: float = 10.0) -> bool:
        """Block until every status callback due has been posted (True) or ``timeout``."""
        end = time.monotonic() + timeout
        with self._queue_cv:
            while self._queue or self._in_flight:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._queue_cv.wait(min(left, 0.05))
        return True

    def inbound_sms(self, sender: str, text: str) -> None:
        """Post an inbound SMS (a reply such as STOP) to the SMS webhook."""
        event = {"from": sender, "text": text, "id": f"in-{next(self._ids)}"}
        self._enqueue(time.time(), "inbound", event)

    # --- the provider's side ---

    def _new_id(self, kind: str) -> str:
        n = next(self._ids)
        if kind == "whatsapp":
            return f"wamid.EMU{n:012d}{secrets.token_hex(4)}"
        return f"sms-{n}"

    def _injected(self) -> str | None:
        """ "hang", "fail" or None for this request (the injection dice)."""
        roll = self.random.random()
        if roll < self.hang_rate:
            return "hang"
        if roll < self.hang_rate + self.fail_rate:
            return "fail"
        return None

    def hang(self) -> None:
        self.count("hung")
        self._stopping.wait(self.hang_seconds)

    def accept(self, record: Received) -> None:
        with self._lock:
            self.received.append(record)
            self.counters["accepted"] += 1
        now = time.time()
        statuses = [s for s in self.statuses if record.kind == "whatsapp" or s in SMS_STATUSES]
        for i, status in enumerate(statuses):
            if status == "read" and self.random.random() >= self.read_rate:
                continue
            self._enqueue(now + self.status_delay * (i + 1), record.kind, (record, status, now))

    def pair_limited(self, to: str) -> bool:
        if not self.pair_limit_seconds:
            return False
        now = time.monotonic()
        with self._lock:
            last = self._last_to.get(to)
            if last is not None and now - last < self.pair_limit_seconds:
                return True
            self._last_to[to] = now
        return False

    # --- status callbacks ---

    def _enqueue(self, due: float, kind: str, event, tries: int = 0) -> None:
        with self._queue_cv:
            heapq.heappush(self._queue, (due, next(self._ids), kind, event, tries))
            self._queue_cv.notify()

    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            with self._queue_cv:
                while not self._stopping.is_set() and (
                    not self._queue or self._queue[0][0] > time.time()
                ):
                    wait = self._queue[0][0] - time.time() if self._queue else 0.5
                    self._queue_cv.wait(max(0.001, min(wait, 0.5)))
                if self._stopping.is_set():
                    return
                kind = self._queue[0][2]
                batch, rest = [], []
                limit = 1 if kind == "inbound" else max(1, int(self.status_batch))
                while self._queue and self._queue[0][0] <= time.time() and len(batch) < limit:
                    item = heapq.heappop(self._queue)
                    (batch if item[2] == kind else rest).append(item)
                for item in rest:
                    heapq.heappush(self._queue, item)
                self._in_flight += len(batch)
            taken = len(batch)
            try:
                self._post_batch(kind, batch)
            except Exception:  # a callback must never stop the dispatcher
                self.count("callbacks_failed")
            finally:
                with self._queue_cv:
                    self._in_flight -= taken
                    self._queue_cv.notify_all()

    def _post_batch(self, kind: str, batch: list) -> None:
        if self.shuffle:
            self.random.shuffle(batch)
        for item in list(batch):
            if self.duplicate_rate and item[4] == 0 and self.random.random() < self.duplicate_rate:
                # A copy now or in a later POST, as providers do.
                if self.random.random() < 0.5:
                    batch.append(item)
                else:
                    self._enqueue(time.time() + 0.01, item[2], item[3], tries=1)
        if kind == "whatsapp":
            url, secret, header = self.webhook_url, self.app_secret, "X-Hub-Signature-256"
            body = self._whatsapp_payload([item[3] for item in batch])
        else:
            url, secret, header = self.sms_webhook_url, self.sms_secret, "X-Sangathan-Signature"
            body = self._sms_payload(kind, [item[3] for item in batch])
        if not url:
            return
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        ok = self._post(url, raw, {header: signature})
        if ok:
            self.count("callbacks_posted")
            self.count("statuses_sent", len(batch))
        else:
            self.count("callbacks_failed")
            for _due, _seq, k, event, tries in batch:
                if tries < 3:  # providers retry a failed webhook with backoff
                    self._enqueue(time.time() + 0.5 * 2**tries, k, event, tries + 1)

    def _post(self, url: str, raw: bytes, headers: dict) -> bool:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn = self._connections.get(parts.netloc)
        for attempt in range(2):
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
                self._connections[parts.netloc] = conn
            try:
                conn.request(
                    "POST", path, body=raw, headers={"Content-Type": "application/json", **headers}
                )
                response = conn.getresponse()
                response.read()
                if response.will_close:
                    conn.close()
                    self._connections.pop(parts.netloc, None)
                return 200 <= response.status < 300
            except (OSError, http.client.HTTPException):
                conn.close()
                self._connections.pop(parts.netloc, None)
                conn = None
                if attempt:
                    return False
        return False

    @staticmethod
    def _whatsapp_payload(events: list) -> dict:
        statuses = []
        for record, status, sent_at in events:
            item = {
                "id": record.id,
                "status": status,
                "timestamp": str(int(sent_at) + ("sent", "delivered", "read").index(status)),
                "recipient_id": record.to.lstrip("+"),
            }
            if status == "sent":
                item["conversation"] = {"id": secrets.token_hex(8), "origin": {"type": "utility"}}
                item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "utility"}
            statuses.append(item)
        phone_number_id = events[0][0].body.get("_phone_number_id", "") if events else ""
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA-EMULATOR",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550000000",
                                    "phone_number_id": phone_number_id,
                                },
                                "statuses": statuses,
                            },
                        }
                    ],
                }
            ],
        }

    @staticmethod
    def _sms_payload(kind: str, events: list) -> dict:
        if kind == "inbound":
            return {"events": [], "inbound": events}
        out = []
        for record, status, sent_at in events:
            offset = SMS_STATUSES.index(status) if status in SMS_STATUSES else 0
            when = datetime.fromtimestamp(sent_at + offset, UTC)
            out.append(
                {"id": record.id, "status": status, "timestamp": when.isoformat(), "error": ""}
            )
        return {"events": out, "inbound": []}


def _meta_error(code: int, message: str, subcode: int | None = None, kind="OAuthException"):
    error = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(12),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that hung up (a killed worker, a timed-out request) is not news.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: Emulator

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass

    def _reply(self, status: int, payload, headers: dict | None = None) -> None:
        raw = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _bearer(self) -> str:
        value = self.headers.get("Authorization", "")
        return value[7:] if value.startswith("Bearer ") else ""

    def do_GET(self) -> None:
        emu = self.emulator
        url = urlsplit(self.path)
        if url.path == "/_emulator/stats":
            return self._reply(200, emu.stats())
        if url.path == "/_emulator/messages":
            since = int((parse_qs(url.query).get("since") or ["0"])[0])
            return self._reply(200, {"messages": emu.messages(since)})
        return self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        emu = self.emulator
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/_emulator/config":
            try:
                emu.configure(**(body or {}))
            except (TypeError, ValueError) as exc:
                return self._reply(400, {"error": str(exc)})
            return self._reply(200, emu.stats())
        if path == "/_emulator/inbound":
            emu.inbound_sms(str((body or {}).get("from", "")), str((body or {}).get("text", "")))
            return self._reply(202, {"queued": True})
        emu.count("requests")
        if emu.latency:
            time.sleep(emu.latency)
        if path.rstrip("/") == "/messages":
            return self._sms(body)
        match = WHATSAPP_PATH.match(path)
        if match:
            return self._whatsapp(body, match.group(2))
        return self._reply(404, {"error": "not found"})

    # --- SMS gateway ---

    def _sms(self, body) -> None:
        emu = self.emulator
        if emu.api_key is not None and self._bearer() != emu.api_key:
            emu.count("unauthorized")
            return self._reply(401, {"error": "unauthorized"})
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            return self._reply(400, {"error": 'expected {"messages": [...]}'})
        injected = emu._injected()
        if injected == "hang":
            emu.hang()
            return self._reply(504, {"error": "gateway timeout"})
        if injected == "fail":
            emu.count("failed_5xx")
            return self._reply(503, {"error": "temporarily unavailable"})
        wait = emu.bucket.try_take(len(messages))
        if wait > 0:
            emu.count("rate_limited")
            emu.count("rate_limited_messages", len(messages))
            return self._reply(
                429, {"error": "rate limit exceeded"}, {"Retry-After": str(math.ceil(wait))}
            )
        results = []
        for m in messages:
            if not isinstance(m, dict) or not m.get("ref") or not m.get("to") or not m.get("text"):
                results.append(
                    {
                        "ref": (m or {}).get("ref"),
                        "error": "ref, to and text are required",
                        "permanent": True,
                    }
                )
                emu.count("rejected")
                continue
            if emu.require_dlt and not (m.get("entity_id") and m.get("template_id")):
                results.append(
                    {
                        "ref": m["ref"],
                        "error": "DLT entity_id and template_id are required",
                        "permanent": True,
                    }
                )
                emu.count("rejected")
                continue
            if str(m["to"]).lstrip("+") in emu.undeliverable:
                results.append(
                    {"ref": m["ref"], "error": "undeliverable number", "permanent": True}
                )
                emu.count("rejected")
                continue
            pid = emu._new_id("sms")
            emu.accept(Received("sms", str(m["ref"]), str(m["to"]), str(m["text"]), pid, body=m))
            results.append({"ref": m["ref"], "id": pid, "status": "accepted"})
        return self._reply(200, {"results": results})

    # --- WhatsApp Cloud API ---

    def _whatsapp(self, body, phone_number_id: str) -> None:
        emu = self.emulator
        if emu.token is not None and self._bearer() != emu.token:
            emu.count("unauthorized")
            return self._reply(
                401, _meta_error(190, "Invalid OAuth access token - Cannot parse access token")
            )
        template = body.get("template") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or body.get("messaging_product") != "whatsapp"
            or not body.get("to")
            or body.get("type") != "template"
            or not isinstance(template, dict)
            or not template.get("name")
            or not (template.get("language") or {}).get("code")
        ):
            emu.count("rejected")
            return self._reply(400, _meta_error(100, "(#100) Invalid parameter"))
        injected = emu._injected()
        if injected == "hang":
            emu.hang()
            return self._reply(504, _meta_error(2, "Service temporarily unavailable"))
        if injected == "fail":
            emu.count("failed_5xx")
            if emu.random.random() < 0.5:
                return self._reply(500, _meta_error(131000, "Something went wrong"))
            return self._reply(503, _meta_error(2, "Service temporarily unavailable"))
        to = str(body["to"]).lstrip("+")
        wait = emu.bucket.try_take(1)
        if wait > 0:
            emu.count("rate_limited")
            emu.count("rate_limited_messages")
            return self._reply(
                429,
                _meta_error(130429, "(#130429) Rate limit hit", kind="OAuthException"),
                {"Retry-After": str(math.ceil(wait))},
            )
        if emu.pair_limited(to):
            emu.count("rate_limited")
            emu.count("rate_limited_messages")
            return self._reply(
                400,
                _meta_error(
                    131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit"
                ),
            )
        if to in emu.undeliverable:
            emu.count("rejected")
            return self._reply(400, _meta_error(131026, "Message undeliverable"))
        wamid = emu._new_id("whatsapp")
        texts = [
            str(p.get("text", ""))
            for c in template.get("components") or []
            for p in (c.get("parameters") or [])
            if isinstance(p, dict)
        ]
        record = Received(
            "whatsapp",
            "",
            to,
            "\n".join(texts),
            wamid,
            body={**body, "_phone_number_id": phone_number_id},
        )
        emu.accept(record)
        return self._reply(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": to}],
                "messages": [{"id": wamid}],
            },
        )
