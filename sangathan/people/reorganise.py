"""Bulk reorganisation: a CSV of appointments (``phone, position, unit_code, action, date``)
previewed, applied in one transaction, and undone as a batch.

``plan_reorganisation`` reads the file against the database and the actor's jurisdiction and
returns what would happen, row by row, with the conflicts (line numbers and reasons in the
user's language); it writes nothing. ``do_apply_reorganisation`` plans again inside its
transaction and applies all rows or none: any conflict refuses the whole file. The batch keeps
what it did (``ReorgChange``), so ``do_undo_reorganisation`` reverses exactly that, and
refuses (saying why) when a later change touched the same appointments or seats.

Rows, in file order (a relieve earlier in the file frees the seat for an appoint later on):

* ``appoint``: the person takes ``position`` at ``unit_code`` from ``date``;
* ``relieve``: the person's current ``position`` at ``unit_code`` ends on ``date``;
* ``transfer``: the person's current ``position`` (held at exactly one other unit) ends on
  ``date`` and starts at ``unit_code`` that day.

Dates: empty is today; never in the future (the maintained counts follow current
appointments), never more than ``MAX_BACKDATE_DAYS`` back, never before the start of the
appointment being ended. ``position`` is the post's English or Hindi title (at the unit's
level), or ``wing: title`` when two wings share a title.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from sangathan.accounts.audit import audit
from sangathan.org.counts import ancestor_paths
from sangathan.org.models import OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.actions import ActionRefused
from sangathan.people.models import (
    AppliedCommittee,
    Appointment,
    CommitteeSeat,
    Person,
    Position,
    ReorgBatch,
    ReorgChange,
)
from sangathan.people.phones import PhoneError, normalise_phone

COLUMNS = ("phone", "position", "unit_code", "action")
ACTIONS = ("appoint", "relieve", "transfer")
MAX_BACKDATE_DAYS = 366
MAX_ROWS = 20_000


class ReorganisationFileError(Exception):
    """The file as a whole cannot be read; the message says why, in the user's language."""


class ReorganisationRefused(ActionRefused):
    """Apply or undo refused; ``conflicts`` lists the reasons with their line numbers."""

    def __init__(self, message, conflicts, code="conflicts"):
        super().__init__(message, code=code)
        self.conflicts = conflicts


@dataclass
class Change:
    line: int
    action: str
    person: Person
    position: Position
    unit: OrgUnit  # the unit appointed to, relieved at, or transferred to
    on: datetime.date
    old: Appointment | None = None  # the appointment relieved or transferred away from


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    rows: int = 0

    @property
    def counts(self) -> dict:
        c = Counter(ch.action for ch in self.changes)
        return {a: c.get(a, 0) for a in ACTIONS}

    def as_json(self) -> dict:
        return {**self.counts, "conflicts": self.conflicts}


# --- reading ---------------------------------------------------------------------------------


def read_rows(data: bytes) -> list[tuple[int, dict]]:
    """(line number, row) pairs of a CSV with the interface's columns; lower-cased headers.
    UTF-8 (with or without BOM) or UTF-16; comma, semicolon or tab separated."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ReorganisationFileError(
                _("The file is not UTF-8 text; save it as “CSV UTF-8”.")
            ) from None
    if not text.strip():
        raise ReorganisationFileError(_("The file is empty."))
    first = text.splitlines()[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ReorganisationFileError(
            _("Missing column(s): %(columns)s. Expected: phone, position, unit_code, action, date.")
            % {"columns": ", ".join(missing)}
        )
    rows = []
    for line_no, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        row = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
        rows.append((line_no, row))
        if len(rows) > MAX_ROWS:
            raise ReorganisationFileError(
                _("The file has more than %(n)d rows; split it by district.") % {"n": MAX_ROWS}
            )
    return rows


def parse_date(raw: str, today: datetime.date) -> datetime.date | None:
    raw = raw.strip()
    if not raw:
        return today
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return datetime.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


# --- planning --------------------------------------------------------------------------------


class _Seats:
    """Seats of posts at units, from the templates and where they apply (read once)."""

    def __init__(self):
        self.template_of = dict(CommitteeSeat.objects.values_list("position_id", "template_id"))
        self.template_seats = dict(CommitteeSeat.objects.values_list("position_id", "seats"))
        self.applied = defaultdict(set)
        for template_id, path in AppliedCommittee.objects.values_list("template_id", "scope__path"):
            self.applied[template_id].add(path)

    def at(self, position: Position, unit: OrgUnit) -> int:
        if position.pk not in self.template_of:
            return position.seats
        scopes = self.applied.get(self.template_of[position.pk], ())
        if any(unit.path.startswith(s) for s in scopes):
            return self.template_seats[position.pk]
        return 0


def _find_position(raw: str, level_id: int, positions) -> Position | None | str:
    """The post named ``raw`` at ``level_id``; "ambiguous" when two wings share the title."""
    text = raw.strip().casefold()
    wing = None
    if ":" in text:
        wing, text = (part.strip() for part in text.split(":", 1))
    found = [
        p
        for p in positions
        if p.level_id == level_id
        and text in (p.title_en.casefold(), p.title_hi.casefold())
        and (wing is None or wing in (p.wing.casefold(), (p.wing_hi or "").casefold()))
    ]
    if len(found) > 1:
        return "ambiguous"
    return found[0] if found else None


def plan_reorganisation(data: bytes, actor) -> Plan:
    """What the file would do, and its conflicts; writes nothing. Reads are set-based: people,
    units, posts, current appointments and seat counts each in one query."""
    rows = read_rows(data)
    today = timezone.localdate()
    j = jurisdiction_for(actor) if actor is not None else None
    plan = Plan(rows=len(rows))

    def conflict(line, code, message):
        plan.conflicts.append({"line": line, "code": code, "message": message})

    phones = {}
    for line, row in rows:
        try:
            phones[line] = normalise_phone(row.get("phone", ""))
        except PhoneError:
            phones[line] = None
    people = {
        p.phone: p
        for p in Person.objects.filter(phone__in={p for p in phones.values() if p})
        .select_related("unit")
        .not_erased()
    }
    units = {
        u.code: u
        for u in OrgUnit.objects.filter(code__in={r.get("unit_code", "") for _l, r in rows})
        .select_related("level")
        .order_by()
    }
    positions = list(Position.objects.select_related("level"))
    seats = _Seats()
    person_ids = [p.pk for p in people.values()]
    # The state as the file's rows change it, starting from now.
    holding: dict[tuple[int, int], list[Appointment]] = defaultdict(list)  # (person, post)
    for a in (
        Appointment.objects.current(today)
        .filter(person_id__in=person_ids)
        .select_related("unit", "unit__level")
        .order_by("pk")
    ):
        holding[(a.person_id, a.position_id)].append(a)
    filled: Counter = Counter(
        {
            (pos, unit): n
            for pos, unit, n in Appointment.objects.current(today)
            .filter(unit__in=[u.pk for u in units.values()])
            .values("position", "unit")
            .annotate(n=Count("pk"))
            .values_list("position", "unit", "n")
        }
    )
    oldest = today - datetime.timedelta(days=MAX_BACKDATE_DAYS)

    for line, row in rows:
        action = row.get("action", "").strip().lower()
        if action not in ACTIONS:
            conflict(
                line,
                "bad_action",
                _("Unknown action “%(action)s”: use appoint, relieve or transfer.")
                % {"action": row.get("action", "")},
            )
            continue
        phone = phones[line]
        if phone is None:
            conflict(
                line,
                "bad_phone",
                _("“%(phone)s” is not a valid mobile number.") % {"phone": row.get("phone", "")},
            )
            continue
        person = people.get(phone)
        if person is None or (j is not None and not j.contains(person.unit)):
            # Outside the area reads the same as unknown: the file must not reveal who exists.
            conflict(
                line,
                "unknown_phone",
                _("No one with mobile %(phone)s in your area.") % {"phone": phone},
            )
            continue
        code = row.get("unit_code", "")
        unit = units.get(code)
        if unit is None or (j is not None and not j.contains(unit)):
            conflict(
                line, "unknown_unit", _("No unit with code %(code)s in your area.") % {"code": code}
            )
            continue
        position = _find_position(row.get("position", ""), unit.level_id, positions)
        if position == "ambiguous":
            conflict(
                line,
                "ambiguous_position",
                _("Several posts are called “%(position)s”; write it as “wing: title”.")
                % {"position": row.get("position", "")},
            )
            continue
        if position is None:
            conflict(
                line,
                "unknown_position",
                _("No post “%(position)s” at %(level)s level.")
                % {"position": row.get("position", ""), "level": unit.level.display_name},
            )
            continue
        on = parse_date(row.get("date", ""), today)
        if on is None:
            conflict(
                line,
                "bad_date",
                _("“%(date)s” is not a date; write it as 2026-04-30.") % {"date": row["date"]},
            )
            continue
        if on > today:
            conflict(line, "future_date", _("The date %(date)s is in the future.") % {"date": on})
            continue
        if on < oldest:
            conflict(
                line,
                "old_date",
                _("The date %(date)s is more than a year ago; record older changes by hand.")
                % {"date": on},
            )
            continue
        held = holding[(person.pk, position.pk)]
        names = {
            "person": person.display_name,
            "position": position.display_name,
            "unit": unit.display_name,
        }
        old = None
        if action == "relieve":
            old = next((a for a in held if a.unit_id == unit.pk), None)
            if old is None:
                conflict(
                    line,
                    "not_holding",
                    _("%(person)s does not hold %(position)s at %(unit)s.") % names,
                )
                continue
        elif action == "transfer":
            elsewhere = [a for a in held if a.unit_id != unit.pk]
            if any(a.unit_id == unit.pk for a in held):
                conflict(
                    line,
                    "already_holds",
                    _("%(person)s already holds %(position)s at %(unit)s.") % names,
                )
                continue
            if not elsewhere:
                conflict(
                    line,
                    "not_holding",
                    _(
                        "%(person)s holds %(position)s nowhere, so cannot be transferred; "
                        "appoint instead."
                    )
                    % names,
                )
                continue
            if len(elsewhere) > 1:
                conflict(
                    line,
                    "ambiguous_transfer",
                    _("%(person)s holds %(position)s at several units; relieve one, then appoint.")
                    % names,
                )
                continue
            old = elsewhere[0]
        else:
            if any(a.unit_id == unit.pk for a in held):
                conflict(
                    line,
                    "already_holds",
                    _("%(person)s already holds %(position)s at %(unit)s.") % names,
                )
                continue
        if old is not None:
            if j is not None and not j.contains(old.unit):
                conflict(
                    line,
                    "outside_jurisdiction",
                    _("%(unit)s is outside your area.") % {"unit": old.unit.display_name},
                )
                continue
            if on < old.starts:
                conflict(
                    line,
                    "before_start",
                    _("The date %(date)s is before the appointment started (%(start)s).")
                    % {"date": on, "start": old.starts},
                )
                continue
        if action in ("appoint", "transfer"):
            capacity = seats.at(position, unit)
            if filled[(position.pk, unit.pk)] >= capacity:
                conflict(
                    line,
                    "seats_full" if capacity else "no_seat",
                    (
                        _("All %(seats)d seat(s) of %(position)s at %(unit)s are filled.")
                        % {**names, "seats": capacity}
                    )
                    if capacity
                    else _("%(position)s has no seat at %(unit)s: apply its committee there first.")
                    % names,
                )
                continue
        # Accepted: change the state for the rows after this one.
        if old is not None:
            held.remove(old)
            filled[(position.pk, old.unit_id)] -= 1
        if action in ("appoint", "transfer"):
            filled[(position.pk, unit.pk)] += 1
            held.append(Appointment(person=person, position=position, unit=unit, starts=on))
        plan.changes.append(Change(line, action, person, position, unit, on, old))
    return plan


# --- writing ---------------------------------------------------------------------------------


def _apply_filled_deltas(deltas: dict[str, int]) -> None:
    """Add per-unit changes of filled seats to each unit and its ancestors: one UPDATE per
    distinct rolled-up delta, not one per appointment."""
    totals: dict[str, int] = defaultdict(int)
    for path, n in deltas.items():
        for prefix in ancestor_paths(path):
            totals[prefix] += n
    by_delta: dict[int, list[str]] = defaultdict(list)
    for path, n in totals.items():
        if n:
            by_delta[n].append(path)
    for n, paths in by_delta.items():
        for i in range(0, len(paths), 500):
            OrgUnit.objects.filter(path__in=paths[i : i + 500]).update(
                seats_filled=F("seats_filled") + n
            )


def do_preview_reorganisation(data: bytes, filename: str, *, actor) -> tuple[ReorgBatch, Plan]:
    """Plan the file and keep it as a batch waiting for its application."""
    plan = plan_reorganisation(data, actor)
    batch = ReorgBatch.objects.create(
        user=actor if actor is not None and actor.pk else None,
        filename=filename[:255],
        content=data,
        summary=plan.as_json(),
    )
    return batch, plan


def do_apply_reorganisation(batch: ReorgBatch, *, actor, request=None) -> Plan:
    """Apply every row of ``batch``, or none: the file is planned again inside the transaction
    (the database may have changed since the preview) and any conflict refuses it all."""
    with transaction.atomic(durable=True):
        batch = ReorgBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != ReorgBatch.Status.PREVIEWED:
            raise ReorganisationRefused(
                _("This file has already been applied."), [], code="already_applied"
            )
        plan = plan_reorganisation(bytes(batch.content), actor)
        if plan.conflicts:
            raise ReorganisationRefused(
                _("Nothing was changed: %(n)d row(s) have conflicts.") % {"n": len(plan.conflicts)},
                plan.conflicts,
            )
        if not plan.changes:
            raise ReorganisationRefused(_("The file has no changes to apply."), [], code="empty")
        who = actor if actor is not None and actor.pk else None
        deltas: dict[str, int] = defaultdict(int)
        ends: dict[datetime.date, list[int]] = defaultdict(list)
        for ch in plan.changes:
            if ch.old is not None:
                ends[ch.on].append(ch.old.pk)
                deltas[ch.old.unit.path] -= 1
        for on, pks in ends.items():
            Appointment.objects.filter(pk__in=pks).update(ends=on, ended_by=who)
        new = [
            Appointment(
                person=ch.person,
                position=ch.position,
                unit=ch.unit,
                starts=ch.on,
                appointed_by=who,
                note=f"reorganisation: {batch.filename}"[:255],
            )
            for ch in plan.changes
            if ch.action in ("appoint", "transfer")
        ]
        created = iter(Appointment.objects.bulk_create(new))
        rows = []
        for ch in plan.changes:
            started = next(created) if ch.action in ("appoint", "transfer") else None
            if started is not None:
                deltas[ch.unit.path] += 1
            rows.append(
                ReorgChange(
                    batch=batch,
                    line=ch.line,
                    action=ch.action,
                    started=started,
                    ended=ch.old,
                    ended_on=ch.on if ch.old is not None else None,
                )
            )
        ReorgChange.objects.bulk_create(rows)
        _apply_filled_deltas(deltas)
        batch.status = ReorgBatch.Status.APPLIED
        batch.applied_at = timezone.now()
        batch.summary = plan.as_json()
        batch.save(update_fields=["status", "applied_at", "summary"])
        audit(
            "reorganisation_applied",
            actor=actor,
            obj=batch,
            request=request,
            file=batch.filename,
            **plan.counts,
        )
    return plan


def do_undo_reorganisation(batch: ReorgBatch, *, actor, request=None) -> dict:
    """Reverse exactly what ``batch`` did: delete the appointments it started and reopen the
    ones it ended. Refuses, listing the lines, if any of them changed since (ended, reopened,
    someone else took the seat, or the actor's area does not cover them)."""
    today = timezone.localdate()
    j = jurisdiction_for(actor) if actor is not None else None
    with transaction.atomic(durable=True):
        batch = ReorgBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != ReorgBatch.Status.APPLIED:
            raise ReorganisationRefused(
                _("Only an applied file can be undone."), [], code="not_applied"
            )
        changes = list(
            batch.changes.select_related(
                "started",
                "started__unit",
                "started__person",
                "started__position",
                "ended",
                "ended__unit",
                "ended__person",
                "ended__position",
            )
        )
        conflicts = []

        def conflict(line, code, message):
            conflicts.append({"line": line, "code": code, "message": message})

        removing = {c.started_id for c in changes if c.started_id}
        restoring = [c.ended for c in changes if c.ended is not None]
        for c in changes:
            if c.action in ("appoint", "transfer") and c.started is None:
                conflict(
                    c.line, "deleted", _("The appointment made by this line was deleted since.")
                )
                continue
            if c.action in ("relieve", "transfer") and c.ended is None:
                conflict(
                    c.line, "deleted", _("The appointment ended by this line was deleted since.")
                )
                continue
            for a in (c.started, c.ended):
                if a is not None and j is not None and not j.contains(a.unit):
                    conflict(
                        c.line,
                        "outside_jurisdiction",
                        _("%(unit)s is outside your area.") % {"unit": a.unit.display_name},
                    )
            if c.started is not None and c.started.ends is not None:
                conflict(
                    c.line,
                    "changed_since",
                    _(
                        "%(person)s's appointment as %(position)s at %(unit)s was ended on "
                        "%(date)s after this file; undo that first."
                    )
                    % {
                        "person": c.started.person.display_name,
                        "position": c.started.position.display_name,
                        "unit": c.started.unit.display_name,
                        "date": c.started.ends,
                    },
                )
            if c.ended is not None and c.ended.ends != c.ended_on:
                conflict(
                    c.line,
                    "changed_since",
                    _(
                        "%(person)s's appointment as %(position)s at %(unit)s was changed after "
                        "this file."
                    )
                    % {
                        "person": c.ended.person.display_name,
                        "position": c.ended.position.display_name,
                        "unit": c.ended.unit.display_name,
                    },
                )
        # Reopened appointments need their seats back: someone appointed later may hold them.
        if restoring and not conflicts:
            seats = _Seats()
            current = Counter(
                {
                    (pos, unit): n
                    for pos, unit, n in Appointment.objects.current(today)
                    .filter(unit__in={a.unit_id for a in restoring})
                    .exclude(pk__in=removing)
                    .values("position", "unit")
                    .annotate(n=Count("pk"))
                    .values_list("position", "unit", "n")
                }
            )
            holders = set(
                Appointment.objects.current(today)
                .filter(person__in={a.person_id for a in restoring})
                .exclude(pk__in=removing)
                .values_list("person", "position", "unit")
            )
            line_of = {c.ended_id: c.line for c in changes if c.ended_id}
            for a in restoring:
                key = (a.position_id, a.unit_id)
                current[key] += 1
                names = {
                    "person": a.person.display_name,
                    "position": a.position.display_name,
                    "unit": a.unit.display_name,
                }
                if (a.person_id, a.position_id, a.unit_id) in holders:
                    conflict(
                        line_of[a.pk],
                        "holds_again",
                        _("%(person)s holds %(position)s at %(unit)s again since this file.")
                        % names,
                    )
                elif current[key] > seats.at(a.position, a.unit):
                    conflict(
                        line_of[a.pk],
                        "seat_taken",
                        _(
                            "The seat of %(person)s as %(position)s at %(unit)s has been filled "
                            "since this file."
                        )
                        % names,
                    )
        if conflicts:
            conflicts.sort(key=lambda c: c["line"])
            raise ReorganisationRefused(
                _("The file cannot be undone: %(n)d later change(s) conflict.")
                % {"n": len(conflicts)},
                conflicts,
            )
        deltas: dict[str, int] = defaultdict(int)
        for c in changes:
            if c.started is not None and c.started.is_current(today):
                deltas[c.started.unit.path] -= 1
            if c.ended is not None:
                deltas[c.ended.unit.path] += 1
        Appointment.objects.filter(pk__in=removing).delete()
        Appointment.objects.filter(pk__in=[a.pk for a in restoring]).update(
            ends=None, ended_by=None
        )
        _apply_filled_deltas(deltas)
        batch.status = ReorgBatch.Status.UNDONE
        batch.undone_at = timezone.now()
        batch.undone_by = actor if actor is not None and actor.pk else None
        batch.save(update_fields=["status", "undone_at", "undone_by"])
        result = {"removed": len(removing), "reopened": len(restoring)}
        audit("reorganisation_undone", actor=actor, obj=batch, request=request, **result)
    return result
