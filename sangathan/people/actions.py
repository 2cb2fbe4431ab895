"""Writes that matter for people: appointments and consent.

Each ``do_*`` function is one durable transaction that checks the actor's jurisdiction,
writes its rows, keeps the per-unit counts right (``bump``) and records an audit entry.
Views, API routes and commands call these; they never save appointments themselves.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sangathan.accounts.audit import audit
from sangathan.org.counts import bump
from sangathan.org.models import OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.models import Appointment, Channel, Consent, Person, Position, Purpose


class ActionRefused(ValidationError):
    """The action cannot be done as asked; the message says why, in the user's language."""


def _check_unit_in_jurisdiction(actor, unit: OrgUnit) -> None:
    if actor is not None and not jurisdiction_for(actor).contains(unit):
        raise ActionRefused(
            _("%(unit)s is outside your area.") % {"unit": unit.display_name},
            code="outside_jurisdiction",
        )


def _check_person_in_jurisdiction(actor, person: Person) -> None:
    if actor is not None and not jurisdiction_for(actor).contains(person.unit):
        raise ActionRefused(
            _("%(person)s lives outside your area.") % {"person": person.display_name},
            code="outside_jurisdiction",
        )


def _appoint(person, position, unit, *, actor, starts, note) -> Appointment:
    today = timezone.localdate()
    starts = starts or today
    if unit.level_id != position.level_id:
        raise ActionRefused(
            _(
                "%(position)s is a post at %(position_level)s level, but %(unit)s is a "
                "%(unit_level)s."
            )
            % {
                "position": position.display_name,
                "position_level": position.level.display_name,
                "unit": unit.display_name,
                "unit_level": unit.level.display_name,
            },
            code="wrong_level",
        )
    if starts > today:
        # Counts of filled seats follow current appointments; a future start would leave them
        # wrong until that day.
        raise ActionRefused(_("An appointment cannot start in the future."), code="future_start")
    _check_unit_in_jurisdiction(actor, unit)
    _check_person_in_jurisdiction(actor, person)

    # Lock the unit row so that two people appointed at once cannot both take the last seat
    # (PostgreSQL; SQLite already serialises writers with BEGIN IMMEDIATE).
    OrgUnit.objects.select_for_update().filter(pk=unit.pk).values_list("pk", flat=True).first()
    current = Appointment.objects.current().filter(position=position, unit=unit)
    if current.filter(person=person).exists():
        raise ActionRefused(
            _("%(person)s already holds %(position)s at %(unit)s.")
            % {
                "person": person.display_name,
                "position": position.display_name,
                "unit": unit.display_name,
            },
            code="already_holds",
        )
    if current.count() >= position.seats:
        raise ActionRefused(
            _(
                "All %(seats)d seat(s) of %(position)s at %(unit)s are filled; end an "
                "appointment first."
            )
            % {
                "seats": position.seats,
                "position": position.display_name,
                "unit": unit.display_name,
            },
            code="seats_full",
        )
    appointment = Appointment.objects.create(
        person=person,
        position=position,
        unit=unit,
        starts=starts,
        appointed_by=actor if actor is not None and actor.pk else None,
        note=note,
    )
    bump(unit.path, seats_filled=1)
    return appointment


def _end(appointment: Appointment, *, actor, ends) -> Appointment:
    today = timezone.localdate()
    ends = ends or today
    _check_unit_in_jurisdiction(actor, appointment.unit)
    if appointment.ends is not None and appointment.ends <= today:
        raise ActionRefused(
            _("This appointment already ended on %(date)s.") % {"date": appointment.ends},
            code="already_ended",
        )
    if ends > today:
        raise ActionRefused(_("An appointment cannot end in the future."), code="future_end")
    if ends < appointment.starts:
        raise ActionRefused(
            _("The end date cannot be before the start date (%(date)s).")
            % {"date": appointment.starts},
            code="ends_before_start",
        )
    was_current = appointment.is_current(today)
    appointment.ends = ends
    appointment.save(update_fields=["ends"])
    if was_current:
        bump(appointment.unit.path, seats_filled=-1)
    return appointment


def do_appoint(
    person: Person,
    position: Position,
    unit: OrgUnit,
    *,
    actor,
    starts: datetime.date | None = None,
    note: str = "",
) -> Appointment:
    """Appoint ``person`` to ``position`` at ``unit``. Refuses (``ActionRefused``) a unit of
    another level, a person or unit outside the actor's area, and a post with no free seat."""
    with transaction.atomic(durable=True):
        appointment = _appoint(person, position, unit, actor=actor, starts=starts, note=note)
        audit(
            "appoint",
            actor=actor,
            obj=appointment,
            person=person.pk,
            position=position.pk,
            unit=unit.code,
            starts=appointment.starts.isoformat(),
        )
    return appointment


def do_end_appointment(
    appointment: Appointment, *, actor, ends: datetime.date | None = None
) -> Appointment:
    """End ``appointment`` (today unless ``ends`` is given; the end date is exclusive). The row
    stays as history."""
    with transaction.atomic(durable=True):
        _end(appointment, actor=actor, ends=ends)
        audit(
            "end_appointment",
            actor=actor,
            obj=appointment,
            person=appointment.person_id,
            position=appointment.position_id,
            unit=appointment.unit.code,
            ends=appointment.ends.isoformat(),
        )
    return appointment


def do_transfer(appointment: Appointment, new_unit: OrgUnit, *, actor) -> Appointment:
    """Move the holder of ``appointment`` to the same post at ``new_unit``: the old appointment
    ends today and a new one starts today, both or neither."""
    with transaction.atomic(durable=True):
        _end(appointment, actor=actor, ends=None)
        new = _appoint(
            appointment.person,
            appointment.position,
            new_unit,
            actor=actor,
            starts=None,
            note=appointment.note,
        )
        audit(
            "transfer",
            actor=actor,
            obj=new,
            person=appointment.person_id,
            position=appointment.position_id,
            from_unit=appointment.unit.code,
            to_unit=new_unit.code,
            ended_appointment=appointment.pk,
        )
    return new


def _check_channel_purpose(channel: str, purpose: str) -> None:
    if channel not in Channel.values:
        raise ActionRefused(
            _("Unknown channel %(channel)s.") % {"channel": channel}, code="bad_channel"
        )
    if purpose not in Purpose.values:
        raise ActionRefused(
            _("Unknown purpose %(purpose)s.") % {"purpose": purpose}, code="bad_purpose"
        )


def do_record_consent(
    person: Person, channel: str, purpose: str, evidence: str, actor=None
) -> Consent:
    """Record that ``person`` agreed to messages on ``channel`` for ``purpose``. Recording a
    consent that is already active returns it unchanged."""
    _check_channel_purpose(channel, purpose)
    evidence = (evidence or "").strip()
    if not evidence:
        raise ActionRefused(
            _("Say how the consent was given (form, call, app…)."), code="no_evidence"
        )
    _check_person_in_jurisdiction(actor, person)
    with transaction.atomic(durable=True):
        existing = Consent.objects.active().filter(person=person, channel=channel, purpose=purpose)
        consent = existing.first()
        if consent is not None:
            return consent
        consent = Consent.objects.create(
            person=person, channel=channel, purpose=purpose, evidence=evidence[:255]
        )
        audit(
            "consent_granted",
            actor=actor,
            obj=consent,
            person=person.pk,
            channel=channel,
            purpose=purpose,
            evidence=evidence[:255],
        )
    return consent


def do_withdraw_consent(
    person: Person, channel: str, purpose: str, evidence: str, actor=None
) -> Consent:
    """Withdraw the active consent of ``person`` for ``channel``/``purpose``. The row is kept
    with ``withdrawn_at`` set, as the record of consent must be."""
    _check_channel_purpose(channel, purpose)
    evidence = (evidence or "").strip()
    if not evidence:
        raise ActionRefused(
            _("Say how the consent was withdrawn (reply STOP, call, app…)."), code="no_evidence"
        )
    _check_person_in_jurisdiction(actor, person)
    with transaction.atomic(durable=True):
        consent = (
            Consent.objects.active().filter(person=person, channel=channel, purpose=purpose).first()
        )
        if consent is None:
            raise ActionRefused(
                _("%(person)s has no active consent for %(channel)s (%(purpose)s).")
                % {
                    "person": person.display_name,
                    "channel": Channel(channel).label,
                    "purpose": Purpose(purpose).label,
                },
                code="no_consent",
            )
        consent.withdrawn_at = timezone.now()
        consent.evidence = f"{consent.evidence} | withdrawn: {evidence}"[:255]
        consent.save(update_fields=["withdrawn_at", "evidence"])
        audit(
            "consent_withdrawn",
            actor=actor,
            obj=consent,
            person=person.pk,
            channel=channel,
            purpose=purpose,
            evidence=evidence[:255],
        )
    return consent
