"""``sangathan broadcast --unit CODE --title … --body … --channels feed,sms [--json]``.

Creates and sends a broadcast as a superuser, through the same action the compose page and
the API use, then fans it out at once (the outbox rows exist when it returns; ``sangathan
worker --until-idle`` sends them). Prints the broadcast's id, its audience per channel and
its status.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from sangathan.accounts.models import User
from sangathan.broadcasts.actions import Draft, do_create_broadcast
from sangathan.broadcasts.audience import preview_counts
from sangathan.broadcasts.fanout import fan_out
from sangathan.broadcasts.models import Broadcast
from sangathan.org.models import OrgUnit
from sangathan.people.actions import ActionRefused


class Command(BaseCommand):
    help = "Create and send a broadcast to a unit's subtree as a superuser; prints id and audience."

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True, help="audience unit code, e.g. UP-D-162")
        parser.add_argument("--title", required=True, help="title (Hindi or English)")
        parser.add_argument("--body", required=True, help="message text")
        parser.add_argument("--title-en", default="", help="English title, when --title is Hindi")
        parser.add_argument("--body-en", default="", help="English text, when --body is Hindi")
        parser.add_argument(
            "--channels", default="feed", help="comma-separated: feed,push,sms,email,whatsapp"
        )
        parser.add_argument(
            "--purpose",
            default="organisational",
            choices=["organisational", "schemes", "campaign"],
            help="consent purpose; campaign is political (silence window applies)",
        )
        parser.add_argument("--topic", default="organisation")
        parser.add_argument("--link", default="")
        parser.add_argument("--at", default="", help="send time, ISO 8601 (default now)")
        parser.add_argument(
            "--as", dest="phone", default="", help="superuser's phone (default: the first)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **o):
        users = User.objects.filter(is_superuser=True, is_active=True).order_by("pk")
        if o["phone"]:
            users = users.filter(phone=o["phone"])
        actor = users.first()
        if actor is None:
            raise CommandError("No active superuser: create one (sangathan demo does).")
        unit = OrgUnit.objects.filter(code=o["unit"]).select_related("level").first()
        if unit is None:
            raise CommandError(f"No unit with code {o['unit']}.")
        when = None
        if o["at"]:
            when = parse_datetime(o["at"])
            if when is None:
                raise CommandError("--at takes an ISO 8601 date and time.")
        title, body = o["title"], o["body"]
        hindi = any("\u0900" <= ch <= "\u097f" for ch in title + body)
        draft = Draft(
            audience_unit=unit,
            title_hi=title if hindi else "",
            body_hi=body if hindi else "",
            title_en=o["title_en"] if hindi else title,
            body_en=o["body_en"] if hindi else body,
            link=o["link"],
            topic=o["topic"],
            purpose=o["purpose"],
            channels=[c for c in o["channels"].split(",") if c.strip()],
            scheduled_at=when,
        )
        try:
            broadcast = do_create_broadcast(actor, draft)
        except ActionRefused as exc:
            raise CommandError(" ".join(exc.messages)) from None
        broadcast = Broadcast.objects.select_related("audience_unit").get(pk=broadcast.pk)
        if broadcast.status == Broadcast.Status.SENT:
            audience = fan_out(broadcast)
        else:
            audience = preview_counts(
                unit, broadcast.channels, broadcast.purpose, broadcast.filters
            )
        result = {
            "id": broadcast.code,
            "status": broadcast.status,
            "status_reason": broadcast.status_reason,
            "unit": unit.code,
            "channels": broadcast.channels,
            "audience": audience,
        }
        if o["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self.stdout.write(f"Broadcast {broadcast.code}: {broadcast.status}")
        if broadcast.status_reason:
            self.stdout.write(f"  {broadcast.status_reason}")
        for channel, n in audience.items():
            self.stdout.write(f"  {channel}: {n}")
