"""The vacancy and coverage report of a unit: seats filled / seats total overall (the
maintained ``OrgUnit`` counters) and per committee seat, for the unit and each unit below it,
with how many units have at least one holder of each seat ("booths with an IT volunteer").

Queries are bounded whatever the size of the subtree: the templates, their areas, a page of
child units, one grouped count of covered units per template, and one grouped count of
current appointments per (child, post). The per-seat figures are grouped aggregates over the
subtree's index range, not maintained counters (see the report of issue 5).
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from sangathan.org.models import OrgUnit
from sangathan.org.views import paginate
from sangathan.people.models import AppliedCommittee, Appointment, CommitteeSeat


def coverage_report(unit: OrgUnit, *, request=None, all_children=False) -> dict:
    """The report of ``unit`` (already checked against the user's jurisdiction): a page of
    the units below it (``request``'s ``page``), or all of them for an export."""
    seats = list(
        CommitteeSeat.objects.filter(template__level__depth__gte=unit.level.depth)
        .select_related("template", "template__level", "position")
        .order_by("template__level__depth", "template__name_en", "order", "pk")
    )
    template_ids = {s.template_id for s in seats}
    scopes: dict[int, list[str]] = defaultdict(list)
    for template_id, path in AppliedCommittee.objects.filter(
        template_id__in=template_ids
    ).values_list("template_id", "scope__path"):
        scopes[template_id].append(path)

    children = OrgUnit.objects.filter(path__under=unit.path, depth=unit.depth + 1).select_related(
        "level"
    )
    if all_children:
        child_list = list(children.order_by("path"))
        page = None
    else:
        page = paginate(request, children.order_by("path"), known_count=unit.numchild)
        child_list = page.object_list
    key_len = len(unit.path) + OrgUnit.steplen

    # Units covered by each template, per child (or the unit itself), one query per template.
    covered: dict[tuple[int, str], int] = {}
    for template_id in template_ids:
        areas = [p for p in scopes.get(template_id, []) if p.startswith(unit.path)]
        areas += [p for p in scopes.get(template_id, []) if unit.path.startswith(p)]
        if not areas:
            continue
        level_id = next(s.template.level_id for s in seats if s.template_id == template_id)
        q = Q()
        for p in areas:
            q |= Q(path__under=p)
        for key, n in (
            OrgUnit.objects.filter(q, path__under=unit.path, level_id=level_id)
            .annotate(key=Substr("path", 1, key_len))
            .order_by()
            .values("key")
            .annotate(n=Count("pk"))
            .values_list("key", "n")
        ):
            covered[(template_id, key)] = n

    # Holders per (child, post): filled seats, and units with at least one holder.
    held: dict[tuple[str, int], tuple[int, int]] = {}
    if seats:
        for key, position_id, n, units in (
            Appointment.objects.current()
            .filter(unit__path__under=unit.path, position__in=[s.position_id for s in seats])
            .annotate(key=Substr("unit__path", 1, key_len))
            .order_by()
            .values("key", "position")
            .annotate(n=Count("pk"), units=Count("unit", distinct=True))
            .values_list("key", "position", "n", "units")
        ):
            held[(key, position_id)] = (n, units)

    def cells(keys: list[str]) -> list[dict]:
        out = []
        for s in seats:
            n_units = sum(covered.get((s.template_id, k), 0) for k in keys)
            filled = sum(held.get((k, s.position_id), (0, 0))[0] for k in keys)
            with_holder = sum(held.get((k, s.position_id), (0, 0))[1] for k in keys)
            out.append(
                {
                    "filled": filled,
                    "total": n_units * s.seats,
                    "units": n_units,
                    "units_with": with_holder,
                    "vacant": max(n_units * s.seats - filled, 0),
                }
            )
        return out

    all_keys = {k for (_t, k) in covered} | {k for (k, _p) in held}
    rows = [{"unit": c, "cells": cells([c.path])} for c in child_list]
    total_cells = cells(sorted(all_keys))
    return {
        # "booths with an IT volunteer": each seat of a committee below the unit's level
        "headline": [
            (s, c)
            for s, c in zip(seats, total_cells, strict=True)
            if s.template.level.depth > unit.level.depth
        ],
        "seats": seats,
        "total_cells": total_cells,
        "rows": rows,
        "page": page,
        "report_unit": unit,
    }


def report_rows(data: dict):
    """The report as rows for CSV/XLSX: a header, the unit's total, then each unit below."""
    seats = data["seats"]
    header = [_("unit code"), _("unit"), _("level"), _("seats filled"), _("seats total")]
    for s in seats:
        label = f"{s.template.display_name}: {s.position.display_name}"
        header += [
            f"{label} — " + _("filled"),
            f"{label} — " + _("seats"),
            f"{label} — " + _("units with a holder"),
            f"{label} — " + _("units"),
        ]
    yield header

    def line(u, cells):
        row = [u.code, u.display_name, u.level.display_name, u.seats_filled, u.seats_total]
        for c in cells:
            row += [c["filled"], c["total"], c["units_with"], c["units"]]
        return row

    yield line(data["report_unit"], data["total_cells"])
    for r in data["rows"]:
        yield line(r["unit"], r["cells"])
