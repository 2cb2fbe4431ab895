"""Maintained per-unit aggregates (people, seats, filled seats) over whole subtrees.

Single changes bump the counters of the unit and its ancestors (at most one UPDATE touching
≤ depth rows); bulk loads call ``recount`` once at the end, which rebuilds every counter with
set-based SQL. Reading "how many people under Lucknow" is then one row, whatever the size.
"""

from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Count, F

from sangathan.org.models import OrgUnit

STEP = OrgUnit.steplen


def ancestor_paths(path: str) -> list[str]:
    return [path[:i] for i in range(STEP, len(path) + 1, STEP)]


def bump(path: str, *, people: int = 0, seats_total: int = 0, seats_filled: int = 0) -> None:
    """Add the deltas to the unit at ``path`` and every ancestor."""
    changes = {}
    if people:
        changes["people_count"] = F("people_count") + people
    if seats_total:
        changes["seats_total"] = F("seats_total") + seats_total
    if seats_filled:
        changes["seats_filled"] = F("seats_filled") + seats_filled
    if changes:
        OrgUnit.objects.filter(path__in=ancestor_paths(path)).update(**changes)


def _rolled_up(direct: dict[str, int]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for path, n in direct.items():
        for prefix in ancestor_paths(path):
            totals[prefix] += n
    return totals


def _write(column: str, totals: dict[str, int]) -> None:
    """Set ``column`` to ``totals[path]`` for every unit (0 where absent), set-based."""
    with connection.cursor() as cur:
        cur.execute(f"UPDATE org_orgunit SET {column} = 0 WHERE {column} <> 0")
        if not totals:
            return
        # Keyed on path, so the UPDATE looks each unit up once (without the key it scanned the
        # whole temporary table per unit: minutes at 1/10 national scale).
        cur.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS org_recount "
            "(path varchar(255) PRIMARY KEY, n integer)"
        )
        cur.execute("DELETE FROM org_recount")
        items = list(totals.items())
        for i in range(0, len(items), 10_000):
            cur.executemany(
                "INSERT INTO org_recount (path, n) VALUES (%s, %s)", items[i : i + 10_000]
            )
        cur.execute(
            f"UPDATE org_orgunit SET {column} = r.n FROM org_recount r "
            "WHERE r.path = org_orgunit.path"
        )
        cur.execute("DROP TABLE org_recount")


@transaction.atomic
def recount() -> None:
    """Rebuild people_count, seats_total and seats_filled for the whole tree."""
    from sangathan.people.models import Appointment, Person

    people = dict(
        Person.objects.not_erased()
        .values_list("unit__path")
        .annotate(n=Count("id"))
        .values_list("unit__path", "n")
    )
    _write("people_count", _rolled_up(people))

    filled = dict(
        Appointment.objects.current()
        .values_list("unit__path")
        .annotate(n=Count("id"))
        .values_list("unit__path", "n")
    )
    _write("seats_filled", _rolled_up(filled))

    # Seats per unit: a post's own count at every unit of its level, or its committee
    # template's count where the template is applied (sangathan.people.committees).
    from sangathan.people.committees import direct_seats

    _write("seats_total", _rolled_up(direct_seats()))
