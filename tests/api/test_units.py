from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import client_for
from tests.factories import make_person


def test_me_lists_appointments_and_jurisdiction(cast):
    body = client_for(cast.convenor).get("/api/v1/me").json()
    assert body["name"] == "Sanjay"
    assert body["person_id"] == cast.convenor_person.pk
    assert [a["unit_code"] for a in body["appointments"]] == ["UP-D-162"]
    assert body["appointments"][0]["title_en"] == "District convenor"
    assert body["jurisdiction"] == ["UP-D-162"] and body["everything"] is False


def test_a_superuser_sees_everything(cast):
    body = client_for(cast.superuser).get("/api/v1/me").json()
    assert body["everything"] is True and body["jurisdiction"] == ["IN"]
    assert client_for(cast.superuser).get("/api/v1/units/UP/").status_code == 200


def test_units_lists_the_roots_of_jurisdiction(cast):
    body = client_for(cast.convenor).get("/api/v1/units").json()
    assert [u["code"] for u in body] == ["UP-D-162"]


def test_a_unit_comes_with_its_counts_and_no_ancestor_outside(cast):
    r = client_for(cast.convenor).get("/api/v1/units/UP-D-162/")
    assert r.status_code == 200
    body = r.json()
    assert body["name_en"] == "Lucknow" and body["level"] == "district"
    assert (body["people_count"], body["seats_total"], body["seats_filled"]) == (2, 3, 2)
    assert body["vacancies"] == 1 and body["children_count"] == 1
    assert body["ancestors"] == []  # the state above is not theirs to see


def test_a_deeper_unit_names_the_ancestors_inside_jurisdiction(cast):
    body = client_for(cast.convenor).get("/api/v1/units/UP-AC-172-PS-001/").json()
    assert [a["code"] for a in body["ancestors"]] == [
        "UP-D-162",
        "UP-AC-172",
        "UP-AC-172-M-1",
        "UP-AC-172-S-1",
    ]


def test_children_are_listed_in_pages(cast):
    c = client_for(cast.convenor)
    body = c.get("/api/v1/units/UP-AC-172-S-1/children").json()
    assert body["count"] == 2
    assert [u["code"] for u in body["items"]] == ["UP-AC-172-PS-001", "UP-AC-172-PS-002"]
    page = c.get("/api/v1/units/UP-AC-172-S-1/children?limit=1&offset=1").json()
    assert [u["code"] for u in page["items"]] == ["UP-AC-172-PS-002"]


def test_coverage_gives_people_seats_and_vacancies_per_child(cast):
    body = client_for(cast.convenor).get("/api/v1/units/UP-AC-172-S-1/coverage").json()
    assert body["unit"] == {
        "code": "UP-AC-172-S-1",
        "name": "Sector 1",
        "level": "sector",
        "people_count": 1,
        "seats_total": 2,
        "seats_filled": 1,
        "vacancies": 1,
    }
    rows = {row["code"]: row for row in body["children"]}
    assert rows["UP-AC-172-PS-001"]["vacancies"] == 0
    assert rows["UP-AC-172-PS-002"]["vacancies"] == 1
    assert rows["UP-AC-172-PS-002"]["seats_filled"] == 0


def test_coverage_reads_a_fixed_number_of_queries(cast):
    c = client_for(cast.state_admin)
    c.get("/api/v1/units/UP/coverage")  # warm the session
    with CaptureQueriesContext(connection) as few:
        c.get("/api/v1/units/UP-AC-172-S-1/coverage")
    for i in range(5):
        make_person(cast.booth2, phone=f"+91981100000{i}")
    with CaptureQueriesContext(connection) as more:
        c.get("/api/v1/units/UP/coverage")
    # session, user, jurisdiction, the unit, its children: whatever the subtree holds
    assert len(more) == len(few) == 5
