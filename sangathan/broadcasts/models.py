"""Broadcasts: content cascaded down a subtree, its approval, acknowledgement, feed receipts
and reach counters.

The in-app feed is fan-out-on-read: publishing a broadcast writes one row whatever the size of
its audience, and a member's feed is the sent broadcasts addressed to one of their unit's
ancestors. External channels are fan-out-on-write into ``channels.Delivery`` (see
``sangathan.broadcasts.fanout``).
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def new_broadcast_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


class BroadcastChannel(models.TextChoices):
    FEED = "feed", _("Member app feed")
    PUSH = "push", _("Push notification")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WHATSAPP = "whatsapp", _("WhatsApp")
    # Not sent by us: forward tasks for the admins of the audience's WhatsApp groups
    # (sangathan.groups.forwards, run by the publish task).
    GROUPS = "groups", _("WhatsApp groups")


EXTERNAL_CHANNELS = ("push", "sms", "email", "whatsapp")
# The consent a channel needs (people.Consent.channel). The feed is the member's own app: what
# their organisation publishes there needs no further consent, as a notice board does not.
CONSENT_CHANNEL = {"push": "push", "sms": "sms", "email": "email", "whatsapp": "whatsapp"}


class Topic(models.TextChoices):
    SCHEME = "scheme", _("Government scheme")
    PROGRAMME = "programme", _("Programme")
    POLICY = "policy", _("Policy")
    ORGANISATION = "organisation", _("Organisation news")


class BroadcastStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PENDING = "pending", _("waiting for approval")
    SCHEDULED = "scheduled", _("scheduled")
    SENT = "sent", _("sent")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")
    BLOCKED = "blocked", _("blocked by the silence window")


class BroadcastQuerySet(models.QuerySet):
    def sent(self):
        return self.filter(status=BroadcastStatus.SENT)

    def visible_to(self, user):
        """Broadcasts whose audience lies in the user's jurisdiction."""
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "audience_unit__path")

    def addressed_to_path(self, path: str):
        """Broadcasts whose audience unit is the unit at ``path`` or one of its ancestors:
        at most one index seek per level."""
        from sangathan.org.models import OrgUnit

        step = OrgUnit.steplen
        prefixes = [path[:i] for i in range(step, len(path) + 1, step)]
        return self.filter(audience_unit__in=OrgUnit.objects.filter(path__in=prefixes).values("pk"))

    def feed_for(self, person):
        """The sent broadcasts ``person`` sees in the app, newest first: addressed to their
        unit or an ancestor, matching the audience filters, and not held back from their
        assembly by a silence window."""
        from sangathan.broadcasts.audience import narrowed_ids_for

        base = self.sent().addressed_to_path(person.unit.path)
        ids = narrowed_ids_for(person, base)
        return base.filter(Q(narrowed=False) | Q(pk__in=ids)).order_by("-sent_at", "-pk")

    def inbox_for(self, user):
        """Sent broadcasts addressed to a unit at or above one of the user's appointments
        (what a unit in-charge is asked to acknowledge and pass on)."""
        from sangathan.people.models import Appointment

        if user.person_id is None:
            return self.none()
        paths = list(
            Appointment.objects.current()
            .filter(person_id=user.person_id)
            .values_list("unit__path", flat=True)
        )
        if not paths:
            return self.none()
        q = Q(pk__in=[])
        for path in paths:
            q |= Q(pk__in=self.addressed_to_path(path).values("pk"))
        return self.sent().filter(q)


class Broadcast(models.Model):
    """A message to everyone in a unit's subtree (optionally narrowed), in Hindi and/or
    English, on one or more channels. ``parent`` links a unit in-charge's re-share to what
    they received."""

    Status = BroadcastStatus

    code = models.CharField(max_length=12, unique=True, default=new_broadcast_code)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    origin_unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    audience_unit = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.PROTECT,
        related_name="broadcasts",
        verbose_name=_("audience"),
    )
    # {"levels": [slug], "positions": [id], "wings": [str], "tags": [str], "app": "joined"|
    # "not_joined"}: people in the subtree who match all of the given keys.
    filters = models.JSONField(default=dict, blank=True)
    # True when filters or excluded_paths are set: the feed then checks each member.
    narrowed = models.BooleanField(default=False)
    purpose = models.CharField(
        _("purpose"), max_length=16, default="organisational", help_text=_("consent purpose")
    )
    topic = models.CharField(
        _("topic"), max_length=16, choices=Topic.choices, default=Topic.ORGANISATION
    )
    title_hi = models.CharField(_("title (Hindi)"), max_length=200, blank=True)
    body_hi = models.TextField(_("message (Hindi)"), blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    body_en = models.TextField(_("message (English)"), blank=True)
    link = models.URLField(_("link"), blank=True)
    attachment = models.FileField(_("attachment"), upload_to="broadcasts/%Y/%m", blank=True)
    channels = models.JSONField(default=list)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=BroadcastStatus.choices, default=BroadcastStatus.DRAFT
    )
    status_reason = models.CharField(max_length=300, blank=True)
    # Audience-size estimate from the maintained subtree counts, taken without touching people.
    audience_estimate = models.PositiveIntegerField(default=0)
    # Exact recipients per channel once fanned out: {"feed": n, "sms": n, ...}.
    audience_counts = models.JSONField(default=dict, blank=True)
    needs_approval = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Paths of assemblies in a campaign-silence window when it was sent: held back there.
    excluded_paths = models.JSONField(default=list, blank=True)
    fanout_done_at = models.DateTimeField(null=True, blank=True)
    # Reach counters exist for units from the audience down to this tree depth (0: none yet).
    counter_depth = models.PositiveSmallIntegerField(default=0)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reshares"
    )
    local_note = models.TextField(_("local note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BroadcastQuerySet.as_manager()

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        indexes = [
            # the feed: per ancestor unit, sent ones, newest first (the id breaks ties: with
            # it PostgreSQL reads a unit's newest n in order instead of sorting them all)
            models.Index(fields=["audience_unit", "status", "sent_at", "id"]),
            models.Index(fields=["status", "scheduled_at"]),
        ]

    def __str__(self) -> str:
        return self.title or self.code

    @property
    def title(self) -> str:
        if (get_language() or "hi").startswith("hi"):
            return self.title_hi or self.title_en
        return self.title_en or self.title_hi

    @property
    def body(self) -> str:
        if (get_language() or "hi").startswith("hi"):
            return self.body_hi or self.body_en
        return self.body_en or self.body_hi

    def text_for(self, language: str) -> tuple[str, str]:
        """(title, body) in ``language`` ("hi"/"en"), falling back to the other one."""
        if language.startswith("en"):
            return (self.title_en or self.title_hi, self.body_en or self.body_hi)
        return (self.title_hi or self.title_en, self.body_hi or self.body_en)

    @property
    def is_political(self) -> bool:
        return self.purpose == "campaign"

    @property
    def external_channels(self) -> list[str]:
        return [c for c in self.channels if c in EXTERNAL_CHANNELS]

    @property
    def reach_channels(self) -> list[str]:
        """The channels reach counters and the reach table cover: the feed and the external
        ones (WhatsApp groups' reach is the groups app's confirmed estimate)."""
        return ["feed", *self.external_channels]


class FeedRead(models.Model):
    """A member's read and share receipts for one broadcast (idempotent: one row each)."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="receipts")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    # The reader's unit path when they first read it, for reach below the assembly level.
    unit_path = models.CharField(max_length=255)
    read_at = models.DateTimeField(null=True, blank=True)
    shared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["broadcast", "person"], name="one_receipt")]
        # A unit's subtree is a path prefix (``unit_path__under``): on PostgreSQL an index
        # range only with pattern ops (see ``channels.Delivery``'s delivery_reach).
        indexes = [
            models.Index(
                fields=["broadcast", "unit_path"],
                name="feedread_reach",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} read {self.broadcast_id}"


class Acknowledgement(models.Model):
    """A unit in-charge's "received, passing it on" for a broadcast, one per unit."""

    broadcast = models.ForeignKey(
        Broadcast, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    unit = models.ForeignKey("org.OrgUnit", on_delete=models.CASCADE, related_name="+")
    unit_path = models.CharField(max_length=255)
    person = models.ForeignKey(
        "people.Person", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["broadcast", "unit"], name="one_ack")]
        indexes = [
            models.Index(
                fields=["broadcast", "unit_path"],
                name="ack_reach",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} acknowledged {self.broadcast_id}"


class ReachCounter(models.Model):
    """Reach of one broadcast on one channel within one unit's subtree, for units from the
    audience unit down to the assembly level. Kept in step in bulk as statuses and receipts
    arrive, so the reach page reads a handful of rows whatever the audience size."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="counters")
    unit = models.ForeignKey("org.OrgUnit", on_delete=models.CASCADE, related_name="+")
    unit_path = models.CharField(max_length=255)
    depth = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=10)
    audience = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    read = models.PositiveIntegerField(default=0)
    shared = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["broadcast", "channel", "unit_path"], name="one_counter"
            )
        ]
        indexes = [models.Index(fields=["broadcast", "depth", "unit_path"])]

    def __str__(self) -> str:
        return f"{self.broadcast_id}/{self.channel}/{self.unit_path}"


class PollDate(models.Model):
    """When polling closes in one assembly constituency. Political broadcasts are held back
    from its subtree for the silence window before it (48 hours, Representation of the
    People Act 1951 s.126)."""

    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.CASCADE, related_name="poll_dates", verbose_name=_("unit")
    )
    poll_closes_at = models.DateTimeField(_("polling closes at"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["poll_closes_at"]
        verbose_name = _("poll date")
        verbose_name_plural = _("poll dates")
        indexes = [models.Index(fields=["poll_closes_at"])]

    def __str__(self) -> str:
        return f"{self.unit} {self.poll_closes_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def silence_hours() -> int:
        return int(getattr(settings, "SANGATHAN_SILENCE_HOURS", 48))

    @property
    def silence_starts(self):
        return self.poll_closes_at - timedelta(hours=self.silence_hours())

    def is_silent(self, at=None) -> bool:
        at = at or timezone.now()
        return self.silence_starts <= at < self.poll_closes_at
