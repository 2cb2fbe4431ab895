"""Writes that matter for WhatsApp groups: register, edit, rotate the invite link, record a
member count, admins, archive, expansion targets, staff confirmation of a forward, and the
import of existing group lists. Each checks the actor's jurisdiction, runs in one transaction
and leaves an audit row."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sangathan.accounts.audit import audit
from sangathan.core.csvfiles import read_rows
from sangathan.groups.models import (
    ExpansionTarget,
    Group,
    GroupAdmin,
    GroupForward,
    GroupPurpose,
    GroupStatus,
    InviteLink,
    MemberCount,
    validate_invite_link,
)
from sangathan.org.models import Level, OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.actions import ActionRefused
from sangathan.people.models import Person

MAX_MEMBERS = 5000  # a WhatsApp group holds at most 1,024 today; leave room for communities


def _check_unit(actor, unit: OrgUnit) -> None:
    if actor is not None and not jurisdiction_for(actor).contains(unit):
        raise ActionRefused(
            _("%(unit)s is outside your area.") % {"unit": unit.display_name},
            code="outside_jurisdiction",
        )


def _clean_link(link: str) -> str:
    link = (link or "").strip()
    try:
        validate_invite_link(link)
    except ValidationError as e:
        raise ActionRefused(e.messages[0], code="bad_link") from None
    return link


def _clean_count(members) -> int | None:
    if members in (None, ""):
        return None
    try:
        n = int(members)
    except (TypeError, ValueError):
        raise ActionRefused(
            _("The member count must be a whole number."), code="bad_count"
        ) from None
    if n < 0 or n > MAX_MEMBERS:
        raise ActionRefused(
            _("The member count must be between 0 and %(max)s.") % {"max": MAX_MEMBERS},
            code="bad_count",
        )
    return n


def _check_admins(actor, admins: Iterable[Person]) -> list[Person]:
    admins = list(dict.fromkeys(admins))
    j = jurisdiction_for(actor) if actor is not None else None
    for person in admins:
        if j is not None and not j.contains(person.unit):
            raise ActionRefused(
                _("%(name)s is outside your area.") % {"name": person.display_name},
                code="outside_jurisdiction",
            )
    return admins


def do_create_group(
    actor,
    *,
    unit: OrgUnit,
    name: str,
    purpose: str = GroupPurpose.WORKERS,
    invite_link: str = "",
    admins: Iterable[Person] = (),
    members=None,
    request=None,
) -> Group:
    """Register a group of ``unit``; its first member count and invite link start their
    histories."""
    _check_unit(actor, unit)
    name = (name or "").strip()
    if not name:
        raise ActionRefused(_("Give the group a name."), code="no_name")
    if purpose not in GroupPurpose.values:
        raise ActionRefused(_("Unknown purpose."), code="bad_purpose")
    link = _clean_link(invite_link)
    count = _clean_count(members)
    admins = _check_admins(actor, admins)
    by = actor if actor is not None and actor.pk else None
    today = timezone.localdate()
    try:
        with transaction.atomic(durable=True):
            group = Group.objects.create(
                unit=unit,
                name=name[:200],
                purpose=purpose,
                invite_link=link,
                member_count=count or 0,
                member_count_on=today if count is not None else None,
                last_verified_on=today if count is not None else None,
                created_by=by,
            )
            if link:
                InviteLink.objects.create(group=group, url=link, set_by=by)
            if count is not None:
                MemberCount.objects.create(group=group, members=count, recorded_by=by)
            GroupAdmin.objects.bulk_create(
                [GroupAdmin(group=group, person=p, added_by=by) for p in admins]
            )
            audit(
                "group_created",
                actor=actor,
                obj=group,
                request=request,
                unit=unit.code,
                admins=[p.pk for p in admins],
            )
    except IntegrityError:
        raise ActionRefused(
            _("%(unit)s already has a group called “%(name)s”.")
            % {"unit": unit.display_name, "name": name},
            code="duplicate_name",
        ) from None
    return group


def do_update_group(actor, group: Group, *, name: str, purpose: str, request=None) -> Group:
    _check_unit(actor, group.unit)
    name = (name or "").strip()
    if not name:
        raise ActionRefused(_("Give the group a name."), code="no_name")
    if purpose not in GroupPurpose.values:
        raise ActionRefused(_("Unknown purpose."), code="bad_purpose")
    before = {"name": group.name, "purpose": group.purpose}
    try:
        with transaction.atomic(durable=True):
            group.name, group.purpose = name[:200], purpose
            group.save(update_fields=["name", "purpose"])
            audit("group_updated", actor=actor, obj=group, request=request, before=before)
    except IntegrityError:
        raise ActionRefused(
            _("%(unit)s already has a group called “%(name)s”.")
            % {"unit": group.unit.display_name, "name": name},
            code="duplicate_name",
        ) from None
    return group


def do_rotate_invite_link(actor, group: Group, link: str, *, request=None) -> Group:
    """Replace the invite link (after a reset in WhatsApp, or when it leaked); the old one
    stays in the history with when it was replaced."""
    _check_unit(actor, group.unit)
    link = _clean_link(link)
    if not link:
        raise ActionRefused(_("Paste the group's new invite link."), code="no_link")
    if link == group.invite_link:
        return group
    now = timezone.now()
    by = actor if actor is not None and actor.pk else None
    with transaction.atomic(durable=True):
        InviteLink.objects.filter(group=group, replaced_at=None).update(replaced_at=now)
        InviteLink.objects.create(group=group, url=link, set_by=by, set_at=now)
        group.invite_link = link
        group.save(update_fields=["invite_link"])
        audit("group_link_rotated", actor=actor, obj=group, request=request)
    return group


def do_record_member_count(actor, group: Group, members, *, on=None, request=None) -> Group:
    """Record how many members the group has (also marks it verified today). A second count
    the same day replaces the first; a count for an earlier day only adds history."""
    _check_unit(actor, group.unit)
    n = _clean_count(members)
    if n is None:
        raise ActionRefused(_("Give the member count."), code="bad_count")
    on = on or timezone.localdate()
    by = actor if actor is not None and actor.pk else None
    with transaction.atomic(durable=True):
        MemberCount.objects.update_or_create(
            group=group,
            counted_on=on,
            defaults={"members": n, "recorded_by": by, "recorded_at": timezone.now()},
        )
        if group.member_count_on is None or on >= group.member_count_on:
            group.member_count, group.member_count_on = n, on
        group.last_verified_on = max(on, group.last_verified_on or on)
        group.save(update_fields=["member_count", "member_count_on", "last_verified_on"])
        audit("group_counted", actor=actor, obj=group, request=request, members=n, on=str(on))
    return group


def do_add_group_admin(actor, group: Group, person: Person, *, request=None) -> bool:
    _check_unit(actor, group.unit)
    _check_admins(actor, [person])
    with transaction.atomic(durable=True):
        _link, created = GroupAdmin.objects.get_or_create(
            group=group,
            person=person,
            defaults={"added_by": actor if actor is not None and actor.pk else None},
        )
        if created:
            audit("group_admin_added", actor=actor, obj=group, request=request, person=person.pk)
    return created


def do_remove_group_admin(actor, group: Group, person: Person, *, request=None) -> bool:
    _check_unit(actor, group.unit)
    with transaction.atomic(durable=True):
        deleted = GroupAdmin.objects.filter(group=group, person=person).delete()[0]
        if deleted:
            audit("group_admin_removed", actor=actor, obj=group, request=request, person=person.pk)
    return bool(deleted)


def do_set_group_status(actor, group: Group, status: str, *, request=None) -> Group:
    """Archive a group (it stops counting and gets no forward tasks) or bring it back."""
    _check_unit(actor, group.unit)
    if status not in GroupStatus.values:
        raise ActionRefused(_("Unknown status."), code="bad_status")
    if status == group.status:
        return group
    with transaction.atomic(durable=True):
        group.status = status
        group.save(update_fields=["status"])
        audit("group_status", actor=actor, obj=group, request=request, status=status)
    return group


def do_create_target(
    actor,
    *,
    scope_unit: OrgUnit,
    level: Level,
    purpose: str = "",
    per_unit: int = 1,
    due=None,
    request=None,
) -> ExpansionTarget:
    _check_unit(actor, scope_unit)
    if level.depth <= scope_unit.level.depth:
        raise ActionRefused(
            _("The target's level must lie below %(unit)s.") % {"unit": scope_unit.display_name},
            code="level_above_area",
        )
    if purpose and purpose not in GroupPurpose.values:
        raise ActionRefused(_("Unknown purpose."), code="bad_purpose")
    if not 1 <= int(per_unit) <= 20:
        raise ActionRefused(_("Groups per unit must be between 1 and 20."), code="bad_per_unit")
    with transaction.atomic(durable=True):
        target = ExpansionTarget.objects.create(
            scope_unit=scope_unit,
            level=level,
            purpose=purpose,
            per_unit=int(per_unit),
            due=due,
            created_by=actor if actor is not None and actor.pk else None,
        )
        audit("group_target_created", actor=actor, obj=target, request=request)
    return target


def do_archive_target(actor, target: ExpansionTarget, *, request=None) -> None:
    _check_unit(actor, target.scope_unit)
    with transaction.atomic(durable=True):
        ExpansionTarget.objects.filter(pk=target.pk).update(active=False)
        audit("group_target_archived", actor=actor, obj=target, request=request)


def do_confirm_forward(actor, forward: GroupForward, *, confirmed=True, request=None):
    """A staff member records that the group's admin forwarded the message (told by phone,
    seen in the group), or takes that back. The admin's own "done" in the app needs no
    staff action."""
    _check_unit(actor, forward.group.unit)
    with transaction.atomic(durable=True):
        if confirmed:
            GroupForward.objects.filter(pk=forward.pk, staff_confirmed_at=None).update(
                staff_confirmed_at=timezone.now(),
                staff_confirmed_by=actor if actor is not None and actor.pk else None,
            )
        else:
            GroupForward.objects.filter(pk=forward.pk).update(
                staff_confirmed_at=None, staff_confirmed_by=None
            )
        audit(
            "group_forward_confirmed" if confirmed else "group_forward_unconfirmed",
            actor=actor,
            obj=forward,
            request=request,
        )
    forward.refresh_from_db()
    return forward


def pramukh_holders(unit: OrgUnit) -> list[Person]:
    """Current holders of a "WhatsApp" post (the WhatsApp pramukh) at ``unit``: the usual
    admins of its groups."""
    from sangathan.people.models import Appointment

    return [
        a.person
        for a in Appointment.objects.current()
        .filter(unit=unit, position__title_en__icontains="whatsapp")
        .select_related("person", "person__unit")
        .order_by("pk")
    ]


# --- importing existing group lists -------------------------------------------------------

GROUP_COLUMNS = ("unit_code", "group_name", "invite_link", "admin_phone", "member_count")
REQUIRED_COLUMNS = ("unit_code", "group_name")
HEADER_ALIASES = {
    "unit": "unit_code",
    "code": "unit_code",
    "name": "group_name",
    "group": "group_name",
    "link": "invite_link",
    "phone": "admin_phone",
    "admin": "admin_phone",
    "members": "member_count",
    "count": "member_count",
}


class GroupsFileError(Exception):
    """The file as a whole cannot be read; the message names the problem."""


def read_groups_file(data: bytes) -> list[dict]:
    """Rows of a groups CSV as dicts keyed by the column names (header aliases understood).
    UTF-8 (with or without BOM), UTF-16 and Windows-1252 are accepted."""

    def name(h: str) -> str:
        h = h.strip().lower().replace(" ", "_")
        return HEADER_ALIASES.get(h, h)

    return read_rows(
        data, REQUIRED_COLUMNS, GroupsFileError, header_name=name, needed=GROUP_COLUMNS
    )


# Reasons are stored untranslated (gettext_noop) with their parameters, and translated when
# shown, so that a preview kept in the session reads in the viewer's language.
R_UNIT_EMPTY = gettext_noop("the unit code is empty")
R_NAME_EMPTY = gettext_noop("the group name is empty")
R_UNKNOWN_UNIT = gettext_noop("unknown unit code %(code)s")
R_OUTSIDE = gettext_noop("unit %(code)s is outside your area")
R_BAD_LINK = gettext_noop("“%(link)s” is not a WhatsApp invite link (https://chat.whatsapp.com/…)")
R_BAD_PHONE = gettext_noop("“%(phone)s” is not a mobile number")
R_UNKNOWN_PHONE = gettext_noop("no member has the mobile number %(phone)s")
R_PHONE_OUTSIDE = gettext_noop("the admin with mobile number %(phone)s is outside your area")
R_BAD_COUNT = gettext_noop("member count “%(count)s” is not a whole number from 0 to 5000")
R_REPEATED = gettext_noop("group %(name)s of %(code)s appears again (first on line %(line)s)")


def reason_text(reason: dict) -> str:
    return _(reason["msgid"]) % reason.get("params", {})


def import_groups(rows: Iterable[dict], *, actor=None, commit: bool = False) -> dict:
    """Check (and with ``commit`` write, in one transaction) rows of ``unit_code, group_name,
    invite_link, admin_phone, member_count``; line numbers count the header as line 1. A row
    naming a group its unit has already updates it (link, admin added, count recorded).
    Units and admins outside the actor's jurisdiction are refused.
    Returns ``{"rows", "valid", "invalid": [{"line", "reasons": [...]}], "created",
    "updated", "committed"}``."""
    from sangathan.people.phones import PhoneError, normalise_phone

    j = jurisdiction_for(actor) if actor is not None else None
    entries = []
    for index, raw in enumerate(rows):
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if any(row.values()):
            entries.append((index + 2, row))
    codes = {row.get("unit_code", "") for _l, row in entries} - {""}
    units = {
        u.code: u for u in OrgUnit.objects.filter(code__in=codes).only("pk", "code", "path", "name")
    }
    phones: dict[str, str] = {}
    for _l, row in entries:
        raw_phone = row.get("admin_phone", "")
        if raw_phone:
            try:
                phones[raw_phone] = normalise_phone(raw_phone)
            except PhoneError:
                pass
    people = {
        p.phone: p
        for p in Person.objects.filter(phone__in=set(phones.values())).select_related("unit")
    }
    existing = {
        (g.unit_id, g.name): g
        for g in Group.objects.filter(unit__in=[u.pk for u in units.values()])
    }
    invalid, good, seen = [], [], {}
    for line, row in entries:
        reasons: list[dict] = []

        def refuse(msgid, _reasons=reasons, **params):
            _reasons.append({"msgid": msgid, "params": params})

        code, name = row.get("unit_code", ""), row.get("group_name", "")
        unit = units.get(code)
        if not code:
            refuse(R_UNIT_EMPTY)
        elif unit is None:
            refuse(R_UNKNOWN_UNIT, code=code)
        elif j is not None and not j.contains(unit):
            # Outside the jurisdiction: said as such only for codes that exist (import staff
            # know their codes; a wrong district is the commonest mistake in a shared sheet).
            refuse(R_OUTSIDE, code=code)
        if not name:
            refuse(R_NAME_EMPTY)
        link = row.get("invite_link", "")
        if link:
            try:
                validate_invite_link(link)
            except ValidationError:
                refuse(R_BAD_LINK, link=link)
        person = None
        raw_phone = row.get("admin_phone", "")
        if raw_phone:
            phone = phones.get(raw_phone)
            if phone is None:
                refuse(R_BAD_PHONE, phone=raw_phone)
            else:
                person = people.get(phone)
                if person is None:
                    refuse(R_UNKNOWN_PHONE, phone=phone)
                elif j is not None and not j.contains(person.unit):
                    refuse(R_PHONE_OUTSIDE, phone=phone)
        count = row.get("member_count", "").replace(",", "")
        members = None
        if count:
            if count.isdigit() and int(count) <= MAX_MEMBERS:
                members = int(count)
            else:
                refuse(R_BAD_COUNT, count=count)
        key = (code, name.casefold())
        if code and name and key in seen:
            refuse(R_REPEATED, name=name, code=code, line=seen[key])
        elif code and name:
            seen[key] = line
        if reasons:
            invalid.append({"line": line, "reasons": reasons})
        else:
            good.append((unit, name, link, person, members, existing.get((unit.pk, name))))
    result = {
        "rows": len(entries),
        "valid": len(good),
        "invalid": invalid,
        "created": sum(1 for g in good if g[5] is None),
        "updated": sum(1 for g in good if g[5] is not None),
        "committed": False,
    }
    if commit and good:
        _write_groups(actor, good, result)
        result["committed"] = True
    return result


@transaction.atomic(durable=True)
def _write_groups(actor, good, result) -> None:
    by = actor if actor is not None and actor.pk else None
    today = timezone.localdate()
    now = timezone.now()
    for unit, name, link, person, members, group in good:
        if group is None:
            group = Group.objects.create(
                unit=unit,
                name=name[:200],
                invite_link=link,
                member_count=members or 0,
                member_count_on=today if members is not None else None,
                last_verified_on=today if members is not None else None,
                created_by=by,
            )
            if link:
                InviteLink.objects.create(group=group, url=link, set_by=by, set_at=now)
        elif link and link != group.invite_link:
            InviteLink.objects.filter(group=group, replaced_at=None).update(replaced_at=now)
            InviteLink.objects.create(group=group, url=link, set_by=by, set_at=now)
            group.invite_link = link
            group.save(update_fields=["invite_link"])
        if members is not None:
            MemberCount.objects.update_or_create(
                group=group, counted_on=today, defaults={"members": members, "recorded_by": by}
            )
            Group.objects.filter(pk=group.pk).update(
                member_count=members, member_count_on=today, last_verified_on=today
            )
        if person is not None:
            GroupAdmin.objects.get_or_create(group=group, person=person, defaults={"added_by": by})
    audit(
        "import_groups",
        actor=actor,
        created=result["created"],
        updated=result["updated"],
        invalid=len(result["invalid"]),
    )
