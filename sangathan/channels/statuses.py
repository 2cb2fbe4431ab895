"""Applying provider status callbacks (sent, delivered, read, failed) to the outbox.

A webhook only stores what it was told (``StatusEvent``, one row per provider, message and
status, so a replay inserts nothing) and wakes the applier. The applier takes the pending
events in batches, oldest first, and moves each delivery forward in state order
(``STATUS_RANK``): a late "delivered" never overwrites "read", "failed" may follow "sent" but
not "delivered", and duplicates or shuffled callbacks leave one final status. Changed
deliveries are written set-based, the reach counters move in the same transaction, and the
events are marked applied.

An event whose message has no delivery yet (the callback overtook the worker recording the
send) stays pending and is tried again on the next run; after a day it is dropped.

Two appliers can run at once: PostgreSQL hands each its own events (``FOR UPDATE SKIP
LOCKED``) and locks the deliveries in id order; SQLite runs one write transaction at a time.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task, task_backends
from django_tasks.backends.immediate import ImmediateBackend

from sangathan.broadcasts.reach import record_status_changes
from sangathan.channels.models import STATUS_RANK, Delivery, StatusEvent

logger = logging.getLogger(__name__)

# StatusEvent.provider → Delivery.channel.
PROVIDER_CHANNEL = {"whatsapp": "whatsapp", "sms": "sms", "email": "email", "push": "push"}
EVENT_STATUSES = ("sent", "delivered", "read", "failed")
ORPHAN_TTL = timedelta(days=1)


class _Raced(Exception):
    """Another applier marked some of our events first: roll back and read again."""


def apply_status_events(limit: int = 5000) -> int:
    """Apply the pending status events in batches of ``limit``; returns how many events were
    used up (applied, or dropped as unknown after a day). Events that arrive while it runs are
    left for the next run, so a steady stream cannot keep it busy for ever."""
    last = StatusEvent.objects.filter(applied_at=None).order_by("-id").values("id")[:1]
    last_id = next(iter(last), {}).get("id")
    if last_id is None:
        return 0
    total = 0
    cursor = 0
    while True:
        for _attempt in range(3):
            try:
                used, seen_to = _apply_batch(limit, cursor, last_id)
                break
            except _Raced:
                continue
        else:
            used, seen_to = 0, None
        total += used
        if seen_to is None:
            return total
        cursor = seen_to


def _apply_batch(limit: int, after_id: int, up_to_id: int) -> tuple[int, int | None]:
    """One batch: the oldest ``limit`` pending events with ``after_id < id <= up_to_id``.
    Returns (events used up, highest id looked at, or None when there was nothing)."""
    now = timezone.now()
    with transaction.atomic():
        qs = StatusEvent.objects.filter(
            applied_at=None, id__gt=after_id, id__lte=up_to_id
        ).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        events = list(
            qs.values_list("id", "provider", "provider_ref", "status", "occurred_at", "error")[
                :limit
            ]
        )
        if not events:
            return 0, None
        seen_to = events[-1][0]

        by_ref: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for event in events:
            channel = PROVIDER_CHANNEL.get(event[1], event[1])
            by_ref[(channel, event[2])].append(event)

        deliveries = _lock_deliveries({ref for _channel, ref in by_ref})
        used: list[int] = []
        waiting: list[int] = []
        updates: list[tuple[int, str, object, str]] = []  # (delivery id, status, at, error)
        changes = []
        for key, ref_events in by_ref.items():
            rows = deliveries.get(key)
            if not rows:
                waiting += [e[0] for e in ref_events]
                continue
            used += [e[0] for e in ref_events]
            for delivery_id, broadcast_id, unit_path, old in rows:
                final = _final_status(old, ref_events)
                if final is None:
                    continue
                status, occurred_at, error = final
                updates.append((delivery_id, status, occurred_at, error[:300]))
                changes.append((broadcast_id, key[0], unit_path, old, status))

        _write_statuses(updates)
        record_status_changes(changes)

        if waiting:
            # Unknown after a day: the message was never ours, or its send was lost.
            used += StatusEvent.objects.filter(
                id__in=waiting, received_at__lt=now - ORPHAN_TTL
            ).values_list("id", flat=True)
        if used:
            marked = StatusEvent.objects.filter(id__in=used, applied_at=None).update(applied_at=now)
            if marked != len(used):
                raise _Raced
    return len(used), seen_to


def _lock_deliveries(refs: set[str]) -> dict[tuple[str, str], list[tuple]]:
    """The deliveries with these provider references, locked in id order (so two appliers
    cannot deadlock on each other), keyed by (channel, provider_ref)."""
    qs = (
        Delivery.objects.filter(provider_ref__in=refs)
        .exclude(provider_ref="")
        .order_by("id")
        .select_for_update()
        .values_list("id", "channel", "provider_ref", "broadcast_id", "unit_path", "status")
    )
    found: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for delivery_id, channel, ref, broadcast_id, unit_path, status in qs:
        found[(channel, ref)].append((delivery_id, broadcast_id, unit_path, status))
    return found


def _write_statuses(updates: list[tuple[int, str, object, str]], chunk: int = 1000) -> None:
    """Set each delivery's status, status time and (when failed) error: one
    ``UPDATE … FROM (VALUES …)`` per thousand rows, as every row has its own time."""
    if not updates:
        return
    q = connection.ops.quote_name
    table = q(Delivery._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    postgres = connection.vendor == "postgresql"
    first = (
        "(%s::bigint, %s::varchar, %s::timestamptz, %s::varchar)"
        if postgres
        else "(%s, %s, %s, %s)"
    )
    for i in range(0, len(updates), chunk):
        rows = updates[i : i + chunk]
        values = ", ".join([first] + ["(%s, %s, %s, %s)"] * (len(rows) - 1))
        sql = (
            f"WITH v(id, status, at, error) AS (VALUES {values}) "
            f"UPDATE {table} SET status = v.status, status_at = v.at, "
            f"error = CASE WHEN v.status = 'failed' THEN v.error ELSE {table}.error END "
            f"FROM v WHERE {table}.id = v.id"
        )
        params = []
        for delivery_id, status, at, error in rows:
            params += [delivery_id, status, adapt(at), error]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _final_status(current: str, events: list[tuple]) -> tuple[str, object, str] | None:
    """The status a delivery ends in after ``events`` (in any order, with duplicates), with
    the time and error of the event that set it; None if nothing moves forward."""
    best = None
    rank = STATUS_RANK.get(current, 0)
    for _id, _provider, _ref, status, occurred_at, error in events:
        if status not in EVENT_STATUSES:
            continue
        r = STATUS_RANK[status]
        if r > rank or (best is not None and r == rank and occurred_at < best[1]):
            rank = r
            best = (status, occurred_at, error)
    return best


# --- waking the applier --------------------------------------------------------------------

# A web process enqueues at most one wake-up per DEBOUNCE seconds; the task, once it finds
# nothing left, looks once more after GRACE (≥ DEBOUNCE) seconds, so that an event whose
# webhook found a wake-up already queued is still applied by that wake-up.
DEBOUNCE = 0.2
GRACE = 0.25
_last_wake = 0.0


def _runs_immediately() -> bool:
    return isinstance(task_backends[apply_pending_statuses.backend], ImmediateBackend)


def wake_applier() -> None:
    """Ask a worker to apply pending status events (call after the events are committed)."""
    global _last_wake
    immediate = _runs_immediately()
    now = time.monotonic()
    if not immediate and now - _last_wake < DEBOUNCE:
        return
    _last_wake = now
    try:
        apply_pending_statuses.enqueue()
    except Exception:
        # The events are stored: the next wake-up or the worker's sweep applies them.
        logger.exception("could not enqueue apply_pending_statuses")


@task()
def apply_pending_statuses() -> int:
    """The wake-up task: apply what is pending, then once more after a short grace."""
    total = apply_status_events()
    if not _runs_immediately():
        time.sleep(GRACE)
        total += apply_status_events()
    return total
