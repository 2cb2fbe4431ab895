"""Small builders for tests: a tree, people and appointments, without the demo's size."""

import itertools

from sangathan.org.models import Level, OrgUnit
from sangathan.people.models import Appointment, Person, Position

_phones = itertools.count(9000000001)


def level(slug: str) -> Level:
    return Level.objects.get(slug=slug)


def add_unit(parent: OrgUnit | None, slug: str, code: str, name: str, name_en: str = "", **kw):
    fields = dict(level=level(slug), code=code, name=name, name_en=name_en or name, **kw)
    if parent is None:
        return OrgUnit.objects.add_root(fields)
    parent.refresh_from_db()
    return OrgUnit.objects.add_child(parent, fields)


def make_person(unit: OrgUnit, name: str = "राम कुमार", phone: str | None = None, **kw) -> Person:
    from sangathan.org.counts import bump

    phone = phone or f"+91{next(_phones)}"
    person = Person.objects.create(name=name, phone=phone, unit=unit, **kw)
    bump(unit.path, people=1)
    return person


def make_position(level_slug: str, title_en: str, title_hi: str, wing="IT cell", seats=1):
    position, _ = Position.objects.get_or_create(
        wing=wing,
        title_en=title_en,
        level=level(level_slug),
        defaults={"title_hi": title_hi, "wing_hi": "आईटी विभाग", "seats": seats},
    )
    return position


def appoint(person: Person, position: Position, unit: OrgUnit) -> Appointment:
    return Appointment.objects.create(person=person, position=position, unit=unit)


def run_worker_in_test_transaction(*options: str) -> None:
    """Run the database task worker once, inside the test's transaction. The worker closes
    "old" connections between tasks; inside a test that would close the test's own
    connection (on PostgreSQL) and lose its transaction, so that one call is disabled."""
    from unittest import mock

    from django.core.management import call_command

    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("worker", "--batch", "--no-startup-delay", *options, verbosity=0)
