"""Writes that matter for broadcasts: compose, approve, publish, acknowledge, re-share and
feed receipts.

Publishing is O(1) in the request: the broadcast row turns ``sent`` and every member's feed
shows it at once (fan-out-on-read). The outbox rows for external channels and the reach
counters are made by the ``publish_broadcast`` task after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from sangathan.accounts.audit import audit
from sangathan.broadcasts.audience import AudienceError, clean_filters
from sangathan.broadcasts.models import (
    Acknowledgement,
    Broadcast,
    BroadcastChannel,
    BroadcastStatus,
    FeedRead,
    PollDate,
    Topic,
)
from sangathan.broadcasts.reach import record_feed_receipt
from sangathan.broadcasts.silence import silence_for_audience
from sangathan.org.models import OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.actions import ActionRefused
from sangathan.people.models import Appointment, Purpose

CHANNEL_ALIASES = {"app": "feed", "webpush": "push", "wa": "whatsapp"}


@dataclass
class Draft:
    """What a compose form, the API or the CLI asks for."""

    audience_unit: OrgUnit
    title_hi: str = ""
    body_hi: str = ""
    title_en: str = ""
    body_en: str = ""
    link: str = ""
    topic: str = Topic.ORGANISATION
    purpose: str = Purpose.ORGANISATIONAL
    channels: list[str] = field(default_factory=lambda: ["feed"])
    filters: dict = field(default_factory=dict)
    scheduled_at: datetime | None = None
    attachment: object = None
    parent: Broadcast | None = None
    local_note: str = ""


def clean_channels(channels) -> list[str]:
    out = []
    for raw in channels or []:
        name = CHANNEL_ALIASES.get(str(raw).strip().lower(), str(raw).strip().lower())
        if not name:
            continue
        if name not in BroadcastChannel.values:
            raise ActionRefused(
                _("Unknown channel “%(channel)s”. Use: %(known)s.")
                % {"channel": raw, "known": ", ".join(BroadcastChannel.values)},
                code="bad_channel",
            )
        if name == "whatsapp" and settings.SANGATHAN_ORG_KIND == "political":
            raise ActionRefused(
                _(
                    "WhatsApp messages cannot be sent from this system for a political "
                    "organisation: Meta's WhatsApp Business Messaging Policy does not allow "
                    "political parties, candidates or campaigns on the WhatsApp Business "
                    "Platform. Reach WhatsApp through your groups' forward tasks instead."
                ),
                code="whatsapp_political",
            )
        if name not in out:
            out.append(name)
    if not out:
        raise ActionRefused(_("Choose at least one channel."), code="no_channel")
    return out


def origin_unit_for(actor, audience_unit: OrgUnit) -> OrgUnit | None:
    """The author's appointment unit that contains the audience (the highest one)."""
    if actor is None or actor.person_id is None:
        return None
    for unit in (
        OrgUnit.objects.filter(
            appointments__in=Appointment.objects.current().filter(person_id=actor.person_id)
        )
        .order_by("depth")
        .distinct()
    ):
        if audience_unit.path.startswith(unit.path):
            return unit
    return None


def _silence_refusal(unit, closes) -> ActionRefused:
    return ActionRefused(
        _(
            "%(unit)s is in the campaign-silence window until polling closes at "
            "%(closes)s: political messages cannot be sent there in the %(hours)s hours "
            "before the close of polling."
        )
        % {
            "unit": unit.display_name,
            "closes": formats.date_format(timezone.localtime(closes), "DATETIME_FORMAT"),
            "hours": PollDate.silence_hours(),
        },
        code="silence_window",
    )


def _validate(actor, draft: Draft) -> tuple[list[str], dict]:
    if actor is not None and not jurisdiction_for(actor).contains(draft.audience_unit):
        raise ActionRefused(
            _("%(unit)s is outside your area.") % {"unit": draft.audience_unit.display_name},
            code="outside_jurisdiction",
        )
    if not (draft.title_hi.strip() or draft.title_en.strip()):
        raise ActionRefused(_("Give the message a title, in Hindi or English."), code="no_title")
    if not (draft.body_hi.strip() or draft.body_en.strip() or draft.link or draft.attachment):
        raise ActionRefused(_("Write the message, in Hindi or English."), code="no_body")
    if draft.topic not in Topic.values:
        raise ActionRefused(_("Unknown topic."), code="bad_topic")
    if draft.purpose not in Purpose.values:
        raise ActionRefused(_("Unknown purpose."), code="bad_purpose")
    channels = clean_channels(draft.channels)
    try:
        filters = clean_filters(draft.filters)
    except AudienceError as exc:
        raise ActionRefused(str(exc), code="bad_filter") from None
    if draft.scheduled_at and draft.scheduled_at < timezone.now() - timezone.timedelta(minutes=5):
        raise ActionRefused(_("The send time has passed."), code="past_schedule")
    if draft.purpose == Purpose.CAMPAIGN:
        silence = silence_for_audience(draft.audience_unit.path, draft.scheduled_at)
        if silence and silence[0] == "all":
            raise _silence_refusal(silence[1], silence[2])
    return channels, filters


def needs_approval(actor, estimate: int) -> bool:
    if actor is not None and actor.is_superuser:
        return False
    return estimate > settings.SANGATHAN_APPROVAL_THRESHOLD


def do_create_broadcast(actor, draft: Draft, *, request=None) -> Broadcast:
    """Write a broadcast and, unless it needs approval or waits for its time, publish it.
    Touches no row per recipient: the audience estimate is the unit's maintained count."""
    channels, filters = _validate(actor, draft)
    unit = draft.audience_unit
    # The maintained subtree count, read fresh: one row, whatever the audience size.
    estimate = OrgUnit.objects.filter(pk=unit.pk).values_list("people_count", flat=True)[0]
    with transaction.atomic(durable=True):
        broadcast = Broadcast(
            author=actor if actor is not None and actor.pk else None,
            origin_unit=origin_unit_for(actor, unit),
            audience_unit=unit,
            filters=filters,
            narrowed=bool(filters),
            purpose=draft.purpose,
            topic=draft.topic,
            title_hi=draft.title_hi.strip(),
            body_hi=draft.body_hi.strip(),
            title_en=draft.title_en.strip(),
            body_en=draft.body_en.strip(),
            link=draft.link,
            channels=channels,
            scheduled_at=draft.scheduled_at,
            audience_estimate=estimate,
            parent=draft.parent,
            local_note=draft.local_note.strip(),
            needs_approval=needs_approval(actor, estimate),
        )
        if draft.attachment:
            broadcast.attachment = draft.attachment
        if broadcast.needs_approval:
            broadcast.status = BroadcastStatus.PENDING
            broadcast.save()
        else:
            _release(broadcast)
        audit(
            "broadcast_created",
            actor=actor,
            obj=broadcast,
            request=request,
            code=broadcast.code,
            unit=unit.code,
            channels=channels,
            status=broadcast.status,
            estimate=estimate,
        )
    return broadcast


def _release(broadcast: Broadcast) -> None:
    """Publish now, or schedule for later (inside the caller's transaction)."""
    if broadcast.scheduled_at and broadcast.scheduled_at > timezone.now():
        broadcast.status = BroadcastStatus.SCHEDULED
        broadcast.save()
        from sangathan.broadcasts.tasks import enqueue_publish

        transaction.on_commit(lambda: enqueue_publish(broadcast.pk, broadcast.scheduled_at))
        return
    _publish(broadcast)


def _publish(broadcast: Broadcast) -> None:
    """Make it visible in the feeds now and queue its fan-out."""
    now = timezone.now()
    if broadcast.purpose == Purpose.CAMPAIGN:
        silence = silence_for_audience(broadcast.audience_unit.path, now)
        if silence and silence[0] == "all":
            broadcast.status = BroadcastStatus.BLOCKED
            broadcast.status_reason = str(_silence_refusal(silence[1], silence[2]).message)
            broadcast.save()
            return
        if silence:
            broadcast.excluded_paths = silence[1]
            broadcast.narrowed = True
    broadcast.status = BroadcastStatus.SENT
    broadcast.sent_at = now
    broadcast.save()
    from sangathan.broadcasts.tasks import enqueue_publish

    pk = broadcast.pk
    transaction.on_commit(lambda: enqueue_publish(pk))


def can_approve(user, broadcast: Broadcast) -> bool:
    """A superuser, or someone holding a position at a unit strictly above the author's
    (above the audience when the author held none), who is not the author."""
    if user is None or not user.is_authenticated:
        return False
    if broadcast.author_id == user.pk:
        return False
    if user.is_superuser:
        return True
    if user.person_id is None:
        return False
    below = broadcast.origin_unit or broadcast.audience_unit
    paths = Appointment.objects.current().filter(person_id=user.person_id)
    return any(
        below.path.startswith(p) and len(p) < len(below.path)
        for p in paths.values_list("unit__path", flat=True)
    )


def _pending_for_decision(actor, broadcast: Broadcast) -> Broadcast:
    """The broadcast, locked, if it waits for approval and ``actor`` may decide on it."""
    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
    if broadcast.status != BroadcastStatus.PENDING:
        raise ActionRefused(_("This broadcast is not waiting for approval."), code="state")
    if not can_approve(actor, broadcast):
        raise ActionRefused(
            _("Only a holder of a higher position can approve this broadcast."),
            code="not_approver",
        )
    return broadcast


def do_approve_broadcast(actor, broadcast: Broadcast, *, request=None) -> Broadcast:
    with transaction.atomic(durable=True):
        broadcast = _pending_for_decision(actor, broadcast)
        broadcast.approved_by = actor
        broadcast.decided_at = timezone.now()
        if broadcast.scheduled_at and broadcast.scheduled_at < timezone.now():
            broadcast.scheduled_at = None
        _release(broadcast)
        audit("broadcast_approved", actor=actor, obj=broadcast, request=request)
    return broadcast


def do_reject_broadcast(actor, broadcast: Broadcast, reason: str, *, request=None) -> Broadcast:
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused(_("Say why it is rejected."), code="no_reason")
    with transaction.atomic(durable=True):
        broadcast = _pending_for_decision(actor, broadcast)
        broadcast.status = BroadcastStatus.REJECTED
        broadcast.status_reason = reason[:300]
        broadcast.approved_by = actor
        broadcast.decided_at = timezone.now()
        broadcast.save()
        audit("broadcast_rejected", actor=actor, obj=broadcast, request=request, reason=reason)
    return broadcast


def do_cancel_broadcast(actor, broadcast: Broadcast, *, request=None) -> Broadcast:
    with transaction.atomic(durable=True):
        broadcast = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        if broadcast.status not in (BroadcastStatus.PENDING, BroadcastStatus.SCHEDULED):
            raise ActionRefused(_("Only a broadcast not yet sent can be cancelled."), code="state")
        if broadcast.author_id != getattr(actor, "pk", None) and not actor.is_superuser:
            raise ActionRefused(_("Only its author can cancel it."), code="not_author")
        broadcast.status = BroadcastStatus.CANCELLED
        broadcast.save()
        audit("broadcast_cancelled", actor=actor, obj=broadcast, request=request)
    return broadcast


def publish_due(broadcast_id: int) -> Broadcast | None:
    """Publish a scheduled broadcast whose time has come (the scheduled task calls this)."""
    with transaction.atomic(durable=True):
        broadcast = (
            Broadcast.objects.select_for_update()
            .select_related("audience_unit")
            .filter(pk=broadcast_id, status=BroadcastStatus.SCHEDULED)
            .first()
        )
        if broadcast is None or (
            broadcast.scheduled_at and broadcast.scheduled_at > timezone.now()
        ):
            return None
        _publish(broadcast)
        audit("broadcast_published", obj=broadcast, code=broadcast.code)
    return broadcast


def in_charge_units(user, broadcast: Broadcast):
    """Units where ``user`` holds a current appointment inside the broadcast's audience."""
    if user.person_id is None:
        return OrgUnit.objects.none()
    return (
        OrgUnit.objects.filter(
            appointments__in=Appointment.objects.current().filter(person_id=user.person_id),
            path__under=broadcast.audience_unit.path,
        )
        .select_related("level")
        .distinct()
    )


def _check_in_charge(actor, broadcast: Broadcast, unit: OrgUnit) -> None:
    if broadcast.status != BroadcastStatus.SENT:
        raise ActionRefused(_("This broadcast has not been sent."), code="state")
    if not in_charge_units(actor, broadcast).filter(pk=unit.pk).exists():
        raise ActionRefused(
            _("Only an office bearer of %(unit)s can do this.") % {"unit": unit.display_name},
            code="not_in_charge",
        )


def do_acknowledge_broadcast(actor, broadcast: Broadcast, unit: OrgUnit, *, request=None):
    """The unit's in-charge says they received it. Saying it twice changes nothing."""
    _check_in_charge(actor, broadcast, unit)
    with transaction.atomic(durable=True):
        ack, created = Acknowledgement.objects.get_or_create(
            broadcast=broadcast,
            unit=unit,
            defaults={"unit_path": unit.path, "person_id": actor.person_id},
        )
        if created:
            audit(
                "broadcast_acknowledged",
                actor=actor,
                obj=broadcast,
                request=request,
                unit=unit.code,
            )
    return ack


def do_reshare_broadcast(
    actor, parent: Broadcast, unit: OrgUnit, *, note: str = "", channels=None, request=None
) -> Broadcast:
    """Pass a received broadcast on to the in-charge's own subtree with a local note: a
    child broadcast linked to its parent. Re-sharing acknowledges too."""
    _check_in_charge(actor, parent, unit)
    do_acknowledge_broadcast(actor, parent, unit, request=request)
    draft = Draft(
        audience_unit=unit,
        title_hi=parent.title_hi,
        body_hi=parent.body_hi,
        title_en=parent.title_en,
        body_en=parent.body_en,
        link=parent.link,
        topic=parent.topic,
        purpose=parent.purpose,
        channels=channels or ["feed"],
        filters=parent.filters,
        parent=parent,
        local_note=note,
    )
    if parent.attachment:
        draft.attachment = parent.attachment.name
    return do_create_broadcast(actor, draft, request=request)


def do_record_receipt(person, broadcast: Broadcast, *, read: bool = True, shared: bool = False):
    """Record that a member read (and/or shared) a broadcast from their feed. Idempotent:
    only the first read and the first share count."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        receipt = (
            FeedRead.objects.select_for_update().filter(broadcast=broadcast, person=person).first()
        )
        first_read = first_share = False
        if receipt is None:
            try:
                with transaction.atomic():
                    receipt = FeedRead.objects.create(
                        broadcast=broadcast,
                        person=person,
                        unit_path=person.unit.path,
                        read_at=now,
                        shared_at=now if shared else None,
                    )
                first_read, first_share = True, shared
            except IntegrityError:
                receipt = FeedRead.objects.select_for_update().get(
                    broadcast=broadcast, person=person
                )
        if not first_read:
            changes = []
            if receipt.read_at is None:
                receipt.read_at, first_read = now, True
                changes.append("read_at")
            if shared and receipt.shared_at is None:
                receipt.shared_at, first_share = now, True
                changes.append("shared_at")
            if changes:
                receipt.save(update_fields=changes)
        if first_read or first_share:
            record_feed_receipt(broadcast.pk, receipt.unit_path, first_read, first_share)
    return receipt
