"""WhatsApp groups for the demo organisation: something on every groups page to look at.

Workers' groups for about three booths in five of Lucknow's (so coverage is well short of
100%), registered week by week over the last four weeks with a coverage snapshot after each
week (the trend), an admin each (a member of the booth), member counts that grew week by week,
a few youth groups at assemblies, and a target: one workers' group per booth in Lucknow.
"""

from __future__ import annotations

import random
import string
from datetime import timedelta

from django.utils import timezone

from sangathan.groups.coverage import take_snapshots
from sangathan.groups.models import (
    ExpansionTarget,
    Group,
    GroupAdmin,
    InviteLink,
    MemberCount,
)
from sangathan.org.models import Level, OrgUnit
from sangathan.people.models import Person

WEEKS = 4
SHARE = 0.6  # of Lucknow's booths that have a group by now


def _link(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits
    return "https://chat.whatsapp.com/" + "".join(rng.choice(alphabet) for _ in range(22))


def ensure_demo_groups(admin, convenor, lucknow: OrgUnit) -> bool:
    """Create the demo groups once; True if it made them."""
    if Group.objects.exists():
        return False
    rng = random.Random(5)
    booth_level = Level.objects.filter(slug="booth").first()
    if booth_level is None:
        return False
    booths = list(
        OrgUnit.objects.filter(path__under=lucknow.path, level=booth_level)
        .order_by("path")
        .values_list("pk", "path", "name")
    )
    if not booths:
        return False
    chosen = [b for b in booths if rng.random() < SHARE]
    # One admin per booth: a member whose home is that booth, where there is one.
    first_person: dict[int, int] = {}
    for person_id, unit_id in (
        Person.objects.not_erased()
        .filter(unit_id__in=[b[0] for b in chosen])
        .order_by("unit_id", "pk")
        .values_list("pk", "unit_id")
    ):
        first_person.setdefault(unit_id, person_id)

    today = timezone.localdate()
    now = timezone.now()
    ExpansionTarget.objects.create(
        scope_unit=lucknow,
        level=booth_level,
        purpose="workers",
        per_unit=1,
        due=today + timedelta(days=60),
        created_by=admin,
    )
    by = convenor or admin
    for week in range(WEEKS):
        day = today - timedelta(days=7 * (WEEKS - 1 - week))
        batch = chosen[week::WEEKS]
        groups = Group.objects.bulk_create(
            [
                Group(
                    unit_id=pk,
                    name=f"{name} — कार्यकर्ता समूह"[:200],
                    purpose="workers",
                    invite_link=_link(rng),
                    member_count=0,
                    created_by=by,
                    created_at=now - timedelta(days=7 * (WEEKS - 1 - week)),
                )
                for pk, _path, name in batch
            ]
        )
        if not any(g.pk for g in groups):  # a backend without RETURNING
            groups = list(Group.objects.filter(unit_id__in=[b[0] for b in batch]))
        InviteLink.objects.bulk_create(
            [InviteLink(group=g, url=g.invite_link, set_by=by, set_at=g.created_at) for g in groups]
        )
        GroupAdmin.objects.bulk_create(
            [
                GroupAdmin(group=g, person_id=first_person[g.unit_id], added_by=by)
                for g in groups
                if g.unit_id in first_person
            ]
        )
        # Counts from the week each group started until today, growing a little each week.
        counts = []
        latest = []
        for g in groups:
            members = rng.randint(25, 140)
            for w in range(week, WEEKS):
                on = today - timedelta(days=7 * (WEEKS - 1 - w))
                counts.append(MemberCount(group=g, counted_on=on, members=members, recorded_by=by))
                members += rng.randint(0, 25)
            g.member_count = counts[-1].members
            g.member_count_on = today
            g.last_verified_on = today - timedelta(days=rng.randint(0, 10))
            latest.append(g)
        MemberCount.objects.bulk_create(counts, batch_size=2000)
        Group.objects.bulk_update(
            latest, ["member_count", "member_count_on", "last_verified_on"], batch_size=1000
        )
        take_snapshots(day, targets=None)
    # A youth group in each of the first few assemblies.
    for ac in OrgUnit.objects.filter(path__under=lucknow.path, level__slug="assembly").order_by(
        "path"
    )[:3]:
        Group.objects.create(
            unit=ac,
            name=f"{ac.name} — युवा समूह",
            purpose="youth",
            invite_link=_link(rng),
            member_count=rng.randint(150, 400),
            member_count_on=today,
            last_verified_on=today,
            created_by=by,
        )
    take_snapshots(today)
    return True
