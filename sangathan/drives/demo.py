"""Drives for the demo organisation: an open campus drive at the University of Lucknow with
three Lucknow colleges/universities, recruiters with their own codes, a poster place at the
main gate, targets, and a dozen sign-ups through the real join action (so the funnel,
leaderboards and review queue have something to show)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from sangathan.drives.actions import JoinDetails, Resolved, do_join
from sangathan.drives.models import (
    Drive,
    DriveLocation,
    DriveTarget,
    FunnelDay,
    Institution,
    Recruiter,
    SignUp,
)
from sangathan.org.models import OrgUnit
from sangathan.people.models import Appointment

DEMO_DRIVE = "Campus drive — University of Lucknow"
INSTITUTIONS = [
    ("लखनऊ विश्वविद्यालय", "University of Lucknow", "university"),
    ("इसाबेला थोबर्न महाविद्यालय", "Isabella Thoburn College", "college"),
    (
        "बाबासाहेब भीमराव अम्बेडकर विश्वविद्यालय",
        "Babasaheb Bhimrao Ambedkar University",
        "university",
    ),
]
STUDENTS = [
    "आकाश वर्मा",
    "प्रिया सिंह",
    "मोहम्मद आरिफ़",
    "नेहा गुप्ता",
    "रोहित यादव",
    "अंजलि मिश्रा",
    "सौरभ पांडेय",
    "फ़ातिमा ख़ान",
    "विकास मौर्य",
    "शिवानी श्रीवास्तव",
    "अमन त्रिपाठी",
    "पूनम रावत",
]
STUDENT_PHONES = "+9170000162%02d"


def ensure_demo_drives(admin, convenor, lucknow: OrgUnit, seed: int = 7) -> bool:
    """Create the demo drive once; True if it was made now."""
    if Drive.objects.filter(name=DEMO_DRIVE).exists():
        return False
    rng = random.Random(seed)
    institutions = []
    for name, name_en, kind in INSTITUTIONS:
        inst, _created = Institution.objects.get_or_create(
            name=name,
            unit=lucknow,
            defaults={"name_en": name_en, "kind": kind, "district": lucknow},
        )
        institutions.append(inst)
    today = timezone.localdate()
    drive = Drive.objects.create(
        name=DEMO_DRIVE,
        name_hi="कैंपस अभियान — लखनऊ विश्वविद्यालय",
        kind=Drive.Kind.CAMPUS,
        starts=today - timedelta(days=3),
        ends=today + timedelta(days=30),
        unit=lucknow,
        created_by=admin,
    )
    drive.institutions.set(institutions)
    gate = DriveLocation.objects.create(
        drive=drive, name="मुख्य द्वार, लखनऊ विश्वविद्यालय", institution=institutions[0]
    )
    DriveLocation.objects.create(
        drive=drive, name="इसाबेला थोबर्न कॉलेज कैंटीन", institution=institutions[1]
    )
    DriveTarget.objects.create(drive=drive, institution=institutions[0], target=500)
    DriveTarget.objects.create(drive=drive, unit=lucknow, target=2000)
    # Recruiters: the convenor and a few Lucknow office-bearers.
    people = []
    if convenor is not None and convenor.person_id:
        people.append(convenor.person)
    holders = (
        Appointment.objects.current()
        .filter(unit__path__startswith=lucknow.path)
        .exclude(person__in=people)
        .select_related("person")
        .order_by("unit__path")[:3]
    )
    people += [a.person for a in holders]
    recruiters = [Recruiter.objects.create(drive=drive, person=p) for p in people]
    booths = list(
        OrgUnit.objects.filter(path__startswith=lucknow.path, level__slug="booth")
        .order_by("path")
        .values_list("pk", flat=True)[:400]
    )
    booth_units = {u.pk: u for u in OrgUnit.objects.filter(pk__in=booths)}
    codes = [Resolved(gate.code, drive=drive, location=gate)] + [
        Resolved(r.code, drive=drive, recruiter=r) for r in recruiters
    ]
    for i, name in enumerate(STUDENTS):
        resolved = codes[i % len(codes)]
        details = JoinDetails(
            name=name,
            institution=institutions[i % len(institutions)],
            home_unit=booth_units[rng.choice(booths)] if booths and i % 3 else None,
            consents=[("app", "organisational"), ("push", "organisational")]
            + ([("sms", "campaign")] if i % 2 else []),
        )
        do_join(resolved, STUDENT_PHONES % i, details, device=f"demo-{i}", via="page")
    # The last one looked unusual (third sign-up from one device): held for review.
    last = SignUp.objects.filter(drive=drive).order_by("-pk").first()
    if last is not None:
        SignUp.objects.filter(pk=last.pk).update(
            status="suspicious", counted=False, flags=["device"]
        )
    # Spread the sign-ups over the drive's days, and record the visits and codes that came
    # before them (about three visits and 1.3 codes per join).
    for s in SignUp.objects.filter(drive=drive):
        SignUp.objects.filter(pk=s.pk).update(
            created_at=timezone.now() - timedelta(hours=rng.randint(1, 70))
        )
    for day in FunnelDay.objects.filter(drive=drive):
        FunnelDay.objects.filter(pk=day.pk).update(
            visits=F("joined") * 3 + rng.randint(2, 9),
            otp_sent=F("joined") + rng.randint(0, 2),
            verified=F("joined"),
        )
    FunnelDay.objects.get_or_create(
        code=drive.code, day=today, defaults={"drive": drive, "visits": rng.randint(20, 40)}
    )
    return True
