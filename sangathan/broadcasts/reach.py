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

from django.db import connection

STEP = 4  # OrgUnit.steplen
COUNTER_FIELDS = ("sent", "delivered", "read", "shared", "failed", "suppressed")


def assembly_depth() -> int:
    """The tree depth down to which new broadcasts keep counters: the deepest assembly
    constituency (a state without regions has them higher up; counting a level more there
    is harmless), or the fifth level for an organisation without assemblies."""
    from django.db.models import Max

    from sangathan.org.models import OrgUnit

    depth = OrgUnit.objects.filter(level__slug="assembly").aggregate(d=Max("depth"))["d"]
    return depth or 5


def counter_prefixes(unit_path: str, top_depth: int, bottom_depth: int) -> list[str]:
    """The paths of the units with counters that ``unit_path`` counts towards."""
    bottom = min(bottom_depth, len(unit_path) // STEP)
    return [unit_path[: STEP * d] for d in range(top_depth, bottom + 1)]


def _membership(status: str) -> dict[str, int]:
    return {
        "sent": int(status in ("sent", "delivered", "read")),
        "delivered": int(status in ("delivered", "read")),
        "read": int(status == "read"),
        "failed": int(status == "failed"),
        "suppressed": int(status == "suppressed"),
    }


def _depths(broadcast_ids) -> dict[int, tuple[int, int]]:
    """(audience depth, counter depth) per broadcast, in one query; a broadcast whose
    counters do not exist yet has counter depth 0 and moves nothing."""
    from sangathan.broadcasts.models import Broadcast

    found = {
        pk: (top, bottom)
        for pk, top, bottom in Broadcast.objects.filter(pk__in=broadcast_ids).values_list(
            "pk", "audience_unit__depth", "counter_depth"
        )
    }
    return {b: found.get(b, (1, 0)) for b in broadcast_ids}


def _apply(deltas: dict[tuple[int, str, str], dict[str, int]]) -> None:
    if not deltas:
        return
    from sangathan.broadcasts.models import ReachCounter

    q = connection.ops.quote_name
    table = q(ReachCounter._meta.db_table)
    sets = ", ".join(f"{q(f)} = {q(f)} + %s" for f in COUNTER_FIELDS)
    sql = f"UPDATE {table} SET {sets} WHERE broadcast_id = %s AND channel = %s AND unit_path = %s"
    # In key order: two writers (a worker, the status applier) lock counter rows in the same
    # order and cannot deadlock on them.
    rows = [
        [d.get(f, 0) for f in COUNTER_FIELDS] + [b, ch, p]
        for (b, ch, p), d in sorted(deltas.items())
        if any(d.values())
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def record_status_changes(changes: Iterable[tuple]) -> None:
    """Move the counters for a batch of delivery status changes, each
    ``(broadcast_id, channel, unit_path, old_status, new_status)`` with an optional sixth
    item, how many deliveries made that change (1 if absent), in one statement per counter
    row touched. Call inside the transaction that changed the deliveries."""
    changes = list(changes)
    if not changes:
        return
    depths = _depths({c[0] for c in changes})
    # Count identical changes first (a batch is mostly "sent → delivered" in a few hundred
    # units), then spread each count over its ancestors' counters.
    grouped: dict[tuple, int] = defaultdict(int)
    for broadcast_id, channel, unit_path, old, new, *count in changes:
        if old != new:
            bottom = depths[broadcast_id][1]
            grouped[(broadcast_id, channel, unit_path[: STEP * bottom], old, new)] += (
                count[0] if count else 1
            )
    diffs: dict[tuple[str, str], dict[str, int]] = {}
    deltas: dict[tuple[int, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (broadcast_id, channel, path, old, new), count in grouped.items():
        diff = diffs.get((old, new))
        if diff is None:
            before, after = _membership(old), _membership(new)
            diff = diffs[(old, new)] = {
                f: after[f] - before[f] for f in before if after[f] != before[f]
            }
        if not diff:
            continue
        for prefix in counter_prefixes(path, *depths[broadcast_id]):
            d = deltas[(broadcast_id, channel, prefix)]
            for f, n in diff.items():
                d[f] += n * count
    _apply(deltas)


def record_feed_receipt(broadcast_id: int, unit_path: str, read: bool, shared: bool) -> None:
    """Count a member's first read (and/or first share) of a broadcast in the app."""
    depths = _depths({broadcast_id})
    deltas = {}
    for prefix in counter_prefixes(unit_path, *depths[broadcast_id]):
        deltas[(broadcast_id, "feed", prefix)] = {"read": int(read), "shared": int(shared)}
    _apply(deltas)


READ_FIELDS = ("audience", "sent", "delivered", "read", "shared", "failed", "suppressed")


def _blank(channels) -> dict[str, dict[str, int]]:
    return {ch: dict.fromkeys(READ_FIELDS, 0) for ch in channels}


def _from_counters(broadcast, paths: list[str], channels) -> dict[str, dict]:
    from sangathan.broadcasts.models import ReachCounter

    out = {p: _blank(channels) for p in paths}
    rows = ReachCounter.objects.filter(broadcast=broadcast, unit_path__in=paths).values_list(
        "unit_path", "channel", *READ_FIELDS
    )
    for path, channel, *values in rows:
        if channel in out[path]:
            out[path][channel] = dict(zip(READ_FIELDS, values, strict=True))
    return out


def _computed(broadcast, parent, children, channels) -> dict[str, dict]:
    """Figures per child of ``parent`` from the outbox and receipts (the drill-down below the
    assembly level, where a unit holds a few thousand people at most), keyed by the child's
    path; people placed on ``parent`` itself are under ``parent.path``. The feed's audience
    of a broadcast that is not narrowed is the maintained people count."""
    from django.db.models import Count, Q
    from django.db.models.functions import Substr

    from sangathan.broadcasts.audience import audience_people
    from sangathan.broadcasts.models import FeedRead
    from sangathan.channels.models import Delivery

    width = STEP * (parent.depth + 1)
    out: dict[str, dict] = defaultdict(lambda: _blank(channels))
    if broadcast.narrowed:
        feed_people = audience_people(parent, broadcast.filters, broadcast.excluded_paths)
        for path, n in (
            feed_people.annotate(p=Substr("unit__path", 1, width))
            .values("p")
            .annotate(n=Count("pk"))
            .values_list("p", "n")
        ):
            if "feed" in out[path]:
                out[path]["feed"]["audience"] = n
    elif "feed" in channels:
        for child in children:
            out[child.path]["feed"]["audience"] = child.people_count
        here = parent.people_count - sum(c.people_count for c in children)
        if here > 0:
            out[parent.path]["feed"]["audience"] = here
    for path, read, shared in (
        FeedRead.objects.filter(broadcast=broadcast, unit_path__under=parent.path)
        .annotate(p=Substr("unit_path", 1, width))
        .values("p")
        .annotate(
            r=Count("pk", filter=Q(read_at__isnull=False)),
            s=Count("pk", filter=Q(shared_at__isnull=False)),
        )
        .values_list("p", "r", "s")
    ):
        if "feed" in out[path]:
            out[path]["feed"]["read"] = read
            out[path]["feed"]["shared"] = shared
    for path, channel, status, n in (
        Delivery.objects.filter(broadcast=broadcast, unit_path__under=parent.path)
        .annotate(p=Substr("unit_path", 1, width))
        .values("p", "channel", "status")
        .annotate(n=Count("pk"))
        .values_list("p", "channel", "status", "n")
    ):
        if channel not in out[path]:
            continue
        row = out[path][channel]
        row["audience"] += n
        for f, member in _membership(status).items():
            row[f] += member * n
    return out


def _sum(figures: Iterable[dict], channels) -> dict[str, dict]:
    total = _blank(channels)
    for per_channel in figures:
        for channel, row in per_channel.items():
            if channel in total:
                for f, n in row.items():
                    total[channel][f] += n
    return total


def reach_report(broadcast, unit) -> dict:
    """The reach of ``broadcast`` in ``unit`` and in each of its children, per channel, with
    acknowledgements and re-shares, and the acknowledgement roll-up for the levels below.
    Reads counters at or above the assembly level; computes below it."""
    from django.db.models import Count

    from sangathan.broadcasts.models import Acknowledgement, Broadcast
    from sangathan.org.models import Level, OrgUnit

    channels = broadcast.reach_channels
    children = list(
        OrgUnit.objects.filter(path__under=unit.path, depth=unit.depth + 1)
        .select_related("level")
        .order_by("path")
    )
    child_paths = [c.path for c in children]
    bottom = broadcast.counter_depth if broadcast.fanout_done_at is not None else 0
    if unit.depth + 1 <= bottom:  # the unit and its children have counters: one read
        child_figures = _from_counters(broadcast, [unit.path, *child_paths], channels)
        figures = child_figures[unit.path]
    else:  # the children are computed; the unit's figures are their sum (or its counter)
        child_figures = _computed(broadcast, unit, children, channels)
        if unit.depth <= bottom:
            figures = _from_counters(broadcast, [unit.path], channels)[unit.path]
        else:
            figures = _sum(child_figures.values(), channels)

    acked = set(
        Acknowledgement.objects.filter(broadcast=broadcast, unit__in=[unit, *children]).values_list(
            "unit_id", flat=True
        )
    )
    reshared = set(
        Broadcast.objects.filter(parent=broadcast, audience_unit__in=children).values_list(
            "audience_unit_id", flat=True
        )
    )
    # Levels are data and a tree may skip one (no regions): roll up by level, not by depth.
    levels = list(Level.objects.filter(depth__gt=unit.level.depth).order_by("depth")[:3])
    rollup = []
    if levels:
        totals_by_level = dict(
            OrgUnit.objects.filter(path__under=unit.path, level__in=levels)
            .order_by()
            .values("level")
            .annotate(n=Count("pk"))
            .values_list("level", "n")
        )
        acks_by_level = dict(
            Acknowledgement.objects.filter(
                broadcast=broadcast, unit_path__under=unit.path, unit__level__in=levels
            )
            .values("unit__level")
            .annotate(n=Count("pk"))
            .values_list("unit__level", "n")
        )
        rollup = [
            {
                "level": level.slug,
                "level_name": level.display_name,
                "units": totals_by_level.get(level.pk, 0),
                "acknowledged": acks_by_level.get(level.pk, 0),
            }
            for level in levels
            if totals_by_level.get(level.pk)
        ]
    unit_acked = unit.pk in acked
    return {
        "unit": unit,
        "channels": channels,
        "figures": figures,
        "acknowledged": unit_acked,
        "rollup": rollup,
        "children": [
            {
                "unit": child,
                "figures": child_figures.get(child.path) or _blank(channels),
                "acknowledged": child.pk in acked,
                "reshared": child.pk in reshared,
            }
            for child in children
        ],
    }
