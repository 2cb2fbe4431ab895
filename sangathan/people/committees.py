"""Committee templates: named sets of seats for the units of one level, applied to areas.

How many seats a post has at a unit:

* a post in no template has ``Position.seats`` seats at every unit of its level (as before
  templates existed);
* a post in a template (a post belongs to at most one) has the template's seat count at the
  units of its level inside an area where the template is applied, and none elsewhere. So
  applying the "Booth committee" to Lucknow makes its seats count in Lucknow's vacancy figures
  and nowhere else, until it is applied there too.

The maintained ``OrgUnit.seats_total`` follows: applying or removing a template changes the
counters of the area, its units and its ancestors with a few set-based UPDATEs; editing a
template (rare, state level only) rebuilds ``seats_total`` for the whole tree.

Who may do what: templates are organisation-wide, so only superusers and people with a
current post at state level or above may create or edit them (``can_edit_templates``);
anyone may apply one to (or remove it from) an area inside their own jurisdiction.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from sangathan.accounts.audit import audit
from sangathan.org.counts import _rolled_up, _write, bump
from sangathan.org.models import Level, OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.actions import ActionRefused
from sangathan.people.models import (
    AppliedCommittee,
    Appointment,
    CommitteeSeat,
    CommitteeTemplate,
    Position,
)

# Templates are edited by the organisation's top: this level and above.
TEMPLATE_EDITOR_LEVEL = "state"


# --- reading seats ---------------------------------------------------------------------------


def seats_for_unit(unit: OrgUnit, positions) -> dict[int, int]:
    """Seats of each of ``positions`` (at ``unit``'s level) at ``unit``. Two queries."""
    positions = list(positions)
    ids = [p.pk for p in positions]
    template_of = dict(
        CommitteeSeat.objects.filter(position_id__in=ids).values_list("position_id", "template_id")
    )
    template_seats = dict(
        CommitteeSeat.objects.filter(position_id__in=ids).values_list("position_id", "seats")
    )
    applied = set()
    if template_of:
        applied = set(
            AppliedCommittee.objects.filter(
                template_id__in=set(template_of.values()), scope__path__in=unit.ancestor_paths()
            ).values_list("template_id", flat=True)
        )
    result = {}
    for p in positions:
        if p.pk in template_of:
            result[p.pk] = template_seats[p.pk] if template_of[p.pk] in applied else 0
        else:
            result[p.pk] = p.seats
    return result


def seats_at(position: Position, unit: OrgUnit) -> int:
    """How many people may hold ``position`` at ``unit`` at once."""
    if position.level_id != unit.level_id:
        return 0
    return seats_for_unit(unit, [position])[position.pk]


def seat_rule(position: Position) -> tuple[int, list[str] | None]:
    """(seats per unit, paths of the areas where they exist — None for everywhere)."""
    seat = CommitteeSeat.objects.filter(position=position).first()
    if seat is None:
        return position.seats, None
    scopes = AppliedCommittee.objects.filter(template_id=seat.template_id).values_list(
        "scope__path", flat=True
    )
    return seat.seats, list(scopes)


def committee_of(position: Position) -> CommitteeTemplate | None:
    seat = CommitteeSeat.objects.filter(position=position).select_related("template").first()
    return seat.template if seat else None


def direct_seats() -> dict[str, int]:
    """Seats at each unit itself (not rolled up), for ``org.counts.recount``."""
    in_template = set(CommitteeSeat.objects.values_list("position_id", flat=True))
    by_level: dict[int, int] = defaultdict(int)
    for pk, level_id, seats in Position.objects.values_list("pk", "level_id", "seats"):
        if pk not in in_template:
            by_level[level_id] += seats
    seats: dict[str, int] = defaultdict(int)
    if by_level:
        for path, level_id in (
            OrgUnit.objects.filter(level_id__in=list(by_level))
            .values_list("path", "level_id")
            .iterator(chunk_size=20_000)
        ):
            seats[path] += by_level[level_id]
    per_template = dict(
        CommitteeSeat.objects.values("template")
        .annotate(n=Sum("seats"))
        .values_list("template", "n")
    )
    for app in AppliedCommittee.objects.select_related("scope", "template"):
        n = per_template.get(app.template_id, 0)
        if not n:
            continue
        for path in (
            OrgUnit.objects.filter(path__under=app.scope.path, level_id=app.template.level_id)
            .values_list("path", flat=True)
            .iterator(chunk_size=20_000)
        ):
            seats[path] += n
    return dict(seats)


def recount_seats() -> None:
    """Rebuild ``seats_total`` over the whole tree (after a template changed)."""
    _write("seats_total", _rolled_up(direct_seats()))


def template_seat_total(template: CommitteeTemplate) -> int:
    return template.seats.aggregate(n=Coalesce(Sum("seats"), 0))["n"]


# --- who may edit ----------------------------------------------------------------------------


def can_edit_templates(user) -> bool:
    """Superusers, and people with a current post at state level or above."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    j = jurisdiction_for(user)
    if j.is_empty:
        return False
    top = Level.objects.filter(slug=TEMPLATE_EDITOR_LEVEL).values_list("depth", flat=True).first()
    if top is None:
        return False
    return j.root_units().filter(level__depth__lte=top).exists()


def _refuse_editor(actor) -> None:
    if actor is not None and not can_edit_templates(actor):
        raise ActionRefused(
            _("Only the state team can create or change committee templates."),
            code="not_template_editor",
        )


# --- writes ----------------------------------------------------------------------------------


def _clean_seats(level: Level, seats, template: CommitteeTemplate | None):
    """``seats``: (position, count) pairs. Refuses posts of another level, posts already in
    another template, repeated posts and counts outside 1..50."""
    seen = set()
    clean = []
    for position, count in seats:
        if position.pk in seen:
            raise ActionRefused(
                _("%(position)s is listed twice.") % {"position": position.display_name},
                code="duplicate_seat",
            )
        seen.add(position.pk)
        if position.level_id != level.pk:
            raise ActionRefused(
                _("%(position)s is a post at %(position_level)s level, not %(level)s.")
                % {
                    "position": position.display_name,
                    "position_level": position.level.display_name,
                    "level": level.display_name,
                },
                code="wrong_level",
            )
        if not 1 <= int(count) <= 50:
            raise ActionRefused(
                _("A post has between 1 and 50 seats."),
                code="bad_seats",
            )
        other = (
            CommitteeSeat.objects.filter(position=position)
            .exclude(template=template)
            .select_related("template")
            .first()
            if template is not None and template.pk
            else CommitteeSeat.objects.filter(position=position).select_related("template").first()
        )
        if other is not None:
            raise ActionRefused(
                _("%(position)s is already in the committee “%(template)s”.")
                % {"position": position.display_name, "template": other.template.display_name},
                code="seat_in_other_template",
            )
        clean.append((position, int(count)))
    if not clean:
        raise ActionRefused(_("A committee needs at least one post."), code="no_seats")
    return clean


def do_save_template(
    *,
    actor,
    name_en: str,
    name_hi: str = "",
    level: Level,
    seats,
    template: CommitteeTemplate | None = None,
    request=None,
) -> CommitteeTemplate:
    """Create (``template`` None) or replace a committee template: its names and its seats,
    in order. Refuses anyone below state level. Rebuilds ``seats_total`` for the whole tree,
    since seats move wherever the template is applied (and a post joining a template stops
    counting everywhere else)."""
    _refuse_editor(actor)
    name_en = " ".join((name_en or "").split())
    if not name_en:
        raise ActionRefused(_("Give the committee a name."), code="no_name")
    if template is not None and template.level_id != level.pk:
        if template.applications.exists():
            raise ActionRefused(
                _("The level of a committee that is in use cannot change."), code="level_in_use"
            )
    with transaction.atomic(durable=True):
        clean = _clean_seats(level, seats, template)
        clash = CommitteeTemplate.objects.filter(name_en__iexact=name_en, level=level)
        if template is not None:
            clash = clash.exclude(pk=template.pk)
        if clash.exists():
            raise ActionRefused(
                _("There is already a committee called %(name)s at this level.")
                % {"name": name_en},
                code="duplicate_name",
            )
        created = template is None
        if created:
            template = CommitteeTemplate.objects.create(
                name_en=name_en,
                name_hi=(name_hi or "").strip(),
                level=level,
                created_by=actor if actor is not None and actor.pk else None,
            )
        else:
            template.name_en = name_en
            template.name_hi = (name_hi or "").strip()
            template.level = level
            template.save(update_fields=["name_en", "name_hi", "level"])
            template.seats.all().delete()
        CommitteeSeat.objects.bulk_create(
            CommitteeSeat(template=template, position=p, seats=n, order=i)
            for i, (p, n) in enumerate(clean)
        )
        recount_seats()
        audit(
            "committee_template_created" if created else "committee_template_changed",
            actor=actor,
            obj=template,
            request=request,
            name=name_en,
            level=level.slug,
            seats={str(p.pk): n for p, n in clean},
        )
    return template


def _add_seats_over(scope: OrgUnit, level: Level, per_unit: int) -> int:
    """Add ``per_unit`` seats (may be negative) to every unit of ``level`` at or below
    ``scope``, and keep every counter above them right. Set-based: one UPDATE for the units
    of the level, one for the units between, one for the ancestors. Returns the units."""
    covered = OrgUnit.objects.filter(path__under=scope.path, level=level)
    n = covered.count()
    if not n or not per_unit:
        return n
    covered.update(seats_total=F("seats_total") + per_unit)
    between_levels = list(
        Level.objects.filter(depth__lt=level.depth, depth__gte=scope.level.depth).values_list(
            "pk", flat=True
        )
    )
    if between_levels:
        below = (
            OrgUnit.objects.filter(path__startswith=OuterRef("path"), level=level)
            .order_by()
            .values("level")
            .annotate(c=Count("pk"))
            .values("c")
        )
        OrgUnit.objects.filter(path__under=scope.path, level_id__in=between_levels).update(
            seats_total=F("seats_total") + per_unit * Coalesce(Subquery(below), 0)
        )
    parent_path = scope.path[: -OrgUnit.steplen]
    if parent_path:
        bump(parent_path, seats_total=per_unit * n)
    return n


def _check_scope(actor, template: CommitteeTemplate, scope: OrgUnit) -> None:
    if actor is not None and not jurisdiction_for(actor).contains(scope):
        raise ActionRefused(
            _("%(unit)s is outside your area.") % {"unit": scope.display_name},
            code="outside_jurisdiction",
        )
    if scope.level.depth > template.level.depth:
        raise ActionRefused(
            _("%(template)s is a committee of %(level)s units; %(unit)s is below that level.")
            % {
                "template": template.display_name,
                "level": template.level.display_name,
                "unit": scope.display_name,
            },
            code="scope_below_level",
        )


def do_apply_template(
    template: CommitteeTemplate, scope: OrgUnit, *, actor, request=None
) -> AppliedCommittee:
    """Apply ``template`` to every unit of its level at or below ``scope``: their seats now
    count as seats (filled or vacant). Refuses an area outside the actor's jurisdiction and an
    area that overlaps one where the template already applies."""
    _check_scope(actor, template, scope)
    with transaction.atomic(durable=True):
        OrgUnit.objects.select_for_update().filter(pk=scope.pk).values_list("pk").first()
        overlap = (
            AppliedCommittee.objects.filter(template=template)
            .select_related("scope")
            .filter(
                # an ancestor (or the unit itself) already has it, or a unit below does
                models_q_overlap(scope)
            )
            .first()
        )
        if overlap is not None:
            raise ActionRefused(
                _("“%(template)s” already applies at %(unit)s, which overlaps %(scope)s.")
                % {
                    "template": template.display_name,
                    "unit": overlap.scope.display_name,
                    "scope": scope.display_name,
                },
                code="overlap",
            )
        application = AppliedCommittee.objects.create(
            template=template,
            scope=scope,
            applied_by=actor if actor is not None and actor.pk else None,
        )
        units = _add_seats_over(scope, template.level, template_seat_total(template))
        audit(
            "committee_applied",
            actor=actor,
            obj=application,
            request=request,
            template=template.pk,
            unit=scope.code,
            units=units,
        )
    return application


def models_q_overlap(scope: OrgUnit):
    from django.db.models import Q

    return Q(scope__path__in=scope.ancestor_paths()) | Q(scope__path__under=scope.path)


def do_remove_template(application: AppliedCommittee, *, actor, request=None) -> None:
    """Take a template off an area. Refuses while anyone holds one of its posts there: end
    (or transfer) those appointments first, so that no filled seat is left without a seat."""
    scope = application.scope
    template = application.template
    _check_scope(actor, template, scope)
    with transaction.atomic(durable=True):
        held = (
            Appointment.objects.current()
            .filter(position__committee_seat__template=template, unit__path__under=scope.path)
            .count()
        )
        if held:
            raise ActionRefused(
                _(
                    "%(n)d people hold posts of “%(template)s” in %(scope)s; relieve or "
                    "transfer them first."
                )
                % {"n": held, "template": template.display_name, "scope": scope.display_name},
                code="seats_held",
            )
        units = _add_seats_over(scope, template.level, -template_seat_total(template))
        application.delete()
        audit(
            "committee_removed",
            actor=actor,
            request=request,
            template=template.pk,
            unit=scope.code,
            units=units,
        )
