"""Outbox builders for the channels tests: people with consent, a sent broadcast and its
Delivery rows inserted directly (the fan-out is another module's business)."""

import pytest
from django.utils import timezone

from sangathan.broadcasts.models import Broadcast, ReachCounter
from sangathan.broadcasts.reach import assembly_depth
from sangathan.channels.models import Delivery
from sangathan.people.models import Consent
from tests.factories import make_person


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


def people_with_consent(unit, n, channels=("sms",), purposes=("organisational",), **kw):
    people = []
    for i in range(n):
        person = make_person(unit, f"सदस्य {i}", email=f"member{i}@example.org", **kw)
        people.append(person)
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
