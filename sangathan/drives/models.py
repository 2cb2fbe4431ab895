"""Drives: onboarding campaigns at colleges, booths and events, their referral codes, and the
sign-ups that came through them.

Every public code (a drive's, a location's, a recruiter's, a person's invite code) comes from
one alphabet and is unique across all four tables (``new_unique_code``), so ``/join/<code>``
resolves without ambiguity. Sign-up rows keep a keyed hash of the phone, not the phone: counts
and "the same phone never counts twice" survive a person's erasure.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sangathan.people.models import new_referral_code


def code_taken(code: str) -> bool:
    from sangathan.people.models import Person

    return (
        Drive.objects.filter(code=code).exists()
        or DriveLocation.objects.filter(code=code).exists()
        or Recruiter.objects.filter(code=code).exists()
        or Person.objects.filter(referral_code=code).exists()
    )


def new_unique_code() -> str:
    """A referral code no drive, location, recruiter or person holds yet."""
    for _attempt in range(20):
        code = new_referral_code()
        if not code_taken(code):
            return code
    raise RuntimeError("Could not find a free referral code")  # 32⁸ codes: never in practice


def phone_key(phone: str) -> str:
    """A keyed hash of an E.164 phone: equal phones give equal keys, the key gives no phone."""
    return salted_hmac("sangathan.drives.phone", phone, algorithm="sha256").hexdigest()[:40]


def _hi() -> bool:
    return (get_language() or "hi").startswith("hi")


class InstitutionKind(models.TextChoices):
    UNIVERSITY = "university", _("University")
    COLLEGE = "college", _("College")
    SCHOOL = "school", _("School (18+ only)")


class InstitutionQuerySet(models.QuerySet):
    def visible_to(self, user):
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "unit__path")


class Institution(models.Model):
    """A college, university or school where drives are held. Only adults join: a school is
    listed for its adult students (and staff), never for minors."""

    name = models.CharField(_("name"), max_length=255, help_text=_("as written"))
    name_en = models.CharField(_("name (English)"), max_length=255, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=InstitutionKind.choices)
    adults_only = models.BooleanField(_("adults only"), default=True)
    district = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("district")
    )
    unit = models.ForeignKey(
        "org.OrgUnit",
        on_delete=models.PROTECT,
        related_name="institutions",
        verbose_name=_("unit"),
        help_text=_("the unit it belongs to (its assembly, mandal or the district)"),
    )
    code = models.CharField(
        _("AISHE/UDISE code"), max_length=32, blank=True, help_text=_("optional")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InstitutionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~Q(code=""), name="unique_institution_code"
            ),
            models.UniqueConstraint(fields=["name", "unit"], name="unique_institution_per_unit"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if _hi() or not self.name_en:
            return self.name
        return self.name_en


class DriveKind(models.TextChoices):
    CAMPUS = "campus", _("Campus drive")
    BOOTH = "booth", _("Booth drive")
    EVENT = "event", _("Event")


class DriveQuerySet(models.QuerySet):
    def visible_to(self, user):
        from sangathan.org.scoping import jurisdiction_for

        return jurisdiction_for(user).filter(self, "unit__path")


class Drive(models.Model):
    """An onboarding campaign ("Campus drive — Lucknow University, June"). Its ``unit`` is its
    owner: whoever's jurisdiction holds that unit manages the drive and reviews its queue."""

    Kind = DriveKind

    code = models.CharField(_("code"), max_length=12, unique=True, default=new_unique_code)
    name = models.CharField(_("name (English)"), max_length=200)
    name_hi = models.CharField(_("name (Hindi)"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=DriveKind.choices)
    starts = models.DateField(_("starts"), default=timezone.localdate)
    ends = models.DateField(_("ends"), null=True, blank=True)
    unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.PROTECT, related_name="drives", verbose_name=_("owner unit")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_open = models.BooleanField(_("open for sign-ups"), default=True)
    verified_enrollers = models.BooleanField(
        _("only appointed enrollers may sign people up"), default=False
    )
    institutions = models.ManyToManyField(
        Institution, blank=True, related_name="drives", verbose_name=_("institutions")
    )
    cap_per_code_per_hour = models.PositiveIntegerField(
        _("sign-ups per code per hour"), default=300
    )
    cap_per_device_per_day = models.PositiveIntegerField(
        _("sign-ups per device per day"), default=5
    )
    cap_per_ip_per_hour = models.PositiveIntegerField(
        _("sign-ups per network per hour"), default=60
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DriveQuerySet.as_manager()

    class Meta:
        ordering = ["-starts", "-pk"]
        verbose_name = _("drive")
        verbose_name_plural = _("drives")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_hi if _hi() and self.name_hi else self.name

    def accepts_sign_ups(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.is_open and self.starts <= today and (self.ends is None or self.ends >= today)


class DriveTarget(models.Model):
    """How many people a drive aims to bring in at one unit or one institution."""

    drive = models.ForeignKey(Drive, on_delete=models.CASCADE, related_name="targets")
    unit = models.ForeignKey("org.OrgUnit", on_delete=models.CASCADE, null=True, blank=True)
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, null=True, blank=True)
    target = models.PositiveIntegerField(_("target"))

    class Meta:
        verbose_name = _("drive target")
        verbose_name_plural = _("drive targets")
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=False, institution__isnull=True)
                | Q(unit__isnull=True, institution__isnull=False),
                name="target_unit_xor_institution",
            ),
            models.UniqueConstraint(fields=["drive", "unit"], name="one_target_per_unit"),
            models.UniqueConstraint(
                fields=["drive", "institution"], name="one_target_per_institution"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drive}: {self.unit or self.institution} → {self.target}"


class Recruiter(models.Model):
    """A person recruiting for a drive, with their own code. In verified-enroller mode the
    active recruiters are the only ones who may submit sign-ups."""

    drive = models.ForeignKey(Drive, on_delete=models.CASCADE, related_name="recruiters")
    person = models.ForeignKey(
        "people.Person", on_delete=models.SET_NULL, null=True, related_name="recruiting"
    )
    code = models.CharField(_("code"), max_length=12, unique=True, default=new_unique_code)
    active = models.BooleanField(_("active"), default=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]
        verbose_name = _("recruiter")
        verbose_name_plural = _("recruiters")
        constraints = [
            models.UniqueConstraint(fields=["drive", "person"], name="one_recruiter_per_drive")
        ]

    def __str__(self) -> str:
        return f"{self.person or '—'} ({self.code})"


class DriveLocation(models.Model):
    """A place a drive's posters hang (a college gate, a booth, a stall), with its own code."""

    drive = models.ForeignKey(Drive, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(_("place"), max_length=200)
    institution = models.ForeignKey(
        Institution, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("institution")
    )
    code = models.CharField(_("code"), max_length=12, unique=True, default=new_unique_code)

    class Meta:
        ordering = ["name"]
        verbose_name = _("drive location")
        verbose_name_plural = _("drive locations")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class SignUpStatus(models.TextChoices):
    COUNTED = "counted", _("counted")
    REPEAT = "repeat", _("already counted before")
    SUSPICIOUS = "suspicious", _("waiting for review")
    REJECTED = "rejected", _("rejected")


class SignUp(models.Model):
    """One completed, OTP-verified sign-up through a code. ``counted`` sign-ups are the ones
    funnels and leaderboards add up; a phone is counted at most once anywhere
    (``phone_counted_once``) and signs up at most once per drive (``one_sign_up_per_drive``)."""

    Status = SignUpStatus

    drive = models.ForeignKey(
        Drive, on_delete=models.CASCADE, null=True, blank=True, related_name="sign_ups"
    )
    code = models.CharField(max_length=12, db_index=True)
    recruiter = models.ForeignKey(Recruiter, on_delete=models.SET_NULL, null=True, blank=True)
    location = models.ForeignKey(DriveLocation, on_delete=models.SET_NULL, null=True, blank=True)
    referrer = models.ForeignKey(
        "people.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="sign_ups"
    )
    phone_key = models.CharField(max_length=40)
    institution = models.ForeignKey(Institution, on_delete=models.SET_NULL, null=True, blank=True)
    home_unit = models.ForeignKey(
        "org.OrgUnit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    new_person = models.BooleanField(default=True)
    via = models.CharField(max_length=8, default="page")  # page | api
    device = models.CharField(max_length=40, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=SignUpStatus.choices)
    counted = models.BooleanField(default=False)
    flags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        indexes = [
            models.Index(fields=["code", "created_at"]),
            models.Index(fields=["device", "created_at"]),
            models.Index(fields=["ip", "created_at"]),
            models.Index(fields=["drive", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["drive", "phone_key"], name="one_sign_up_per_drive"),
            models.UniqueConstraint(
                fields=["phone_key"], condition=Q(counted=True), name="phone_counted_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.status} {self.created_at:%Y-%m-%d %H:%M}"


class FunnelDay(models.Model):
    """Funnel counters of one code on one day, bumped with one UPDATE per event; reports sum
    these rows (a handful per code), never the events."""

    drive = models.ForeignKey(
        Drive, on_delete=models.CASCADE, null=True, blank=True, related_name="funnel_days"
    )
    code = models.CharField(max_length=12)
    day = models.DateField()
    visits = models.PositiveIntegerField(default=0)
    otp_sent = models.PositiveIntegerField(default=0)
    verified = models.PositiveIntegerField(default=0)
    joined = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("funnel day")
        verbose_name_plural = _("funnel days")
        constraints = [models.UniqueConstraint(fields=["code", "day"], name="one_funnel_day")]
        indexes = [models.Index(fields=["drive", "day"])]

    def __str__(self) -> str:
        return f"{self.code} {self.day}"
