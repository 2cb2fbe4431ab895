import re
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sangathan.core import seeding
from sangathan.org.models import OrgUnit
from sangathan.people.models import REFERRAL_ALPHABET, Person

E164_IN = re.compile(r"^\+91[6-9]\d{9}$")


def seed(*args):
    out = StringIO()
    call_command("seed", *args, "--quiet", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_seeds_a_valid_tree_with_realistic_fanouts():
    seed("--booths", "50", "--people", "500")
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    levels = Counter(OrgUnit.objects.values_list("level__slug", flat=True))
    assert levels == {
        "national": 1,
        "state": 1,
        "region": 1,
        "district": 1,
        "assembly": 1,
        "mandal": 1,
        "sector": 5,
        "booth": 50,
    }
    assert all(
        c.startswith("SYN-")
        for c in OrgUnit.objects.exclude(depth=1).values_list("code", flat=True)
    )
    # Synthetic ACs must never answer a lookup by a real AC number.
    assert not OrgUnit.objects.filter(level__slug="assembly", ac_no__isnull=False).exists()


@pytest.mark.django_db
def test_people_have_unique_e164_phones_and_referral_codes():
    seed("--booths", "50", "--people", "500")
    people = list(
        Person.objects.values_list("phone", "referral_code", "name", "name_latin", "gender")
    )
    assert len(people) == 500
    phones = [p[0] for p in people]
    codes = [p[1] for p in people]
    assert len(set(phones)) == 500 and all(E164_IN.match(p) for p in phones)
    assert len(set(codes)) == 500
    assert all(len(c) == 8 and set(c) <= set(REFERRAL_ALPHABET) for c in codes)
    assert all(re.search("[\u0900-\u097f]", p[2]) for p in people)  # Devanagari names
    assert all(p[3] and p[3] != p[2] for p in people)  # transliterated to Latin
    assert {p[4] for p in people} == {"male", "female"}
    assert not Person.objects.filter(unit__level__slug__in=["sector", "mandal"]).exists()


@pytest.mark.django_db
def test_maintained_people_count_equals_the_subtree_count_for_every_unit():
    seed("--booths", "50", "--people", "500")
    for unit in OrgUnit.objects.all():
        assert unit.people_count == Person.objects.within(unit).count(), unit.code
    assert OrgUnit.objects.get(depth=1).people_count == 500


@pytest.mark.django_db
def test_a_second_seed_needs_its_own_state_code_and_continues_the_phone_block():
    seed("--booths", "20", "--people", "100")
    with pytest.raises(CommandError, match="SYN"):
        seed("--booths", "20")
    seed("--booths", "20", "--people", "100", "--state-code", "XX")
    assert Person.objects.count() == 200
    assert Person.objects.values("phone").distinct().count() == 200
    xx = OrgUnit.objects.get(code="SYN-XX")
    assert xx.people_count == 100 == Person.objects.within(xx).count()
    assert OrgUnit.objects.get(depth=1).people_count == 200
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


@pytest.mark.django_db
def test_it_steps_around_a_referral_code_already_taken():
    seed("--booths", "10")
    booth = OrgUnit.objects.filter(level__slug="booth").first()
    taken = seeding.referral_code_for(2)
    Person.objects.create(name="x", phone="+919812345678", unit=booth, referral_code=taken)
    seed("--people", "10")
    assert Person.objects.filter(referral_code=taken).count() == 1
    assert Person.objects.values("referral_code").distinct().count() == 11


@pytest.mark.django_db
def test_people_without_booths_is_refused_with_a_reason():
    with pytest.raises(CommandError, match="no synthetic booths"):
        seed("--people", "10")


def test_the_org_shape_at_national_scale_is_realistic():
    # Only the plan (no database): ~4,200 ACs, ~780 districts, 36 states for 10.5 lakh booths.
    n_acs = seeding._parts(1_050_000, seeding.BOOTHS_PER_AC)
    n_districts = seeding._parts(n_acs, seeding.ACS_PER_DISTRICT)
    n_states = min(seeding.MAX_STATES, seeding._parts(n_districts, seeding.DISTRICTS_PER_STATE))
    assert 4000 <= n_acs <= 4300 and 740 <= n_districts <= 800 and n_states == 36
    assert seeding._split(10, 3) == [4, 3, 3] and sum(seeding._split(1234, 7)) == 1234
