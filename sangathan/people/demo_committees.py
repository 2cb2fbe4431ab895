"""Committee templates for the demo: the lead's demo command calls ``ensure_demo_committees``.

A booth committee (president, IT volunteer, WhatsApp pramukh, beneficiary-contact in-charge)
and a district IT team (convenor, two co-convenors, social-media in-charge), both applied to
Lucknow, with part of the seats filled and vacancies left on purpose: most booths have a
president and an IT volunteer, few a WhatsApp pramukh, fewer a beneficiary-contact in-charge.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from django.utils import timezone

from sangathan.org.counts import recount
from sangathan.org.models import Level, OrgUnit
from sangathan.people.committees import do_apply_template, do_save_template
from sangathan.people.models import Appointment, CommitteeTemplate, Person, Position

BOOTH_COMMITTEE = ("Booth committee", "बूथ समिति")
DISTRICT_TEAM = ("District IT team", "जिला आईटी टीम")
# (wing, wing in Hindi, title, title in Hindi, seats, share of booths filled)
BOOTH_SEATS = [
    ("Organisation", "संगठन", "Booth president", "बूथ अध्यक्ष", 1, 0.8),
    ("IT cell", "आईटी विभाग", "IT volunteer", "आईटी स्वयंसेवक", 1, 0.65),
    ("IT cell", "आईटी विभाग", "WhatsApp pramukh", "व्हाट्सऐप प्रमुख", 1, 0.4),
    (
        "Organisation",
        "संगठन",
        "Beneficiary-contact in-charge",
        "लाभार्थी संपर्क प्रभारी",
        1,
        0.25,
    ),
]
DISTRICT_SEATS = [
    ("IT cell", "आईटी विभाग", "District convenor", "जिला संयोजक", 1),
    ("IT cell", "आईटी विभाग", "District co-convenor", "जिला सह-संयोजक", 2),
    ("IT cell", "आईटी विभाग", "Social-media in-charge", "सोशल मीडिया प्रभारी", 1),
]


def _position(level, wing, wing_hi, title, title_hi, seats) -> Position:
    position, _ = Position.objects.get_or_create(
        wing=wing,
        title_en=title,
        level=level,
        defaults={"wing_hi": wing_hi, "title_hi": title_hi, "seats": seats},
    )
    return position


def ensure_demo_committees(admin, convenor, lucknow) -> bool:
    """Create both templates, apply them to Lucknow and fill part of the booth seats. False
    if the booth committee exists already."""
    if CommitteeTemplate.objects.filter(name_en=BOOTH_COMMITTEE[0]).exists():
        return False
    booth = Level.objects.get(slug="booth")
    district = Level.objects.get(slug="district")
    booth_posts = [(_position(booth, *row[:5]), row[4], row[5]) for row in BOOTH_SEATS]
    district_posts = [(_position(district, *row), row[4]) for row in DISTRICT_SEATS]
    booth_template = do_save_template(
        actor=admin,
        name_en=BOOTH_COMMITTEE[0],
        name_hi=BOOTH_COMMITTEE[1],
        level=booth,
        seats=[(p, n) for p, n, _share in booth_posts],
    )
    district_template = do_save_template(
        actor=admin,
        name_en=DISTRICT_TEAM[0],
        name_hi=DISTRICT_TEAM[1],
        level=district,
        seats=district_posts,
    )
    do_apply_template(booth_template, lucknow, actor=admin)
    do_apply_template(district_template, lucknow, actor=admin)

    # Fill part of the booth seats with people of each booth who hold no post yet.
    rng = random.Random(162)
    today = timezone.localdate()
    busy = set(Appointment.objects.current().values_list("person_id", flat=True))
    by_booth: dict[int, list[int]] = defaultdict(list)
    booth_ids = list(
        OrgUnit.objects.within(lucknow)
        .filter(level=booth)
        .order_by("path")
        .values_list("pk", flat=True)
    )
    for pk, unit_id in (
        Person.objects.not_erased()
        .filter(unit_id__in=booth_ids)
        .order_by("unit_id", "pk")
        .values_list("pk", "unit_id")
    ):
        if pk not in busy:
            by_booth[unit_id].append(pk)
    rows = []
    for unit_id in booth_ids:
        free = by_booth.get(unit_id, [])
        for position, _seats, share in booth_posts:
            if free and rng.random() < share:
                rows.append(
                    Appointment(
                        person_id=free.pop(0),
                        position=position,
                        unit_id=unit_id,
                        starts=today - dt.timedelta(days=rng.randrange(10, 400)),
                        appointed_by=admin,
                    )
                )
    # The district team: a social-media in-charge; the second co-convenor seat stays vacant.
    social = district_posts[2][0]
    if not Appointment.objects.current().filter(position=social, unit=lucknow).exists():
        candidate = (
            Person.objects.not_erased()
            .filter(unit=lucknow)
            .exclude(pk__in=busy)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if candidate is not None:
            rows.append(
                Appointment(
                    person_id=candidate,
                    position=social,
                    unit=lucknow,
                    starts=today - dt.timedelta(days=90),
                    appointed_by=admin,
                )
            )
    Appointment.objects.bulk_create(rows, batch_size=5000)
    recount()  # one set-based rebuild after the bulk insert
    return True
