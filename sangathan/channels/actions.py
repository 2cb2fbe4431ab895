"""Writes of the channels app that matter."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from sangathan.accounts.audit import audit
from sangathan.broadcasts.reach import record_status_changes
from sangathan.channels.models import Delivery, Suppression
from sangathan.channels.optout import OPT_OUT_CHANNELS, normalise_address


@dataclass
class OptOutResult:
    suppression: Suppression
    created: bool
    consents_withdrawn: int
    deliveries_suppressed: int


def do_opt_out(
    channel: str, address: str, reason: str, evidence: str, *, actor=None, request=None
) -> OptOutResult:
    """Stop messaging ``address`` (a phone for sms/whatsapp/push, an email for email) on
    ``channel``, at once: record the suppression (idempotent), withdraw every active consent on
    that channel of the people with that address, for every purpose (the consent rows are
    kept, with the evidence, e.g. "STOP via sms"), and mark their queued deliveries on that
    channel suppressed. Messages already with the provider cannot be called back."""
    from sangathan.people.models import Consent, Person

    if channel not in OPT_OUT_CHANNELS:
        raise ValueError(f"no opt-out for channel {channel!r}")
    address = normalise_address(channel, address)
    if not address:
        raise ValueError("an opt-out needs an address")
    now = timezone.now()
    with transaction.atomic(durable=True):
        suppression, created = Suppression.objects.get_or_create(
            channel=channel, address=address, defaults={"reason": reason[:200]}
        )
        people = (
            Person.objects.filter(email__iexact=address)
            if channel == "email"
            else Person.objects.filter(phone=address)
        )
        person_ids = list(people.values_list("pk", flat=True))

        withdrawn = 0
        if person_ids:
            note = f" | withdrawn: {evidence}"
            withdrawn = (
                Consent.objects.active()
                .filter(person_id__in=person_ids, channel=channel)
                .update(
                    withdrawn_at=now,
                    evidence=Substr(Concat(F("evidence"), Value(note)), 1, 255),
                )
            )

        suppressed = 0
        if person_ids:
            queued = list(
                Delivery.objects.filter(
                    person_id__in=person_ids, channel=channel, status=Delivery.Status.QUEUED
                )
                .order_by("id")
                .select_for_update()
                .values_list("id", "broadcast_id", "unit_path")
            )
            if queued:
                suppressed = Delivery.objects.filter(
                    id__in=[q[0] for q in queued], status=Delivery.Status.QUEUED
                ).update(status=Delivery.Status.SUPPRESSED, status_at=now, error=reason[:300])
                record_status_changes(
                    (broadcast_id, channel, unit_path, "queued", "suppressed")
                    for _id, broadcast_id, unit_path in queued
                )

        if created or withdrawn or suppressed:
            audit(
                "opt_out",
                actor=actor,
                obj=suppression,
                request=request,
                channel=channel,
                reason=reason[:200],
                evidence=evidence[:255],
                people=person_ids,
                consents_withdrawn=withdrawn,
                deliveries_suppressed=suppressed,
            )
    return OptOutResult(suppression, created, withdrawn, suppressed)
