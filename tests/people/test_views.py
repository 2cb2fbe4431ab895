import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from sangathan.people.actions import (
    do_appoint,
    do_end_appointment,
    do_record_consent,
    do_withdraw_consent,
)
from sangathan.people.models import Appointment, Person, Tag
from tests.factories import appoint, make_position

HX = {"HTTP_HX_REQUEST": "true"}


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_search_lists_everyone_in_the_area_only(cast, as_convenor):
    response = as_convenor.get("/people/")
    body = response.content.decode()
    assert "संजय राय" in body and "पूजा यादव" in body
    assert "रीना गुप्ता" not in body and "अमित शुक्ला" not in body
    assert response.context["page"].paginator.count == 2


def test_search_pages_cost_the_same_queries_whatever_the_size(cast, as_convenor):
    few = queries(as_convenor, "/people/")
    Person.objects.bulk_create(
        Person(name=f"नाम {i}", phone=f"+9197{i:08d}", unit=cast.booth2, referral_code=f"Q{i:07d}")
        for i in range(120)
    )
    from sangathan.org.counts import recount

    recount()
    assert queries(as_convenor, "/people/?page=2") == few
    assert as_convenor.get("/people/?page=3").context["page"].paginator.count == 122


def test_search_htmx_returns_only_results(cast, as_convenor):
    body = as_convenor.get("/people/", **HX).content.decode()
    assert "पूजा यादव" in body
    assert "<html" not in body and 'type="search"' not in body


def test_search_finds_a_hindi_name_by_its_latin_spelling(cast, as_convenor):
    from sangathan.people.names import person_name_fields

    for p in Person.objects.all():
        p.name_latin, p.name_key = person_name_fields(p.name)
        p.save(update_fields=["name_latin", "name_key"])
    body = as_convenor.get("/people/?q=pooja").content.decode()
    assert "पूजा यादव" in body
    assert "संजय राय" not in body
    # An outsider searching the same name gets nothing from Lucknow.
    from tests.conftest import client_for

    body = client_for(cast.outsider).get("/people/?q=pooja").content.decode()
    assert "पूजा" not in body


def test_detail_shows_the_whole_record(cast, as_convenor):
    person = cast.volunteer_person
    person.name_latin = "Pooja Yadav"
    person.save()
    person.tags.add(Tag.objects.create(name="student"))
    do_record_consent(person, "sms", "organisational", "signed form at camp")
    do_record_consent(person, "whatsapp", "campaign", "missed call")
    do_withdraw_consent(person, "whatsapp", "campaign", "replied STOP")
    old = do_appoint(
        person,
        make_position("booth", "Booth agent", "बूथ एजेंट"),
        cast.booth2,
        actor=cast.convenor,
        starts=datetime.date(2024, 1, 1),
    )
    do_end_appointment(old, actor=cast.convenor)

    response = as_convenor.get(f"/people/{person.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "पूजा यादव" in body and "Pooja Yadav" in body and "+919810000003" in body
    crumbs = body.split('class="crumbs"')[1].split("</ol>")[0]
    assert 'href="/units/UP-D-162/"' in crumbs and 'href="/units/UP-AC-172-PS-001/"' in crumbs
    assert "Booth volunteer" in body  # current
    assert "Booth agent" in body.split("Past posts")[1]
    assert "signed form at camp" in body and "replied STOP" in body
    assert "Withdrawn" in body and "Granted" in body
    assert "student" in body


def test_detail_queries_are_bounded(cast, as_convenor, django_assert_max_num_queries):
    for i in range(5):
        p = make_position("booth", f"Post {i}", f"पद {i}", seats=2)
        Appointment.objects.create(person=cast.volunteer_person, position=p, unit=cast.booth1)
    with django_assert_max_num_queries(10):
        as_convenor.get(f"/people/{cast.volunteer_person.pk}/")


def test_detail_hides_appointments_outside_the_viewers_area(cast, as_convenor):
    # A Lucknow resident who also holds a post in Kanpur: the convenor sees the person but
    # not the Kanpur unit.
    appoint(cast.volunteer_person, cast.booth_pos, cast.kanpur_booth)
    body = as_convenor.get(f"/people/{cast.volunteer_person.pk}/").content.decode()
    assert "Girls School" not in body


def test_outsider_gets_404_for_a_lucknow_person(cast, as_outsider):
    for pk in (cast.convenor_person.pk, cast.volunteer_person.pk, 999999):
        response = as_outsider.get(f"/people/{pk}/")
        assert response.status_code == 404
        assert "संजय" not in response.content.decode()
