"""Reach: how far a broadcast got, per unit.

Counters (``ReachCounter``) are kept per (broadcast, channel, unit) for units from the audience
unit down to the assembly level, and moved in bulk as delivery statuses and feed receipts
arrive: the reach of any unit at or above the assembly is a handful of rows. Below the
assembly the same figures are computed on demand from the outbox and receipt indexes, which
hold only that unit's few hundred rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from django.db import connection

STEP = 4  # OrgUnit.steplen
COUNTER_FIELDS = ("sent", "delivered", "read", "shared", "failed", "suppressed")


@lru_cache(maxsize=1)
def counter_depth() -> int:
    """The deepest level that keeps counters: the assembly constituency (or, for an
    organisation without one, the fifth level)."""
    from sangathan.org.models import Level

    depth = Level.objects.filter(slug="assembly").values_list("depth", flat=True).first()
    return depth or 5


def counter_prefixes(unit_path: str, top_depth: int) -> list[str]:
    """The paths of the units with counters that ``unit_path`` counts towards."""
    bottom = min(counter_depth(), len(unit_path) // STEP)
    return [unit_path[: STEP * d] for d in range(top_depth, bottom + 1)]


def _membership(status: str) -> dict[str, int]:
    return {
        "sent": int(status in ("sent", "delivered", "read")),
        "delivered": int(status in ("delivered", "read")),
        "read": int(status == "read"),
        "failed": int(status == "failed"),
        "suppressed": int(status == "suppressed"),
    }


_top_depth_cache: dict[int, int] = {}


def _top_depths(broadcast_ids) -> dict[int, int]:
    from sangathan.broadcasts.models import Broadcast

    missing = [b for b in broadcast_ids if b not in _top_depth_cache]
    if missing:
        for pk, depth in Broadcast.objects.filter(pk__in=missing).values_list(
            "pk", "audience_unit__depth"
        ):
            _top_depth_cache[pk] = depth
        if len(_top_depth_cache) > 10000:
            _top_depth_cache.clear()
    return {b: _top_depth_cache.get(b, 1) for b in broadcast_ids}


def _apply(deltas: dict[tuple[int, str, str], dict[str, int]]) -> None:
    if not deltas:
        return
    from sangathan.broadcasts.models import ReachCounter

    q = connection.ops.quote_name
    table = q(ReachCounter._meta.db_table)
    sets = ", ".join(f"{q(f)} = {q(f)} + %s" for f in COUNTER_FIELDS)
    sql = f"UPDATE {table} SET {sets} WHERE broadcast_id = %s AND channel = %s AND unit_path = %s"
    rows = [
        [d.get(f, 0) for f in COUNTER_FIELDS] + [b, ch, p]
        for (b, ch, p), d in deltas.items()
        if any(d.values())
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def record_status_changes(changes: Iterable[tuple[int, str, str, str, str]]) -> None:
    """Move the counters for a batch of delivery status changes, each
    ``(broadcast_id, channel, unit_path, old_status, new_status)``, in one statement per
    counter row touched. Call inside the transaction that changed the deliveries."""
    changes = list(changes)
    if not changes:
        return
    tops = _top_depths({c[0] for c in changes})
    deltas: dict[tuple[int, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for broadcast_id, channel, unit_path, old, new in changes:
        if old == new:
            continue
        before, after = _membership(old), _membership(new)
        diff = {f: after[f] - before[f] for f in before if after[f] != before[f]}
        if not diff:
            continue
        for prefix in counter_prefixes(unit_path, tops[broadcast_id]):
            d = deltas[(broadcast_id, channel, prefix)]
            for f, n in diff.items():
                d[f] += n
    _apply(deltas)


def record_feed_receipt(broadcast_id: int, unit_path: str, read: bool, shared: bool) -> None:
    """Count a member's first read (and/or first share) of a broadcast in the app."""
    tops = _top_depths({broadcast_id})
    deltas = {}
    for prefix in counter_prefixes(unit_path, tops[broadcast_id]):
        deltas[(broadcast_id, "feed", prefix)] = {"read": int(read), "shared": int(shared)}
    _apply(deltas)
