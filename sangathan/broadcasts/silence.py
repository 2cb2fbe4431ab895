"""The campaign-silence window: no political message reaches an assembly constituency in
the hours before its polling closes (48 by default, RP Act 1951 s.126)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone


def silenced_units(at=None):
    """(path, unit, poll_closes_at) of every unit in its silence window at ``at``."""
    from sangathan.broadcasts.models import PollDate

    at = at or timezone.now()
    hours = int(getattr(settings, "SANGATHAN_SILENCE_HOURS", 48))
    rows = (
        PollDate.objects.filter(
            poll_closes_at__gt=at, poll_closes_at__lte=at + timedelta(hours=hours)
        )
        .select_related("unit", "unit__level")
        .order_by("unit__path")
    )
    return [(p.unit.path, p.unit, p.poll_closes_at) for p in rows]


def silenced_paths(at=None) -> list[str]:
    """Unit paths in a silence window at ``at`` (one indexed query)."""
    return [path for path, _unit, _closes in silenced_units(at)]


def is_path_silenced(path: str, silenced: list[str]) -> bool:
    return any(path.startswith(p) for p in silenced)


def silence_for_audience(audience_path: str, at=None):
    """How the silence window touches an audience at ``at``:
    ``("all", unit, closes)`` when the whole audience lies in a silenced unit,
    ``("some", [paths])`` when some units inside it are silenced, or ``None``."""
    units = silenced_units(at)
    for path, unit, closes in units:
        if audience_path.startswith(path):
            return ("all", unit, closes)
    inside = [path for path, _u, _c in units if path.startswith(audience_path)]
    if inside:
        return ("some", inside)
    return None
