from tests.conftest import client_for
from tests.factories import make_person


def test_people_lists_only_the_jurisdiction(cast):
    body = client_for(cast.convenor).get("/api/v1/people").json()
    assert {p["name"] for p in body["items"]} == {"संजय राय", "पूजा यादव"}
    assert body["count"] == 2


def test_people_narrow_to_a_unit(cast):
    make_person(cast.booth2, "मोहन लाल", "+919811000009")
    body = client_for(cast.convenor).get("/api/v1/people?unit=UP-AC-172-PS-002").json()
    assert [(p["name"], p["unit_code"]) for p in body["items"]] == [
        ("मोहन लाल", "UP-AC-172-PS-002")
    ]


def test_people_search_finds_by_name_across_scripts(cast, name_keys):
    c = client_for(cast.state_admin)
    for q in ("संजय", "sanjay rai"):
        body = c.get("/api/v1/people", {"q": q}).json()
        assert [p["phone"] for p in body["items"]] == ["+919810000002"], q


def test_a_person_comes_with_appointments_and_consents(cast):
    from sangathan.people.models import Consent

    Consent.objects.create(
        person=cast.volunteer_person, channel="sms", purpose="organisational", evidence="form"
    )
    r = client_for(cast.convenor).get(f"/api/v1/people/{cast.volunteer_person.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["unit_code"] == "UP-AC-172-PS-001"
    assert [a["unit_code"] for a in body["appointments"]] == ["UP-AC-172-PS-001"]
    assert [(c["channel"], c["purpose"]) for c in body["consents"]] == [("sms", "organisational")]


def test_a_second_post_outside_jurisdiction_is_not_shown(cast):
    from tests.factories import appoint

    appoint(cast.volunteer_person, cast.booth_pos, cast.kanpur_booth)
    body = client_for(cast.convenor).get(f"/api/v1/people/{cast.volunteer_person.pk}").json()
    assert [a["unit_code"] for a in body["appointments"]] == ["UP-AC-172-PS-001"]


def test_the_people_list_reads_a_fixed_number_of_queries(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = client_for(cast.convenor)
    with CaptureQueriesContext(connection) as few:
        c.get("/api/v1/people")
    for i in range(10):
        make_person(cast.booth2, phone=f"+91981200000{i}")
    with CaptureQueriesContext(connection) as more:
        body = c.get("/api/v1/people").json()
    assert body["count"] == 12
    assert len(more) == len(few) == 5
