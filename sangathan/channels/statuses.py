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
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend

from sangathan.broadcasts.reach import record_status_changes
from sangathan.channels.models import STATUS_RANK, Delivery, StatusEvent

logger = logging.getLogger(__name__)

# StatusEvent.provider → Delivery.channel.
PROVIDER_CHANNEL = {"whatsapp": "whatsapp", "sms": "sms", "email": "email", "push": "push"}
EVENT_STATUSES = ("sent", "delivered", "read", "failed")
EVENT_RANK = {status: STATUS_RANK[status] for status in EVENT_STATUSES}
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
    Returns (events used up, highest id looked at, or None when there was nothing).

    Plain SQL: at tens of thousands of events a second, building ORM queries with thousands
    of parameters and converting every timestamp cost more than the database work."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    events_table = connection.ops.quote_name(StatusEvent._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        lock = (
            " FOR UPDATE SKIP LOCKED"
            if connection.features.has_select_for_update_skip_locked
            else ""
        )
        cursor.execute(
            f"SELECT id, provider, provider_ref, status FROM {events_table} "
            f"WHERE applied_at IS NULL AND id > %s AND id <= %s ORDER BY id LIMIT %s{lock}",
            [after_id, up_to_id, limit],
        )
        events = cursor.fetchall()
        if not events:
            return 0, None
        seen_to = events[-1][0]

        # (channel, provider_ref) → its events, as rows (id, provider, provider_ref, status)
        by_ref: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for row in events:
            by_ref[(PROVIDER_CHANNEL.get(row[1], row[1]), row[2])].append(row)

        deliveries = _lock_deliveries(cursor, {ref for _channel, ref in by_ref})
        waiting: list[int] = []
        targets: dict[tuple[str, str], list[int]] = defaultdict(list)  # (provider, status) → ids
        changes = []
        for key, ref_events in by_ref.items():
            rows = deliveries.get(key)
            if rows is None:
                waiting += [e[0] for e in ref_events]
                continue
            for delivery_id, broadcast_id, unit_path, old in rows:
                final = _final_status(old, ref_events)
                if final is not None:
                    targets[final].append(delivery_id)
                    changes.append((broadcast_id, key[0], unit_path, old, final[1]))
        if waiting:
            skip = set(waiting)
            used = [e[0] for e in events if e[0] not in skip]
        else:
            used = [e[0] for e in events]

        for (provider, status), ids in targets.items():
            _write_status(cursor, provider, status, ids)
        record_status_changes(changes)

        if waiting:
            # Unknown after a day: the message was never ours, or its send was lost.
            join, where, params = _in(f"{events_table}.id", waiting)
            cursor.execute(
                f"SELECT id FROM {events_table}{_also(join)} WHERE {where} AND received_at < %s",
                [*params, adapt(now - ORPHAN_TTL)],
            )
            used += [row[0] for row in cursor.fetchall()]
        if used:
            join, where, params = _in(f"{events_table}.id", used)
            cursor.execute(
                f"UPDATE {events_table} SET applied_at = %s {_also(join, 'FROM')} "
                f"WHERE applied_at IS NULL AND {where}",
                [adapt(now), *params],
            )
            if cursor.rowcount != len(used):
                raise _Raced
    return len(used), seen_to


def _in(column: str, values, array_type: str = "bigint") -> tuple[str, str, list]:
    """(joined table or "", condition, parameters) matching ``column`` against ``values``.
    PostgreSQL joins an unnested array (``= ANY(array)`` may be planned as a sequential
    scan that tests every row against every value); SQLite takes an ``IN`` list."""
    values = list(values)
    if connection.vendor == "postgresql":
        return f"unnest(%s::{array_type}[]) AS u(v)", f"{column} = u.v", [values]
    return "", f"{column} IN ({', '.join(['%s'] * len(values))})", values


def _also(joined: str, keyword: str = ",") -> str:
    return f"{keyword} {joined}" if joined else ""


def _lock_deliveries(cursor, refs: set[str]) -> dict[tuple[str, str], list[tuple]]:
    """The deliveries with these provider references, locked in id order (so two appliers
    cannot deadlock on each other), keyed by (channel, provider_ref)."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    lock = f" FOR UPDATE OF {table}" if connection.features.has_select_for_update else ""
    found: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    refs = sorted(refs)
    for i in range(0, len(refs), 5000):
        join, where, params = _in(f"{table}.provider_ref", refs[i : i + 5000], "varchar")
        cursor.execute(
            f"SELECT {table}.id, channel, provider_ref, broadcast_id, unit_path, status "
            f"FROM {table}{_also(join)} WHERE {where} ORDER BY {table}.id{lock}",
            params,
        )
        for delivery_id, channel, ref, broadcast_id, unit_path, status in cursor.fetchall():
            found[(channel, ref)].append((delivery_id, broadcast_id, unit_path, status))
    return found


def _write_status(cursor, provider: str, status: str, ids: list[int]) -> None:
    """Move deliveries ``ids`` to ``status``, set-based: the status time (and a failure's
    error) come from the event itself, found through its unique (provider, key) index."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    events_table = connection.ops.quote_name(StatusEvent._meta.db_table)
    event = (
        f"FROM {events_table} e WHERE e.provider = %s "
        f"AND e.{connection.ops.quote_name('key')} = {table}.provider_ref || %s"
    )
    suffix = f":{status}"
    sets = f"status = %s, status_at = (SELECT e.occurred_at {event})"
    params: list = [status, provider, suffix]
    if status == "failed":
        sets += f", error = COALESCE((SELECT SUBSTR(e.error, 1, 300) {event}), '')"
        params += [provider, suffix]
    for i in range(0, len(ids), 5000):
        join, where, id_params = _in(f"{table}.id", ids[i : i + 5000])
        cursor.execute(
            f"UPDATE {table} SET {sets} {_also(join, 'FROM')} WHERE {where}",
            [*params, *id_params],
        )


def _final_status(current: str, events: list[tuple]) -> tuple[str, str] | None:
    """(provider, status) a delivery ends in after ``events`` (rows of id, provider,
    provider_ref, status; in any order, with duplicates), or None if nothing moves it
    forward."""
    best = None
    rank = STATUS_RANK.get(current, 0)
    for event in events:
        r = EVENT_RANK.get(event[3], -1)
        if r > rank:
            rank = r
            best = (event[1], event[3])
    return best


# --- waking the applier --------------------------------------------------------------------

# A web process enqueues at most one wake-up per DEBOUNCE seconds; the task, once it finds
# nothing left, looks once more after GRACE (≥ DEBOUNCE) seconds, so that an event whose
# webhook found a wake-up already queued is still applied by that wake-up.
DEBOUNCE = 0.2
GRACE = 0.25
# Events still waiting for their delivery are looked at again this much later (by a deferred
# wake-up, where the backend can defer; at most one per process per interval).
RETRY_WAITING = timedelta(seconds=30)
_last_wake = 0.0
_next_retry = 0.0


def _runs_immediately() -> bool:
    return isinstance(apply_pending_statuses.get_backend(), ImmediateBackend)


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
        # The events are stored: the next wake-up applies them.
        logger.exception("could not enqueue apply_pending_statuses")


def _retry_waiting_later() -> bool:
    """Schedule a wake-up for events still waiting for their delivery, if any."""
    global _next_retry
    if not apply_pending_statuses.get_backend().supports_defer:
        return False
    if time.monotonic() < _next_retry:
        return False
    if not StatusEvent.objects.filter(applied_at=None).exists():
        return False
    _next_retry = time.monotonic() + RETRY_WAITING.total_seconds()
    apply_pending_statuses.using(run_after=timezone.now() + RETRY_WAITING).enqueue()
    return True


@task()
def apply_pending_statuses() -> int:
    """The wake-up task: apply what is pending, look once more after a short grace, and come
    back later for events whose delivery is not recorded yet."""
    total = apply_status_events()
    if not _runs_immediately():
        time.sleep(GRACE)
        total += apply_status_events()
        _retry_waiting_later()
    return total
