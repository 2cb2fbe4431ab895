"""Kanpur's convenor tries every API route with Lucknow's ids and codes: every answer is 404
and no Lucknow row leaks into any body. A district convenor cannot see the state above."""

import pytest
from django.test import Client

from sangathan.accounts.actions import do_issue_api_token
from sangathan.accounts.api import router as accounts_router
from sangathan.accounts.models import AuditLog
from sangathan.org.api import router as org_router
from sangathan.people.api import router as people_router
from tests.conftest import client_for

LUCKNOW_UNITS = ["UP-D-162", "UP-AC-172", "UP-AC-172-M-1", "UP-AC-172-S-1", "UP-AC-172-PS-001"]
# Strings that would betray a Lucknow (or state) row in a response body.
LEAKS = [
    "UP-D-162",
    "UP-AC-172",
    "लखनऊ",
    "Lucknow",
    "Uttar Pradesh",
    "उत्तर प्रदेश",
    '"UP"',
    "संजय राय",
    "पूजा यादव",
    "सुनीता वर्मा",
    "+919810000001",
    "+919810000002",
    "+919810000003",
]

# Every route of the routers in this file, and how an outsider tries it. Routes that read no
# jurisdiction-bound data (logging in, "who am I") are listed in NOT_SCOPED.
NOT_SCOPED = {"/auth/otp/request", "/auth/otp/verify", "/auth/logout", "/me", "/units"}


def refused_urls(t) -> dict[str, list[str]]:
    person_ids = [t.convenor_person.pk, t.volunteer_person.pk, t.state_admin_person.pk]
    return {
        "/units/{code}/": [f"/api/v1/units/{c}/" for c in [*LUCKNOW_UNITS, "UP", "IN"]],
        "/units/{code}/children": [
            f"/api/v1/units/{c}/children" for c in [*LUCKNOW_UNITS, "UP", "IN"]
        ],
        "/units/{code}/coverage": [
            f"/api/v1/units/{c}/coverage" for c in [*LUCKNOW_UNITS, "UP", "IN"]
        ],
        "/people": [f"/api/v1/people?unit={c}" for c in [*LUCKNOW_UNITS, "UP"]],
        "/people/{int:person_id}": [f"/api/v1/people/{pk}" for pk in person_ids],
    }


def test_every_route_of_these_routers_has_an_outsider_case(cast):
    routes = {
        path
        for router in (accounts_router, org_router, people_router)
        for path in router.path_operations
    }
    covered = set(refused_urls(cast)) | NOT_SCOPED
    assert routes <= covered, f"add an outsider case for {sorted(routes - covered)}"


@pytest.mark.parametrize(
    "route",
    [
        "/units/{code}/",
        "/units/{code}/children",
        "/units/{code}/coverage",
        "/people",
        "/people/{int:person_id}",
    ],
)
def test_the_outsider_is_refused(cast, route):
    c = client_for(cast.outsider)
    for url in refused_urls(cast)[route]:
        r = c.get(url)
        assert r.status_code == 404, url
        assert not [s for s in LEAKS if s in r.text], (url, r.text)


def test_refusals_are_audited(cast):
    client_for(cast.outsider).get("/api/v1/units/UP-D-162/")
    denied = AuditLog.objects.get(action="denied")
    assert denied.actor == cast.outsider
    assert denied.detail == {"path": "/api/v1/units/UP-D-162/", "method": "GET", "status": 404}


def test_refusals_through_a_token_are_audited_too(cast):
    raw, _token = do_issue_api_token(cast.outsider)
    Client().get("/api/v1/people/1", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert AuditLog.objects.get(action="denied").actor == cast.outsider


def test_the_answer_does_not_tell_outside_from_nonexistent(cast):
    c = client_for(cast.outsider)
    outside = c.get("/api/v1/units/UP-D-162/")
    missing = c.get("/api/v1/units/NO-SUCH-UNIT/")
    assert (outside.status_code, outside.content) == (missing.status_code, missing.content)


@pytest.mark.parametrize("url", ["/api/v1/me", "/api/v1/units", "/api/v1/people"])
def test_the_outsiders_own_lists_hold_no_lucknow_row(cast, url):
    r = client_for(cast.outsider).get(url)
    assert r.status_code == 200
    assert "UP-D-164" in r.text or "अमित" in r.text  # their own rows are there
    assert not [s for s in LEAKS if s in r.text], r.text


def test_the_outsiders_search_holds_no_lucknow_row(cast, name_keys):
    for q in ("संजय", "sanjay", "पूजा", "9810000002"):
        r = client_for(cast.outsider).get("/api/v1/people", {"q": q})
        assert r.status_code == 200
        assert not [s for s in LEAKS if s in r.text], r.text


def test_a_district_convenor_cannot_see_the_state(cast):
    c = client_for(cast.convenor)
    for url in ("/api/v1/units/UP/", "/api/v1/units/UP/coverage", "/api/v1/people?unit=UP"):
        assert c.get(url).status_code == 404, url
    assert c.get(f"/api/v1/people/{cast.state_admin_person.pk}").status_code == 404
