"""``sangathan demo``: a real, bilingual organisation of Uttar Pradesh to click through.

Migrates, imports UP's districts and assembly constituencies, builds Lucknow district down to
its real polling stations grouped into mandals and sectors, seeds people with Hindi names,
consent records, IT-cell positions and appointments (with vacancies left on purpose), creates
an admin and a district convenor, and serves. Every step is idempotent: a second run finds
everything in place, writes nothing and goes straight to serving.
"""

import bisect
import datetime as dt
import importlib
import os
import random
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from sangathan.accounts.models import User
from sangathan.core import seeding
from sangathan.org.counts import recount
from sangathan.org.geography import GeographyError, district_code, import_geography
from sangathan.org.models import Level, OrgUnit
from sangathan.people.models import Appointment, Consent, Person, Position

LUCKNOW_LGD = "162"
ADMIN_PHONE = "+919999999999"
DEMO_PASSWORD = os.environ.get("SANGATHAN_DEMO_PASSWORD", "sangathan-demo")
CONVENOR_PHONE = "+919000000162"
CONVENOR_NAME = "संजय राय"
SOURCE = "demo"

# Each app's demo data: (module, function(admin, convenor, lucknow) -> added?, what it says).
DEMO_PARTS = [
    ("sangathan.people.demo_tasks", "ensure_demo_tasks", "Demo tasks for members added."),
    (
        "sangathan.drives.demo",
        "ensure_demo_drives",
        "Demo campus drive at the University of Lucknow added (open /drives/).",
    ),
    (
        "sangathan.people.demo_committees",
        "ensure_demo_committees",
        "Committee templates for booths and the district IT team applied to Lucknow.",
    ),
    (
        "sangathan.groups.demo",
        "ensure_demo_groups",
        "WhatsApp groups for part of Lucknow's booths added (open /groups/coverage/).",
    ),
    (
        "sangathan.meetings.demo",
        "ensure_demo_meetings",
        "The state IT meeting (agenda, invitees, minutes, action items) added (/meetings/).",
    ),
]

WING, WING_HI = "IT cell", "आईटी विभाग"
# (level, English title, Hindi title, seats, share of units filled)
POSITIONS = [
    ("state", "State in-charge", "प्रदेश प्रभारी", 1, 1.0),
    ("district", "District convenor", "जिला संयोजक", 1, 1.0),
    ("district", "District co-convenor", "जिला सह-संयोजक", 2, 0.5),
    ("assembly", "Assembly in-charge", "विधानसभा प्रभारी", 1, 0.89),
    ("mandal", "Mandal in-charge", "मंडल प्रभारी", 1, 0.85),
    ("sector", "Sector in-charge", "सेक्टर प्रभारी", 1, 0.8),
    ("booth", "Booth volunteer", "बूथ स्वयंसेवक", 1, 0.7),
]
CONSENT_CHANNELS = [("app", 0.9), ("sms", 0.8), ("whatsapp", 0.6)]
GRANT_EVIDENCE = {
    "app": "Signed up in the member app",
    "sms": "Membership form, SMS box ticked",
    "whatsapp": "Membership form, WhatsApp box ticked",
}


class Command(BaseCommand):
    help = (
        "Prepare the demo (UP geography, Lucknow down to booths, people, positions, "
        "appointments, an admin) and serve it. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="prepare only; do not serve")
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address to serve on")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="serve without the background task worker (run `sangathan worker` yourself)",
        )
        parser.add_argument("--people", type=int, default=20_000, help="people in Lucknow")
        parser.add_argument(
            "--acs",
            type=int,
            nargs="+",
            default=None,
            help="only these Lucknow AC numbers get booths (default: all nine, 168–176)",
        )
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, no_serve, addr, people, acs, seed, no_worker=False, **options):
        started = time.monotonic()
        quiet = options["verbosity"] < 1
        progress = not quiet and sys.stderr.isatty()
        say = (lambda msg: None) if quiet else self.stdout.write
        call_command("migrate", verbosity=0, interactive=False)
        say("Database migrated.")
        try:
            import_geography("UP")
            if acs:
                import_geography("UP", booths=True, acs=acs, group=True)
            else:
                import_geography("UP", booths=True, districts=[LUCKNOW_LGD], group=True)
        except GeographyError as e:
            raise CommandError(str(e)) from e
        lucknow = OrgUnit.objects.get(code=district_code("UP", LUCKNOW_LGD))
        say("Uttar Pradesh imported; Lucknow down to its polling stations.")

        positions = ensure_positions()
        admin = ensure_admin()
        if Person.objects.filter(source=SOURCE).exists():
            say("Demo people already in place; nothing to add.")
        else:
            populate(lucknow, people, positions, admin, seed=seed, progress=progress)
            say(f"Seeded {people} people with consents, positions and appointments.")
        convenor = ensure_convenor_user()
        from sangathan.broadcasts.demo import ensure_demo_broadcasts

        if ensure_demo_broadcasts(admin, convenor, lucknow):
            say("Demo broadcasts, acknowledgements and poll dates added.")
        for module, function, message in DEMO_PARTS:
            ensure = getattr(importlib.import_module(module), function)
            if ensure(admin, convenor, lucknow):
                say(message)
        elapsed = time.monotonic() - started
        summary = self.summary(addr, convenor, elapsed)
        self.stdout.write(summary)
        if not no_serve:
            call_command("serve", addr=addr, banner=summary, no_worker=no_worker)

    def summary(self, addr, convenor, elapsed) -> str:
        lines = [
            "",
            f"Demo ready in {elapsed:.1f} s.",
            f"  URL:            http://{addr}/",
            f"  Admin:          phone {ADMIN_PHONE}  password {DEMO_PASSWORD}  (/admin/ too)",
        ]
        if convenor:
            lines.append(
                f"  Lucknow district convenor: phone {convenor.phone} — log in with a one-time "
                "code, printed in this console."
            )
        return "\n".join(lines)


def ensure_positions() -> dict[tuple[str, str], Position]:
    levels = {lv.slug: lv for lv in Level.objects.all()}
    found = {}
    for slug, title_en, title_hi, seats, _share in POSITIONS:
        position, _ = Position.objects.get_or_create(
            wing=WING,
            title_en=title_en,
            level=levels[slug],
            defaults={"wing_hi": WING_HI, "title_hi": title_hi, "seats": seats},
        )
        found[(slug, title_en)] = position
    return found


def ensure_admin() -> User:
    admin = User.objects.filter(phone=ADMIN_PHONE).first()
    if admin is None:
        admin = User.objects.create_superuser(ADMIN_PHONE, DEMO_PASSWORD, name="Admin")
    return admin


def ensure_convenor_user() -> User | None:
    person = Person.objects.filter(phone=CONVENOR_PHONE).first()
    if person is None:
        return None
    user = User.objects.filter(phone=CONVENOR_PHONE).first()
    if user is None:
        user = User.objects.create_user(CONVENOR_PHONE, person=person, name="Sanjay Rai")
    return user


class _Picker:
    """Hands out people who live under a unit, each at most once, chosen at random."""

    def __init__(self, people: list[tuple[int, str]], rng: random.Random):
        people = sorted(people, key=lambda p: p[1])
        self.ids = [p[0] for p in people]
        self.paths = [p[1] for p in people]
        self.used: set[int] = set()
        self.rng = rng

    def pick(self, path: str) -> int | None:
        lo = bisect.bisect_left(self.paths, path)
        hi = bisect.bisect_left(self.paths, path + "\uffff")
        for _ in range(20):
            if lo >= hi:
                return None
            pid = self.ids[self.rng.randrange(lo, hi)]
            if pid not in self.used:
                self.used.add(pid)
                return pid
        for i in range(lo, hi):  # crowded: take the first free one
            if self.ids[i] not in self.used:
                self.used.add(self.ids[i])
                return self.ids[i]
        return None


@transaction.atomic
def populate(lucknow: OrgUnit, count: int, positions, admin, *, seed: int, progress: bool):
    rng = random.Random(seed)
    booths = seeding.booths_under(lucknow)
    if not booths:
        raise CommandError("Lucknow has no polling stations to put people in.")
    seeding.seed_people(
        count, booths, seed=seed, source=SOURCE, latin_share=0.02, progress=progress
    )
    convenor_booth = booths[rng.randrange(len(booths))]
    latin, key = seeding.person_name_fields(CONVENOR_NAME)
    convenor = Person.objects.create(
        name=CONVENOR_NAME,
        name_latin=latin,
        name_key=key,
        phone=CONVENOR_PHONE,
        unit_id=convenor_booth[0],
        gender="male",
        birth_year=1978,
        languages="hi,en",
        source=SOURCE,
    )
    seeding.add_people_counts({convenor_booth[1]: 1})

    people = list(Person.objects.filter(source=SOURCE).values_list("id", "unit__path"))
    add_consents([p[0] for p in people], rng)
    add_appointments(lucknow, people, convenor, positions, admin, rng)
    recount()


def add_consents(person_ids: list[int], rng: random.Random) -> None:
    now = timezone.now()
    rows = []
    for pid in person_ids:
        for channel, share in CONSENT_CHANNELS:
            if rng.random() >= share:
                continue
            granted = now - dt.timedelta(days=rng.randrange(30, 720), minutes=rng.randrange(1440))
            withdrawn = None
            evidence = GRANT_EVIDENCE[channel]
            if channel != "app" and rng.random() < 0.04:
                withdrawn = granted + dt.timedelta(days=rng.randrange(1, 29))
                evidence = "STOP reply"
            rows.append(
                Consent(
                    person_id=pid,
                    channel=channel,
                    purpose="organisational",
                    granted_at=granted,
                    withdrawn_at=withdrawn,
                    evidence=evidence,
                )
            )
    Consent.objects.bulk_create(rows, batch_size=5000)


def add_appointments(lucknow, people, convenor, positions, admin, rng) -> None:
    picker = _Picker(people, rng)
    picker.used.add(convenor.pk)
    today = timezone.localdate()
    rows = []

    def appoint(person_id, slug, title_en, unit_id):
        rows.append(
            Appointment(
                person_id=person_id,
                position=positions[(slug, title_en)],
                unit_id=unit_id,
                starts=today - dt.timedelta(days=rng.randrange(30, 700)),
                appointed_by=admin,
            )
        )

    appoint(convenor.pk, "district", "District convenor", lucknow.pk)
    up = OrgUnit.objects.get(code="UP")
    state_lead = picker.pick(lucknow.path)
    if state_lead:
        appoint(state_lead, "state", "State in-charge", up.pk)
    for slug, title_en, _hi, seats, share in POSITIONS:
        if slug in ("state",) or title_en == "District convenor":
            continue
        units = OrgUnit.objects.within(lucknow).filter(level__slug=slug)
        for unit_id, path in units.order_by("path").values_list("id", "path"):
            # Vacancies left on purpose: a share of single seats, and the last seats of
            # multi-seat posts (one district co-convenor of two).
            if seats == 1:
                filled = 1 if rng.random() < share else 0
            else:
                filled = round(seats * share)
            for _seat in range(filled):
                person_id = picker.pick(path)
                if person_id:
                    appoint(person_id, slug, title_en, unit_id)
    Appointment.objects.bulk_create(rows, batch_size=5000)
