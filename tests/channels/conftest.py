"""Outbox builders for the channels tests: people with consent, a sent broadcast and its
Delivery rows inserted directly (the fan-out is another module's business)."""

import itertools

import pytest
from django.utils import timezone

from sangathan.broadcasts.models import Broadcast, ReachCounter
from sangathan.broadcasts.reach import assembly_depth
from sangathan.channels.models import Delivery
from sangathan.people.models import Consent, Person


@pytest.fixture(autouse=True)
def _fresh_caches(settings):
    """Fresh token buckets and fast rates; every channel on a console adapter."""
    from sangathan.channels import ratelimit

    ratelimit._buckets.clear()
    settings.SANGATHAN_SEND_RATES = {"sms": 10000, "email": 10000, "push": 10000, "whatsapp": 10000}
    settings.SANGATHAN_CHANNEL_ADAPTERS = {
        "sms": "console",
        "email": "console",
        "push": "console",
        "whatsapp": "console",
    }
    yield
    ratelimit._buckets.clear()


_numbers = itertools.count(0, 1000)


def people_with_consent(unit, n, channels=("sms",), purposes=("organisational",), **kw):
    start = next(_numbers)
    people = Person.objects.bulk_create(
        Person(
            name=f"सदस्य {i}",
            phone=f"+9197{start + i:08d}",
            email=f"member{start + i}@example.org",
            unit=unit,
            **kw,
        )
        for i in range(n)
    )
    people = list(Person.objects.filter(phone__in=[p.phone for p in people]).order_by("pk"))
    Consent.objects.bulk_create(
        Consent(person=p, channel=c, purpose=purpose, evidence="test")
        for p in people
        for c in channels
        for purpose in purposes
    )
    return people


def sent_broadcast(unit, channels=("sms",), purpose="organisational", **kw):
    fields = dict(
        title_hi="बैठक की सूचना",
        body_hi="रविवार को सुबह दस बजे बूथ बैठक है।",
        title_en="Meeting notice",
        body_en="Booth meeting on Sunday at ten.",
    )
    fields.update(kw)
    broadcast = Broadcast.objects.create(
        audience_unit=unit,
        channels=list(channels),
        purpose=purpose,
        status="sent",
        sent_at=timezone.now(),
        counter_depth=assembly_depth(),
        **fields,
    )
    for channel in channels:
        ReachCounter.objects.create(
            broadcast=broadcast,
            unit=unit,
            unit_path=unit.path,
            depth=unit.depth,
            channel=channel,
            audience=0,
        )
    return broadcast


def queue(broadcast, people, channel="sms", **kw):
    Delivery.objects.bulk_create(
        Delivery(broadcast=broadcast, person=p, channel=channel, unit_path=p.unit.path, **kw)
        for p in people
    )
    return list(Delivery.objects.filter(broadcast=broadcast, channel=channel).order_by("pk"))


def counter(broadcast, channel="sms"):
    return ReachCounter.objects.get(
        broadcast=broadcast, channel=channel, unit=broadcast.audience_unit
    )


class FakeAdapter:
    """An adapter answering from a script: ``answer(message, call_number) -> SendResult``."""

    name = "fake"

    def __init__(self, channel, answer):
        self.channel = channel
        self.answer = answer
        self.calls = []

    def send(self, messages):
        self.calls.append(list(messages))
        return [self.answer(m, len(self.calls)) for m in messages]

    def close(self):
        pass


@pytest.fixture
def fake_adapter(monkeypatch):
    """Install a scripted adapter for every channel; returns a setter."""
    holder = {}

    def install(answer):
        holder["adapter"] = None

        def get(channel):
            holder["adapter"] = FakeAdapter(channel, answer)
            return holder["adapter"]

        monkeypatch.setattr("sangathan.channels.worker.get_adapter", get)
        return holder

    return install


class Receiver:
    """A local HTTP endpoint that records what is POSTed to it (a webhook, a push service)
    and answers with ``status_for(path) -> (status, headers)``."""

    def __init__(self, status_for=None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.posts = []
        self.status_for = status_for or (lambda path: (200, {}))
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append((self.path, self.headers, raw))  # case-insensitive
                status, headers = receiver.status_for(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def emulator():
    from sangathan.channels.emulator import Emulator

    made = []

    def start(**kw):
        emu = Emulator(**{"rate": 1000, "seed": 1, **kw}).start()
        made.append(emu)
        return emu

    yield start
    for emu in made:
        emu.stop()
