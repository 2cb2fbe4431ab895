"""WhatsApp groups: the registry of groups each unit runs, their admins, invite links and
member counts over time; expansion targets and coverage snapshots; forward tasks.

A political organisation may not use the WhatsApp Business Platform (DESIGN §5), so Sangathan
never posts into a group: it keeps the list, asks the group's admins (people) to forward a
broadcast with a ready text and a ``wa.me`` link, and records who confirmed.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
# https://chat.whatsapp.com/<invite code>: 20-24 letters and digits today; be lenient on length.
INVITE_LINK_RE = re.compile(r"^https://chat\.whatsapp\.com/(invite/)?[A-Za-z0-9]{10,40}/?$")


def new_group_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def validate_invite_link(value: str) -> None:
    if value and not INVITE_LINK_RE.match(value.strip()):
        raise ValidationError(
            _("“%(value)s” is not a WhatsApp group invite link (https://chat.whatsapp.com/…)."),
            code="bad_link",
            params={"value": value},
        )


class GroupPurpose(models.TextChoices):
    WORKERS = "workers", _("Workers")
    SUPPORTERS = "supporters", _("Supporters")
    YOUTH = "youth", _("Youth")
    WOMEN = "women", _("Women")
    OTHER = "other", _("Other")


class GroupStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    ARCHIVED = "archived", _("archived")


class GroupQuerySet(models.QuerySet):
    def active(self) -> GroupQuerySet:
        return self.filter(status=GroupStatus.ACTIVE)

    def within(self, unit) -> GroupQuerySet:
        return self.filter(unit__path__under=unit.path)

    def visible_to(self, user) -> GroupQuerySet:
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "unit__path")


class Group(models.Model):
    """A WhatsApp group run for a unit (a booth's workers' group, a district's youth group).
    ``member_count`` is the latest of its ``MemberCount`` snapshots, kept here so that sums
    over a subtree read one column."""

    Purpose = GroupPurpose
    Status = GroupStatus

    code = models.CharField(max_length=12, unique=True, default=new_group_code)
    unit = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.PROTECT,
        related_name="whatsapp_groups",
        verbose_name=_("unit"),
    )
    name = models.CharField(_("group name"), max_length=200)
    purpose = models.CharField(
        _("purpose"), max_length=12, choices=GroupPurpose.choices, default=GroupPurpose.WORKERS
    )
    invite_link = models.CharField(
        _("invite link"), max_length=200, blank=True, validators=[validate_invite_link]
    )
    admins = models.ManyToManyField(
        "people.Person", through="GroupAdmin", related_name="whatsapp_groups", blank=True
    )
    member_count = models.PositiveIntegerField(_("members"), default=0)
    member_count_on = models.DateField(_("members counted on"), null=True, blank=True)
    last_verified_on = models.DateField(_("last verified"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=GroupStatus.choices, default=GroupStatus.ACTIVE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = GroupQuerySet.as_manager()

    class Meta:
        ordering = ["unit__path", "name"]
        verbose_name = _("WhatsApp group")
        verbose_name_plural = _("WhatsApp groups")
        indexes = [models.Index(fields=["unit", "status", "purpose"])]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="one_group_name_per_unit")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == GroupStatus.ACTIVE


class GroupAdmin(models.Model):
    """A person who administers a group (usually the unit's WhatsApp pramukh)."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="admin_links")
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="group_admin_links"
    )
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("group admin")
        verbose_name_plural = _("group admins")
        constraints = [
            models.UniqueConstraint(fields=["group", "person"], name="one_admin_row_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} admin of {self.group_id}"


class InviteLink(models.Model):
    """One invite link a group had: rotating a link (after it leaked, or WhatsApp reset it)
    ends the current row and starts a new one, so the history stays."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="link_history")
    url = models.CharField(max_length=200)
    set_at = models.DateTimeField(default=timezone.now)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-set_at", "-pk"]
        verbose_name = _("invite link")
        verbose_name_plural = _("invite links")

    def __str__(self) -> str:
        return self.url


class MemberCount(models.Model):
    """How many members a group had on a day (one row per group and day; a second count on
    the same day replaces the first)."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="counts")
    counted_on = models.DateField(default=timezone.localdate)
    members = models.PositiveIntegerField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-counted_on"]
        verbose_name = _("member count")
        verbose_name_plural = _("member counts")
        constraints = [
            models.UniqueConstraint(fields=["group", "counted_on"], name="one_count_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.group_id}: {self.members} on {self.counted_on}"


class ExpansionTarget(models.Model):
    """ "``per_unit`` group(s) of ``purpose`` at every ``level`` unit inside ``scope_unit``",
    e.g. one workers' group per booth in the whole state."""

    scope_unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.CASCADE, related_name="+", verbose_name=_("area")
    )
    level = models.ForeignKey(
        "org.Level", on_delete=models.PROTECT, related_name="+", verbose_name=_("level")
    )
    purpose = models.CharField(
        _("purpose"),
        max_length=12,
        choices=GroupPurpose.choices,
        blank=True,
        help_text=_("empty: a group of any purpose counts"),
    )
    per_unit = models.PositiveSmallIntegerField(_("groups per unit"), default=1)
    due = models.DateField(_("due"), null=True, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scope_unit__path", "level__depth", "pk"]
        verbose_name = _("expansion target")
        verbose_name_plural = _("expansion targets")

    def __str__(self) -> str:
        return (
            f"{self.per_unit} {self.purpose or 'any'} per {self.level_id} in {self.scope_unit_id}"
        )


class CoverageSnapshot(models.Model):
    """Coverage of one unit on one day, for one target (``target`` empty: the default, a
    group of any purpose per booth). Taken set-based for every unit down to the assembly
    level (``sangathan.groups.coverage.take_snapshots``); the coverage page draws the trend
    from these rows."""

    taken_on = models.DateField()
    unit = models.ForeignKey("org.OrgUnit", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(
        ExpansionTarget, on_delete=models.CASCADE, null=True, blank=True, related_name="snapshots"
    )
    units_total = models.PositiveIntegerField(default=0)
    units_covered = models.PositiveIntegerField(default=0)
    groups = models.PositiveIntegerField(default=0)
    members = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["taken_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["taken_on", "unit", "target"],
                condition=Q(target__isnull=False),
                name="one_snapshot_per_target",
            ),
            models.UniqueConstraint(
                fields=["taken_on", "unit"],
                condition=Q(target__isnull=True),
                name="one_default_snapshot",
            ),
        ]
        indexes = [models.Index(fields=["unit", "target", "taken_on"])]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.taken_on}: {self.units_covered}/{self.units_total}"


class GroupForwardQuerySet(models.QuerySet):
    def with_confirmation(self) -> GroupForwardQuerySet:
        """Annotate ``app_confirmed`` (an admin marked their task done in the app) and
        ``confirmed`` (that, or a staff member marked it)."""
        from sangathan.people.models import TaskDone

        done = TaskDone.objects.filter(task__group_forward__forward=OuterRef("pk"))
        return self.annotate(app_confirmed=Exists(done)).annotate(
            confirmed=models.ExpressionWrapper(
                Q(app_confirmed=True) | Q(staff_confirmed_at__isnull=False),
                output_field=models.BooleanField(),
            )
        )

    def confirmed(self) -> GroupForwardQuerySet:
        from sangathan.people.models import TaskDone

        done = TaskDone.objects.filter(task__group_forward__forward=OuterRef("pk"))
        return self.filter(Q(Exists(done)) | Q(staff_confirmed_at__isnull=False))

    def visible_to(self, user) -> GroupForwardQuerySet:
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "group__unit__path")


class GroupForward(models.Model):
    """That a broadcast went to a group's admins as forward tasks; confirmed when one of them
    marks their task done in the app, or a staff member marks it for them."""

    broadcast = models.ForeignKey(
        "broadcasts.Broadcast", on_delete=models.CASCADE, related_name="group_forwards"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="forwards")
    created_at = models.DateTimeField(default=timezone.now)
    staff_confirmed_at = models.DateTimeField(null=True, blank=True)
    staff_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = GroupForwardQuerySet.as_manager()

    class Meta:
        verbose_name = _("group forward")
        verbose_name_plural = _("group forwards")
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "group"], name="one_forward_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.broadcast_id} → {self.group_id}"


class ForwardTask(models.Model):
    """The task one admin got for one group forward (``people.Task`` of kind forward), and
    whether they were reminded."""

    forward = models.ForeignKey(GroupForward, on_delete=models.CASCADE, related_name="tasks")
    task = models.OneToOneField(
        "people.Task", on_delete=models.CASCADE, related_name="group_forward"
    )
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    reminded_at = models.DateTimeField(null=True, blank=True)
    reminded_via = models.CharField(max_length=10, blank=True)
    # Set with reminded_at by the worker that claims the reminder: no two send it.
    reminder_claim = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [models.Index(fields=["reminded_at", "created_at"])]

    def __str__(self) -> str:
        return f"task {self.task_id} for {self.person_id}"
