"""Channels: the delivery outbox for external channels, push subscriptions, opt-outs and
provider status events.

The outbox is the truth: ``Delivery`` rows are created set-based when a broadcast fans out,
claimed in batches by workers, and moved forward by provider responses and status webhooks.
Tasks only wake workers up, so a lost task loses nothing.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    DELIVERED = "delivered", _("delivered")
    READ = "read", _("read")
    FAILED = "failed", _("failed")
    SUPPRESSED = "suppressed", _("suppressed")


# A status only moves forward: a late "delivered" never overwrites "read". ``failed`` can
# follow ``sent`` (the provider accepted it, then could not deliver) but not ``delivered``.
STATUS_RANK = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "failed": 3,
    "delivered": 4,
    "read": 5,
    "suppressed": 6,
}
FINAL_STATUSES = ("sent", "delivered", "read", "failed", "suppressed")


class Delivery(models.Model):
    """One message to one person on one external channel for one broadcast."""

    Status = DeliveryStatus

    id = models.BigAutoField(primary_key=True)
    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="deliveries"
    )
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Who holds the claim and since when: a claim older than the lease is re-queued.
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    adapter = models.CharField(max_length=16, blank=True)
    provider_ref = models.CharField(max_length=128, blank=True)
    error = models.CharField(max_length=300, blank=True)
    # The recipient's unit path at fan-out: reach counters and drill-down group on it.
    unit_path = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "person", "channel"], name="one_delivery")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_ready"),
            # A worker claims per channel: without the channel first, draining one channel
            # behind a backlog of another would walk the other's rows on every claim.
            models.Index(
                fields=["channel", "status", "next_attempt_at"], name="delivery_ready_channel"
            ),
            # A status callback names the provider's message id on one channel.
            models.Index(fields=["provider_ref", "channel"], name="delivery_ref"),
            # Reach below the assembly groups one unit's rows by (path prefix, channel,
            # status): covering them makes it an index-only range scan. On PostgreSQL the
            # path's prefix (``LIKE 'p%'``) is a range only with pattern ops (under a
            # language collation the default ops cannot serve LIKE); SQLite ignores
            # opclasses and reads its range form (``sangathan.org.lookups``).
            models.Index(
                fields=["broadcast", "unit_path", "channel", "status"],
                name="delivery_reach",
                opclasses=["int8_ops", "varchar_pattern_ops", "varchar_ops", "varchar_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.person_id} ({self.status})"


class PushSubscription(models.Model):
    """A member app's Web Push subscription (one per browser/device)."""

    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"push {self.person_id} {self.endpoint[:40]}"


class Suppression(models.Model):
    """An address that asked not to be messaged on a channel (STOP, "बंद", an unsubscribe
    link, a provider opt-out). Keyed by address, not by person, so that it survives a
    re-import or a deleted and re-created person; the consent withdrawal is recorded too."""

    channel = models.CharField(max_length=10)
    address = models.CharField(max_length=254, help_text=_("E.164 phone or email"))
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "address"], name="one_suppression")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.address}"


class StatusEvent(models.Model):
    """A provider status callback as received (sent/delivered/read/failed): the record of what
    the provider said. Stored at once, with a ``PendingStatus`` row until the applier has
    used it; ``key`` makes a replayed webhook a no-op."""

    provider = models.CharField(max_length=16)
    key = models.CharField(max_length=200)
    provider_ref = models.CharField(max_length=128)
    status = models.CharField(max_length=10)
    occurred_at = models.DateTimeField()
    error = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "key"], name="one_status_event")]

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_ref} {self.status}"


class PendingStatus(models.Model):
    """The applier's queue: a status event not used up yet (applied, or dropped as unknown
    after a day). Using an event deletes its row here, a narrow row in a narrow table,
    instead of rewriting the event: the batch's cost is the deliveries it moves."""

    event = models.OneToOneField(
        StatusEvent, primary_key=True, on_delete=models.CASCADE, related_name="pending"
    )

    def __str__(self) -> str:
        return f"pending {self.event_id}"
