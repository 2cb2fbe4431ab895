from sangathan.org.models import OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.models import Person


def test_convenor_sees_own_district_only(cast):
    j = jurisdiction_for(cast.convenor)
    assert j.contains(cast.booth1)
    assert not j.contains(cast.kanpur_booth)
    codes = set(OrgUnit.objects.visible_to(cast.convenor).values_list("code", flat=True))
    assert "UP-AC-172-PS-001" in codes
    assert not any(c.startswith("UP-AC-213") for c in codes)
    assert "UP" not in codes


def test_outsider_sees_no_lucknow_people(cast):
    names = set(Person.objects.visible_to(cast.outsider).values_list("name", flat=True))
    assert names == {"अमित शुक्ला", "रीना गुप्ता"}


def test_user_without_appointment_sees_nothing(cast, django_user_model):
    u = django_user_model.objects.create_user("+919811111111")
    assert not OrgUnit.objects.visible_to(u).exists()
    assert jurisdiction_for(u).is_empty


def test_counts_are_maintained(cast):
    cast.lucknow.refresh_from_db()
    cast.up.refresh_from_db()
    assert cast.lucknow.people_count == 2
    assert cast.up.people_count == 5
    # Lucknow: 1 district seat + 2 booth seats; 1 + 1 filled
    assert cast.lucknow.seats_total == 3
    assert cast.lucknow.seats_filled == 2
    assert cast.lucknow.vacancies == 1
