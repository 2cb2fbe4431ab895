"""API for the organisation tree: units, their children and coverage, within jurisdiction.

Every lookup goes through ``sangathan.org.scoping``: a unit outside the caller's jurisdiction
answers 404 exactly as a unit that does not exist.
"""

from __future__ import annotations

from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from sangathan.org.models import OrgUnit
from sangathan.org.scoping import get_unit_for_user, jurisdiction_for

router = Router(tags=["units"])


class UnitRef(Schema):
    code: str
    name: str
    level: str


class UnitOut(Schema):
    code: str
    name: str
    name_en: str
    name_hi: str
    display_name: str
    level: str
    level_name: str
    depth: int
    children_count: int
    lgd_code: str
    ac_no: int | None
    pc_no: int | None
    pc_name: str
    ps_no: str
    reserved: str
    electors: int | None
    people_count: int
    seats_total: int
    seats_filled: int
    vacancies: int

    @staticmethod
    def resolve_level(obj) -> str:
        return obj.level.slug

    @staticmethod
    def resolve_level_name(obj) -> str:
        return obj.level.display_name

    @staticmethod
    def resolve_children_count(obj) -> int:
        return obj.numchild


class UnitDetailOut(UnitOut):
    ancestors: list[UnitRef]


class CoverageRow(Schema):
    code: str
    name: str
    level: str
    people_count: int
    seats_total: int
    seats_filled: int
    vacancies: int

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.display_name

    @staticmethod
    def resolve_level(obj) -> str:
        return obj.level.slug


class CoverageOut(Schema):
    unit: CoverageRow
    children: list[CoverageRow]


def _children(unit: OrgUnit):
    # A unit's children lie inside its subtree, so inside the caller's jurisdiction.
    return OrgUnit.objects.get_children(unit).select_related("level")


def _visible_ancestors(user, unit: OrgUnit) -> list[dict]:
    """The unit's ancestors the caller may see, top first (for breadcrumbs): a district
    convenor gets none, so the API never names the state above them."""
    paths = unit.ancestor_paths()[:-1]
    if not paths:
        return []
    qs = jurisdiction_for(user).filter(
        OrgUnit.objects.filter(path__in=paths).select_related("level"), "path"
    )
    return [{"code": u.code, "name": u.display_name, "level": u.level.slug} for u in qs]


@router.get("/units", response=list[UnitOut], summary="The roots of the caller's jurisdiction")
def unit_roots(request):
    return list(jurisdiction_for(request.auth).root_units())


@router.get("/units/{code}/", response=UnitDetailOut, summary="One unit with its counts")
def unit_detail(request, code: str):
    unit = get_unit_for_user(request.auth, code)
    unit.ancestors = _visible_ancestors(request.auth, unit)
    return unit


@router.get("/units/{code}/children", response=list[UnitOut], summary="A unit's children")
@paginate(LimitOffsetPagination)
def unit_children(request, code: str):
    return _children(get_unit_for_user(request.auth, code))


@router.get(
    "/units/{code}/coverage",
    response=CoverageOut,
    summary="People, seats, filled seats and vacancies for a unit and each child",
)
def unit_coverage(request, code: str):
    unit = get_unit_for_user(request.auth, code)
    return {"unit": unit, "children": list(_children(unit))}
