import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from sangathan.accounts.models import User
from tests.conftest import client_for

CHANGELISTS = [
    "accounts_user",
    "accounts_auditlog",
    "accounts_apitoken",
    "org_level",
    "org_orgunit",
    "org_pollinglocation",
    "org_unitmove",
    "people_person",
    "people_position",
    "people_appointment",
    "people_consent",
    "people_tag",
]


@pytest.mark.parametrize("name", CHANGELISTS)
def test_the_superuser_can_open_every_admin_list(cast, name):
    r = client_for(cast.superuser).get(reverse(f"admin:{name}_changelist"))
    assert r.status_code == 200


def test_a_unit_page_opens_and_search_by_code_works(cast):
    c = client_for(cast.superuser)
    r = c.get(reverse("admin:org_orgunit_changelist"), {"q": "UP-AC-172-PS"})
    assert "UP-AC-172-PS-001" in r.text and "UP-D-164" not in r.text
    assert c.get(reverse("admin:org_orgunit_change", args=[cast.booth1.pk])).status_code == 200


def test_an_admin_adds_a_user_by_phone(cast):
    c = client_for(cast.superuser)
    r = c.post(
        reverse("admin:accounts_user_add"),
        {
            "phone": "98111 22233",
            "name": "Office",
            "password1": "x-Long-pass-42",
            "password2": "x-Long-pass-42",
        },
    )
    assert r.status_code == 302, r.text
    assert User.objects.filter(phone="+919811122233").exists()


def test_staff_see_only_their_jurisdiction_in_the_admin(cast):
    cast.convenor.is_staff = True
    cast.convenor.save()
    cast.convenor.user_permissions.add(
        Permission.objects.get(codename="view_orgunit"),
        Permission.objects.get(codename="view_person"),
    )
    c = client_for(cast.convenor)
    units = c.get(reverse("admin:org_orgunit_changelist"))
    assert "UP-D-162" in units.text and "UP-D-164" not in units.text
    people = c.get(reverse("admin:people_person_changelist"))
    assert "+919810000002" in people.text and "+919810000004" not in people.text
    assert c.get(reverse("admin:org_orgunit_change", args=[cast.kanpur.pk])).status_code == 302


def test_the_person_admin_normalises_phones_and_keeps_counts(cast):
    c = client_for(cast.superuser)
    r = c.post(
        reverse("admin:people_person_add"),
        {"name": "नया सदस्य", "phone": "098111 00077", "unit": cast.booth2.pk, "app_status": "none"},
    )
    assert r.status_code == 302, r.text
    cast.lucknow.refresh_from_db()
    assert cast.lucknow.people_count == 3
    r = c.post(
        reverse("admin:people_person_add"),
        {"name": "गलत", "phone": "12345", "unit": cast.booth2.pk, "app_status": "none"},
    )
    assert r.status_code == 200 and "too short" in r.text
