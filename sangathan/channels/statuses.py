"""Applying provider status callbacks (sent, delivered, read, failed) to the outbox.

A webhook only stores what it was told (``StatusEvent``, one row per provider, message and
status, so a replay inserts nothing), queues it (``PendingStatus``) and wakes the applier.
The applier takes the queued events in batches, oldest first, and moves each delivery
forward in state order (``STATUS_RANK``): a late "delivered" never overwrites "read",
"failed" may follow "sent" but not "delivered", and duplicates or shuffled callbacks leave one
final status. It all happens in SQL, set-based: the deliveries move, the reach counters move
in the same transaction, and the batch leaves the queue.

An event whose message has no delivery yet (the callback overtook the worker recording the
send) stays queued and is tried again on the next run; after a day it is dropped.

One applier works at a time: on PostgreSQL each batch takes a transaction-level advisory lock
(another applier waits for it, then finds what is left); SQLite runs one write transaction at
a time anyway.
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
from sangathan.channels.models import STATUS_RANK, Delivery, PendingStatus, StatusEvent

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
    last = PendingStatus.objects.order_by("-event_id").values_list("event_id", flat=True)[:1]
    last_id = next(iter(last), None)
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
# pg_advisory_xact_lock key of the applier ("sgn" "stat" as two int4)
APPLIER_LOCK = (0x73676E, 0x73746174)


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
    """A temporary table of this batch's delivery moves (and, with no delivery, its messages
    still waiting for theirs), empty at the start of a batch."""
    columns = (
        "delivery_id bigint UNIQUE, broadcast_id bigint, channel varchar(16), "
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
    """One batch: the oldest ``limit`` queued events with ``after_id < id <= up_to_id``.
    Returns (events used up, highest id looked at, or None when there was nothing).

    Set-based: the best status per message in the batch, the deliveries it moves forward
    (into a temporary table, with their old status), one ``UPDATE`` of those, the counters
    from their grouped changes, one ``DELETE`` of the batch from the queue. The rows never
    travel to Python; at tens of thousands of events a second, doing the state machine in
    Python cost several times the database work."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    q = connection.ops.quote_name
    events_table = q(StatusEvent._meta.db_table)
    queue = q(PendingStatus._meta.db_table)
    table = q(Delivery._meta.db_table)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # One applier at a time (another waits here, then finds what is left): the batch
            # is exactly what it reads, and deliveries are never locked by two of them.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(APPLIER_LOCK))
            cursor.execute(
                f"SELECT event_id FROM {queue} WHERE event_id > %s AND event_id <= %s "
                f"ORDER BY event_id LIMIT %s",
                [after_id, up_to_id, limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return 0, None
            seen_to = ids[-1]
            batch = "JOIN unnest(%s::bigint[]) AS batch(id) ON batch.id = e.id"
            in_batch = f"{queue}.event_id = ANY(%s::bigint[])"
            batch_params: list = [ids]
        else:
            # One writer at a time: the range is exactly the batch.
            cursor.execute(
                f"SELECT MAX(event_id) FROM (SELECT event_id FROM {queue} WHERE event_id > %s "
                f"AND event_id <= %s ORDER BY event_id LIMIT %s) AS batch",
                [after_id, up_to_id, limit],
            )
            seen_to = cursor.fetchone()[0]
            if seen_to is None:
                return 0, None
            batch = (
                f"JOIN {queue} batch ON batch.event_id = e.id "
                f"WHERE batch.event_id > %s AND batch.event_id <= %s"
            )
            in_batch = f"{queue}.event_id > %s AND {queue}.event_id <= %s"
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
        _moves_table(cursor)
        # The deliveries the batch moves forward, and the messages with no delivery yet
        # (delivery_id NULL).
        cursor.execute(
            f"INSERT INTO {MOVES} (delivery_id, broadcast_id, channel, unit_path, provider, "
            f"provider_ref, old, new, status_at, error) "
            f"SELECT d.id, d.broadcast_id, d.channel, d.unit_path, b.provider, b.provider_ref, "
            f"d.status, {_status_of_rank('b.r')}, b.occurred_at, "
            f"CASE WHEN b.r = {EVENT_RANK['failed']} THEN COALESCE(SUBSTR(b.error, 1, 300), '') "
            f"ELSE d.error END "
            f"FROM ({best}) b LEFT JOIN {table} d ON d.provider_ref = b.provider_ref "
            f"AND d.channel = {_channel_of('b.provider')} "
            f"WHERE d.id IS NULL OR b.r > {_rank('d.status')}",
            batch_params,
        )
        waiting = 0
        if cursor.rowcount:
            _write_moves(cursor, table, postgres)
            # The grouped changes, and (broadcast NULL) how many messages wait for a delivery.
            cursor.execute(
                f"SELECT broadcast_id, channel, unit_path, old, new, COUNT(*) FROM {MOVES} "
                f"GROUP BY broadcast_id, channel, unit_path, old, new"
            )
            changes = []
            for row in cursor.fetchall():
                if row[0] is None:
                    waiting += row[5]
                else:
                    changes.append(row)
            record_status_changes(changes)
        # Used up: events whose message is ours (applied, or already past them), and events
        # unknown after a day (never ours, or the send was lost). The rest wait.
        if not waiting:
            cursor.execute(f"DELETE FROM {queue} WHERE {in_batch}", batch_params)
        else:
            cursor.execute(
                f"DELETE FROM {queue} WHERE {in_batch} AND EXISTS (SELECT 1 FROM {events_table} "
                f"e WHERE e.id = {queue}.event_id AND (e.received_at < %s OR EXISTS "
                f"(SELECT 1 FROM {table} d WHERE d.provider_ref = e.provider_ref "
                f"AND d.channel = {_channel_of('e.provider')})))",
                [*batch_params, adapt(now - ORPHAN_TTL)],
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
    if not PendingStatus.objects.exists():
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
