from io import StringIO

import pytest
from django.core.management import call_command

from sangathan.accounts.models import User
from sangathan.org.models import OrgUnit, PollingLocation
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.models import Appointment, Consent, Person, Position

MODELS = (OrgUnit, PollingLocation, Person, Consent, Position, Appointment, User)


def run_demo():
    out = StringIO()
    call_command("demo", "--no-serve", "--people", "400", "--acs", "173", stdout=out)
    return out.getvalue()


def row_counts():
    return {m.__name__: m.objects.count() for m in MODELS}


@pytest.mark.django_db(transaction=False)
def test_demo_builds_lucknow_and_a_second_run_changes_nothing():
    first = run_demo()
    counts = row_counts()
    ac = OrgUnit.objects.get(code="UP-AC-173")
    lucknow = OrgUnit.objects.get(code="UP-D-162")
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    assert OrgUnit.objects.filter(level__slug="district", code__startswith="UP-D-").count() == 75
    assert OrgUnit.objects.below(ac).filter(level__slug="mandal").exists()
    assert OrgUnit.objects.below(ac).filter(level__slug="booth").count() > 250
    # the seeded people and the district convenor, and the demo drive's sign-ups
    assert Person.objects.filter(source="demo").count() == 401
    assert counts["Person"] == 401 + Person.objects.exclude(source="demo").count()
    assert lucknow.people_count == Person.objects.within(lucknow).count() == counts["Person"]

    second = run_demo()
    assert row_counts() == counts
    assert "+919999999999" in first and "+919999999999" in second
    assert "password" in second


@pytest.mark.django_db
def test_demo_has_consents_vacancies_and_a_convenor_who_sees_only_lucknow():
    out = run_demo()
    lucknow = OrgUnit.objects.get(code="UP-D-162")
    assert Consent.objects.filter(withdrawn_at__isnull=False, evidence="STOP reply").exists()
    assert {"app", "sms", "whatsapp"} <= set(Consent.objects.values_list("channel", flat=True))
    # Deliberate vacancies: some booths and one of two co-convenor seats are empty.
    assert 0 < lucknow.seats_filled < lucknow.seats_total
    booth_volunteers = Appointment.objects.filter(position__title_en="Booth volunteer").count()
    booths = OrgUnit.objects.within(lucknow).filter(level__slug="booth").count()
    assert 0 < booth_volunteers < booths
    assert Appointment.objects.filter(position__title_en="District co-convenor").count() == 1
    titles = set(Position.objects.values_list("title_hi", flat=True))
    assert "जिला संयोजक" in titles
    convenor = User.objects.get(phone="+919000000162")
    assert convenor.phone in out
    assert jurisdiction_for(convenor).roots == (lucknow.path,)
    admin = User.objects.get(phone="+919999999999")
    assert admin.is_superuser and admin.check_password("sangathan-demo")


@pytest.mark.django_db
def test_demo_has_a_campus_drive_groups_for_part_of_lucknow_and_committees():
    from django.test import Client

    from sangathan.drives.models import Drive
    from sangathan.groups.models import Group
    from sangathan.meetings.models import ActionItem, Meeting
    from sangathan.people.models import CommitteeTemplate

    run_demo()
    drive = Drive.objects.get(kind="campus", is_open=True)
    assert drive.accepts_sign_ups()
    assert "Lucknow" in str(list(drive.institutions.values_list("name_en", flat=True)))
    assert Client().get(f"/join/{drive.code}").status_code == 200
    lucknow = OrgUnit.objects.get(code="UP-D-162")
    booths = OrgUnit.objects.within(lucknow).filter(level__slug="booth")
    with_group = booths.filter(whatsapp_groups__isnull=False).distinct().count()
    assert Group.objects.filter(unit__path__startswith=lucknow.path).exists()
    assert 0 < with_group < booths.count()
    levels = set(CommitteeTemplate.objects.values_list("level__slug", flat=True))
    assert {"booth", "district"} <= levels
    assert 0 < lucknow.seats_filled < lucknow.seats_total
    state = Meeting.objects.filter(kind="state", action_items__isnull=False).distinct().get()
    assert state.agenda.exists() and state.rules.exists()
    assert state.agenda.exclude(notes="").exists()  # minutes
    assert ActionItem.objects.filter(meeting=state, status="open").exists()
