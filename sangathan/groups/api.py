"""API for WhatsApp groups: the registry within the caller's jurisdiction, coverage per unit,
and a broadcast's forward confirmations with the reach estimate. Anything outside the
jurisdiction answers 404, as if it did not exist. Admins confirm a forward through their task
(``POST /api/v1/me/tasks/{id}/done``); staff may confirm for them here."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch
from django.http import Http404
from ninja import Router, Schema

from sangathan.groups import actions
from sangathan.groups.coverage import coverage_report, default_target
from sangathan.groups.forwards import reach_estimate
from sangathan.groups.models import Group, GroupAdmin, GroupForward
from sangathan.org.scoping import get_unit_for_user, jurisdiction_for

router = Router(tags=["groups"])


class AdminOut(Schema):
    person_id: int
    name: str
    phone: str


class GroupOut(Schema):
    code: str
    name: str
    purpose: str
    unit: str
    invite_link: str
    member_count: int
    member_count_on: date | None
    last_verified_on: date | None
    status: str
    admins: list[AdminOut]


def _group_out(g: Group) -> dict:
    return {
        "code": g.code,
        "name": g.name,
        "purpose": g.purpose,
        "unit": g.unit.code,
        "invite_link": g.invite_link,
        "member_count": g.member_count,
        "member_count_on": g.member_count_on,
        "last_verified_on": g.last_verified_on,
        "status": g.status,
        "admins": [
            {"person_id": a.person_id, "name": a.person.name, "phone": a.person.phone}
            for a in g.admin_links.all()
        ],
    }


def _groups(user):
    return (
        Group.objects.visible_to(user)
        .select_related("unit")
        .prefetch_related(
            Prefetch("admin_links", queryset=GroupAdmin.objects.select_related("person"))
        )
    )


@router.get("/groups", response=list[GroupOut], summary="WhatsApp groups in your area")
def list_groups(request, unit: str = "", status: str = "active", limit: int = 200):
    groups = _groups(request.user)
    if unit:
        groups = groups.within(get_unit_for_user(request.user, unit))
    if status:
        groups = groups.filter(status=status)
    return [_group_out(g) for g in groups.order_by("unit__path", "name")[: min(limit, 1000)]]


class CoverageFigures(Schema):
    unit: str
    name: str
    units_total: int
    units_covered: int
    groups: int
    members: int


class CoverageOut(Schema):
    level: str
    purpose: str
    per_unit: int
    total: CoverageFigures
    children: list[CoverageFigures]


def _figures(unit, f) -> dict:
    return {
        "unit": unit.code,
        "name": unit.display_name,
        "units_total": f.units_total,
        "units_covered": f.units_covered,
        "groups": f.groups,
        "members": f.members,
    }


@router.get(
    "/groups/coverage",
    response=CoverageOut,
    summary="Units with and without a group (default: any group per booth) in a unit",
)
def coverage(request, unit: str):
    u = get_unit_for_user(request.user, unit)
    target = default_target()
    report = coverage_report(target, u)
    return {
        "level": target.level.slug,
        "purpose": target.purpose,
        "per_unit": target.per_unit,
        "total": _figures(u, report["figures"]),
        "children": [_figures(r["unit"], r["figures"]) for r in report["rows"]],
    }


class ForwardOut(Schema):
    group: str
    group_name: str
    unit: str
    member_count: int
    confirmed: bool
    confirmed_by_admin: bool


class ForwardsOut(Schema):
    groups: int
    confirmed: int
    members: int
    items: list[ForwardOut]


def _broadcast(user, code):
    from sangathan.broadcasts.api import get_broadcast_for_user

    return get_broadcast_for_user(user, code)


@router.get(
    "/groups/forwards/{code}",
    response=ForwardsOut,
    summary="A broadcast's forward tasks per group, and its reach estimate in your area",
)
def forwards(request, code: str):
    broadcast = _broadcast(request.user, code)
    rows = (
        GroupForward.objects.visible_to(request.user)
        .filter(broadcast=broadcast)
        .with_confirmation()
        .select_related("group", "group__unit")
        .order_by("group__unit__path", "group__name")
    )
    j = jurisdiction_for(request.user)
    if j.contains(broadcast.audience_unit):
        estimate = reach_estimate(broadcast, broadcast.audience_unit)
    else:
        estimate = {"groups": 0, "confirmed": 0, "members": 0}
        for root in j.root_units():
            if root.is_within(broadcast.audience_unit):
                part = reach_estimate(broadcast, root)
                estimate = {k: estimate[k] + part[k] for k in estimate}
    return {
        "groups": estimate["groups"],
        "confirmed": estimate["confirmed"],
        "members": estimate["members"],
        "items": [
            {
                "group": f.group.code,
                "group_name": f.group.name,
                "unit": f.group.unit.code,
                "member_count": f.group.member_count,
                "confirmed": f.confirmed,
                "confirmed_by_admin": f.app_confirmed,
            }
            for f in rows[:2000]
        ],
    }


@router.get("/groups/{code}", response=GroupOut, summary="One WhatsApp group")
def group_detail(request, code: str):
    group = _groups(request.user).filter(code=code).first()
    if group is None:
        raise Http404("No such group")
    return _group_out(group)


class ConfirmIn(Schema):
    confirmed: bool = True


@router.post(
    "/groups/forwards/{code}/{group_code}/confirm",
    response=dict,
    summary="Staff: mark a group's forward as done (or undo it)",
)
def confirm(request, code: str, group_code: str, payload: ConfirmIn):
    broadcast = _broadcast(request.user, code)
    forward = (
        GroupForward.objects.visible_to(request.user)
        .select_related("group", "group__unit")
        .filter(broadcast=broadcast, group__code=group_code)
        .first()
    )
    if forward is None:
        raise Http404("No such forward")
    actions.do_confirm_forward(request.user, forward, confirmed=payload.confirmed, request=request)
    return {"confirmed": payload.confirmed}
