"""Appoint, relieve and transfer from the person page (htmx partial and plain POST), with
dates and who did it; the history of a seat and of a person; outsiders refused."""

import datetime

import pytest
from django.utils import timezone

from sangathan.people.models import Appointment
from tests.conftest import client_for
from tests.factories import make_person
from tests.people.committee_fixtures import (
    apply_in_lucknow,
    assert_counts_match_recount,
    make_committees,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def t(cast):
    t = apply_in_lucknow(make_committees(cast))
    t.neeraj = make_person(t.booth2, "नीरज", "+919810000011")
    return t


def test_appoint_relieve_transfer_from_the_person_page(t):
    c = client_for(t.convenor)
    week_ago = timezone.localdate() - datetime.timedelta(days=7)
    r = c.post(
        f"/people/{t.neeraj.pk}/posts/",
        {"position": t.whatsapp.pk, "unit_code": t.booth2.code, "starts": week_ago.isoformat()},
        **HTMX,
    )
    assert r.status_code == 200
    assert 'id="posts"' in r.text and "<html" not in r.text  # the partial
    a = Appointment.objects.get(person=t.neeraj)
    assert (a.unit, a.starts, a.appointed_by) == (t.booth2, week_ago, t.convenor)

    r = c.post(
        f"/people/{t.neeraj.pk}/posts/{a.pk}/transfer/",
        {"unit_code": t.booth1.code, "date": timezone.localdate().isoformat()},
        **HTMX,
    )
    assert r.status_code == 200
    a.refresh_from_db()
    assert a.ends == timezone.localdate() and a.ended_by == t.convenor
    b = Appointment.objects.current().get(person=t.neeraj)
    assert b.unit == t.booth1

    r = c.post(f"/people/{t.neeraj.pk}/posts/{b.pk}/relieve/", {"date": ""})
    assert r.status_code == 302  # without htmx: back to the page
    b.refresh_from_db()
    assert b.ends == timezone.localdate() and b.ended_by == t.convenor
    assert_counts_match_recount()


def test_errors_come_back_in_the_partial(t):
    c = client_for(t.convenor)
    Appointment.objects.create(person=t.volunteer_person, position=t.it_volunteer, unit=t.booth2)
    r = c.post(
        f"/people/{t.neeraj.pk}/posts/",
        {"position": t.it_volunteer.pk, "unit_code": t.booth2.code},
        **HTMX,
    )
    assert r.status_code == 400 and "are filled" in r.text
    r = c.post(
        f"/people/{t.neeraj.pk}/posts/",
        {"position": t.it_volunteer.pk, "unit_code": t.kanpur_booth.code},
        **HTMX,
    )
    assert r.status_code == 400 and "No unit with code UP-AC-213-PS-001 in your area." in r.text
    future = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    r = c.post(
        f"/people/{t.neeraj.pk}/posts/",
        {"position": t.whatsapp.pk, "unit_code": t.booth2.code, "starts": future},
        **HTMX,
    )
    assert r.status_code == 400 and "cannot start in the future" in r.text


def test_seat_and_person_history_pages(t):
    c = client_for(t.convenor)
    a = Appointment.objects.create(
        person=t.neeraj,
        position=t.whatsapp,
        unit=t.booth2,
        starts=timezone.localdate() - datetime.timedelta(days=30),
        ends=timezone.localdate() - datetime.timedelta(days=3),
        appointed_by=t.convenor,
        ended_by=t.state_admin,
    )
    r = c.get(f"/people/seats/{t.booth2.code}/{t.whatsapp.pk}/history/")
    assert r.status_code == 200
    assert "नीरज" in r.text and "Sanjay" in r.text and "Sunita" in r.text
    r = c.get(f"/people/{t.neeraj.pk}/history/")
    assert r.status_code == 200 and a.position.title_en in r.text
    # a post of another level at this unit is not a seat here
    assert c.get(f"/people/seats/{t.booth2.code}/{t.district_pos.pk}/history/").status_code == 404


def test_outsider_is_refused_everywhere(t):
    a = Appointment.objects.get(person=t.volunteer_person)
    c = client_for(t.outsider)
    assert c.get(f"/people/{t.neeraj.pk}/history/").status_code == 404
    assert c.get(f"/people/seats/{t.booth1.code}/{t.booth_pos.pk}/history/").status_code == 404
    r = c.post(
        f"/people/{t.neeraj.pk}/posts/", {"position": t.whatsapp.pk, "unit_code": t.booth2.code}
    )
    assert r.status_code == 404
    assert c.post(f"/people/{t.volunteer_person.pk}/posts/{a.pk}/relieve/").status_code == 404
    r = c.post(
        f"/people/{t.volunteer_person.pk}/posts/{a.pk}/transfer/", {"unit_code": t.booth2.code}
    )
    assert r.status_code == 404
    a.refresh_from_db()
    assert a.ends is None
    # and the convenor cannot transfer a Lucknow holder into Kanpur
    r = client_for(t.convenor).post(
        f"/people/{t.volunteer_person.pk}/posts/{a.pk}/transfer/",
        {"unit_code": t.kanpur_booth.code},
        **HTMX,
    )
    assert r.status_code == 400
    a.refresh_from_db()
    assert a.ends is None
