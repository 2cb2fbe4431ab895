"""Fan-out: a published broadcast's external-channel outbox rows and its reach counters.

Runs in a background task, never in the request that publishes. Outbox rows are created with
``INSERT INTO channels_delivery … SELECT`` from the same audience query the preview counts,
in chunks of person ids (≥ 10,000 people a statement), so a national broadcast is a few
hundred statements rather than millions of ORM saves. ``ON CONFLICT DO NOTHING`` on the
(broadcast, person, channel) key makes a re-run after a crash finish the job without
duplicates.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Count, IntegerField, Max, Min, Value
from django.db.models.functions import Substr
from django.utils import timezone

from sangathan.broadcasts.audience import audience_people, reachable_on
from sangathan.broadcasts.models import Broadcast, ReachCounter
from sangathan.broadcasts.reach import STEP, assembly_depth

log = logging.getLogger("sangathan.broadcasts")

CHUNK = 50_000
DELIVERY_COLUMNS = (
    "broadcast_id",
    "person_id",
    "channel",
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_by",
    "adapter",
    "provider_ref",
    "error",
    "unit_path",
    "created_at",
)


def delivery_select(broadcast: Broadcast, channel: str, people=None):
    """The SELECT half of the outbox insert: one row per reachable person, as a queryset."""
    from django.db.models import CharField, DateTimeField, F

    now = timezone.now()
    people = (
        people
        if people is not None
        else audience_people(broadcast.audience_unit, broadcast.filters, broadcast.excluded_paths)
    )
    qs = reachable_on(people, channel, broadcast.purpose)
    return qs.annotate(
        d_broadcast=Value(broadcast.pk, IntegerField()),
        d_channel=Value(channel, CharField()),
        d_status=Value("queued", CharField()),
        d_attempts=Value(0, IntegerField()),
        d_next=Value(now, DateTimeField()),
        d_blank=Value("", CharField()),
        d_path=F("unit__path"),
        d_created=Value(now, DateTimeField()),
    ).values_list(
        "d_broadcast",
        "pk",
        "d_channel",
        "d_status",
        "d_attempts",
        "d_next",
        "d_blank",
        "d_blank",
        "d_blank",
        "d_blank",
        "d_path",
        "d_created",
    )


def insert_select_sql(select_qs) -> tuple[str, tuple]:
    from sangathan.channels.models import Delivery

    q = connection.ops.quote_name
    sql, params = select_qs.query.sql_with_params()
    columns = ", ".join(q(c) for c in DELIVERY_COLUMNS)
    return (
        f"INSERT INTO {q(Delivery._meta.db_table)} ({columns}) {sql} ON CONFLICT DO NOTHING",
        params,
    )


def person_id_chunks(broadcast: Broadcast, size: int = CHUNK):
    """Ranges (lo, hi] of person ids covering the audience. A small audience is one range; a
    big one is cut into ranges of ``size`` ids so that each statement stays short and a crash
    loses little. A whole-organisation audience takes its bounds from the primary key alone."""
    from sangathan.people.models import Person

    unit = broadcast.audience_unit
    if unit.people_count <= size:
        return [(None, None)]
    people = Person.objects.all() if unit.is_root() else audience_people(unit)
    bounds = people.aggregate(lo=Min("pk"), hi=Max("pk"))
    lo, hi = bounds["lo"], bounds["hi"]
    if lo is None:
        return []
    return [(start, min(start + size, hi)) for start in range(lo - 1, hi, size)]


def insert_deliveries(broadcast: Broadcast, channel: str, chunk_size: int = CHUNK) -> int:
    """Create the outbox rows for one channel; returns how many were inserted."""
    inserted = 0
    for lo, hi in person_id_chunks(broadcast, chunk_size):
        people = audience_people(
            broadcast.audience_unit, broadcast.filters, broadcast.excluded_paths
        )
        if lo is not None:
            people = people.filter(pk__gt=lo, pk__lte=hi)
        sql, params = insert_select_sql(delivery_select(broadcast, channel, people))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted += max(cursor.rowcount, 0)
    return inserted


def _rolled_up(counts_at_bottom: dict[str, int], top_depth: int) -> dict[str, int]:
    """Add counts keyed by paths at the counter depth up to every ancestor down from
    ``top_depth``."""
    out: dict[str, int] = defaultdict(int)
    for path, n in counts_at_bottom.items():
        for d in range(top_depth, len(path) // STEP + 1):
            out[path[: STEP * d]] += n
    return out


def counter_units(broadcast: Broadcast):
    from sangathan.org.models import OrgUnit

    unit = broadcast.audience_unit
    if not broadcast.counter_depth or unit.depth > broadcast.counter_depth:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(
        path__under=unit.path, depth__lte=broadcast.counter_depth
    ).values_list("pk", "path", "depth", "people_count")


def create_counters(broadcast: Broadcast) -> None:
    """One counter row per (channel, unit) from the audience unit down to the assembly
    level; audiences are filled in by ``fill_audiences`` once the outbox exists."""
    from sangathan.broadcasts.models import FeedRead

    if broadcast.counter_depth:
        return
    broadcast.counter_depth = assembly_depth()
    units = list(counter_units(broadcast))
    if not units:
        Broadcast.objects.filter(pk=broadcast.pk).update(counter_depth=broadcast.counter_depth)
        return
    channels = broadcast.reach_channels
    top = broadcast.audience_unit.depth
    bottom = broadcast.counter_depth
    receipts = FeedRead.objects.filter(broadcast=broadcast)
    reads = _grouped(receipts.filter(read_at__isnull=False), top, bottom)
    shares = _grouped(receipts.filter(shared_at__isnull=False), top, bottom)
    rows = [
        ReachCounter(
            broadcast=broadcast,
            unit_id=pk,
            unit_path=path,
            depth=depth,
            channel=channel,
            read=reads.get(path, 0) if channel == "feed" else 0,
            shared=shares.get(path, 0) if channel == "feed" else 0,
        )
        for channel in channels
        for pk, path, depth, _people in units
    ]
    with transaction.atomic():
        ReachCounter.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
        # From now on status changes and receipts move these rows.
        Broadcast.objects.filter(pk=broadcast.pk).update(counter_depth=broadcast.counter_depth)


def _grouped(qs, top_depth: int, bottom: int, path_field: str = "unit_path") -> dict[str, int]:
    at_bottom = dict(
        qs.annotate(p=Substr(path_field, 1, STEP * bottom))
        .values("p")
        .annotate(n=Count("pk"))
        .values_list("p", "n")
    )
    return _rolled_up(at_bottom, top_depth)


def fill_audiences(broadcast: Broadcast) -> dict[str, int]:
    """Write each counter's audience, and return the total per channel."""
    from sangathan.channels.models import Delivery

    unit = broadcast.audience_unit
    top = unit.depth
    totals: dict[str, int] = {}
    updates: list[tuple[int, str, str]] = []  # (audience, channel, path)
    units = list(counter_units(broadcast))
    for channel in broadcast.reach_channels:
        if channel == "feed":
            if broadcast.narrowed:
                by_path = _grouped(
                    audience_people(unit, broadcast.filters, broadcast.excluded_paths),
                    top,
                    broadcast.counter_depth,
                    "unit__path",
                )
                totals[channel] = audience_people(
                    unit, broadcast.filters, broadcast.excluded_paths
                ).count()
            else:
                by_path = {path: people for _pk, path, _d, people in units}
                totals[channel] = unit.people_count
        else:
            deliveries = Delivery.objects.filter(broadcast=broadcast, channel=channel)
            by_path = _grouped(deliveries, top, broadcast.counter_depth) if units else {}
            totals[channel] = by_path.get(unit.path) if units else deliveries.count()
            totals[channel] = totals[channel] or 0
        updates.extend((by_path.get(path, 0), channel, path) for _pk, path, _d, _p in units)
    if updates:
        q = connection.ops.quote_name
        sql = (
            f"UPDATE {q(ReachCounter._meta.db_table)} SET audience = %s "
            "WHERE broadcast_id = %s AND channel = %s AND unit_path = %s"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, [(n, broadcast.pk, ch, p) for n, ch, p in updates])
    return totals


def fan_out(broadcast: Broadcast) -> dict[str, int]:
    """Counters, outbox rows and audiences for a sent broadcast; safe to run again."""
    if broadcast.status != Broadcast.Status.SENT or broadcast.fanout_done_at:
        return broadcast.audience_counts
    create_counters(broadcast)
    for channel in broadcast.external_channels:
        n = insert_deliveries(broadcast, channel)
        log.info("broadcast %s: %d %s deliveries queued", broadcast.code, n, channel)
    with transaction.atomic():
        totals = fill_audiences(broadcast)
        Broadcast.objects.filter(pk=broadcast.pk).update(
            audience_counts=totals, fanout_done_at=timezone.now()
        )
    broadcast.audience_counts = totals
    return totals
