"""The other apps' share of a person's data, for the DPDP export and erasure in
``sangathan.people.actions``. Each module named in ``PARTS`` has ``export(person) -> dict``
(its sections of the export), ``erase(person) -> dict`` (counts of what it removed, run inside
the erasure's transaction) and ``KEPT`` (what it keeps, and why)."""

from __future__ import annotations

from importlib import import_module

PARTS = (
    "sangathan.drives.personal_data",
    "sangathan.groups.personal_data",
    "sangathan.meetings.personal_data",
)


def parts() -> list:
    return [import_module(name) for name in PARTS]


def iso(value) -> str | None:
    """A date or time as ISO 8601 text for the export; None stays None."""
    return value.isoformat() if value is not None else None
