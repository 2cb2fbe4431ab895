"""Writes that matter for people: appointments, consent, tasks and the member's data rights
(export; erasure — its decisions, with the law they rest on, are in ``do_erase_person``).

Each ``do_*`` function is one durable transaction that checks the actor's jurisdiction,
writes its rows, keeps the per-unit counts right (``bump``) and records an audit entry.
Views, API routes and commands call these; they never save appointments themselves.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from sangathan.accounts.audit import audit
from sangathan.org.counts import bump
from sangathan.org.models import OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people import personal_data
from sangathan.people.models import Appointment, Channel, Consent, Person, Position, Purpose
from sangathan.people.personal_data import iso


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
    from sangathan.people.committees import committee_of, seats_at

    seats = seats_at(position, unit)
    if seats == 0:
        committee = committee_of(position)
        raise ActionRefused(
            _(
                "%(position)s has no seat at %(unit)s: apply the committee “%(committee)s” "
                "there first."
            )
            % {
                "position": position.display_name,
                "unit": unit.display_name,
                "committee": committee.display_name if committee else "",
            },
            code="no_seat",
        )
    if current.count() >= seats:
        raise ActionRefused(
            _(
                "All %(seats)d seat(s) of %(position)s at %(unit)s are filled; end an "
                "appointment first."
            )
            % {
                "seats": seats,
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
    appointment.ended_by = actor if actor is not None and actor.pk else None
    appointment.save(update_fields=["ends", "ended_by"])
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


def do_transfer(
    appointment: Appointment, new_unit: OrgUnit, *, actor, on: datetime.date | None = None
) -> Appointment:
    """Move the holder of ``appointment`` to the same post at ``new_unit``: the old appointment
    ends on ``on`` (today by default) and a new one starts that day, both or neither."""
    if new_unit.pk == appointment.unit_id:
        raise ActionRefused(
            _("%(person)s already holds this post at %(unit)s.")
            % {"person": appointment.person.display_name, "unit": new_unit.display_name},
            code="same_unit",
        )
    with transaction.atomic(durable=True):
        _end(appointment, actor=actor, ends=on)
        new = _appoint(
            appointment.person,
            appointment.position,
            new_unit,
            actor=actor,
            starts=on,
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
            on=new.starts.isoformat(),
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
    person: Person, channel: str, purpose: str, evidence: str, actor=None, request=None
) -> Consent:
    """Withdraw the active consent of ``person`` for ``channel``/``purpose``. The row is kept
    with ``withdrawn_at`` set, as the record of consent must be. Messages queued for them on
    that channel for that purpose are suppressed at once, as a STOP reply does (those already
    with the provider cannot be called back)."""
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
        suppressed = _suppress_queued(
            person, channel, purpose, reason=f"consent withdrawn: {evidence}"
        )
        audit(
            "consent_withdrawn",
            actor=actor,
            obj=consent,
            request=request,
            person=person.pk,
            channel=channel,
            purpose=purpose,
            evidence=evidence[:255],
            deliveries_suppressed=suppressed,
        )
    return consent


def _suppress_queued(person: Person, channel: str, purpose: str | None, *, reason: str) -> int:
    """Mark the deliveries still queued for ``person`` on ``channel`` (for broadcasts of
    ``purpose``, or any purpose when None) suppressed, keeping reach counters in step, as
    ``sangathan.channels.actions.do_opt_out`` does for a STOP. Returns how many."""
    from sangathan.broadcasts.reach import record_status_changes
    from sangathan.channels.models import Delivery

    queued = Delivery.objects.filter(
        person=person, channel=channel, status=Delivery.Status.QUEUED
    ).order_by("id")
    if purpose is not None:
        queued = queued.filter(broadcast__purpose=purpose)
    rows = list(queued.select_for_update().values_list("id", "broadcast_id", "unit_path"))
    if not rows:
        return 0
    n = Delivery.objects.filter(id__in=[r[0] for r in rows], status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.SUPPRESSED, status_at=timezone.now(), error=reason[:300]
    )
    record_status_changes(
        (broadcast_id, channel, unit_path, "queued", "suppressed")
        for _id, broadcast_id, unit_path in rows
    )
    return n


def do_grant_consent(
    person: Person, channel: str, purpose: str, evidence: str, actor=None, request=None
) -> Consent:
    """``person`` explicitly grants ``channel`` for ``purpose`` (e.g. in the member app).

    Records the consent (an active one is returned unchanged) and, because this is the
    person's own explicit choice, lifts an opt-out (``Suppression``) of their address on that
    channel left by an earlier STOP or unsubscribe link; the lifting is audited with the
    suppression's reason. An import never does this (``channels.optout.without_suppressed``)."""
    _check_channel_purpose(channel, purpose)
    evidence = (evidence or "").strip()
    if not evidence:
        raise ActionRefused(
            _("Say how the consent was given (form, call, app…)."), code="no_evidence"
        )
    _check_person_in_jurisdiction(actor, person)
    with transaction.atomic(durable=True):
        consent = (
            Consent.objects.active().filter(person=person, channel=channel, purpose=purpose).first()
        )
        if consent is None:
            consent = Consent.objects.create(
                person=person, channel=channel, purpose=purpose, evidence=evidence[:255]
            )
            audit(
                "consent_granted",
                actor=actor,
                obj=consent,
                request=request,
                person=person.pk,
                channel=channel,
                purpose=purpose,
                evidence=evidence[:255],
            )
        lift_suppression(person, channel, evidence, actor=actor, request=request)
    return consent


def lift_suppression(
    person: Person, channel: str, evidence: str, *, actor=None, request=None, ip=None
) -> None:
    """Lift the opt-out of ``person``'s address on ``channel`` (an earlier STOP or unsubscribe
    link), audited with its reason. Only for the person's own explicit, verified grant (the
    member app, the join page), inside the transaction that records it; never for an import."""
    from sangathan.channels.models import Suppression
    from sangathan.channels.optout import OPT_OUT_CHANNELS, address_of, normalise_address

    if channel not in OPT_OUT_CHANNELS:
        return
    address = normalise_address(channel, address_of(person, channel))
    suppression = Suppression.objects.filter(channel=channel, address=address).first()
    if address and suppression is not None:
        suppression.delete()
        audit(
            "suppression_lifted",
            actor=actor,
            request=request,
            ip=ip,
            person=person.pk,
            channel=channel,
            suppressed_since=suppression.created_at.isoformat(),
            suppression_reason=suppression.reason,
            evidence=evidence[:255],
        )


# --- data rights (DPDP Act 2023: section 11 access, section 12 erasure) ---------------------


def do_export_person_data(person: Person) -> dict:
    """Everything held about ``person``, as plain JSON-ready data: the record, unit, posts
    (current and past), consents with their dates and evidence, feed reads and shares,
    acknowledgements, external deliveries, push subscriptions, tasks, the login and its tokens
    (never the secrets), opt-outs of their addresses, drive sign-ups (with the IP and device
    recorded) and recruiter codes, WhatsApp groups administered and forward tasks, meeting
    invitations and action items, and the audit entries about them or made by them. Reads
    only; the export itself is audited by the caller's route."""
    from sangathan.accounts.models import ApiToken, AuditLog
    from sangathan.broadcasts.models import Acknowledgement, FeedRead
    from sangathan.channels.models import Delivery, PushSubscription, Suppression
    from sangathan.org.models import OrgUnit
    from sangathan.people.models import Task, TaskDone

    unit = person.unit
    trail = list(
        OrgUnit.objects.filter(path__in=unit.ancestor_paths())
        .order_by("depth")
        .values_list("name", flat=True)
    )
    user = getattr(person, "user", None)
    data: dict = {
        "exported_at": timezone.now().isoformat(),
        "person": {
            "name": person.name,
            "name_latin": person.name_latin,
            "phone": person.phone,
            "email": person.email,
            "birth_year": person.birth_year,
            "gender": person.gender,
            "institution": person.institution,
            "languages": person.languages,
            "tags": list(person.tags.values_list("name", flat=True)),
            "app_status": person.app_status,
            "source": person.source,
            "created_at": iso(person.created_at),
            "updated_at": iso(person.updated_at),
        },
        "unit": {"code": unit.code, "name": unit.name, "trail": trail},
        "appointments": [
            {
                "position": a.position.title_en,
                "position_hi": a.position.title_hi,
                "wing": a.position.wing,
                "unit": a.unit.code,
                "unit_name": a.unit.name,
                "starts": iso(a.starts),
                "ends": iso(a.ends),
            }
            for a in person.appointments.select_related("position", "unit").order_by("starts")
        ],
        "consents": [
            {
                "channel": c.channel,
                "purpose": c.purpose,
                "granted_at": iso(c.granted_at),
                "withdrawn_at": iso(c.withdrawn_at),
                "evidence": c.evidence,
            }
            for c in person.consents.order_by("granted_at", "pk")
        ],
        "feed": [
            {
                "broadcast": r.broadcast.code,
                "title": r.broadcast.title_hi or r.broadcast.title_en,
                "read_at": iso(r.read_at),
                "shared_at": iso(r.shared_at),
            }
            for r in FeedRead.objects.filter(person=person)
            .select_related("broadcast")
            .order_by("pk")
        ],
        "acknowledgements": [
            {"broadcast": a.broadcast.code, "unit": a.unit_path, "at": iso(a.acknowledged_at)}
            for a in Acknowledgement.objects.filter(person=person)
            .select_related("broadcast")
            .order_by("pk")
        ],
        "deliveries": [
            {
                "broadcast": d["broadcast__code"],
                "channel": d["channel"],
                "status": d["status"],
                "created_at": iso(d["created_at"]),
                "sent_at": iso(d["sent_at"]),
                "status_at": iso(d["status_at"]),
            }
            for d in Delivery.objects.filter(person=person)
            .order_by("pk")
            .values("broadcast__code", "channel", "status", "created_at", "sent_at", "status_at")
        ],
        "push_subscriptions": [
            {
                "endpoint": s.endpoint,
                "created_at": iso(s.created_at),
                "last_success_at": iso(s.last_success_at),
            }
            for s in PushSubscription.objects.filter(person=person).order_by("pk")
        ],
        "tasks_done": [
            {"task": t.task.title, "done_at": iso(t.done_at)}
            for t in TaskDone.objects.filter(person=person).select_related("task").order_by("pk")
        ],
        "tasks_assigned_to_you": [
            {"title": t.title, "kind": t.kind, "due": iso(t.due), "created_at": iso(t.created_at)}
            for t in Task.objects.filter(person=person).order_by("pk")
        ],
        "opt_outs": [
            {"channel": s.channel, "address": s.address, "since": iso(s.created_at)}
            for s in Suppression.objects.filter(
                Q(address=person.phone) | Q(channel="email", address=(person.email or "-").lower())
            ).order_by("pk")
        ],
        "referral": {
            "your_code": person.referral_code,
            "invited_by_someone": person.referred_by_id is not None,
            "people_joined_through_you": Person.objects.filter(referred_by=person).count(),
        },
        "account": None,
    }
    for part in personal_data.parts():
        data.update(part.export(person))
    audit_q = Q(object_type="person", object_id=str(person.pk)) | Q(detail__person=person.pk)
    if user is not None:
        data["account"] = {
            "phone": user.phone,
            "name": user.name,
            "language": user.language,
            "date_joined": iso(user.date_joined),
            "last_login": iso(user.last_login),
            "tokens": [
                {
                    "created_at": iso(t.created_at),
                    "expires_at": iso(t.expires_at),
                    "last_used_at": iso(t.last_used_at),
                }
                for t in ApiToken.objects.filter(user=user).order_by("pk")
            ],
        }
        audit_q |= Q(actor=user)
    data["audit"] = [
        {
            "at": iso(e.at),
            "action": e.action,
            "object": f"{e.object_type}:{e.object_id}" if e.object_type else "",
            "by_you": user is not None and e.actor_id == user.pk,
            "detail": e.detail,
        }
        for e in AuditLog.objects.filter(audit_q).order_by("at", "pk")[:5000]
    ]
    return data


ERASED_NAME = "[erased]"

# What an erasure keeps, and why (stored in every ErasureRecord, so each says what it kept).
ERASURE_KEPT = {
    "person_row": "anonymised in place: the id keeps appointments, deliveries, feed reads and "
    "referrals consistent with the maintained counts; it no longer identifies anyone",
    "consents": "kept, all withdrawn: DPDP Act 2023 s.6(10) puts the burden of proving that "
    "consent was given on the Data Fiduciary",
    "opt_outs": "the phone (and email) kept only as Suppression rows on every channel, so "
    "that a later import cannot message them again: the withdrawal is honoured (s.6(4), s.8(7))",
    "audit_log": "kept: DPDP Rules 2025 r.6(1)(e) require logs of processing to be kept for "
    "one year",
    "appointments": "ended today and kept as the organisation's history of its posts, "
    "without notes",
    "deliveries_and_feed_reads": "kept without content: they are the reach counts' rows; "
    "queued ones suppressed",
}


def do_erase_person(
    person: Person, reason: str, actor=None, *, requested_by: str = "self", request=None
):
    """Erase ``person`` on their request (DPDP Act 2023 s.12(3)); returns the ErasureRecord.

    The decisions, and why:

    * The ``Person`` row is anonymised in place, not deleted: name, phone, email, birth year,
      gender, institution, languages and tags are cleared; the phone becomes
      ``ERASED_PHONE_PREFIX`` + the id (``+0…`` begins no E.164 number, so nothing can route
      to it, and the unique column never collides with a real number); the referral code is
      replaced so that the old QR code attributes nobody. Deleting the row would cascade
      through deliveries, feed reads and appointments and leave the maintained reach and seat
      counts disagreeing with the rows beneath them; the anonymised row identifies no one.
    * The unit's people count drops by one: an erased person is no longer a member
      (``PersonQuerySet.not_erased``; ``org.counts.recount`` leaves them out too).
    * Current appointments end today (seats free up); past ones stay as the organisation's
      history, without notes.
    * Deleted: the login (``User``) with its API tokens — the member app's token stops working
      at once, and an OTP to the old number finds no one —, sign-in codes pending for the
      number, push subscriptions, tasks set for them by name (forward tasks with them) and
      their "done" marks.
    * The other apps (``sangathan.people.personal_data``): drive sign-ups lose the IP address
      and device (the phone there is a keyed hash) and their recruiter codes are switched
      off; they administer no WhatsApp group; they are no longer named as a meeting's extra
      invitee (invitations made stay, for the meeting's counts).
    * Deliveries still queued for them are suppressed (kept: they are reach-counter rows with
      no content); sent ones, feed reads and shares stay as counted reach. Acknowledgements
      they made keep the unit and lose the person.
    * Consents are all withdrawn and kept (s.6(10): the burden of proving consent lies on the
      Data Fiduciary); they point at the anonymised row.
    * Opt-outs: their phone (and email) is kept only in ``channels.Suppression`` on every
      channel, so that the next import of a party list containing the number cannot message
      them again. s.12(3) allows keeping what is "necessary for the specified purpose"; here
      the purpose is honouring their withdrawal, and the bare address is the least data that
      does it. A later explicit grant (``do_grant_consent``) lifts it.
    * The audit log is kept as it is: DPDP Rules 2025 r.6(1)(e) require logs to be retained for
      one year to detect and investigate unauthorised access.

    The ``ErasureRecord`` says when, why (``reason``), on whose request, what was removed
    (counts) and what was kept and why; it holds no personal data.
    """
    from sangathan.accounts.models import OtpChallenge, User
    from sangathan.broadcasts.models import Acknowledgement
    from sangathan.channels.models import PushSubscription, Suppression
    from sangathan.channels.optout import OPT_OUT_CHANNELS, PHONE_CHANNELS, normalise_address
    from sangathan.people.models import (
        ERASED_PHONE_PREFIX,
        ErasureRecord,
        Task,
        TaskDone,
        new_referral_code,
    )

    reason = " ".join((reason or "").split())[:500]
    if requested_by not in ("self", "staff"):
        raise ValueError("requested_by is 'self' or 'staff'")
    if requested_by == "staff":
        if not reason:
            raise ActionRefused(
                _("Give the reason for erasing this person's data."), code="no_reason"
            )
        _check_person_in_jurisdiction(actor, person)
    reason = reason or "requested by the member"
    today = timezone.localdate()
    now = timezone.now()
    with transaction.atomic(durable=True):
        person = Person.objects.select_for_update().select_related("unit").get(pk=person.pk)
        if person.is_erased:
            raise ActionRefused(_("This person's data has already been erased."), code="erased")
        removed: dict[str, int] = {}

        ended = 0
        for appointment in person.appointments.current().select_related("unit"):
            _end(appointment, actor=None, ends=today)
            ended += 1
        removed["appointments_ended"] = ended
        person.appointments.exclude(note="").update(note="")

        suppressed = 0
        for channel in OPT_OUT_CHANNELS:
            suppressed += _suppress_queued(person, channel, None, reason="person erased")
        removed["queued_deliveries_suppressed"] = suppressed

        addresses = [(c, person.phone) for c in PHONE_CHANNELS]
        if person.email:
            addresses.append(("email", person.email))
        for channel, address in addresses:
            address = normalise_address(channel, address)
            if address:
                Suppression.objects.get_or_create(
                    channel=channel,
                    address=address,
                    defaults={"reason": "erased on the person's request"},
                )
        removed["consents_withdrawn"] = person.consents.active().update(
            withdrawn_at=now,
            evidence=Substr(Concat(F("evidence"), Value(" | withdrawn: erased")), 1, 255),
        )

        removed["push_subscriptions"] = PushSubscription.objects.filter(person=person).delete()[0]
        # Sign-in codes still waiting for the number (kept an hour at most anyway).
        removed["pending_login_codes"] = OtpChallenge.objects.filter(phone=person.phone).delete()[0]
        for part in personal_data.parts():
            removed.update(part.erase(person))
        removed["tasks"] = Task.objects.filter(person=person).delete()[0]
        removed["tasks_done"] = TaskDone.objects.filter(person=person).delete()[0]
        Acknowledgement.objects.filter(person=person).update(person=None)
        removed["tags"] = person.tags.count()
        person.tags.clear()

        user = User.objects.filter(person=person).first()
        removed["logins"] = 0
        removed["api_tokens"] = 0
        if user is not None:
            removed["api_tokens"] = user.api_tokens.count()
            user_pk = user.pk
            user.delete()
            removed["logins"] = 1
            if actor is not None and actor.pk == user_pk:
                actor = None  # the actor's own login is gone; the record says "self"

        person.name = ERASED_NAME
        person.name_latin = ERASED_NAME
        person.phone = f"{ERASED_PHONE_PREFIX}{person.pk:014d}"
        person.email = ""
        person.birth_year = None
        person.gender = ""
        person.institution = ""
        person.languages = ""
        person.app_status = "none"
        code = new_referral_code()
        while Person.objects.filter(referral_code=code).exists():
            code = new_referral_code()
        person.referral_code = code
        person.save()
        bump(person.unit.path, people=-1)

        record = ErasureRecord.objects.create(
            person=person,
            erased_at=now,
            reason=reason,
            requested_by=requested_by,
            actor=actor if actor is not None and actor.pk else None,
            removed=removed,
            kept={
                **ERASURE_KEPT,
                **{k: v for p in personal_data.parts() for k, v in p.KEPT.items()},
            },
        )
        audit(
            "person_erased",
            actor=actor,
            obj=record,
            request=request if requested_by == "staff" else None,
            ip=None,
            person=person.pk,
            requested_by=requested_by,
            reason=reason,
        )
    return record


# --- tasks -----------------------------------------------------------------------------------


def do_create_task(
    actor,
    *,
    title: str,
    kind: str = "other",
    body: str = "",
    link: str = "",
    share_text: str = "",
    due: datetime.date | None = None,
    person: Person | None = None,
    position: Position | None = None,
    scope_unit: OrgUnit | None = None,
    request=None,
):
    """Set a task for one ``person``, or for ``position`` at every unit inside ``scope_unit``
    (every current holder there sees it). Refuses anything outside the actor's area."""
    from sangathan.people.models import Task, TaskKind

    title = (title or "").strip()
    if not title:
        raise ActionRefused(_("Give the task a title."), code="no_title")
    if kind not in TaskKind.values:
        raise ActionRefused(_("Unknown kind of task %(kind)s.") % {"kind": kind}, code="bad_kind")
    if (person is None) == (position is None):
        raise ActionRefused(
            _("Assign the task either to one person or to a post."), code="bad_assignee"
        )
    if person is not None:
        _check_person_in_jurisdiction(actor, person)
        scope_unit = person.unit
    else:
        if scope_unit is None:
            raise ActionRefused(_("Choose the area the task covers."), code="no_scope")
        _check_unit_in_jurisdiction(actor, scope_unit)
        if position.level.depth < scope_unit.level.depth:
            raise ActionRefused(
                _("%(position)s is a post above %(unit)s; choose a larger area.")
                % {"position": position.display_name, "unit": scope_unit.display_name},
                code="post_above_area",
            )
    with transaction.atomic(durable=True):
        task = Task.objects.create(
            title=title[:200],
            kind=kind,
            body=(body or "").strip(),
            link=(link or "").strip(),
            share_text=(share_text or "").strip(),
            due=due,
            person=person,
            position=position,
            scope_unit=scope_unit,
            created_by=actor if actor is not None and actor.pk else None,
        )
        audit(
            "task_created",
            actor=actor,
            obj=task,
            request=request,
            person=person.pk if person else None,
            position=position.pk if position else None,
            unit=scope_unit.code,
            kind=kind,
        )
    return task


def _check_assigned(person: Person, task) -> None:
    from sangathan.people.models import Task

    if not Task.objects.for_person(person).filter(pk=task.pk).exists():
        raise ActionRefused(_("This task is not yours."), code="not_assigned")


def do_mark_task_done(person: Person, task, *, request=None):
    """``person`` did ``task``. Saying it again changes nothing (the first time is kept)."""
    from sangathan.people.models import TaskDone

    _check_assigned(person, task)
    with transaction.atomic(durable=True):
        done, created = TaskDone.objects.get_or_create(task=task, person=person)
        if created:
            audit("task_done", obj=task, request=request, person=person.pk)
            if task.kind == "action":  # a meeting's action item follows its task
                from sangathan.meetings.actions import task_done_changed

                task_done_changed(task, person, done=True)
    return done


def do_mark_task_undone(person: Person, task, *, request=None) -> bool:
    """Take back ``person``'s "done" on ``task``; True if there was one."""
    from sangathan.people.models import TaskDone

    _check_assigned(person, task)
    with transaction.atomic(durable=True):
        deleted = TaskDone.objects.filter(task=task, person=person).delete()[0]
        if deleted:
            audit("task_undone", obj=task, request=request, person=person.pk)
            if task.kind == "action":
                from sangathan.meetings.actions import task_done_changed

                task_done_changed(task, person, done=False)
    return bool(deleted)
