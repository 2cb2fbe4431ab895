import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sangathan.accounts.models import AuditLog
from sangathan.org.bulk import TreeBuilder
from sangathan.org.counts import bump, recount
from sangathan.org.models import Level, OrgUnit
from sangathan.people.models import Appointment, Person
from tests.conftest import client_for

HX = {"HTTP_HX_REQUEST": "true"}
LUCKNOW_WORDS = ["Lucknow", "लखनऊ", "संजय राय", "पूजा यादव", "Primary School", "प्राथमिक"]


def add_booths(sector, n: int, prefix="UP-AC-172-PS-X"):
    booth = Level.objects.get(slug="booth")
    b = TreeBuilder()
    for i in range(n):
        b.add(sector, level=booth, code=f"{prefix}{i:03d}", name=f"बूथ {i:03d}", name_en=f"B{i:03d}")
    b.flush()
    sector.refresh_from_db()


def add_people(unit, n: int, start=9700000000):
    Person.objects.bulk_create(
        Person(
            name=f"व्यक्ति {i:03d}", phone=f"+91{start + i}", unit=unit, referral_code=f"R{start + i}"
        )
        for i in range(n)
    )
    bump(unit.path, people=n)


def count_queries(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- unit browser ---------------------------------------------------------------------------


def test_home_lists_the_convenors_district_only(cast, as_convenor):
    response = as_convenor.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Lucknow" in body and "/units/UP-D-162/" in body
    assert "Kanpur" not in body


def test_unit_page_shows_counts_and_drill_down_links(cast, as_convenor):
    response = as_convenor.get(reverse("org:unit", args=["UP-D-162"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Lucknow West" in body and 'href="/units/UP-AC-172/"' in body
    assert "AC no. 172" in body
    unit = response.context["unit"]
    assert (unit.people_count, unit.seats_total, unit.seats_filled) == (2, 3, 2)
    child = response.context["page"].object_list[0]
    assert (child.people_count, child.seats_total, child.seats_filled) == (1, 2, 1)
    assert child.vacancies == 1


def test_breadcrumbs_link_only_inside_the_jurisdiction(cast, as_convenor):
    body = as_convenor.get("/units/UP-AC-172-PS-001/").content.decode()
    crumbs = body.split('class="crumbs"')[1].split("</ol>")[0]
    assert "Uttar Pradesh" in crumbs and 'href="/units/UP/"' not in crumbs
    assert 'href="/units/UP-D-162/"' in crumbs
    assert 'href="/units/UP-AC-172-S-1/"' in crumbs


def test_convenor_drills_down_from_district_to_booth(cast, as_convenor):
    path = ["UP-D-162", "UP-AC-172", "UP-AC-172-M-1", "UP-AC-172-S-1"]
    for code, next_code in zip(path, path[1:] + ["UP-AC-172-PS-001"], strict=True):
        body = as_convenor.get(f"/units/{code}/").content.decode()
        assert f'href="/units/{next_code}/"' in body
    booth = as_convenor.get("/units/UP-AC-172-PS-001/")
    assert booth.status_code == 200
    assert "Polling station 1" in booth.content.decode()


def test_children_are_paginated_with_constant_queries(cast, as_convenor):
    url = "/units/UP-AC-172-S-1/"
    few = count_queries(as_convenor, url)
    add_booths(cast.sector, 120)
    many = count_queries(as_convenor, url)
    assert few == many
    page1 = as_convenor.get(url)
    assert len(page1.context["page"].object_list) == 50
    assert page1.context["page"].paginator.count == 122
    page3 = as_convenor.get(url + "?page=3").content.decode()
    assert "B119" in page3 and "B000" not in page3


def test_unit_page_query_count_is_bounded(cast, as_convenor, django_assert_max_num_queries):
    add_booths(cast.sector, 60)
    with django_assert_max_num_queries(8):
        as_convenor.get("/units/UP-AC-172-S-1/?page=2")


def test_htmx_request_gets_only_the_children_partial(cast, as_convenor):
    response = as_convenor.get("/units/UP-D-162/", **HX)
    body = response.content.decode()
    assert "Lucknow West" in body
    assert "<html" not in body and 'class="stats"' not in body
    assert "HX-Request" in response["Vary"]


def test_hindi_names_by_default(cast):
    from django.test import Client

    c = Client()  # no Accept-Language: the site default, Hindi
    c.force_login(cast.convenor)
    body = c.get("/units/UP-D-162/").content.decode()
    assert "लखनऊ पश्चिम" in body and "Lucknow West" not in body


# --- people of a unit -----------------------------------------------------------------------


def test_unit_people_lists_the_subtree(cast, as_convenor):
    body = as_convenor.get("/units/UP-D-162/people/").content.decode()
    assert "संजय राय" in body and "पूजा यादव" in body
    assert "रीना गुप्ता" not in body
    body = as_convenor.get("/units/UP-AC-172-PS-001/people/").content.decode()
    assert "पूजा यादव" in body and "संजय राय" not in body


def test_unit_people_is_paginated_with_constant_queries(cast, as_convenor):
    url = "/units/UP-AC-172-PS-002/people/"
    add_people(cast.booth2, 3)
    few = count_queries(as_convenor, url)
    add_people(cast.booth2, 127, start=9700001000)
    many = count_queries(as_convenor, url)
    assert few == many
    response = as_convenor.get(url + "?page=3")
    page = response.context["page"]
    assert page.paginator.count == 130 and len(page.object_list) == 30


def test_unit_people_htmx_returns_the_results_partial(cast, as_convenor):
    body = as_convenor.get("/units/UP-D-162/people/", **HX).content.decode()
    assert "संजय राय" in body
    assert "<html" not in body and 'type="search"' not in body


# --- appointments ---------------------------------------------------------------------------


def test_appointments_page_shows_holders_and_vacant_seats(cast, as_convenor):
    body = as_convenor.get("/units/UP-AC-172-PS-001/appointments/").content.decode()
    assert "पूजा यादव" in body
    body = as_convenor.get("/units/UP-AC-172-PS-002/appointments/").content.decode()
    assert "Vacant" in body


def test_appoint_by_phone_fills_the_seat(cast, as_convenor):
    person = Person.objects.create(name="राहुल सिंह", phone="+919700000001", unit=cast.booth2)
    response = as_convenor.post(
        "/units/UP-AC-172-PS-002/appointments/new/",
        {"position": cast.booth_pos.pk, "phone": "097000 00001"},
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get(person=person)
    assert appointment.unit == cast.booth2 and appointment.appointed_by == cast.convenor
    follow = as_convenor.get(response["Location"]).content.decode()
    assert "राहुल सिंह" in follow
    cast.booth2.refresh_from_db()
    assert cast.booth2.seats_filled == 1


def test_appoint_by_picking_a_search_result(cast, as_convenor):
    person = Person.objects.create(name="राहुल सिंह", phone="+919700000001", unit=cast.booth2)
    response = as_convenor.post(
        "/units/UP-AC-172-PS-002/appointments/new/",
        {"position": cast.booth_pos.pk, "person": person.pk},
    )
    assert response.status_code == 302
    assert Appointment.objects.filter(person=person, unit=cast.booth2).exists()


def test_appoint_form_names_the_problem(cast, as_convenor):
    url = "/units/UP-AC-172-PS-001/appointments/new/"
    # Seat already held by Pooja.
    response = as_convenor.post(url, {"position": cast.booth_pos.pk, "phone": "+919810000002"})
    assert response.status_code == 400
    assert "seat(s)" in response.content.decode()
    # A Kanpur number is "not in your area", never "found".
    response = as_convenor.post(url, {"position": cast.booth_pos.pk, "phone": "+919810000005"})
    assert "No one with mobile +919810000005 in your area" in response.content.decode()
    assert "रीना" not in response.content.decode()
    response = as_convenor.post(url, {"position": cast.booth_pos.pk, "phone": "12345"})
    assert "not a valid mobile number" in response.content.decode()
    response = as_convenor.post(url, {"position": cast.booth_pos.pk})
    assert "Pick a person" in response.content.decode()
    # A person picked by id from another district is refused the same way.
    response = as_convenor.post(
        url, {"position": cast.booth_pos.pk, "person": cast.kanpur_member.pk}
    )
    assert "not in your area" in response.content.decode()


def test_end_and_transfer_from_the_page(cast, as_convenor):
    appointment = Appointment.objects.get(person=cast.volunteer_person)
    response = as_convenor.post(
        f"/units/UP-AC-172-PS-001/appointments/{appointment.pk}/transfer/",
        {"unit_code": "UP-AC-172-PS-002"},
    )
    assert response.status_code == 302
    new = Appointment.objects.current().get(person=cast.volunteer_person)
    assert new.unit == cast.booth2
    response = as_convenor.post(f"/units/UP-AC-172-PS-002/appointments/{new.pk}/end/")
    assert response.status_code == 302
    assert not Appointment.objects.current().filter(person=cast.volunteer_person).exists()
    assert list(AuditLog.objects.order_by("at").values_list("action", flat=True)) == [
        "transfer",
        "end_appointment",
    ]
    history = as_convenor.get("/units/UP-AC-172-PS-002/appointments/").content.decode()
    assert "पूजा यादव" in history.split("Past appointments")[1]


def test_transfer_to_a_unit_outside_is_refused_without_naming_it(cast, as_convenor):
    appointment = Appointment.objects.get(person=cast.volunteer_person)
    response = as_convenor.post(
        f"/units/UP-AC-172-PS-001/appointments/{appointment.pk}/transfer/",
        {"unit_code": "UP-AC-213-PS-001"},
        follow=True,
    )
    body = response.content.decode()
    assert "No unit with code UP-AC-213-PS-001 in your area" in body
    assert "Girls School" not in body
    assert Appointment.objects.current().get(person=cast.volunteer_person).unit == cast.booth1


def test_candidate_search_by_phone_returns_the_partial(cast, as_convenor):
    body = as_convenor.get(
        "/units/UP-AC-172-PS-002/appointments/?q=98100 00003", **HX
    ).content.decode()
    assert "पूजा यादव" in body and "<html" not in body
    body = as_convenor.get(
        "/units/UP-AC-172-PS-002/appointments/?q=9810000005", **HX
    ).content.decode()
    assert "रीना" not in body


# --- vacancies ------------------------------------------------------------------------------


def test_vacancies_lists_booths_without_the_post(cast, as_convenor):
    add_booths(cast.sector, 3)
    recount()
    url = f"/units/UP-AC-172/vacancies/?position={cast.booth_pos.pk}&level=booth"
    response = as_convenor.get(url)
    codes = [u.code for u in response.context["page"].object_list]
    assert "UP-AC-172-PS-002" in codes and "UP-AC-172-PS-X000" in codes
    assert "UP-AC-172-PS-001" not in codes  # Pooja holds it
    assert len(codes) == 4


def test_vacancies_query_count_does_not_grow(cast, as_convenor):
    url = f"/units/UP-AC-172/vacancies/?position={cast.booth_pos.pk}"
    few = count_queries(as_convenor, url)
    add_booths(cast.sector, 80)
    assert count_queries(as_convenor, url) == few
    assert count_queries(as_convenor, url + "&page=2") == few


def test_vacancies_without_a_position_offers_the_choice(cast, as_convenor):
    body = as_convenor.get("/units/UP-D-162/vacancies/").content.decode()
    assert "Booth volunteer" in body and "Choose a post" in body


# --- outsiders ------------------------------------------------------------------------------


def lucknow_pages(cast):
    appointment = Appointment.objects.get(person=cast.volunteer_person)
    gets = [
        "/units/UP-D-162/",
        "/units/UP-AC-172/",
        "/units/UP-AC-172-PS-001/",
        "/units/UP-D-162/people/",
        "/units/UP-D-162/people/?q=पूजा",
        "/units/UP-AC-172-PS-001/appointments/",
        f"/units/UP-AC-172/vacancies/?position={cast.booth_pos.pk}",
        f"/people/{cast.convenor_person.pk}/",
        f"/people/{cast.volunteer_person.pk}/",
    ]
    posts = [
        (
            "/units/UP-AC-172-PS-002/appointments/new/",
            {"position": cast.booth_pos.pk, "phone": "+919810000004"},
        ),
        (f"/units/UP-AC-172-PS-001/appointments/{appointment.pk}/end/", {}),
        (
            f"/units/UP-AC-172-PS-001/appointments/{appointment.pk}/transfer/",
            {"unit_code": "UP-AC-213-PS-001"},
        ),
        # Kanpur's own unit code with a Lucknow appointment id.
        (f"/units/UP-D-164/appointments/{appointment.pk}/end/", {}),
        (
            f"/units/UP-D-164/appointments/{appointment.pk}/transfer/",
            {"unit_code": "UP-AC-213-PS-001"},
        ),
    ]
    return gets, posts


def assert_no_lucknow(body: str):
    for word in LUCKNOW_WORDS:
        assert word not in body, word


def test_outsider_is_refused_every_lucknow_page(cast, as_outsider):
    gets, posts = lucknow_pages(cast)
    for url in gets:
        response = as_outsider.get(url)
        assert response.status_code == 404, url
        assert_no_lucknow(response.content.decode())
        response = as_outsider.get(url, **HX)
        assert response.status_code == 404, url
    for url, data in posts:
        response = as_outsider.post(url, data)
        assert response.status_code == 404, url
        assert_no_lucknow(response.content.decode())
    assert Appointment.objects.current().get(person=cast.volunteer_person).unit == cast.booth1
    assert not Appointment.objects.filter(unit=cast.booth2).exists()


def test_outsider_lists_show_no_lucknow(cast, as_outsider):
    for url in ["/", "/people/", "/units/UP-D-164/", "/units/UP-D-164/people/"]:
        response = as_outsider.get(url)
        assert response.status_code == 200, url
        assert_no_lucknow(response.content.decode())
    body = as_outsider.get(
        f"/units/UP-D-164/vacancies/?position={cast.booth_pos.pk}"
    ).content.decode()
    assert "Girls School" in body  # Kanpur's own booth has no volunteer
    assert_no_lucknow(body)


def test_anonymous_is_sent_to_login(cast):
    from django.test import Client

    for url in ["/", "/units/UP-D-162/", "/people/", f"/people/{cast.convenor_person.pk}/"]:
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("code", ["UP-D-162", "NOPE"])
def test_user_without_appointment_sees_nothing(cast, code, django_user_model):
    u = django_user_model.objects.create_user("+919811111111")
    c = client_for(u)
    assert c.get(f"/units/{code}/").status_code == 404
    assert "nothing to show" in c.get("/").content.decode()


def test_superuser_sees_the_whole_tree(cast):
    c = client_for(cast.superuser)
    assert c.get("/units/UP-D-164/").status_code == 200
    assert "India" in c.get("/").content.decode()
    assert OrgUnit.objects.count() == 13


def test_huge_subtree_asks_for_a_search_instead_of_listing(cast, as_convenor, monkeypatch):
    import sangathan.org.views as org_views
    import sangathan.people.views as people_views

    monkeypatch.setattr(org_views, "LIST_LIMIT", 1)
    monkeypatch.setattr(people_views, "LIST_LIMIT", 1)
    for url in ["/units/UP-D-162/people/", "/people/"]:
        body = as_convenor.get(url).content.decode()
        assert "too many to list" in body and "पूजा यादव" not in body
    body = as_convenor.get("/units/UP-D-162/people/?q=9810000003").content.decode()
    assert "पूजा यादव" in body


def test_person_search_for_appointing_works_without_javascript(cast, as_convenor):
    response = as_convenor.get("/units/UP-AC-172-PS-002/appointments/?q=98100 00003")
    body = response.content.decode()
    assert "<html" in body and f'name="person" value="{cast.volunteer_person.pk}"' in body
    # The search box belongs to its own GET form: "Find" must not put the CSRF token in a URL.
    assert 'name="q" value="98100 00003" autocomplete="off" form="find-person"' in body
