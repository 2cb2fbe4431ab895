"""Coverage of the group network: how many units of a target's level (booths, by default)
have the groups the target asks for, per unit of the tree, and its trend over time.

Every figure is one set-based query grouped on a path prefix (a subtree is an index range on
``OrgUnit.path``): a page costs the same handful of queries whether the unit holds ten booths
or a hundred thousand, and no booth is ever looked at in Python. The daily snapshot does the
same for every unit down to the assembly level, one query per tree depth.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, IntegerField, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from sangathan.groups.models import CoverageSnapshot, ExpansionTarget, Group
from sangathan.org.models import Level, OrgUnit

STEP = OrgUnit.steplen


def default_level() -> Level | None:
    return Level.objects.filter(slug="booth").first() or Level.objects.order_by("-depth").first()


def default_target() -> ExpansionTarget:
    """The target every coverage page falls back to (unsaved): one group of any purpose per
    booth, everywhere."""
    return ExpansionTarget(level=default_level(), purpose="", per_unit=1)


@dataclass
class Figures:
    units_total: int = 0
    units_covered: int = 0
    groups: int = 0
    members: int = 0

    @property
    def uncovered(self) -> int:
        return max(self.units_total - self.units_covered, 0)

    @property
    def percent(self) -> int:
        return round(100 * self.units_covered / self.units_total) if self.units_total else 0


def _covered_units(target: ExpansionTarget, path: str):
    """Ids of the target-level units under ``path`` holding at least ``per_unit`` active
    groups of the target's purpose: a GROUP BY … HAVING subquery."""
    groups = Group.objects.active().filter(unit__path__under=path, unit__level_id=target.level_id)
    if target.purpose:
        groups = groups.filter(purpose=target.purpose)
    return (
        groups.order_by()
        .values("unit_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=target.per_unit)
        .values("unit_id")
    )


def figures_by_prefix(target: ExpansionTarget, path: str, depth: int) -> dict[str, Figures]:
    """Figures for every unit at tree ``depth`` under ``path`` (``depth`` may be the depth of
    ``path`` itself), keyed by that unit's path. Three grouped queries."""
    width = STEP * depth
    units = OrgUnit.objects.filter(path__under=path, level_id=target.level_id).order_by()
    prefix = Substr("path", 1, width)
    totals = units.annotate(p=prefix).values("p").annotate(n=Count("pk")).values_list("p", "n")
    covered = (
        units.filter(pk__in=_covered_units(target, path))
        .annotate(p=prefix)
        .values("p")
        .annotate(n=Count("pk"))
        .values_list("p", "n")
    )
    groups = Group.objects.active().filter(unit__path__under=path).order_by()
    if target.purpose:
        groups = groups.filter(purpose=target.purpose)
    group_rows = (
        groups.annotate(p=Substr("unit__path", 1, width))
        .values("p")
        .annotate(n=Count("pk"), m=Sum("member_count", output_field=IntegerField()))
        .values_list("p", "n", "m")
    )
    out: dict[str, Figures] = {}
    for p, n in totals:
        out.setdefault(p, Figures()).units_total = n
    for p, n in covered:
        out.setdefault(p, Figures()).units_covered = n
    for p, n, m in group_rows:
        f = out.setdefault(p, Figures())
        f.groups, f.members = n, m or 0
    return out


def coverage_report(target: ExpansionTarget, unit: OrgUnit) -> dict:
    """The unit's figures and its children's, with the children as units (one query more)."""
    children = list(
        OrgUnit.objects.filter(path__under=unit.path, depth=unit.depth + 1)
        .select_related("level")
        .order_by("path")
    )
    here = figures_by_prefix(target, unit.path, unit.depth).get(unit.path, Figures())
    below = figures_by_prefix(target, unit.path, unit.depth + 1) if children else {}
    target_depth = target.level.depth if target.level_id else 0
    rows = [
        {
            "unit": child,
            "figures": below.get(child.path, Figures()),
            # Drill down while the child lies above the target's level.
            "drill": child.level.depth < target_depth,
            "is_target_level": child.level_id == target.level_id,
        }
        for child in children
    ]
    return {"figures": here, "rows": rows}


def trend(target: ExpansionTarget, unit: OrgUnit, days: int = 90) -> list[CoverageSnapshot]:
    since = timezone.localdate() - timezone.timedelta(days=days)
    return list(
        CoverageSnapshot.objects.filter(unit=unit, target=target.pk, taken_on__gte=since).order_by(
            "taken_on"
        )
    )


def snapshot_depths() -> list[int]:
    """Tree depths that get snapshots: from the top down to the assembly level (or to the
    level above the booths when a tree has no assemblies)."""
    assembly = Level.objects.filter(slug="assembly").first()
    bottom = assembly.depth if assembly else max((default_level().depth - 1), 1)
    # Tree depth is not level depth (UP has no regions): read the depths units really have.
    return sorted(
        set(
            OrgUnit.objects.filter(level__depth__lte=bottom)
            .order_by()
            .values_list("depth", flat=True)
            .distinct()
        )
    )


def take_snapshots(on=None, targets=None) -> int:
    """Coverage of every unit down to the assembly level, for the default target and each
    active target, on ``on`` (today); replaces that day's rows. Returns rows written."""
    on = on or timezone.localdate()
    if targets is None:
        targets = [default_target(), *ExpansionTarget.objects.filter(active=True)]
    depths = snapshot_depths()
    if not depths or default_level() is None:
        return 0
    unit_ids = dict(
        OrgUnit.objects.filter(depth__lte=max(depths)).order_by().values_list("path", "pk")
    )
    rows = []
    for target in targets:
        root = ""
        if target.pk:
            root = target.scope_unit.path
        for depth in depths:
            if root and depth * STEP < len(root):
                continue
            for path, f in figures_by_prefix(target, root, depth).items():
                if path not in unit_ids:
                    continue
                rows.append(
                    CoverageSnapshot(
                        taken_on=on,
                        unit_id=unit_ids[path],
                        target_id=target.pk,
                        units_total=f.units_total,
                        units_covered=f.units_covered,
                        groups=f.groups,
                        members=f.members,
                    )
                )
    with transaction.atomic():
        CoverageSnapshot.objects.filter(
            taken_on=on, target__in=[t.pk for t in targets if t.pk]
        ).delete()
        if any(t.pk is None for t in targets):
            CoverageSnapshot.objects.filter(taken_on=on, target=None).delete()
        CoverageSnapshot.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def take_snapshots_if_missing(on=None) -> int:
    """Today's snapshot unless it was taken already (the worker's daily sweep)."""
    on = on or timezone.localdate()
    if CoverageSnapshot.objects.filter(taken_on=on, target=None).exists():
        return 0
    try:
        return take_snapshots(on)
    except IntegrityError:  # another worker took it at the same moment
        return 0
