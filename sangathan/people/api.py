"""API for people: search within the caller's jurisdiction, and one person's record.

Lookups go through ``sangathan.org.scoping``; a person outside the caller's jurisdiction
answers 404 exactly as one who does not exist.
"""

from __future__ import annotations

from datetime import date, datetime

from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from sangathan.org.scoping import get_person_for_user, get_unit_for_user
from sangathan.people.models import Person

router = Router(tags=["people"])


class PersonOut(Schema):
    id: int
    name: str
    name_latin: str
    display_name: str
    phone: str
    unit_code: str
    unit_name: str
    gender: str
    birth_year: int | None
    app_status: str

    @staticmethod
    def resolve_unit_code(obj) -> str:
        return obj.unit.code

    @staticmethod
    def resolve_unit_name(obj) -> str:
        return obj.unit.display_name


class PersonAppointmentOut(Schema):
    id: int
    position: str
    unit_code: str
    unit_name: str
    starts: date
    ends: date | None


class ConsentOut(Schema):
    channel: str
    purpose: str
    granted_at: datetime


class PersonDetailOut(PersonOut):
    institution: str
    languages: str
    referral_code: str
    tags: list[str]
    appointments: list[PersonAppointmentOut]
    consents: list[ConsentOut]

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return [t.name for t in obj.tags.all()]

    @staticmethod
    def resolve_appointments(obj) -> list[dict]:
        return [
            {
                "id": a.pk,
                "position": a.position.display_name,
                "unit_code": a.unit.code,
                "unit_name": a.unit.display_name,
                "starts": a.starts,
                "ends": a.ends,
            }
            for a in obj.visible_appointments
        ]

    @staticmethod
    def resolve_consents(obj) -> list[dict]:
        return [
            {"channel": c.channel, "purpose": c.purpose, "granted_at": c.granted_at}
            for c in obj.consents.active().order_by("channel", "purpose")
        ]


@router.get("/people", response=list[PersonOut], summary="Search people within jurisdiction")
@paginate(LimitOffsetPagination)
def people_search(request, q: str = "", unit: str = ""):
    """``q`` matches names across scripts (Devanagari or Latin), best first; ``unit``
    (a unit code) narrows to that unit's subtree."""
    qs = Person.objects.visible_to(request.auth).select_related("unit", "unit__level")
    if unit:
        qs = qs.within(get_unit_for_user(request.auth, unit))
    q = q.strip()
    if q:
        return qs.search(q)
    return qs.order_by("name", "pk")


@router.get("/people/{int:person_id}", response=PersonDetailOut, summary="One person")
def person_detail(request, person_id: int):
    person = get_person_for_user(request.auth, person_id)
    # Only appointments inside the caller's jurisdiction: a second post elsewhere is not
    # theirs to see.
    person.visible_appointments = person.current_appointments().visible_to(request.auth)
    return person
