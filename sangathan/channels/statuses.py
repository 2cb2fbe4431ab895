"""Applying provider status callbacks (sent, delivered, read, failed) to the outbox.

A webhook only stores what it was told (``StatusEvent``, one row per provider, message and
status, so a replay inserts nothing) and wakes the applier. The applier takes the pending
events in batches, oldest first, and moves each delivery forward in state order
(``STATUS_RANK``): a late "delivered" never overwrites "read", "failed" may follow "sent" but
not "delivered", and duplicates or shuffled callbacks leave one final status. It all happens
in SQL, set-based: the deliveries move, the reach counters move in the same transaction, and
the events are marked applied.

An event whose message has no delivery yet (the callback overtook the worker recording the
send) stays pending and is tried again on the next run; after a day it is dropped.

Two appliers can run at once: PostgreSQL hands each its own events (``FOR UPDATE SKIP
LOCKED``) and locks the deliveries in id order; SQLite runs one write transaction at a time.
"""

from __future__ import annotations

import logging
import time
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


def apply_status_events(limit: int = 20000) -> int:
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
        used, seen_to = _apply_batch(limit, cursor, last_id)
        total += used
        if seen_to is None:
            return total
        cursor = seen_to


MOVES = "sangathan_status_moves"


def _rank(column: str) -> str:
    """SQL for the state-order rank of a status column (unknown statuses rank lowest)."""
    whens = " ".join(f"WHEN '{s}' THEN {r}" for s, r in STATUS_RANK.items())
    return f"(CASE {column} {whens} ELSE -1 END)"


def _status_of_rank(column: str) -> str:
    whens = " ".join(f"WHEN {r} THEN '{s}'" for s, r in EVENT_RANK.items())
    return f"(CASE {column} {whens} END)"


def _channel_of(column: str) -> str:
    whens = " ".join(f"WHEN '{p}' THEN '{c}'" for p, c in PROVIDER_CHANNEL.items())
    return f"(CASE {column} {whens} ELSE {column} END)"


def _moves_table(cursor) -> None:
    """A temporary table of this batch's delivery moves, empty at the start of a batch."""
    columns = (
        "delivery_id bigint PRIMARY KEY, broadcast_id bigint, channel varchar(16), "
        "unit_path varchar(255), provider varchar(16), provider_ref varchar(128), "
        "old varchar(16), new varchar(16), status_at timestamp with time zone, "
        "error varchar(300)"
    )
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {MOVES} ({columns})")
    # Emptied here, not only at commit: a batch may run inside a caller's transaction.
    cursor.execute(f"DELETE FROM {MOVES}")


def _write_moves(cursor, table: str, postgres: bool) -> None:
    """Move the deliveries in the moves table to their new status, time and error."""
    if postgres:
        cursor.execute(
            f"UPDATE {table} SET status = m.new, status_at = m.status_at, error = m.error "
            f"FROM {MOVES} m WHERE {table}.id = m.delivery_id"
        )
    else:
        # SQLite plans UPDATE … FROM as a scan of the whole outbox; look each moved row up
        # by its id instead.
        cursor.execute(
            f"UPDATE {table} SET (status, status_at, error) = "
            f"(SELECT new, status_at, error FROM {MOVES} WHERE delivery_id = {table}.id) "
            f"WHERE {table}.id IN (SELECT delivery_id FROM {MOVES})"
        )


def _apply_batch(limit: int, after_id: int, up_to_id: int) -> tuple[int, int | None]:
    """One batch: the oldest ``limit`` pending events with ``after_id < id <= up_to_id``.
    Returns (events used up, highest id looked at, or None when there was nothing).

    Set-based: the best status per message in the batch, the deliveries it moves forward
    (into a temporary table, with their old status), one ``UPDATE … FROM`` of those, the
    counters from their grouped changes, one ``UPDATE`` marking the events. The rows never
    travel to Python; at tens of thousands of events a second, doing the state machine in
    Python cost several times the database work."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    q = connection.ops.quote_name
    events_table = q(StatusEvent._meta.db_table)
    table = q(Delivery._meta.db_table)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # This applier's events; another one running at once takes the next ones.
            cursor.execute(
                f"SELECT id FROM {events_table} WHERE applied_at IS NULL AND id > %s "
                f"AND id <= %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                [after_id, up_to_id, limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return 0, None
            seen_to = ids[-1]
            batch = "JOIN unnest(%s::bigint[]) AS batch(id) ON batch.id = e.id"
            batch_params: list = [ids]
        else:
            # One writer at a time: the range is exactly the batch.
            cursor.execute(
                f"SELECT MAX(id) FROM (SELECT id FROM {events_table} WHERE applied_at IS NULL "
                f"AND id > %s AND id <= %s ORDER BY id LIMIT %s) AS batch",
                [after_id, up_to_id, limit],
            )
            seen_to = cursor.fetchone()[0]
            if seen_to is None:
                return 0, None
            batch = "WHERE e.applied_at IS NULL AND e.id > %s AND e.id <= %s"
            batch_params = [after_id, seen_to]
        # The best status per message, with its time and error.
        rank = _rank("e.status")
        if postgres:
            best = (
                f"SELECT DISTINCT ON (e.provider, e.provider_ref) e.provider, e.provider_ref, "
                f"{rank} AS r, e.occurred_at, e.error FROM {events_table} e {batch} "
                f"ORDER BY e.provider, e.provider_ref, {rank} DESC"
            )
        else:
            # SQLite takes the bare columns of an aggregate query from the row holding MAX().
            best = (
                f"SELECT e.provider, e.provider_ref, MAX({rank}) AS r, e.occurred_at, e.error "
                f"FROM {events_table} e {batch} GROUP BY e.provider, e.provider_ref"
            )
        if postgres:
            # Lock the deliveries in id order first, so two appliers cannot deadlock.
            cursor.execute(
                f"SELECT d.id FROM {table} d JOIN ({best}) b "
                f"ON d.provider_ref = b.provider_ref AND d.channel = {_channel_of('b.provider')} "
                f"ORDER BY d.id FOR UPDATE OF d",
                batch_params,
            )
        _moves_table(cursor)
        cursor.execute(
            f"INSERT INTO {MOVES} (delivery_id, broadcast_id, channel, unit_path, provider, "
            f"provider_ref, old, new, status_at, error) "
            f"SELECT d.id, d.broadcast_id, d.channel, d.unit_path, b.provider, d.provider_ref, "
            f"d.status, {_status_of_rank('b.r')}, b.occurred_at, "
            f"CASE WHEN b.r = {EVENT_RANK['failed']} THEN COALESCE(SUBSTR(b.error, 1, 300), '') "
            f"ELSE d.error END "
            f"FROM ({best}) b JOIN {table} d ON d.provider_ref = b.provider_ref "
            f"AND d.channel = {_channel_of('b.provider')} "
            f"WHERE b.r > {_rank('d.status')}",
            batch_params,
        )
        if cursor.rowcount:
            _write_moves(cursor, table, postgres)
            cursor.execute(
                f"SELECT broadcast_id, channel, unit_path, old, new, COUNT(*) FROM {MOVES} "
                f"GROUP BY broadcast_id, channel, unit_path, old, new"
            )
            record_status_changes(cursor.fetchall())
        # Used up: events whose message is ours (applied, or already past them), and events
        # unknown after a day (never ours, or the send was lost). The rest wait.
        if postgres:
            target = (
                f"UPDATE {events_table} SET applied_at = %s FROM unnest(%s::bigint[]) "
                f"AS batch(id) WHERE batch.id = {events_table}.id"
            )
        else:
            target = (
                f"UPDATE {events_table} SET applied_at = %s WHERE applied_at IS NULL "
                f"AND id > %s AND id <= %s"
            )
        cursor.execute(
            f"{target} AND (received_at < %s OR EXISTS (SELECT 1 FROM {table} d "
            f"WHERE d.provider_ref = {events_table}.provider_ref "
            f"AND d.channel = {_channel_of(f'{events_table}.provider')}))",
            [adapt(now), *batch_params, adapt(now - ORPHAN_TTL)],
        )
        used = max(cursor.rowcount, 0)
    return used, seen_to


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
