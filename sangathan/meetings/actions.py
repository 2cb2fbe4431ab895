"""Writes that matter for meetings. Each ``do_*`` is one durable transaction that checks the
actor's jurisdiction (the host unit, the units and people it names), writes its rows
set-based and records an audit entry; the invitations' notifications are one background task
per meeting (``sangathan.meetings.tasks``), scheduled on commit.

Action items and their tasks move together through these functions, not signals: staff
marking an item done here ticks its task for the assignee(s); a member ticking the task in
the app calls ``task_done_changed`` from ``sangathan.people.actions``."""

from __future__ import annotations

import datetime

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sangathan.accounts.audit import audit
from sangathan.meetings.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    CalendarFeed,
    Invitation,
    InviteRule,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Rsvp,
)
from sangathan.org.models import OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.actions import ActionRefused
from sangathan.people.models import (
    ERASED_PHONE_PREFIX,
    Appointment,
    Person,
    Position,
    Task,
    TaskDone,
    TaskKind,
)

BATCH = 1000


def _check_unit(actor, unit: OrgUnit) -> None:
    if actor is not None and not jurisdiction_for(actor).contains(unit):
        raise ActionRefused(
            _("%(unit)s is outside your area.") % {"unit": unit.display_name},
            code="outside_jurisdiction",
        )


def _check_person(actor, person: Person) -> None:
    if actor is not None and not jurisdiction_for(actor).contains(person.unit):
        raise ActionRefused(
            _("%(name)s is outside your area.") % {"name": person.display_name},
            code="outside_jurisdiction",
        )


def _actor(actor):
    return actor if actor is not None and actor.pk else None


# --- meetings ------------------------------------------------------------------------------


def _check_times(starts_at, ends_at) -> None:
    if ends_at <= starts_at:
        raise ActionRefused(_("The meeting must end after it starts."), code="bad_times")


def do_create_meeting(
    actor,
    *,
    host_unit: OrgUnit,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    kind: str = MeetingKind.DISTRICT,
    title_hi: str = "",
    chair: Person | None = None,
    venue: str = "",
    online_link: str = "",
    follows: Meeting | None = None,
    request=None,
) -> Meeting:
    _check_unit(actor, host_unit)
    if chair is not None:
        _check_person(actor, chair)
    _check_times(starts_at, ends_at)
    if not (title or "").strip():
        raise ActionRefused(_("Give the meeting a title."), code="no_title")
    with transaction.atomic(durable=True):
        meeting = Meeting.objects.create(
            host_unit=host_unit,
            title=title.strip()[:200],
            title_hi=(title_hi or "").strip()[:200],
            kind=kind,
            chair=chair,
            starts_at=starts_at,
            ends_at=ends_at,
            venue=(venue or "").strip(),
            online_link=(online_link or "").strip(),
            follows=follows,
            created_by=_actor(actor),
        )
        if follows is not None:
            _carry_open_items(follows, meeting, actor)
        audit(
            "meeting_created",
            actor=actor,
            obj=meeting,
            request=request,
            unit=host_unit.code,
            follows=follows.code if follows else None,
        )
    return meeting


FIELDS = ("title", "title_hi", "kind", "chair", "starts_at", "ends_at", "venue", "online_link")


def do_update_meeting(actor, meeting: Meeting, *, request=None, **changes) -> Meeting:
    _check_unit(actor, meeting.host_unit)
    if changes.get("chair") is not None:
        _check_person(actor, changes["chair"])
    _check_times(
        changes.get("starts_at", meeting.starts_at), changes.get("ends_at", meeting.ends_at)
    )
    with transaction.atomic(durable=True):
        for name in FIELDS:
            if name in changes:
                setattr(meeting, name, changes[name])
        meeting.save()
        audit("meeting_updated", actor=actor, obj=meeting, request=request)
    return meeting


def do_set_meeting_status(actor, meeting: Meeting, status: str, *, request=None) -> Meeting:
    _check_unit(actor, meeting.host_unit)
    if status not in MeetingStatus.values:
        raise ActionRefused(_("Unknown status."), code="bad_status")
    with transaction.atomic(durable=True):
        meeting.status = status
        meeting.save(update_fields=["status"])
        audit("meeting_status", actor=actor, obj=meeting, request=request, status=status)
    return meeting


# --- agenda --------------------------------------------------------------------------------


def do_add_agenda_item(
    actor, meeting: Meeting, *, title: str, presenter=None, minutes: int = 15, request=None
) -> AgendaItem:
    _check_unit(actor, meeting.host_unit)
    if presenter is not None:
        _check_person(actor, presenter)
    if not (title or "").strip():
        raise ActionRefused(_("Give the agenda item a title."), code="no_title")
    with transaction.atomic(durable=True):
        last = meeting.agenda.aggregate(m=models.Max("order"))["m"]
        item = AgendaItem.objects.create(
            meeting=meeting,
            order=0 if last is None else last + 1,
            title=title.strip()[:200],
            presenter=presenter,
            minutes=max(1, min(int(minutes or 15), 600)),
        )
        audit("agenda_added", actor=actor, obj=item, request=request, meeting=meeting.code)
    return item


def do_reorder_agenda(actor, meeting: Meeting, ids: list[int], *, request=None) -> None:
    """Put the agenda in the order of ``ids`` (items not named keep their place after)."""
    _check_unit(actor, meeting.host_unit)
    items = list(meeting.agenda.all())
    by_id = {i.pk: i for i in items}
    ordered = [by_id[i] for i in ids if i in by_id]
    ordered += [i for i in items if i not in ordered]
    with transaction.atomic(durable=True):
        for n, item in enumerate(ordered):
            item.order = n
        AgendaItem.objects.bulk_update(ordered, ["order"])
        audit("agenda_reordered", actor=actor, obj=meeting, request=request)


def do_move_agenda_item(actor, item: AgendaItem, step: int, *, request=None) -> None:
    ids = list(item.meeting.agenda.values_list("pk", flat=True))
    i = ids.index(item.pk)
    j = max(0, min(len(ids) - 1, i + step))
    ids.insert(j, ids.pop(i))
    do_reorder_agenda(actor, item.meeting, ids, request=request)


def do_remove_agenda_item(actor, item: AgendaItem, *, request=None) -> None:
    _check_unit(actor, item.meeting.host_unit)
    with transaction.atomic(durable=True):
        audit("agenda_removed", actor=actor, obj=item, request=request, title=item.title)
        item.delete()


def do_record_minutes(
    actor, item: AgendaItem, *, notes: str, decisions: str, request=None
) -> AgendaItem:
    _check_unit(actor, item.meeting.host_unit)
    with transaction.atomic(durable=True):
        item.notes = (notes or "").strip()
        item.decisions = (decisions or "").strip()
        item.save(update_fields=["notes", "decisions"])
        audit("minutes_recorded", actor=actor, obj=item, request=request)
    return item


# --- invitees ------------------------------------------------------------------------------


def do_add_invite_rule(
    actor, meeting: Meeting, *, position: Position, scope_unit: OrgUnit, request=None
) -> InviteRule:
    _check_unit(actor, meeting.host_unit)
    _check_unit(actor, scope_unit)
    if position.level.depth < scope_unit.level.depth:
        raise ActionRefused(
            _("%(position)s is a post above %(unit)s; choose a larger area.")
            % {"position": position.display_name, "unit": scope_unit.display_name},
            code="post_above_area",
        )
    with transaction.atomic(durable=True):
        rule, _created = InviteRule.objects.get_or_create(
            meeting=meeting, position=position, scope_unit=scope_unit
        )
        audit(
            "invite_rule_added",
            actor=actor,
            obj=meeting,
            request=request,
            position=position.pk,
            unit=scope_unit.code,
        )
    return rule


def do_remove_invite_rule(actor, rule: InviteRule, *, request=None) -> None:
    _check_unit(actor, rule.meeting.host_unit)
    with transaction.atomic(durable=True):
        audit("invite_rule_removed", actor=actor, obj=rule.meeting, request=request)
        rule.delete()


def do_add_extra_invitee(actor, meeting: Meeting, person: Person, *, request=None) -> None:
    _check_unit(actor, meeting.host_unit)
    _check_person(actor, person)
    with transaction.atomic(durable=True):
        meeting.extra_invitees.add(person)
        audit("invitee_added", actor=actor, obj=meeting, request=request, person=person.pk)


def do_remove_extra_invitee(actor, meeting: Meeting, person: Person, *, request=None) -> None:
    _check_unit(actor, meeting.host_unit)
    with transaction.atomic(durable=True):
        meeting.extra_invitees.remove(person)
        audit("invitee_removed", actor=actor, obj=meeting, request=request, person=person.pk)


def _rules_q(rules) -> Q | None:
    q = None
    for position_id, path in rules:
        part = Q(position_id=position_id, unit__path__startswith=path)
        q = part if q is None else q | part
    return q


def rule_appointments(rules):
    """Current appointments matching any of ``rules`` ((position id, scope path) pairs),
    erased people left out; a queryset, so it stays in SQL."""
    q = _rules_q(rules)
    if q is None:
        return Appointment.objects.none()
    return (
        Appointment.objects.current()
        .filter(q)
        .exclude(person__phone__startswith=ERASED_PHONE_PREFIX)
    )


def _meeting_rules(meeting) -> list[tuple[int, str]]:
    return list(meeting.rules.values_list("position_id", "scope_unit__path"))


def invitee_count(rules, extra_ids=()) -> int:
    """How many distinct people ``rules`` plus the extra people would invite (two queries)."""
    by_rule = rule_appointments(rules).values("person_id")
    n = by_rule.order_by().distinct().count()
    if extra_ids:
        n += (
            Person.objects.filter(pk__in=list(extra_ids))
            .exclude(pk__in=by_rule)
            .not_erased()
            .count()
        )
    return n


def do_send_invitations(actor, meeting: Meeting, *, request=None) -> int:
    """Resolve the rules and extra people now and record one ``Invitation`` per person (a
    snapshot; sending again adds only people new since), each with an "attend" task in the
    member's app; the external channels follow in one background task. Returns how many
    invitations were new."""
    from sangathan.meetings.tasks import notify_invitees

    _check_unit(actor, meeting.host_unit)
    if meeting.status == MeetingStatus.CANCELLED:
        raise ActionRefused(_("This meeting was cancelled."), code="cancelled")
    rules = _meeting_rules(meeting)
    extras = list(meeting.extra_invitees.values_list("pk", flat=True))
    if not rules and not extras:
        raise ActionRefused(_("Add a rule or a person to invite first."), code="no_invitees")
    now = timezone.now()
    with transaction.atomic(durable=True):
        already = set(meeting.invitations.values_list("person_id", flat=True))
        chosen: dict[int, tuple[int, str, bool]] = {}
        # The highest post first: someone invited as district convenor and as booth
        # volunteer counts for the district.
        for person_id, unit_id, path in (
            rule_appointments(rules)
            .order_by("unit__depth", "pk")
            .values_list("person_id", "unit_id", "unit__path")
            .iterator(chunk_size=BATCH)
        ):
            if person_id not in already and person_id not in chosen:
                chosen[person_id] = (unit_id, path, True)
        if extras:
            for person_id, unit_id, path in (
                Person.objects.filter(pk__in=extras)
                .not_erased()
                .values_list("pk", "unit_id", "unit__path")
            ):
                if person_id not in already and person_id not in chosen:
                    chosen[person_id] = (unit_id, path, False)
        title = _("Attend: %(title)s") % {"title": meeting.display_title}
        when = timezone.localtime(meeting.starts_at).strftime("%d.%m.%Y %H:%M")
        body = " · ".join(filter(None, [when, meeting.venue or meeting.online_link]))
        link = f"/app/#/meetings/{meeting.code}"
        people = list(chosen.items())
        for start in range(0, len(people), BATCH):
            part = people[start : start + BATCH]
            tasks = Task.objects.bulk_create(
                [
                    Task(
                        title=title[:200],
                        body=body,
                        link=link,
                        kind=TaskKind.ATTEND,
                        person_id=person_id,
                        scope_unit_id=unit_id,
                        due=timezone.localtime(meeting.starts_at).date(),
                        created_by=_actor(actor),
                        created_at=now,
                    )
                    for person_id, (unit_id, _path, _rule) in part
                ]
            )
            Invitation.objects.bulk_create(
                [
                    Invitation(
                        meeting=meeting,
                        person_id=person_id,
                        unit_id=unit_id,
                        unit_path=path,
                        via_rule=via_rule,
                        invited_at=now,
                        task=task,
                    )
                    for (person_id, (unit_id, path, via_rule)), task in zip(
                        part, tasks, strict=True
                    )
                ]
            )
        meeting.status = MeetingStatus.INVITED
        meeting.invitations_sent_at = now
        meeting.save(update_fields=["status", "invitations_sent_at"])
        audit(
            "invitations_sent",
            actor=actor,
            obj=meeting,
            request=request,
            new=len(people),
            rules=len(rules),
            extras=len(extras),
        )
        if people:
            transaction.on_commit(lambda: notify_invitees.enqueue(meeting.pk))
    return len(people)


# --- the member's answers and attendance -----------------------------------------------------


def _invitation(person: Person, meeting: Meeting) -> Invitation:
    invitation = Invitation.objects.filter(meeting=meeting, person=person).first()
    if invitation is None:
        raise ActionRefused(_("You are not invited to this meeting."), code="not_invited")
    return invitation


def do_rsvp(person: Person, meeting: Meeting, answer: str, *, request=None) -> Invitation:
    if answer not in (Rsvp.YES, Rsvp.NO, Rsvp.MAYBE):
        raise ActionRefused(_("Answer yes, no or maybe."), code="bad_answer")
    if meeting.status == MeetingStatus.CANCELLED:
        raise ActionRefused(_("This meeting was cancelled."), code="cancelled")
    invitation = _invitation(person, meeting)
    with transaction.atomic(durable=True):
        if invitation.rsvp != answer:
            invitation.rsvp = answer
            invitation.rsvp_at = timezone.now()
            invitation.save(update_fields=["rsvp", "rsvp_at"])
            audit("rsvp", obj=meeting, request=request, person=person.pk, answer=answer)
    return invitation


def do_check_in(person: Person, meeting: Meeting, code: str, *, request=None) -> Invitation:
    """The member typed or scanned the code on the organiser's screen."""
    invitation = _invitation(person, meeting)
    now = timezone.now()
    if not meeting.checkin_open(now):
        raise ActionRefused(_("Check-in for this meeting is closed."), code="checkin_closed")
    digits = "".join(ch for ch in str(code or "") if ch.isdigit())
    digits = digits.translate(str.maketrans("०१२३४५६७८९", "0123456789"))
    if not meeting.checkin_code_valid(digits, now):
        raise ActionRefused(
            _("That code is wrong or has expired. Look at the screen again."), code="bad_code"
        )
    with transaction.atomic(durable=True):
        if invitation.attended_at is None:
            invitation.attended_at = now
            invitation.checkin_method = "code"
            invitation.save(update_fields=["attended_at", "checkin_method"])
            if invitation.task_id:
                TaskDone.objects.get_or_create(task_id=invitation.task_id, person=person)
            audit("checked_in", obj=meeting, request=request, person=person.pk)
    return invitation


def do_mark_present(
    actor, meeting: Meeting, person_ids, *, present: bool = True, request=None
) -> int:
    """The organiser marks invitees present (or not): set-based, returns rows changed."""
    _check_unit(actor, meeting.host_unit)
    ids = [int(i) for i in person_ids]
    with transaction.atomic(durable=True):
        rows = meeting.invitations.filter(person_id__in=ids)
        if present:
            changed = rows.filter(attended_at=None).update(
                attended_at=timezone.now(), checkin_method="organiser"
            )
        else:
            changed = rows.exclude(attended_at=None).update(attended_at=None, checkin_method="")
        audit(
            "attendance_marked",
            actor=actor,
            obj=meeting,
            request=request,
            people=ids[:100],
            present=present,
        )
    return changed


def attendance_by_unit(meeting: Meeting) -> list[dict]:
    """Invited and attended, rolled up to the host unit's children (and the host itself for
    people invited at its own level, "other" for people from elsewhere). Reads one grouped
    row per distinct unit of the invitees, never a row per person."""
    host = meeting.host_unit
    rows = (
        meeting.invitations.order_by()
        .values("unit_path")
        .annotate(
            invited=models.Count("pk"),
            attended=models.Count("pk", filter=Q(attended_at__isnull=False)),
            yes=models.Count("pk", filter=Q(rsvp="yes")),
        )
    )
    depth = len(host.path) + host.steplen
    buckets: dict[str, dict] = {}
    for row in rows:
        path = row["unit_path"]
        if not path.startswith(host.path):
            key = "other"
        elif len(path) <= len(host.path):
            key = host.path
        else:
            key = path[:depth]
        b = buckets.setdefault(key, {"invited": 0, "attended": 0, "yes": 0})
        for k in ("invited", "attended", "yes"):
            b[k] += row[k]
    units = OrgUnit.objects.select_related("level").in_bulk(
        [k for k in buckets if k != "other"], field_name="path"
    )
    out = []
    for key in sorted(buckets, key=lambda k: (k == "other", k)):
        b = buckets[key]
        unit = units.get(key)
        out.append(
            {
                "unit": unit,
                "name": unit.display_name if unit else _("Elsewhere"),
                **b,
                "rate": round(100 * b["attended"] / b["invited"]) if b["invited"] else 0,
            }
        )
    return out


# --- action items --------------------------------------------------------------------------


def _action_task(item: ActionItem, actor) -> Task:
    when = timezone.localtime(item.meeting.starts_at).strftime("%d.%m.%Y")
    return Task.objects.create(
        title=item.title[:200],
        body=(item.details or "")
        + ("\n\n" if item.details else "")
        + _("From the meeting: %(title)s (%(date)s)")
        % {"title": item.meeting.display_title, "date": when},
        link=f"/app/#/meetings/{item.meeting.code}",
        kind=TaskKind.ACTION,
        person=item.person if item.person_id else None,
        position=item.position if item.position_id else None,
        scope_unit=item.unit,
        due=item.due,
        created_by=_actor(actor),
    )


def do_add_action_item(
    actor,
    meeting: Meeting,
    *,
    title: str,
    due: datetime.date | None = None,
    person: Person | None = None,
    position: Position | None = None,
    unit: OrgUnit | None = None,
    agenda_item: AgendaItem | None = None,
    details: str = "",
    request=None,
) -> ActionItem:
    """An action item for one person, or for ``position`` at ``unit`` (whoever holds it
    there), with its task in the assignee's "My tasks"."""
    _check_unit(actor, meeting.host_unit)
    title = (title or "").strip()
    if not title:
        raise ActionRefused(_("Say what is to be done."), code="no_title")
    if (person is None) == (position is None):
        raise ActionRefused(
            _("Assign the action either to one person or to a post at a unit."),
            code="bad_assignee",
        )
    if person is not None:
        _check_person(actor, person)
        unit = person.unit
    else:
        if unit is None:
            raise ActionRefused(_("Choose the unit of the post."), code="no_unit")
        _check_unit(actor, unit)
        if position.level_id != unit.level_id:
            raise ActionRefused(
                _("%(position)s is not a post at %(unit)s.")
                % {"position": position.display_name, "unit": unit.display_name},
                code="post_not_at_unit",
            )
    if agenda_item is not None and agenda_item.meeting_id != meeting.pk:
        agenda_item = None
    with transaction.atomic(durable=True):
        item = ActionItem.objects.create(
            meeting=meeting,
            agenda_item=agenda_item,
            title=title[:200],
            details=(details or "").strip(),
            person=person,
            position=position,
            unit=unit,
            due=due,
            created_by=_actor(actor),
        )
        item.task = _action_task(item, actor)
        item.save(update_fields=["task"])
        audit("action_item_added", actor=actor, obj=item, request=request, meeting=meeting.code)
    return item


def _assignees(item: ActionItem):
    """People the item's task reaches now."""
    if item.person_id:
        return Person.objects.filter(pk=item.person_id)
    return Person.objects.filter(
        pk__in=Appointment.objects.current()
        .filter(position_id=item.position_id, unit__path__startswith=item.unit.path)
        .values("person_id")
    )


def _set_done(item: ActionItem, done: bool) -> bool:
    if (item.status == ActionStatus.DONE) == done:
        return False
    item.status = ActionStatus.DONE if done else ActionStatus.OPEN
    item.done_at = timezone.now() if done else None
    item.save(update_fields=["status", "done_at"])
    return True


def do_set_action_item_done(actor, item: ActionItem, done: bool = True, *, request=None) -> bool:
    """Staff mark an item done (or open again): its task is ticked (or unticked) for the
    assignee(s) in the same transaction, set-based."""
    _check_unit(actor, item.meeting.host_unit)
    with transaction.atomic(durable=True):
        changed = _set_done(item, done)
        task_ids = [t for t in (item.task_id, item.escalation_task_id) if t]
        if done:
            rows = [
                TaskDone(task_id=t, person_id=p)
                for t in task_ids[:1]
                for p in _assignees(item).values_list("pk", flat=True)
            ]
            TaskDone.objects.bulk_create(rows, ignore_conflicts=True)
        else:
            TaskDone.objects.filter(task_id__in=task_ids).delete()
        if changed:
            audit("action_item_done" if done else "action_item_reopened", actor=actor, obj=item)
    return changed


def task_done_changed(task, person, done: bool) -> None:
    """Called by ``sangathan.people.actions`` inside its transaction when a member ticks or
    unticks an "action" task in the app: the action item follows. Unticking reopens it only
    when nobody else has it ticked."""
    item = (
        ActionItem.objects.filter(Q(task=task) | Q(escalation_task=task))
        .select_related("meeting")
        .first()
    )
    if item is None:
        return
    if done:
        changed = _set_done(item, True)
    else:
        still = TaskDone.objects.filter(
            task_id__in=[t for t in (item.task_id, item.escalation_task_id) if t]
        ).exists()
        changed = False if still else _set_done(item, False)
    if changed:
        audit(
            "action_item_done" if done else "action_item_reopened",
            obj=item,
            person=person.pk,
            via="task",
        )


# --- escalation ----------------------------------------------------------------------------


def _escalation_target(item: ActionItem) -> tuple[Position, OrgUnit] | None:
    """The post at the next level up: the same wing's post at the parent unit (the one with
    fewest seats: the convenor before the co-convenors) held by someone now, else any post
    at the parent unit held by someone (its in-charge)."""
    if item.position_id:
        base_unit, wing = item.unit, item.position.wing
    else:
        appointment = (
            Appointment.objects.current()
            .filter(person_id=item.person_id)
            .select_related("unit", "position")
            .order_by("unit__depth")
            .first()
        )
        if appointment is not None:
            base_unit, wing = appointment.unit, appointment.position.wing
        else:
            base_unit, wing = item.unit, ""
    ancestors = OrgUnit.objects.filter(path__in=base_unit.ancestor_paths()[:-1]).order_by("-depth")
    for parent in ancestors:
        held = (
            Position.objects.filter(
                level_id=parent.level_id,
                appointments__in=Appointment.objects.current().filter(unit=parent),
            )
            .distinct()
            .order_by("seats", "pk")
        )
        position = held.filter(wing=wing).first() if wing else None
        position = position or held.first()
        if position is not None:
            return position, parent
    return None


def escalate_overdue(today: datetime.date | None = None) -> int:
    """Give every overdue open action item, once, to the next level up: a task for the post
    above (see ``_escalation_target``). Idempotent: an item is claimed by a conditional
    UPDATE of ``escalated_at`` before anything is created, so two sweeps never both do it."""
    today = today or timezone.localdate()
    count = 0
    ids = list(
        ActionItem.objects.overdue(today).filter(escalated_at=None).values_list("pk", flat=True)
    )
    for pk in ids:
        with transaction.atomic():
            claimed = ActionItem.objects.filter(pk=pk, escalated_at=None).update(
                escalated_at=timezone.now()
            )
            if not claimed:
                continue
            item = ActionItem.objects.select_related("meeting", "unit", "position", "person").get(
                pk=pk
            )
            target = _escalation_target(item)
            if target is None:
                continue
            position, unit = target
            task = Task.objects.create(
                title=(_("Overdue: %(title)s") % {"title": item.title})[:200],
                body=_("%(who)s was to do this by %(date)s (meeting: %(meeting)s).")
                % {
                    "who": item.assignee_label,
                    "date": item.due.strftime("%d.%m.%Y"),
                    "meeting": item.meeting.display_title,
                },
                link=f"/app/#/meetings/{item.meeting.code}",
                kind=TaskKind.ACTION,
                position=position,
                scope_unit=unit,
                due=today,
            )
            item.escalation_task = task
            item.save(update_fields=["escalation_task"])
            audit("action_item_escalated", obj=item, position=position.pk, unit=unit.code)
            count += 1
    return count


# --- follow-up meetings --------------------------------------------------------------------


def _carry_open_items(previous: Meeting, meeting: Meeting, actor) -> None:
    """The follow-up starts from the open action items: its first agenda item lists them.
    The items themselves stay with the meeting that decided them (one item, one task, one
    tick); the follow-up's page shows them with their live status."""
    items = list(previous.action_items.open().select_related("person", "position", "unit"))
    if not items:
        return
    lines = "\n".join(
        f"• {i.title} — {i.assignee_label}" + (f" ({i.due:%d.%m.%Y})" if i.due else "")
        for i in items
    )
    AgendaItem.objects.create(
        meeting=meeting,
        order=0,
        title=_("Open action items from %(meeting)s") % {"meeting": previous.display_title},
        minutes=max(10, 5 * len(items)),
        notes=lines,
    )


def do_create_follow_up(actor, previous: Meeting, *, starts_at, ends_at, request=None) -> Meeting:
    """A new meeting like ``previous`` (host, type, chair, place, invite rules and extra
    people) that starts from its open action items."""
    _check_unit(actor, previous.host_unit)
    meeting = do_create_meeting(
        actor,
        host_unit=previous.host_unit,
        title=previous.title,
        title_hi=previous.title_hi,
        kind=previous.kind,
        chair=previous.chair,
        starts_at=starts_at,
        ends_at=ends_at,
        venue=previous.venue,
        online_link=previous.online_link,
        follows=previous,
        request=request,
    )
    with transaction.atomic(durable=True):
        InviteRule.objects.bulk_create(
            [
                InviteRule(
                    meeting=meeting, position_id=r.position_id, scope_unit_id=r.scope_unit_id
                )
                for r in previous.rules.all()
            ]
        )
        meeting.extra_invitees.set(previous.extra_invitees.all())
    return meeting


# --- calendar feeds ------------------------------------------------------------------------


def do_new_calendar_feed(user, *, request=None) -> CalendarFeed:
    """A fresh feed address for ``user``; any earlier one stops working."""
    with transaction.atomic(durable=True):
        CalendarFeed.objects.filter(user=user, revoked_at=None).update(revoked_at=timezone.now())
        feed = CalendarFeed.objects.create(user=user)
        audit("calendar_feed_created", actor=user, obj=feed, request=request)
    return feed


def do_revoke_calendar_feed(user, *, request=None) -> int:
    with transaction.atomic(durable=True):
        n = CalendarFeed.objects.filter(user=user, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        if n:
            audit("calendar_feed_revoked", actor=user, request=request)
    return n
