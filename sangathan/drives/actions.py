"""Writes for drives: codes, drives and their recruiters, locations and targets; the join
itself (person, consents, sign-up row, attribution); the review of suspicious sign-ups; and
institutions from CSV.

Fraud controls live here so that the join page and the API share them: an OTP-verified phone
is required before anything is written; velocity caps per code, per device and per network
refuse outright; softer signs (a burst on one code, several sign-ups from one device or
network) hold the sign-up in the drive owner's review queue, uncounted. A phone is counted at
most once anywhere (a database constraint, not a check that can race).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sangathan.accounts.audit import audit
from sangathan.core.csvfiles import read_rows
from sangathan.drives.models import (
    Drive,
    DriveLocation,
    DriveTarget,
    FunnelDay,
    Institution,
    InstitutionKind,
    Recruiter,
    SignUp,
    SignUpStatus,
    phone_key,
)
from sangathan.org.counts import bump
from sangathan.org.models import OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.actions import lift_suppression
from sangathan.people.models import AppStatus, Channel, Consent, Person, Purpose

# Caps for personal invite codes (a drive carries its own).
INVITE_CAP_PER_CODE_PER_HOUR = 30
DEFAULT_CAP_PER_DEVICE_PER_DAY = 5
DEFAULT_CAP_PER_IP_PER_HOUR = 60
# Signs that hold a sign-up for review (counted only once the owner accepts it).
SUSPICIOUS_BURST_PER_CODE = 20  # sign-ups through one code within BURST_WINDOW
BURST_WINDOW = timedelta(minutes=10)
SUSPICIOUS_PER_DEVICE_PER_DAY = 2  # earlier sign-ups from the same device today
SUSPICIOUS_PER_IP_PER_HOUR = 15  # earlier sign-ups from the same network in the hour

# Channel × purpose pairs offered on the join page (and by the member app).
CONSENT_CHANNELS = ("app", "push", "whatsapp", "sms", "email")
CONSENT_PURPOSES = ("organisational", "schemes", "campaign")


class JoinRefused(Exception):
    """A sign-up or code that cannot go ahead; ``reason`` is stable, ``message`` for people."""

    def __init__(self, reason: str, message):
        super().__init__(str(message))
        self.reason = reason
        self.message = message


class DriveActionRefused(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- codes ------------------------------------------------------------------------------------


@dataclass
class Resolved:
    """What a public code points at."""

    code: str
    drive: Drive | None = None
    recruiter: Recruiter | None = None
    location: DriveLocation | None = None
    inviter: Person | None = None

    @property
    def referrer(self) -> Person | None:
        """The person a sign-up through this code is credited to."""
        if self.recruiter is not None:
            return self.recruiter.person
        return self.inviter

    @property
    def source(self) -> str:
        return f"drive:{self.drive.code}" if self.drive else "invite"

    @property
    def institution(self) -> Institution | None:
        return self.location.institution if self.location else None


def normalise_code(raw: str) -> str:
    return (raw or "").strip().upper()[:12]


def resolve_code(raw: str) -> Resolved | None:
    """A drive's code, a location's, a recruiter's, then a person's invite code; else None."""
    code = normalise_code(raw)
    if not code:
        return None
    drive = Drive.objects.select_related("unit").filter(code=code).first()
    if drive is not None:
        return Resolved(code, drive=drive)
    location = (
        DriveLocation.objects.select_related("drive__unit", "institution").filter(code=code).first()
    )
    if location is not None:
        return Resolved(code, drive=location.drive, location=location)
    recruiter = (
        Recruiter.objects.select_related("drive__unit", "person")
        .filter(code=code, active=True)
        .first()
    )
    if recruiter is not None:
        return Resolved(code, drive=recruiter.drive, recruiter=recruiter)
    inviter = Person.objects.select_related("unit").filter(referral_code=code).first()
    if inviter is not None:
        return Resolved(code, inviter=inviter)
    return None


# --- funnel counters --------------------------------------------------------------------------

FUNNEL_STEPS = ("visits", "otp_sent", "verified", "joined")


def bump_funnel(resolved: Resolved, step: str) -> None:
    """Add one to today's counter of ``step`` for the code: one UPDATE (an INSERT the first
    time in the day)."""
    assert step in FUNNEL_STEPS
    day = timezone.localdate()
    rows = FunnelDay.objects.filter(code=resolved.code, day=day)
    if rows.update(**{step: F(step) + 1}):
        return
    try:
        with transaction.atomic():
            FunnelDay.objects.create(code=resolved.code, day=day, drive=resolved.drive, **{step: 1})
    except IntegrityError:  # made meanwhile by another request
        rows.update(**{step: F(step) + 1})


# --- velocity and suspicion -------------------------------------------------------------------


def device_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()[:40] if raw else ""


def _caps(resolved: Resolved) -> tuple[int, int, int]:
    d = resolved.drive
    if d is None:
        return (
            INVITE_CAP_PER_CODE_PER_HOUR,
            DEFAULT_CAP_PER_DEVICE_PER_DAY,
            DEFAULT_CAP_PER_IP_PER_HOUR,
        )
    return d.cap_per_code_per_hour, d.cap_per_device_per_day, d.cap_per_ip_per_hour


def check_velocity(resolved: Resolved, *, device: str, ip: str | None, enroller=None) -> None:
    """Refuse (``JoinRefused``) when the code, the device or the network has reached its cap.
    An appointed enroller signs many people up from one phone: no device cap for them."""
    per_code, per_device, per_ip = _caps(resolved)
    now = timezone.now()
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
    recent = SignUp.objects.exclude(status=SignUpStatus.REJECTED)
    if recent.filter(code=resolved.code, created_at__gte=hour_ago).count() >= per_code:
        raise JoinRefused(
            "code_cap",
            _("Too many people joined through this code in the last hour. Please try again later."),
        )
    if enroller is None and device:
        if recent.filter(device=device, created_at__gte=day_ago).count() >= per_device:
            raise JoinRefused(
                "device_cap",
                _("Too many sign-ups were made from this phone today. Please try again tomorrow."),
            )
    if ip and recent.filter(ip=ip, created_at__gte=hour_ago).count() >= per_ip:
        raise JoinRefused(
            "ip_cap",
            _("Too many sign-ups came from your network in the last hour. Please try again later."),
        )


def suspicion_flags(resolved: Resolved, *, device: str, ip: str | None, enroller=None) -> list:
    now = timezone.now()
    flags = []
    qs = SignUp.objects.exclude(status=SignUpStatus.REJECTED)
    if qs.filter(code=resolved.code, created_at__gte=now - BURST_WINDOW).count() >= (
        SUSPICIOUS_BURST_PER_CODE
    ):
        flags.append("burst")
    if enroller is None and device:
        same_device = qs.filter(device=device, created_at__gte=now - timedelta(days=1)).count()
        if same_device >= SUSPICIOUS_PER_DEVICE_PER_DAY:
            flags.append("device")
    if ip:
        same_ip = qs.filter(ip=ip, created_at__gte=now - timedelta(hours=1)).count()
        if same_ip >= SUSPICIOUS_PER_IP_PER_HOUR:
            flags.append("ip")
    return flags


FLAG_LABELS = {
    "burst": gettext_lazy("many sign-ups on this code within minutes"),
    "device": gettext_lazy("several sign-ups from one device"),
    "ip": gettext_lazy("many sign-ups from one network"),
}


def enroller_for(resolved: Resolved, user) -> Recruiter | None:
    """The active recruiter of the code's drive that ``user`` is, if any."""
    if resolved.drive is None or user is None or not getattr(user, "is_authenticated", False):
        return None
    if not user.person_id:
        return None
    return Recruiter.objects.filter(
        drive=resolved.drive, person_id=user.person_id, active=True
    ).first()


def check_code_open(resolved: Resolved, user=None) -> Recruiter | None:
    """Refuse a closed drive, and a drive in verified-enroller mode when ``user`` is not one
    of its enrollers; returns the enroller when the drive needs one."""
    drive = resolved.drive
    if drive is None:
        return None
    if not drive.accepts_sign_ups():
        raise JoinRefused("closed", _("This drive is not taking sign-ups now."))
    if drive.verified_enrollers:
        enroller = enroller_for(resolved, user)
        if enroller is None:
            raise JoinRefused(
                "enrollers_only",
                _(
                    "In this drive only appointed enrollers can sign people up. Please ask "
                    "an enroller of the drive to sign you up on their phone."
                ),
            )
        return enroller
    return None


# --- the join ---------------------------------------------------------------------------------


@dataclass
class JoinDetails:
    name: str
    institution: Institution | None = None
    home_unit: OrgUnit | None = None
    consents: list[tuple[str, str]] = field(default_factory=list)
    email: str = ""


@dataclass
class JoinResult:
    person: Person
    sign_up: SignUp
    user: object
    created: bool


def _serialise_code(code: str) -> None:
    """On PostgreSQL, sign-ups through one code take turns, so the caps count safely across
    web processes (SQLite's IMMEDIATE transactions already admit one writer at a time)."""
    if connection.vendor != "postgresql":
        return
    h = int.from_bytes(hashlib.sha256(code.encode()).digest()[:4], "big", signed=True)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7, h])


def _person_unit(resolved: Resolved, details: JoinDetails) -> OrgUnit:
    if details.home_unit is not None:
        return details.home_unit
    if details.institution is not None:
        return details.institution.unit
    if resolved.drive is not None:
        return resolved.drive.unit
    return resolved.inviter.unit


def do_join(
    resolved: Resolved,
    phone: str,
    details: JoinDetails,
    *,
    device: str = "",
    ip: str | None = None,
    via: str = "page",
    enroller: Recruiter | None = None,
) -> JoinResult:
    """Sign up the OTP-verified ``phone`` through ``resolved``: create or update its person
    (never a second one), record exactly the consents ticked, a sign-up row (counted, a
    repeat, or held as suspicious) and attribution; returns the person's logged-in user.
    Raises ``JoinRefused`` for a cap reached in the meantime."""
    from sangathan.accounts.actions import user_for_joined_phone
    from sangathan.people.names import person_name_fields

    for channel, purpose in details.consents:
        if channel not in Channel.values or purpose not in Purpose.values:
            raise JoinRefused("bad_consent", _("Unknown consent choice."))
    evidence = f"join page {resolved.code}" if via == "page" else f"join api {resolved.code}"
    key = phone_key(phone)
    with transaction.atomic(durable=True):
        _serialise_code(resolved.code)
        check_velocity(resolved, device=device, ip=ip, enroller=enroller)
        flags = suspicion_flags(resolved, device=device, ip=ip, enroller=enroller)
        referrer = enroller.person if enroller is not None else resolved.referrer
        name = " ".join(details.name.split())[:200]
        person = Person.objects.select_for_update().filter(phone=phone).first()
        created = person is None
        unit = _person_unit(resolved, details)
        institution_name = details.institution.name[:200] if details.institution else ""
        if created:
            latin, name_key = person_name_fields(name)
            person = Person.objects.create(
                name=name,
                name_latin=latin,
                name_key=name_key,
                phone=phone,
                unit=unit,
                email=details.email,
                institution=institution_name,
                app_status=AppStatus.JOINED,
                referred_by=referrer if referrer is not None and referrer.phone != phone else None,
                source=resolved.source[:60],
            )
            bump(unit.path, people=1)
        else:
            changed = ["app_status", "updated_at"]
            person.app_status = AppStatus.JOINED
            if name and name != person.name:
                person.name = name
                person.name_latin, person.name_key = person_name_fields(name)
                changed += ["name", "name_latin", "name_key"]
            if details.home_unit is not None and person.unit_id != details.home_unit.pk:
                old = OrgUnit.objects.only("path").get(pk=person.unit_id)
                bump(old.path, people=-1)
                bump(details.home_unit.path, people=1)
                person.unit = details.home_unit
                changed.append("unit")
            if institution_name and person.institution != institution_name:
                person.institution = institution_name
                changed.append("institution")
            if details.email and not person.email:
                person.email = details.email
                changed.append("email")
            if person.referred_by_id is None and referrer is not None and referrer.pk != person.pk:
                person.referred_by = referrer
                changed.append("referred_by")
            if not person.source:
                person.source = resolved.source[:60]
                changed.append("source")
            person.save(update_fields=changed)
        granted = []
        for channel, purpose in details.consents:
            active = Consent.objects.active().filter(
                person=person, channel=channel, purpose=purpose
            )
            if not active.exists():
                Consent.objects.create(
                    person=person, channel=channel, purpose=purpose, evidence=evidence[:255]
                )
                granted.append(f"{channel}/{purpose}")
            # Ticked on the join page and verified by the code sent to this number: the
            # person's own choice, which lifts an earlier STOP of it, as in the app.
            lift_suppression(person, channel, evidence, ip=ip)
        sign_up = _record_sign_up(
            resolved,
            person,
            key,
            details,
            flags=flags,
            device=device,
            ip=ip,
            via=via,
            created=created,
            enroller=enroller,
        )
        user = user_for_joined_phone(phone, ip)
        audit(
            "drive_join",
            actor=user,
            obj=sign_up,
            ip=ip,
            code=resolved.code,
            drive=resolved.drive.code if resolved.drive else None,
            person=person.pk,
            new_person=created,
            status=sign_up.status,
            consents=granted,
            evidence=evidence,
        )
    bump_funnel(resolved, "joined")
    return JoinResult(person=person, sign_up=sign_up, user=user, created=created)


def _record_sign_up(
    resolved, person, key, details, *, flags, device, ip, via, created, enroller
) -> SignUp:
    """The sign-up row; an earlier sign-up of the same phone to the same drive is returned
    as it is (no second row, nothing counted twice)."""
    earlier = SignUp.objects.filter(drive=resolved.drive, phone_key=key)
    if resolved.drive is None:
        earlier = earlier.filter(code=resolved.code)
    existing = earlier.first()
    if existing is not None:
        if existing.person_id is None:
            SignUp.objects.filter(pk=existing.pk).update(person=person)
            existing.person = person
        return existing
    already_counted = SignUp.objects.filter(phone_key=key, counted=True).exists()
    if already_counted:
        status = SignUpStatus.REPEAT
    elif flags:
        status = SignUpStatus.SUSPICIOUS
    else:
        status = SignUpStatus.COUNTED
    row = SignUp(
        drive=resolved.drive,
        code=resolved.code,
        recruiter=enroller or resolved.recruiter,
        location=resolved.location,
        referrer=enroller.person if enroller else resolved.referrer,
        person=person,
        phone_key=key,
        institution=details.institution or resolved.institution,
        home_unit=person.unit,
        new_person=created,
        via=via,
        device=device,
        ip=ip or None,
        status=status,
        counted=status == SignUpStatus.COUNTED,
        flags=flags,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # Counted a moment ago by a parallel sign-up of the same phone elsewhere.
        row.pk = None
        row.status, row.counted = SignUpStatus.REPEAT, False
        row.save()
    return row


# --- review -----------------------------------------------------------------------------------


def do_review_sign_up(sign_up: SignUp, *, accept: bool, actor) -> SignUp:
    """Accept (count it, unless the phone was counted meanwhile) or reject a suspicious
    sign-up. Rejecting also takes the credit away: the person's ``referred_by`` is cleared if
    it still names this sign-up's referrer. Audited."""
    with transaction.atomic(durable=True):
        row = (
            SignUp.objects.select_for_update(of=("self",))
            .select_related("drive__unit")
            .get(pk=sign_up.pk)
        )
        if row.drive is None or not jurisdiction_for(actor).contains(row.drive.unit):
            raise DriveActionRefused(_("This sign-up is outside your area."))
        if row.status != SignUpStatus.SUSPICIOUS:
            raise DriveActionRefused(_("This sign-up was already reviewed."))
        now = timezone.now()
        if accept:
            taken = SignUp.objects.filter(phone_key=row.phone_key, counted=True).exists()
            row.status = SignUpStatus.REPEAT if taken else SignUpStatus.COUNTED
            row.counted = not taken
        else:
            row.status = SignUpStatus.REJECTED
            if row.person_id and row.referrer_id:
                Person.objects.filter(pk=row.person_id, referred_by_id=row.referrer_id).update(
                    referred_by=None
                )
        row.reviewed_by, row.reviewed_at = actor, now
        row.save(update_fields=["status", "counted", "reviewed_by", "reviewed_at"])
        audit(
            "drive_sign_up_accepted" if accept else "drive_sign_up_rejected",
            actor=actor,
            obj=row,
            drive=row.drive.code,
            code=row.code,
            status=row.status,
            flags=row.flags,
        )
    return row


# --- drives, recruiters, locations, targets ---------------------------------------------------


def _check_unit(actor, unit: OrgUnit) -> None:
    if not jurisdiction_for(actor).contains(unit):
        raise DriveActionRefused(_("%(unit)s is outside your area.") % {"unit": unit.display_name})


DRIVE_FIELDS = (
    "name",
    "name_hi",
    "kind",
    "starts",
    "ends",
    "unit",
    "is_open",
    "verified_enrollers",
    "cap_per_code_per_hour",
    "cap_per_device_per_day",
    "cap_per_ip_per_hour",
)


def do_save_drive(actor, values: dict, drive: Drive | None = None, institutions=None) -> Drive:
    """Create a drive (``drive`` None) or change one; the owner unit must be in the actor's
    area, before and after."""
    _check_unit(actor, values["unit"])
    if drive is not None:
        _check_unit(actor, drive.unit)
    with transaction.atomic(durable=True):
        created = drive is None
        if created:
            drive = Drive(created_by=actor if actor and actor.pk else None)
        for name in DRIVE_FIELDS:
            if name in values:
                setattr(drive, name, values[name])
        drive.save()
        if institutions is not None:
            drive.institutions.set(institutions)
        audit(
            "drive_created" if created else "drive_changed",
            actor=actor,
            obj=drive,
            code=drive.code,
            unit=drive.unit.code,
            is_open=drive.is_open,
            verified_enrollers=drive.verified_enrollers,
        )
    return drive


def do_add_recruiter(actor, drive: Drive, person: Person) -> Recruiter:
    """Appoint ``person`` as a recruiter (enroller) of ``drive`` with a code of their own;
    re-activates an earlier one."""
    _check_unit(actor, drive.unit)
    if not jurisdiction_for(actor).contains(person.unit):
        raise DriveActionRefused(
            _("%(person)s lives outside your area.") % {"person": person.display_name}
        )
    with transaction.atomic(durable=True):
        recruiter = Recruiter.objects.filter(drive=drive, person=person).first()
        if recruiter is None:
            recruiter = Recruiter.objects.create(drive=drive, person=person)
        elif not recruiter.active:
            recruiter.active = True
            recruiter.save(update_fields=["active"])
        audit(
            "drive_recruiter_added",
            actor=actor,
            obj=recruiter,
            drive=drive.code,
            person=person.pk,
            code=recruiter.code,
        )
    return recruiter


def do_set_recruiter_active(actor, recruiter: Recruiter, active: bool) -> Recruiter:
    _check_unit(actor, recruiter.drive.unit)
    with transaction.atomic(durable=True):
        recruiter.active = active
        recruiter.save(update_fields=["active"])
        audit(
            "drive_recruiter_changed",
            actor=actor,
            obj=recruiter,
            active=active,
            drive=recruiter.drive.code,
        )
    return recruiter


def do_add_location(
    actor, drive: Drive, name: str, institution: Institution | None
) -> DriveLocation:
    _check_unit(actor, drive.unit)
    with transaction.atomic(durable=True):
        location = DriveLocation.objects.create(
            drive=drive, name=name.strip()[:200], institution=institution
        )
        audit(
            "drive_location_added", actor=actor, obj=location, drive=drive.code, code=location.code
        )
    return location


def do_set_target(
    actor,
    drive: Drive,
    target: int,
    *,
    unit: OrgUnit | None = None,
    institution: Institution | None = None,
) -> DriveTarget:
    _check_unit(actor, drive.unit)
    if unit is not None:
        _check_unit(actor, unit)
    with transaction.atomic(durable=True):
        row, _created = DriveTarget.objects.update_or_create(
            drive=drive, unit=unit, institution=institution, defaults={"target": target}
        )
        audit(
            "drive_target_set",
            actor=actor,
            obj=drive,
            code=drive.code,
            target=target,
            unit=unit.code if unit else None,
            institution=institution.pk if institution else None,
        )
    return row


# --- institutions from CSV --------------------------------------------------------------------

INSTITUTION_COLUMNS = ("name", "kind", "district_code")
OPTIONAL_INSTITUTION_COLUMNS = ("name_en", "unit_code", "code", "adults_only")
KIND_WORDS = {
    "university": InstitutionKind.UNIVERSITY,
    "विश्वविद्यालय": InstitutionKind.UNIVERSITY,
    "college": InstitutionKind.COLLEGE,
    "महाविद्यालय": InstitutionKind.COLLEGE,
    "school": InstitutionKind.SCHOOL,
    "विद्यालय": InstitutionKind.SCHOOL,
}
YES = {"", "1", "yes", "y", "true", "हाँ", "हां"}
NO = {"0", "no", "n", "false", "नहीं"}


class InstitutionsFileError(Exception):
    """The file as a whole cannot be read; the message names the problem."""


def read_institutions_file(data: bytes) -> list[dict]:
    """Rows of an institutions CSV (UTF-8 with or without BOM, UTF-16 tab-separated,
    Windows-1252), lower-cased header names."""
    return read_rows(data, INSTITUTION_COLUMNS, InstitutionsFileError)


def import_institutions(rows, *, commit: bool = False, actor=None) -> dict:
    """Check (and with ``commit``, save) institutions. Line numbers count the header as 1.
    District and unit codes must lie in the actor's jurisdiction (outside reads as unknown);
    a row whose name already exists at its unit updates it. Returns ``{"rows", "valid",
    "invalid": [{"line", "reason"}], "created", "updated", "committed"}``."""
    j = jurisdiction_for(actor) if actor is not None else None
    entries = []
    for index, raw in enumerate(rows):
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if any(row.values()):
            entries.append((index + 2, row))
    codes = {r.get("district_code", "") for _l, r in entries} | {
        r.get("unit_code", "") for _l, r in entries
    }
    units = {
        u.code: u
        for u in OrgUnit.objects.filter(code__in=codes - {""}).select_related("level")
        if j is None or j.contains(u)
    }
    seen_names: dict[tuple, int] = {}
    seen_codes: dict[str, int] = {}
    existing_codes = set(
        Institution.objects.filter(
            code__in=[r.get("code") for _l, r in entries if r.get("code")]
        ).values_list("code", flat=True)
    )
    invalid, good = [], []
    for line, row in entries:
        problems = [
            _("%(column)s is empty") % {"column": c} for c in INSTITUTION_COLUMNS if not row.get(c)
        ]
        kind = KIND_WORDS.get(row.get("kind", "").lower())
        if row.get("kind") and kind is None:
            problems.append(
                _("unknown kind “%(kind)s” (use university, college or school)")
                % {"kind": row["kind"]}
            )
        district = units.get(row.get("district_code", ""))
        if row.get("district_code") and district is None:
            problems.append(_("unknown district_code %(code)s") % {"code": row["district_code"]})
        elif district is not None and district.level.slug != "district":
            problems.append(_("%(code)s is not a district") % {"code": row["district_code"]})
        unit = district
        if row.get("unit_code"):
            unit = units.get(row["unit_code"])
            if unit is None:
                problems.append(_("unknown unit_code %(code)s") % {"code": row["unit_code"]})
            elif district is not None and not unit.path.startswith(district.path):
                problems.append(
                    _("unit %(unit)s is not inside district %(district)s")
                    % {"unit": row["unit_code"], "district": row["district_code"]}
                )
        adults = row.get("adults_only", "").lower()
        if adults not in YES and adults not in NO:
            problems.append(
                _("adults_only must be yes or no, not “%(value)s”") % {"value": row["adults_only"]}
            )
        elif kind == InstitutionKind.SCHOOL and adults in NO:
            problems.append(
                _("a school can only be listed for its adult students and staff (adults_only yes)")
            )
        key = (row.get("name", ""), unit.pk if unit else None)
        if row.get("name") and key in seen_names:
            problems.append(
                _("%(name)s appears again (first on line %(line)s)")
                % {"name": row["name"], "line": seen_names[key]}
            )
        else:
            seen_names[key] = line
        code = row.get("code", "")
        if code:
            if code in seen_codes:
                problems.append(
                    _("code %(code)s appears again (first on line %(line)s)")
                    % {"code": code, "line": seen_codes[code]}
                )
            else:
                seen_codes[code] = line
        if problems:
            invalid.append({"line": line, "reason": "; ".join(problems)})
            continue
        good.append(
            {
                "name": row["name"][:255],
                "name_en": row.get("name_en", "")[:255],
                "kind": kind,
                "adults_only": True,
                "district": district,
                "unit": unit,
                "code": code[:32],
                "line": line,
            }
        )
    current = {
        (i.name, i.unit_id): i
        for i in Institution.objects.filter(
            name__in=[g["name"] for g in good], unit__in=[g["unit"] for g in good]
        )
    }
    created, updates = [], []
    for g in good:
        inst = current.get((g["name"], g["unit"].pk))
        if inst is None:
            if g["code"] and g["code"] in existing_codes:
                invalid.append(
                    {
                        "line": g["line"],
                        "reason": _("code %(code)s belongs to another institution")
                        % {"code": g["code"]},
                    }
                )
                continue
            created.append(g)
        else:
            new = {k: g[k] for k in ("name_en", "kind", "district", "code")}
            if any(getattr(inst, k) != v for k, v in new.items()):
                for k, v in new.items():
                    setattr(inst, k, v)
                updates.append(inst)
    invalid.sort(key=lambda r: r["line"])
    result = {
        "rows": len(entries),
        "valid": len(entries) - len(invalid),
        "invalid": invalid,
        "created": len(created),
        "updated": len(updates),
        "committed": False,
    }
    if commit and (created or updates):
        with transaction.atomic(durable=True):
            Institution.objects.bulk_create(
                [Institution(**{k: v for k, v in g.items() if k != "line"}) for g in created]
            )
            if updates:
                Institution.objects.bulk_update(updates, ["name_en", "kind", "district", "code"])
            audit(
                "import_institutions",
                actor=actor,
                created=len(created),
                updated=len(updates),
                invalid=len(invalid),
            )
    result["committed"] = bool(commit)
    return result


# --- the API's way in (``POST /api/v1/auth/otp/request|verify`` with ``referral_code``) -------


def api_join_code(raw: str | None) -> Resolved | None:
    """The code's target if a new member may join through the API with it: the drive is open
    and does not need appointed enrollers (those sign people up on the join page)."""
    resolved = resolve_code(raw or "")
    if resolved is None:
        return None
    if resolved.drive is not None and (
        not resolved.drive.accepts_sign_ups() or resolved.drive.verified_enrollers
    ):
        return None
    return resolved


def do_join_by_api(raw_code: str, phone_raw: str, otp: str, ip: str | None, name: str = ""):
    """Verify ``otp`` for a phone new to the rolls and sign it up through ``raw_code``; the
    new member's ``User``. None when the code is not usable or the phone is already known (the
    caller then logs in as usual: an existing member is never re-attributed). Raises
    ``OtpError``."""
    from sangathan.accounts.actions import OtpError, do_verify_join_otp
    from sangathan.accounts.models import User
    from sangathan.accounts.otp import InvalidPhone, normalise_phone

    resolved = api_join_code(raw_code)
    if resolved is None:
        return None
    try:
        phone = normalise_phone(phone_raw)
    except InvalidPhone as e:
        raise OtpError("invalid_phone", str(e)) from None
    if Person.objects.filter(phone=phone).exists() or User.objects.filter(phone=phone).exists():
        return None
    phone = do_verify_join_otp(phone, otp, ip)
    bump_funnel(resolved, "verified")
    try:
        result = do_join(resolved, phone, JoinDetails(name=name.strip() or phone), ip=ip, via="api")
    except JoinRefused as e:
        raise OtpError("too_many_requests", e.message) from None
    return result.user
