"""Poll dates: when polling closes in an assembly constituency, which starts the campaign
silence window there (``sangathan.broadcasts.silence``)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sangathan.accounts.audit import audit
from sangathan.broadcasts.models import PollDate
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.actions import ActionRefused

POLL_LEVEL = "assembly"


def do_set_poll_date(actor, unit, closes_at, note: str = "", *, request=None) -> PollDate:
    """Set when polling closes in ``unit`` (an assembly constituency in the actor's area).
    A constituency has one upcoming poll: setting it again corrects that date rather than
    adding a second one; past polls stay as they were."""
    if actor is not None and not jurisdiction_for(actor).contains(unit):
        raise ActionRefused(
            _("%(unit)s is outside your area.") % {"unit": unit.display_name},
            code="outside_jurisdiction",
        )
    if unit.level.slug != POLL_LEVEL:
        raise ActionRefused(
            _("Poll dates are set per assembly constituency; %(unit)s is a %(level)s.")
            % {"unit": unit.display_name, "level": unit.level.display_name},
            code="not_assembly",
        )
    now = timezone.now()
    if closes_at <= now:
        raise ActionRefused(
            _("Polling closes in the future: check the date."), code="past_poll_date"
        )
    note = (note or "").strip()[:200]
    with transaction.atomic(durable=True):
        poll = (
            PollDate.objects.select_for_update()
            .filter(unit=unit, poll_closes_at__gt=now)
            .order_by("poll_closes_at")
            .first()
        )
        previous = poll.poll_closes_at if poll is not None else None
        if poll is None:
            poll = PollDate(unit=unit, created_by=actor if getattr(actor, "pk", None) else None)
        poll.poll_closes_at = closes_at
        poll.note = note
        poll.save()
        audit(
            "poll_date_set",
            actor=actor,
            obj=poll,
            request=request,
            unit=unit.code,
            closes_at=closes_at.isoformat(),
            previous=previous.isoformat() if previous else "",
        )
    return poll
