"""The WhatsApp Cloud API adapter against a local fake of Meta's documented contract."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from sangathan.channels.adapters.base import OutgoingMessage
from sangathan.channels.adapters.whatsapp import CloudAdapter


class FakeCloudApi:
    """POST /{version}/{phone_number_id}/messages: answers from ``script[to]`` (status, body
    dict, headers, delay) or accepts with a fresh wamid. Keeps every request it saw."""

    def __init__(self):
        self.requests = []
        self.script = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive
            wbufsize = 1 << 16  # one write per response (no Nagle/delayed-ACK stalls)

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                data = json.loads(body)
                with fake.lock:
                    fake.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "data": data,
                            "peer": self.client_address,
                        }
                    )
                    n = len(fake.requests)
                status, answer, headers, delay = fake.script.get(data.get("to"), (200, None, {}, 0))
                if delay:
                    time.sleep(delay)
                if answer is None and status == 200:
                    answer = {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": data["to"], "wa_id": data["to"]}],
                        "messages": [{"id": f"wamid.FAKE{n}"}],
                    }
                raw = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def meta_error(code, message="error", details=""):
    return {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        }
    }


@pytest.fixture
def cloud(settings):
    fake = FakeCloudApi()
    settings.SANGATHAN_ORG_KIND = "ngo"
    settings.SANGATHAN_WHATSAPP_URL = fake.url
    settings.SANGATHAN_WHATSAPP_API_VERSION = "v21.0"
    settings.SANGATHAN_WHATSAPP_PHONE_NUMBER_ID = "106540352242922"
    settings.SANGATHAN_WHATSAPP_TOKEN = "test-token"
    settings.SANGATHAN_WHATSAPP_TEMPLATE = "sangathan_broadcast"
    yield fake
    fake.stop()


def message(n=1, to="+919810000003", language="hi", **kw):
    return OutgoingMessage(
        delivery_id=n,
        to=to,
        title=kw.pop("title", "बैठक"),
        body=kw.pop("body", "रविवार को बूथ बैठक है"),
        language=language,
        broadcast_code="abc234defg",
        **kw,
    )


def test_it_sends_a_template_message_and_returns_the_message_id(cloud):
    adapter = CloudAdapter()
    try:
        [hi], [en] = adapter.send([message(1)]), adapter.send([message(2, language="en")])
    finally:
        adapter.close()
    assert hi.ok and hi.delivery_id == 1 and hi.provider_ref == "wamid.FAKE1"
    assert en.ok and en.provider_ref == "wamid.FAKE2"
    first, second = cloud.requests
    assert first["path"] == "/v21.0/106540352242922/messages"
    assert first["headers"]["Authorization"] == "Bearer test-token"
    assert first["data"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "919810000003",
        "type": "template",
        "template": {
            "name": "sangathan_broadcast",
            "language": {"code": "hi"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "बैठक"},
                        {"type": "text", "text": "रविवार को बूथ बैठक है"},
                    ],
                }
            ],
        },
    }
    assert second["data"]["template"]["language"] == {"code": "en"}


def test_it_keeps_one_connection_per_sending_thread(cloud):
    adapter = CloudAdapter(concurrency=1)
    try:
        results = adapter.send([message(n, to=f"+9198100{n:05d}") for n in range(1, 21)])
        results += adapter.send([message(21)])
    finally:
        adapter.close()
    assert all(r.ok for r in results)
    assert len({r["peer"] for r in cloud.requests}) == 1

    parallel = CloudAdapter(concurrency=4)
    try:
        results = parallel.send([message(n, to=f"+9198200{n:05d}") for n in range(1, 41)])
    finally:
        parallel.close()
    assert sorted(r.delivery_id for r in results) == list(range(1, 41))
    assert len({r.provider_ref for r in results}) == 40
    assert len({r["peer"] for r in cloud.requests[21:]}) <= 4


def test_rate_limits_are_transient_and_honour_retry_after(cloud):
    cloud.script = {
        "919810000011": (429, meta_error(130429, "Rate limit hit"), {"Retry-After": "7"}, 0),
        "919810000012": (400, meta_error(131056, "pair rate limit hit"), {}, 0),
        "919810000013": (400, meta_error(80007, "Rate limit issues"), {}, 0),
        "919810000014": (429, None, {}, 0),
    }
    adapter = CloudAdapter(concurrency=1)
    try:
        throughput, pair, account, bare = adapter.send(
            [message(n, to=f"+9198100000{n}") for n in (11, 12, 13, 14)]
        )
    finally:
        adapter.close()
    for r in (throughput, pair, account, bare):
        assert not r.ok and not r.permanent
    assert throughput.retry_after == 7
    assert "130429" in throughput.error
    assert pair.retry_after == 6  # Meta's pair rate: about one message per 6 seconds
    assert account.retry_after == 60


def test_server_trouble_and_timeouts_are_transient(cloud):
    cloud.script = {
        "919810000021": (500, meta_error(131000, "Something went wrong"), {}, 0),
        "919810000022": (503, None, {}, 0),
        "919810000023": (200, None, {}, 1.0),
        "919810000024": (400, meta_error(2, "Service temporarily unavailable"), {}, 0),
    }
    adapter = CloudAdapter(concurrency=1, timeout=0.3)
    try:
        results = adapter.send([message(n, to=f"+9198100000{n}") for n in (21, 22, 23, 24)])
        after = adapter.send([message(25)])  # the timed-out connection was replaced
    finally:
        adapter.close()
    for r in results:
        assert not r.ok and not r.permanent, r
    assert "timed out" in results[2].error.lower()
    assert after[0].ok


@pytest.mark.parametrize(
    "code",
    [
        131026,  # message undeliverable
        131047,  # re-engagement message (outside the 24-hour window)
        132001,  # template does not exist
        132000,  # template parameter count mismatch
        100,  # invalid parameter
        131050,  # the user stopped marketing messages from us
    ],
)
def test_errors_that_will_not_go_away_are_permanent(cloud, code):
    cloud.script = {"919810000031": (400, meta_error(code), {}, 0)}
    adapter = CloudAdapter()
    try:
        [result] = adapter.send([message(31, to="+919810000031")])
    finally:
        adapter.close()
    assert not result.ok and result.permanent
    assert str(code) in result.error


def test_a_bad_token_waits_for_an_operator_instead_of_failing_everyone(cloud):
    cloud.script = {"919810000041": (401, meta_error(190, "Access token has expired"), {}, 0)}
    adapter = CloudAdapter()
    try:
        [result] = adapter.send([message(41, to="+919810000041")])
    finally:
        adapter.close()
    assert not result.ok and not result.permanent and result.retry_after == 300


def test_it_refuses_a_political_organisation(cloud, settings):
    settings.SANGATHAN_ORG_KIND = "political"
    with pytest.raises(ImproperlyConfigured, match="Business Messaging Policy"):
        CloudAdapter()
    assert cloud.requests == []


def test_it_needs_a_url(settings):
    settings.SANGATHAN_ORG_KIND = "ngo"
    settings.SANGATHAN_WHATSAPP_URL = ""
    with pytest.raises(ImproperlyConfigured, match="SANGATHAN_WHATSAPP_URL"):
        CloudAdapter()


class CallbackCollector:
    """Stands in for the site's webhook URL: keeps each POST's raw body and signature (the
    test then hands them to the real view in its own thread; an in-memory SQLite database
    cannot be shared with a live server thread that writes at the same time)."""

    def __init__(self):
        self.posts = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.posts.append((body, self.headers.get("X-Hub-Signature-256")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/whatsapp"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_emulators_signed_status_callbacks_reach_the_deliveries(cast, settings, client):
    """Send through the provider emulator; its status webhooks (shuffled, duplicated, in
    batches, signed with the app secret) go to the webhook view byte for byte, half of them
    before the worker has recorded the sends."""
    from sangathan.broadcasts.reach import record_status_changes
    from sangathan.channels.emulator import Emulator
    from sangathan.channels.models import Delivery, PendingStatus
    from sangathan.channels.statuses import apply_status_events
    from tests.channels.test_webhooks import (
        add_delivery,
        assert_counters_match_statuses,
        make_broadcast,
        post_whatsapp,
    )
    from tests.factories import make_person

    settings.SANGATHAN_ORG_KIND = "ngo"
    settings.SANGATHAN_WHATSAPP_APP_SECRET = "emulator-app-secret"
    settings.SANGATHAN_WHATSAPP_TOKEN = "emulator-token"
    settings.SANGATHAN_WHATSAPP_PHONE_NUMBER_ID = "1065403522"
    broadcast = make_broadcast(cast.lucknow, channels=("whatsapp",))
    people = [make_person(cast.booth1, f"सदस्य {i}") for i in range(12)]
    deliveries = [add_delivery(broadcast, p, status="queued") for p in people]
    collector = CallbackCollector()
    try:
        with Emulator(
            rate=1000,
            token="emulator-token",
            webhook_url=collector.url,
            app_secret="emulator-app-secret",
            status_batch=4,
            shuffle=True,
            duplicate_rate=0.5,
            read_rate=0.5,
            seed=7,
        ) as emu:
            settings.SANGATHAN_WHATSAPP_URL = emu.url
            adapter = CloudAdapter(concurrency=4)
            try:
                results = adapter.send(
                    [message(d.pk, to=p.phone) for d, p in zip(deliveries, people, strict=True)]
                )
            finally:
                adapter.close()
            # Quiet for half a second: every callback is in (the emulator's own pending
            # count goes negative when a batch gains duplicates, so it is not used).
            deadline, seen, quiet_since = time.monotonic() + 20, -1, time.monotonic()
            while time.monotonic() < deadline:
                if len(collector.posts) != seen:
                    seen, quiet_since = len(collector.posts), time.monotonic()
                elif time.monotonic() - quiet_since > 0.5:
                    break
                time.sleep(0.05)
            assert emu.stats()["callbacks_failed"] == 0
    finally:
        collector.stop()
    assert all(r.ok for r in results)
    posts = collector.posts
    assert (
        sum(len(json.loads(b)["entry"][0]["changes"][0]["value"]["statuses"]) for b, _ in posts)
        > 24
    )

    half = len(posts) // 2
    for body, signature in posts[:half]:
        assert post_whatsapp(client, body, signature=signature).status_code == 200
    # What the worker records for an accepted message, after those callbacks came in.
    for r in results:
        Delivery.objects.filter(pk=r.delivery_id).update(status="sent", provider_ref=r.provider_ref)
    record_status_changes(
        [(broadcast.pk, "whatsapp", d.unit_path, "queued", "sent") for d in deliveries]
    )
    for body, signature in posts[half:]:
        assert post_whatsapp(client, body, signature=signature).status_code == 200
    apply_status_events()  # the early ones, waiting for their delivery until now
    assert not PendingStatus.objects.exists()

    statuses = dict(
        Delivery.objects.filter(broadcast=broadcast).values_list("provider_ref", "status")
    )
    assert set(statuses) == {r.id for r in emu.received}
    assert set(statuses.values()) == {"delivered", "read"}
    assert_counters_match_statuses(broadcast)
