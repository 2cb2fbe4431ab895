"""Meetings: a host unit's meeting with its agenda, invitees by rule (positions × units) and
extra people, the invitations sent (a snapshot), RSVPs, attendance, minutes per agenda item
and action items that reach their assignee's "My tasks" in the member app."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read aloud, typed on a phone
# The check-in code shown on the organiser's screen changes every few minutes; the one just
# before stays good too, so a member who read it a moment before the change is not refused.
CHECKIN_WINDOW_SECONDS = 5 * 60
# Check-in is open from an hour before the start until two hours after the end.
CHECKIN_OPENS_BEFORE = timedelta(hours=1)
CHECKIN_CLOSES_AFTER = timedelta(hours=2)


def new_meeting_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def new_secret() -> str:
    return secrets.token_hex(16)


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class MeetingKind(models.TextChoices):
    STATE = "state", _("State")
    REGIONAL = "regional", _("Regional")
    DISTRICT = "district", _("District")
    ASSEMBLY = "assembly", _("Assembly")
    MANDAL = "mandal", _("Mandal")
    BOOTH = "booth", _("Booth")
    OTHER = "other", _("Other")


class MeetingStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    INVITED = "invited", _("invitations sent")
    HELD = "held", _("held")
    CANCELLED = "cancelled", _("cancelled")


class MeetingQuerySet(models.QuerySet):
    def visible_to(self, user) -> MeetingQuerySet:
        """Meetings whose host unit lies in the user's jurisdiction."""
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "host_unit__path")

    def within(self, unit) -> MeetingQuerySet:
        return self.filter(host_unit__path__startswith=unit.path)

    def for_person(self, person) -> MeetingQuerySet:
        """Meetings ``person`` is invited to or chairs."""
        return self.filter(Q(invitations__person=person) | Q(chair=person)).distinct()


class Meeting(models.Model):
    """A meeting held by a unit ("State IT meeting with all regions"): when and where, who
    chairs it, its agenda, who is invited and who came. ``code`` is the opaque public id."""

    Kind = MeetingKind
    Status = MeetingStatus

    code = models.CharField(max_length=16, unique=True, default=new_meeting_code)
    host_unit = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.PROTECT,
        related_name="meetings",
        verbose_name=_("host unit"),
    )
    title = models.CharField(_("title"), max_length=200)
    title_hi = models.CharField(_("title (Hindi)"), max_length=200, blank=True)
    kind = models.CharField(
        _("type"), max_length=10, choices=MeetingKind.choices, default=MeetingKind.DISTRICT
    )
    chair = models.ForeignKey(
        "people.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chaired_meetings",
        verbose_name=_("chair"),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    venue = models.CharField(_("venue"), max_length=255, blank=True)
    online_link = models.URLField(_("online link"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.DRAFT
    )
    # People named one by one, beside those the rules bring.
    extra_invitees = models.ManyToManyField(
        "people.Person", blank=True, related_name="+", verbose_name=_("extra invitees")
    )
    # The meeting this one follows up (its open action items were copied into the agenda).
    follows = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )
    checkin_secret = models.CharField(max_length=32, default=new_secret, editable=False)
    invitations_sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        indexes = [models.Index(fields=["starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="meeting_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        if (get_language() or "hi").startswith("hi") and self.title_hi:
            return self.title_hi
        return self.title

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    # --- check-in codes ------------------------------------------------------------------

    def checkin_open(self, now=None) -> bool:
        now = now or timezone.now()
        if self.status == MeetingStatus.CANCELLED:
            return False
        return self.starts_at - CHECKIN_OPENS_BEFORE <= now <= self.ends_at + CHECKIN_CLOSES_AFTER

    def checkin_code(self, now=None, *, window: int | None = None) -> str:
        """The 6-digit code of the current window (or of ``window``): an HMAC of the
        meeting's secret, so nobody can work out the next one from the last."""
        if window is None:
            window = int((now or timezone.now()).timestamp()) // CHECKIN_WINDOW_SECONDS
        digest = hmac.new(
            self.checkin_secret.encode(), f"{self.code}:{window}".encode(), hashlib.sha256
        ).digest()
        return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"

    def checkin_code_valid(self, code: str, now=None) -> bool:
        now = now or timezone.now()
        window = int(now.timestamp()) // CHECKIN_WINDOW_SECONDS
        code = (code or "").strip()
        return any(
            hmac.compare_digest(self.checkin_code(window=w), code) for w in (window, window - 1)
        )

    def checkin_code_changes_at(self, now=None):
        now = now or timezone.now()
        window = int(now.timestamp()) // CHECKIN_WINDOW_SECONDS
        return timezone.datetime.fromtimestamp(
            (window + 1) * CHECKIN_WINDOW_SECONDS, tz=timezone.get_current_timezone()
        )


class AgendaItem(models.Model):
    """One point of a meeting's agenda, in order, with who presents it, its time box and,
    after the meeting, its minutes and decisions."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    order = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(_("agenda item"), max_length=200)
    presenter = models.ForeignKey(
        "people.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("presenter"),
    )
    minutes = models.PositiveSmallIntegerField(_("time (minutes)"), default=15)
    notes = models.TextField(_("notes"), blank=True, help_text=_("what was said"))
    decisions = models.TextField(_("decisions"), blank=True)

    class Meta:
        ordering = ["meeting", "order", "pk"]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")

    def __str__(self) -> str:
        return self.title


class InviteRule(models.Model):
    """Invite every current holder of ``position`` at the units at or below ``scope_unit``
    ("all district IT convenors of Uttar Pradesh")."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="rules")
    position = models.ForeignKey(
        "people.Position", on_delete=models.PROTECT, related_name="+", verbose_name=_("post")
    )
    scope_unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("under")
    )

    class Meta:
        ordering = ["meeting", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "position", "scope_unit"], name="one_invite_rule"
            )
        ]

    def __str__(self) -> str:
        return f"{self.position} @ {self.scope_unit}"


class Rsvp(models.TextChoices):
    NONE = "", _("no answer")
    YES = "yes", _("coming")
    NO = "no", _("not coming")
    MAYBE = "maybe", _("maybe")


class InvitationQuerySet(models.QuerySet):
    def counts(self) -> dict:
        agg = self.aggregate(
            invited=models.Count("pk"),
            yes=models.Count("pk", filter=Q(rsvp="yes")),
            no=models.Count("pk", filter=Q(rsvp="no")),
            maybe=models.Count("pk", filter=Q(rsvp="maybe")),
            attended=models.Count("pk", filter=Q(attended_at__isnull=False)),
        )
        agg["no_answer"] = agg["invited"] - agg["yes"] - agg["no"] - agg["maybe"]
        return agg

    def channel_counts(self) -> dict:
        """How the invitations went out beyond the app: carried by email, push and SMS,
        waiting for a retry on some channel, and not tried yet (the task is on its way)."""
        return self.aggregate(
            email=models.Count("pk", filter=Q(notified__contains="email")),
            push=models.Count("pk", filter=Q(notified__contains="push")),
            sms=models.Count("pk", filter=Q(notified__contains="sms")),
            retrying=models.Count("pk", filter=~Q(retry_channels="")),
            untried=models.Count("pk", filter=Q(notified_at__isnull=True)),
        )


class Invitation(models.Model):
    """One invitee of a meeting, as resolved when the invitations went out (a snapshot: a
    later change of post does not change who was invited). Carries the RSVP and attendance."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitations")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    # The unit the person was invited for (the unit of their post for a rule, their home unit
    # for an extra invitee): attendance rolls up by it.
    unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=255)
    via_rule = models.BooleanField(default=True)
    invited_at = models.DateTimeField(default=timezone.now)
    task = models.ForeignKey(
        "people.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Which external channels carried the invitation ("email push"), filled by the sender;
    # when it was last tried; the channels to try again (a failure worth retrying), when,
    # and how many tries were made (``sangathan.meetings.tasks``).
    notified = models.CharField(max_length=40, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    retry_channels = models.CharField(max_length=40, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    rsvp = models.CharField(max_length=5, choices=Rsvp.choices, blank=True, default="")
    rsvp_at = models.DateTimeField(null=True, blank=True)
    attended_at = models.DateTimeField(null=True, blank=True)
    # "code" (the member checked in with the meeting's code) or "organiser" (marked present)
    checkin_method = models.CharField(max_length=10, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["meeting", "unit_path", "pk"]
        constraints = [models.UniqueConstraint(fields=["meeting", "person"], name="one_invitation")]
        indexes = [
            models.Index(fields=["person", "meeting"]),
            models.Index(
                fields=["retry_at"],
                condition=Q(retry_at__isnull=False),
                name="invitation_retry_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.meeting_id}"


class ActionStatus(models.TextChoices):
    OPEN = "open", _("open")
    DONE = "done", _("done")


class ActionItemQuerySet(models.QuerySet):
    def visible_to(self, user) -> ActionItemQuerySet:
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "meeting__host_unit__path")

    def open(self) -> ActionItemQuerySet:
        return self.filter(status=ActionStatus.OPEN)

    def overdue(self, today=None) -> ActionItemQuerySet:
        return self.open().filter(due__lt=today or timezone.localdate())

    def for_person(self, person) -> ActionItemQuerySet:
        """Action items whose task reaches ``person`` (by name or through a post they hold)."""
        from sangathan.people.models import Task

        return self.filter(task__in=Task.objects.for_person(person).values("pk"))


class ActionItem(models.Model):
    """Something a meeting decided someone must do, by a date: assigned to a post at a unit
    (whoever holds it) or to one person. Its ``task`` puts it in the assignee's "My tasks";
    done there or here, both move together (``sangathan.meetings.actions``). Overdue items
    are escalated once to the next level up (``escalation_task``)."""

    Status = ActionStatus

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="action_items")
    agenda_item = models.ForeignKey(
        AgendaItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="action_items"
    )
    title = models.CharField(_("action"), max_length=200)
    details = models.TextField(_("details"), blank=True)
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    position = models.ForeignKey(
        "people.Position",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("post"),
    )
    unit = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("unit"),
        help_text=_("the unit of the post, or the person's unit"),
    )
    due = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=5, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    done_at = models.DateTimeField(null=True, blank=True)
    task = models.OneToOneField(
        "people.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="action_item"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_task = models.OneToOneField(
        "people.Task",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="escalated_action_item",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["status", "due", "pk"]
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        indexes = [models.Index(fields=["status", "due"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return (
            self.status == ActionStatus.OPEN
            and self.due is not None
            and self.due < timezone.localdate()
        )

    @property
    def assignee_label(self) -> str:
        if self.position_id:
            return f"{self.position.display_name}, {self.unit.display_name}"
        if self.person_id:
            return self.person.display_name
        return ""


class CalendarFeed(models.Model):
    """A user's private iCal feed address: public by its token (calendar apps cannot log
    in), revoked by replacing it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meeting_feeds"
    )
    token = models.CharField(max_length=64, unique=True, default=new_feed_token)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"feed of {self.user_id}"
