"""People: workers and supporters, their consent, positions and appointments."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

REFERRAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over phone


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(8))


# An erased person's phone becomes this prefix and their id: "+0" starts no E.164 number (no
# country code begins with 0), so no gateway routes it and no real number ever collides.
ERASED_PHONE_PREFIX = "+0"


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")


class AppStatus(models.TextChoices):
    NOT_JOINED = "none", _("Not on the app")
    INVITED = "invited", _("Invited")
    JOINED = "joined", _("Joined")


class PersonQuerySet(models.QuerySet):
    def within(self, unit) -> "PersonQuerySet":
        """People whose home unit is the given unit or below it."""
        return self.filter(unit__path__under=unit.path)

    def visible_to(self, user) -> "PersonQuerySet":
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "unit__path")

    def with_consent(self, channel: str, purpose: str = "organisational") -> "PersonQuerySet":
        active = Consent.objects.filter(
            person=models.OuterRef("pk"), channel=channel, purpose=purpose, withdrawn_at=None
        )
        return self.filter(models.Exists(active))

    def search(self, q: str) -> "PersonQuerySet":
        """People matching ``q`` across scripts (Devanagari or Latin), best first."""
        from sangathan.people.names import search_people

        return search_people(self, q)

    def not_erased(self) -> "PersonQuerySet":
        """Everyone but the rows left behind by an erasure (``do_erase_person``): those are no
        longer members and do not count."""
        return self.exclude(phone__startswith=ERASED_PHONE_PREFIX)


class Person(models.Model):
    """A worker or supporter. Holds no religion, caste or other sensitive attribute: the
    organisation does not need them and the law (DPDP Act 2023) does not want them."""

    name = models.CharField(_("name"), max_length=200, help_text=_("as written, any script"))
    name_latin = models.CharField(_("name (Latin script)"), max_length=200, blank=True)
    # Space-separated phonetic keys of the name's words, for cross-script search.
    name_key = models.CharField(max_length=400, blank=True, db_index=True)
    phone = models.CharField(_("mobile"), max_length=16, unique=True, help_text=_("E.164"))
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="people", verbose_name=_("unit")
    )
    email = models.EmailField(_("email"), blank=True)
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    institution = models.CharField(_("institution"), max_length=200, blank=True)
    languages = models.CharField(
        _("languages"), max_length=60, blank=True, help_text=_("comma-separated, e.g. hi,en")
    )
    tags = models.ManyToManyField("Tag", blank=True, related_name="people")
    app_status = models.CharField(
        _("app status"), max_length=8, choices=AppStatus.choices, default=AppStatus.NOT_JOINED
    )
    referral_code = models.CharField(
        _("referral code"), max_length=12, unique=True, default=new_referral_code
    )
    referred_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals"
    )
    source = models.CharField(_("source"), max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [models.Index(fields=["unit", "name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        if (get_language() or "hi").startswith("hi") or not self.name_latin:
            return self.name
        return self.name_latin

    def current_appointments(self):
        return self.appointments.current().select_related("position", "unit", "unit__level")

    @property
    def is_erased(self) -> bool:
        return self.phone.startswith(ERASED_PHONE_PREFIX)


class Tag(models.Model):
    """A free label on people (``student``, ``college-drive-2026``)."""

    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    APP = "app", _("Member app")
    PUSH = "push", _("Push notification")
    WHATSAPP = "whatsapp", _("WhatsApp")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    CALL = "call", _("Phone call")


class Purpose(models.TextChoices):
    ORGANISATIONAL = "organisational", _("Organisational messages")
    CAMPAIGN = "campaign", _("Campaign and political messages")
    SCHEMES = "schemes", _("Government schemes and programmes")


class ConsentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(withdrawn_at=None)


class Consent(models.Model):
    """A person's consent to be messaged on one channel for one purpose. Withdrawal keeps the
    row (the record of consent is kept, as the DPDP Act asks) and sets ``withdrawn_at``."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    granted_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    evidence = models.CharField(
        _("evidence"), max_length=255, help_text=_("how it was given or withdrawn")
    )

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [models.Index(fields=["person", "channel", "purpose"])]
        constraints = [
            # At most one active consent per person, channel and purpose.
            models.UniqueConstraint(
                fields=["person", "channel", "purpose"],
                condition=Q(withdrawn_at=None),
                name="one_active_consent",
            )
        ]

    def __str__(self) -> str:
        state = "withdrawn" if self.withdrawn_at else "granted"
        return f"{self.person} {self.channel}/{self.purpose} {state}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class Position(models.Model):
    """A post that exists at every unit of one level, e.g. "IT cell — district convenor"."""

    wing = models.CharField(_("wing"), max_length=60, help_text=_("e.g. IT cell"))
    wing_hi = models.CharField(_("wing (Hindi)"), max_length=60, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=100)
    title_hi = models.CharField(_("title (Hindi)"), max_length=100)
    level = models.ForeignKey("org.Level", on_delete=models.PROTECT, related_name="positions")
    seats = models.PositiveSmallIntegerField(_("seats per unit"), default=1)

    class Meta:
        ordering = ["level__depth", "wing", "title_en"]
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            models.UniqueConstraint(fields=["wing", "title_en", "level"], name="unique_position")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if (get_language() or "hi").startswith("hi"):
            return f"{self.wing_hi or self.wing} — {self.title_hi}"
        return f"{self.wing} — {self.title_en}"


class AppointmentQuerySet(models.QuerySet):
    def current(self, on=None):
        on = on or timezone.localdate()
        return self.filter(starts__lte=on).filter(Q(ends=None) | Q(ends__gt=on))

    def within(self, unit):
        return self.filter(unit__path__under=unit.path)

    def visible_to(self, user):
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "unit__path")


class Appointment(models.Model):
    """A person holding a position at a unit from ``starts`` until ``ends`` (exclusive). Ended
    appointments stay as history; a transfer ends one and starts another."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="appointments")
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="appointments")
    unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="appointments")
    starts = models.DateField(_("starts"), default=timezone.localdate)
    ends = models.DateField(_("ends"), null=True, blank=True)
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who ended it (relieved, transferred away); null while current or when not recorded.
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        indexes = [models.Index(fields=["position", "unit"]), models.Index(fields=["ends"])]

    def __str__(self) -> str:
        return f"{self.person} — {self.position} @ {self.unit}"

    def is_current(self, on=None) -> bool:
        on = on or timezone.localdate()
        return self.starts <= on and (self.ends is None or self.ends > on)


def new_import_token() -> str:
    return secrets.token_urlsafe(18)


# A 50 MB file is checked and saved in a few minutes; work older than this has stopped.
IMPORT_STALLED_AFTER = timedelta(minutes=30)


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("waiting to be checked")
    CHECKING = "checking", _("being checked")
    CHECKED = "checked", _("waiting for confirmation")
    COMMITTING = "committing", _("being saved")
    COMMITTED = "committed", _("imported")
    FAILED = "failed", _("failed")


class ImportBatch(models.Model):
    """An uploaded people file waiting for (or past) its confirmation. The bytes are kept so
    that confirming re-reads exactly what was previewed; only the uploader can see it.

    Checking and saving run in the background (``sangathan.people.tasks``); ``status`` says
    how far it got and ``error`` (an untranslated reason) why it stopped when it failed."""

    Status = ImportStatus

    token = models.CharField(max_length=32, unique=True, default=new_import_token)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_batches"
    )
    filename = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    # The preview's counts and bad rows (reasons stored untranslated), then the commit's.
    result = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    # {"msgid": ..., "params": {...}} of sangathan.people.phones.Reason, when status is failed.
    error = models.JSONField(default=dict, blank=True)
    # When the status last changed: work "pending" for far longer than any file takes means its
    # worker died, and the uploader may start it again.
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("people import")
        verbose_name_plural = _("people imports")

    def __str__(self) -> str:
        return f"{self.filename} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def stalled(self) -> bool:
        """Queued or running for longer than any file takes: the worker probably died."""
        return self.pending and self.status_changed_at < timezone.now() - IMPORT_STALLED_AFTER

    @property
    def pending(self) -> bool:
        """Work is queued or running: the page should look again shortly."""
        return self.status in (
            ImportStatus.QUEUED,
            ImportStatus.CHECKING,
            ImportStatus.COMMITTING,
        )


# --- tasks ("My tasks" in the member app) -------------------------------------------------


class TaskKind(models.TextChoices):
    FORWARD = "forward", _("Forward a message")
    ADD_MEMBERS = "add_members", _("Add members")
    ATTEND = "attend", _("Attend a meeting")
    ACTION = "action", _("Action item from a meeting")
    OTHER = "other", _("Other")


class TaskQuerySet(models.QuerySet):
    def for_person(self, person) -> "TaskQuerySet":
        """Tasks assigned to ``person`` by name, or to a position they hold now at a unit
        inside the task's scope. One query; ``via_unit_id`` is the unit of the appointment
        that brings a position task to them (their own unit for a personal task)."""
        holding = (
            Appointment.objects.current()
            .filter(
                person=person,
                position=models.OuterRef("position"),
                unit__path__startswith=models.OuterRef("scope_unit__path"),
            )
            .order_by("unit__depth", "pk")
        )
        return self.filter(Q(person=person) | Q(models.Exists(holding))).annotate(
            via_unit_id=models.Subquery(holding.values("unit_id")[:1])
        )

    def visible_to(self, user) -> "TaskQuerySet":
        """Tasks whose scope lies in the user's jurisdiction."""
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "scope_unit__path")

    def with_progress(self) -> "TaskQuerySet":
        """Annotate ``assigned_count`` (people the task reaches now: 1 for a personal task,
        the current holders of the position under the scope otherwise) and ``done_count``,
        each a correlated count: no row per assignee is read into Python."""
        holders = (
            Appointment.objects.current()
            .filter(
                position=models.OuterRef("position"),
                unit__path__startswith=models.OuterRef("scope_unit__path"),
            )
            .order_by()
            .values("position")
            .annotate(n=models.Count("person", distinct=True))
            .values("n")
        )
        done = (
            TaskDone.objects.filter(task=models.OuterRef("pk"))
            .order_by()
            .values("task")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        return self.annotate(
            assigned_count=models.Case(
                models.When(person__isnull=False, then=models.Value(1)),
                default=models.functions.Coalesce(models.Subquery(holders), models.Value(0)),
            ),
            done_count=models.functions.Coalesce(models.Subquery(done), models.Value(0)),
        )


class Task(models.Model):
    """Something a member is asked to do ("forward the scheme message to your booth group",
    "add 10 members in your booth", "attend the district IT meeting"). Assigned either to one
    person, or to a position at every unit inside ``scope_unit`` (then every current holder
    sees it). Forward tasks of WhatsApp groups and meeting action items build on this."""

    Kind = TaskKind

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    link = models.URLField(_("link"), max_length=500, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=TaskKind.choices, default="other")
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    position = models.ForeignKey(
        Position, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks"
    )
    # For a position task the subtree it covers; for a personal task the person's unit when it
    # was set. Staff see the tasks whose scope lies in their jurisdiction.
    scope_unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="tasks", verbose_name=_("area")
    )
    due = models.DateField(_("due"), null=True, blank=True)
    share_text = models.TextField(_("text to share"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [models.Index(fields=["position", "scope_unit"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False, position__isnull=True))
                | (Q(person__isnull=True, position__isnull=False)),
                name="task_one_assignee",
            )
        ]

    def __str__(self) -> str:
        return self.title


class TaskDone(models.Model):
    """One person's "done" on a task (a position task has one per holder who did it)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="done")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tasks_done")
    done_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "person"], name="one_task_done")]

    def __str__(self) -> str:
        return f"{self.person_id} did {self.task_id}"


# --- erasure (DPDP Act 2023, section 12(3)) ------------------------------------------------


class ErasureRecord(models.Model):
    """That a person's data was erased: when, why, on whose request and what was kept and
    why. Holds no personal data: ``person`` points at the anonymised row, ``reason`` is the
    stated reason, ``kept`` and ``removed`` are categories and counts."""

    person = models.OneToOneField(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="erasure"
    )
    erased_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(_("reason"), max_length=500)
    # "self" (the member, from the app) or "staff" (on the member's request, by ``actor``).
    requested_by = models.CharField(max_length=8)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    removed = models.JSONField(default=dict, blank=True)
    kept = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-erased_at"]
        verbose_name = _("erasure record")
        verbose_name_plural = _("erasure records")

    def __str__(self) -> str:
        return f"erasure {self.pk} at {self.erased_at:%Y-%m-%d %H:%M}"


# --- committees and reorganisation (issue 5) -------------------------------------------------


class CommitteeTemplate(models.Model):
    """A named set of seats for units of one level ("Booth committee", "District IT team").
    Templates are organisation-wide; applying one to an area (``AppliedCommittee``) makes its
    seats count at every unit of its level there (``sangathan.people.committees``)."""

    name_en = models.CharField(_("name (English)"), max_length=120)
    name_hi = models.CharField(_("name (Hindi)"), max_length=120, blank=True)
    level = models.ForeignKey(
        "org.Level", on_delete=models.PROTECT, related_name="committee_templates"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["level__depth", "name_en"]
        verbose_name = _("committee template")
        verbose_name_plural = _("committee templates")
        constraints = [
            models.UniqueConstraint(fields=["name_en", "level"], name="unique_committee_name")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if (get_language() or "hi").startswith("hi") and self.name_hi:
            return self.name_hi
        return self.name_en


class CommitteeSeat(models.Model):
    """A post in a committee template and how many people hold it at each unit. A post
    belongs to at most one template, so that a unit's seats of a post have one answer."""

    template = models.ForeignKey(CommitteeTemplate, on_delete=models.CASCADE, related_name="seats")
    position = models.OneToOneField(
        Position, on_delete=models.PROTECT, related_name="committee_seat"
    )
    seats = models.PositiveSmallIntegerField(_("seats"), default=1)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["template", "order", "pk"]
        verbose_name = _("committee seat")
        verbose_name_plural = _("committee seats")

    def __str__(self) -> str:
        return f"{self.template}: {self.position} × {self.seats}"


class AppliedCommittee(models.Model):
    """A template applied to an area: every unit of the template's level at or below
    ``scope`` has the template's seats. Areas of one template never overlap."""

    template = models.ForeignKey(
        CommitteeTemplate, on_delete=models.CASCADE, related_name="applications"
    )
    scope = models.ForeignKey("org.OrgUnit", on_delete=models.CASCADE, related_name="+")
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["template", "scope__path"]
        verbose_name = _("applied committee")
        verbose_name_plural = _("applied committees")
        constraints = [
            models.UniqueConstraint(fields=["template", "scope"], name="one_application_per_area")
        ]

    def __str__(self) -> str:
        return f"{self.template} @ {self.scope}"


def new_batch_token() -> str:
    return secrets.token_urlsafe(12)


class ReorgBatchStatus(models.TextChoices):
    PREVIEWED = "previewed", _("previewed")
    APPLIED = "applied", _("applied")
    UNDONE = "undone", _("undone")


class ReorgBatch(models.Model):
    """A bulk reorganisation file: kept from its preview, applied in one transaction, and
    undoable from the changes it recorded (``ReorgChange``)."""

    Status = ReorgBatchStatus

    token = models.CharField(max_length=32, unique=True, default=new_batch_token)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reorg_batches",
    )
    filename = models.CharField(_("file name"), max_length=255)
    content = models.BinaryField()
    status = models.CharField(
        _("status"), max_length=10, choices=ReorgBatchStatus.choices, default="previewed"
    )
    # counts of the last preview or of the application
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("reorganisation batch")
        verbose_name_plural = _("reorganisation batches")

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"


class ReorgChange(models.Model):
    """One thing a batch did: the appointment it started and/or the one it ended (a transfer
    does both), so that undo can reverse exactly that."""

    batch = models.ForeignKey(ReorgBatch, on_delete=models.CASCADE, related_name="changes")
    line = models.PositiveIntegerField()
    action = models.CharField(max_length=10)  # appoint / relieve / transfer
    started = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ended = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "line"]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.line} {self.action}"
