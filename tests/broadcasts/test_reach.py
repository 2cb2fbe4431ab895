"""Reach from counters (down to the assembly) and computed below it agrees, for every unit of
the audience and each of its children, with a join over the rows it summarises."""

import random

import pytest
from django.db import transaction
from django.utils import timezone

from sangathan.broadcasts.actions import Draft, do_acknowledge_broadcast, do_create_broadcast
from sangathan.broadcasts.audience import audience_people
from sangathan.broadcasts.models import FeedRead
from sangathan.broadcasts.reach import (
    READ_FIELDS,
    reach_report,
    record_feed_receipt,
    record_status_changes,
)
from sangathan.channels.models import Delivery
from sangathan.org.counts import recount
from sangathan.org.models import OrgUnit
from sangathan.people.models import Consent
from tests.factories import make_person

MEMBERSHIP = {
    "sent": ("sent", "delivered", "read"),
    "delivered": ("delivered", "read"),
    "read": ("read",),
    "failed": ("failed",),
    "suppressed": ("suppressed",),
}


def by_join(broadcast, unit, channels) -> dict:
    """The figures the slow way: count the rows under ``unit``."""
    out = {}
    for channel in channels:
        row = dict.fromkeys(READ_FIELDS, 0)
        if channel == "feed":
            row["audience"] = audience_people(
                unit, broadcast.filters, broadcast.excluded_paths
            ).count()
            receipts = FeedRead.objects.filter(broadcast=broadcast, unit_path__startswith=unit.path)
            row["read"] = receipts.exclude(read_at=None).count()
            row["shared"] = receipts.exclude(shared_at=None).count()
        else:
            rows = Delivery.objects.filter(
                broadcast=broadcast, channel=channel, unit_path__startswith=unit.path
            )
            row["audience"] = rows.count()
            for field, statuses in MEMBERSHIP.items():
                row[field] = rows.filter(status__in=statuses).count()
        out[channel] = row
    return out


@pytest.fixture
def crowd(cast):
    """People everywhere in Lucknow, some placed on a mandal or sector itself, all with SMS
    consent; a few app members."""
    rng = random.Random(4)
    places = [cast.lucknow, cast.ac_west, cast.mandal, cast.sector, cast.booth1, cast.booth2]
    for i in range(60):
        p = make_person(rng.choice(places), f"सदस्य {i}", f"+9198{i:08d}")
        Consent.objects.create(person=p, channel="sms", purpose="organisational", evidence="t")
        if i % 4 == 0:
            p.app_status = "joined"
            p.save(update_fields=["app_status"])
    recount()
    return cast


def stir(broadcast, rng: random.Random) -> None:
    """Move statuses forward and record reads, through the same counter updates the
    webhook applier and the feed use."""
    rows = list(
        Delivery.objects.filter(broadcast=broadcast).values_list("pk", "unit_path", "status")
    )
    changes = []
    with transaction.atomic():
        for pk, path, old in rows:
            new = rng.choice(["queued", "sent", "delivered", "read", "failed", "suppressed"])
            if new != old:
                Delivery.objects.filter(pk=pk).update(status=new)
                changes.append((broadcast.pk, "sms", path, old, new))
        record_status_changes(changes)
    readers = audience_people(broadcast.audience_unit, broadcast.filters, broadcast.excluded_paths)
    for person in readers.select_related("unit"):
        if rng.random() < 0.4:
            shared = rng.random() < 0.5
            FeedRead.objects.create(
                broadcast=broadcast,
                person=person,
                unit_path=person.unit.path,
                read_at=timezone.now(),
                shared_at=timezone.now() if shared else None,
            )
            record_feed_receipt(broadcast.pk, person.unit.path, True, shared)


@pytest.mark.parametrize("filters", [{}, {"app": "joined"}])
def test_every_unit_and_child_matches_the_rows(crowd, filters):
    cast = crowd
    b = do_create_broadcast(
        cast.convenor,
        Draft(
            audience_unit=cast.lucknow,
            title_hi="पहुँच",
            body_hi="जाँच",
            channels=["feed", "sms"],
            filters=filters,
        ),
    )
    b.refresh_from_db()
    assert b.fanout_done_at is not None and b.counter_depth == cast.ac_west.depth
    stir(b, random.Random(len(filters)))
    do_acknowledge_broadcast(cast.convenor, b, cast.lucknow)
    for unit in OrgUnit.objects.filter(path__startswith=cast.lucknow.path):
        report = reach_report(b, unit)
        assert report["channels"] == ["feed", "sms"]
        assert report["figures"] == by_join(b, unit, report["channels"]), unit.code
        for child in report["children"]:
            assert child["figures"] == by_join(b, child["unit"], report["channels"]), child[
                "unit"
            ].code
        assert report["acknowledged"] == (unit == cast.lucknow)


def test_the_reach_of_a_unit_reads_a_bounded_number_of_queries(
    crowd, django_assert_max_num_queries
):
    cast = crowd
    b = do_create_broadcast(
        cast.convenor,
        Draft(audience_unit=cast.lucknow, title_hi="x", body_hi="y", channels=["feed", "sms"]),
    )
    b.refresh_from_db()
    for unit, most in ((cast.lucknow, 8), (cast.ac_west, 10), (cast.mandal, 9), (cast.booth1, 9)):
        with django_assert_max_num_queries(most):
            reach_report(b, unit)
