"""Applying status callbacks: state order, replays and shuffles, late deliveries, batches."""

import random
import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from sangathan.channels.models import STATUS_RANK, Delivery, PendingStatus, StatusEvent
from sangathan.channels.statuses import apply_status_events
from sangathan.channels.webhooks import _store
from tests.channels.test_webhooks import (
    WA_SECRET,
    add_delivery,
    assert_counters_match_statuses,
    make_broadcast,
    post_whatsapp,
    wa_body,
    wa_status,
)
from tests.factories import make_person


@pytest.fixture
def hooks(settings):
    settings.SANGATHAN_WHATSAPP_APP_SECRET = WA_SECRET
    return Client()


def event(ref, status, minutes_ago=0, provider="whatsapp", error=""):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return StatusEvent(
        provider=provider,
        key=f"{ref}:{status}",
        provider_ref=ref,
        status=status,
        occurred_at=when,
        error=error,
    )


def store(*events):
    """As the webhooks store them (the event and its queue row), without waking the applier:
    the tests apply them themselves."""
    with mock.patch("sangathan.channels.webhooks.wake_applier", lambda: None):
        _store(list(events))


def status_of(delivery):
    delivery.refresh_from_db()
    return delivery.status


@pytest.fixture
def outbox(cast):
    """A broadcast to Lucknow with twenty WhatsApp messages the provider accepted, spread
    over two booths."""
    broadcast = make_broadcast(cast.lucknow)
    people = [make_person(cast.booth1 if i % 2 else cast.booth2, f"सदस्य {i}") for i in range(20)]
    deliveries = [
        add_delivery(broadcast, person, ref=f"wamid.M{i}") for i, person in enumerate(people)
    ]
    return broadcast, deliveries


@pytest.mark.parametrize("seed", range(6))
def test_replayed_and_shuffled_webhooks_leave_one_final_status(hooks, outbox, seed):
    broadcast, deliveries = outbox
    rng = random.Random(seed)
    expected = {}
    callbacks = []
    for d in deliveries:
        # What the provider reports for this message, each possibly more than once.
        statuses = rng.choice(
            [
                ["sent"],
                ["sent", "delivered"],
                ["sent", "delivered", "read"],
                ["sent", "read"],  # delivered is implied when read at once
                ["sent", "failed"],
                ["delivered", "read"],
            ]
        )
        expected[d.pk] = max(statuses, key=STATUS_RANK.get)
        for status in statuses:
            callbacks += [wa_status(d.provider_ref, status)] * rng.randint(1, 3)
    rng.shuffle(callbacks)
    # In webhooks of one to five statuses, and some webhooks sent twice.
    i = 0
    while i < len(callbacks):
        n = rng.randint(1, 5)
        body = wa_body(callbacks[i : i + n])
        for _ in range(rng.choice([1, 1, 2])):
            assert post_whatsapp(hooks, body).status_code == 200
        i += n

    finals = dict(Delivery.objects.filter(broadcast=broadcast).values_list("pk", "status"))
    assert finals == expected
    assert PendingStatus.objects.count() == 0
    assert_counters_match_statuses(broadcast)
    # Everything once more, in another order: nothing moves.
    rng.shuffle(callbacks)
    post_whatsapp(hooks, wa_body(callbacks))
    assert dict(Delivery.objects.filter(broadcast=broadcast).values_list("pk", "status")) == finals
    assert_counters_match_statuses(broadcast)


def test_a_late_delivered_never_overwrites_read(outbox):
    broadcast, (d, *_rest) = outbox
    store(event(d.provider_ref, "read"))
    assert apply_status_events() == 1
    store(event(d.provider_ref, "delivered", minutes_ago=1))
    assert apply_status_events() == 1
    assert status_of(d) == "read"
    assert_counters_match_statuses(broadcast)


def test_failed_may_follow_sent_but_not_delivered(outbox):
    broadcast, (a, b, *_rest) = outbox
    store(event(a.provider_ref, "failed", error="131026 Message undeliverable"))
    store(event(b.provider_ref, "delivered"))
    apply_status_events()
    store(event(b.provider_ref, "failed"))
    apply_status_events()
    a.refresh_from_db()
    assert (a.status, a.error) == ("failed", "131026 Message undeliverable")
    assert status_of(b) == "delivered"
    assert_counters_match_statuses(broadcast)


def test_a_suppressed_delivery_stays_suppressed(outbox):
    broadcast, (d, *_rest) = outbox
    Delivery.objects.filter(pk=d.pk).update(status="suppressed")
    store(event(d.provider_ref, "read"))
    apply_status_events()
    assert status_of(d) == "suppressed"


def test_an_event_before_its_delivery_exists_is_applied_later(cast, outbox):
    broadcast, _deliveries = outbox
    store(event("wamid.EARLY", "delivered"))
    assert apply_status_events() == 0
    assert PendingStatus.objects.get().event == StatusEvent.objects.get()

    late = add_delivery(broadcast, make_person(cast.booth1, "देर से"), ref="wamid.EARLY")
    assert apply_status_events() == 1
    assert status_of(late) == "delivered"
    assert not PendingStatus.objects.exists()
    assert_counters_match_statuses(broadcast)


def test_unknown_events_are_dropped_after_a_day(outbox):
    store(event("wamid.NEVER", "read"))
    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        assert apply_status_events() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert apply_status_events() == 1
    assert not PendingStatus.objects.exists()
    assert StatusEvent.objects.count() == 1  # the record stays


def test_pending_unknown_events_do_not_hold_back_newer_ones(outbox):
    broadcast, deliveries = outbox
    store(*[event(f"wamid.UNKNOWN{i}", "sent") for i in range(7)])
    store(*[event(d.provider_ref, "read") for d in deliveries])
    assert apply_status_events(limit=5) == len(deliveries)
    assert {status_of(d) for d in deliveries} == {"read"}
    assert PendingStatus.objects.count() == 7


def test_it_applies_a_batch_with_a_bounded_number_of_queries(
    cast, outbox, django_assert_max_num_queries
):
    broadcast, deliveries = outbox
    more = [
        add_delivery(broadcast, make_person(cast.booth2, f"और {i}"), ref=f"wamid.X{i}")
        for i in range(100)
    ]
    everyone = deliveries + more
    store(*[event(d.provider_ref, "delivered", minutes_ago=2) for d in everyone])
    store(*[event(d.provider_ref, "read", minutes_ago=1) for d in everyone[::2]])
    # 120 deliveries and 180 events: no query per row (on PostgreSQL one is the applier's
    # advisory lock).
    with django_assert_max_num_queries(17):
        assert apply_status_events() == 180
    statuses = dict(Delivery.objects.filter(broadcast=broadcast).values_list("pk", "status"))
    assert [statuses[d.pk] for d in everyone] == ["read", "delivered"] * 60
    assert_counters_match_statuses(broadcast)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two connections at once need PostgreSQL"
)
def test_two_appliers_at_once_apply_each_event_once(cast):
    broadcast = make_broadcast(cast.lucknow)
    people = [make_person(cast.booth1, f"साथ {i}") for i in range(300)]
    deliveries = [add_delivery(broadcast, p, ref=f"wamid.P{i}") for i, p in enumerate(people)]
    store(*[event(d.provider_ref, s) for d in deliveries for s in ("delivered", "read")])
    results, errors = [], []

    def run():
        try:
            results.append(apply_status_events(limit=50))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(results) == 600
    assert set(Delivery.objects.filter(broadcast=broadcast).values_list("status", flat=True)) == {
        "read"
    }
    assert_counters_match_statuses(broadcast)


def test_a_queued_wake_up_comes_back_later_for_events_still_waiting(outbox, settings):
    """With a real queue (here django-tasks' dummy backend, which can defer), a webhook
    enqueues a wake-up, and a wake-up that leaves events waiting for their delivery schedules
    one more for later."""
    from sangathan.channels import statuses

    # django-tasks drops its backends when TASKS changes (its setting_changed receiver).
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    backend = statuses.apply_pending_statuses.get_backend()
    broadcast, (d, *_rest) = outbox
    store(event(d.provider_ref, "read"), event("wamid.NOT-YET", "delivered"))
    statuses._last_wake = statuses._next_retry = 0.0
    statuses.wake_applier()
    statuses.wake_applier()  # debounced
    assert [r.task.name for r in backend.results] == ["apply_pending_statuses"]
    assert status_of(d) == "sent"  # nothing ran yet: a worker will

    assert statuses.apply_pending_statuses.call() == 1
    assert status_of(d) == "read"
    later = backend.results[-1]
    assert len(backend.results) == 2 and later.task.run_after > timezone.now()
    statuses.apply_pending_statuses.call()  # still waiting, but one retry is queued already
    assert len(backend.results) == 2
