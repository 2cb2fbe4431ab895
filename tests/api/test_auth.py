import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from sangathan.accounts.actions import do_issue_api_token
from sangathan.accounts.models import ApiToken, AuditLog
from tests.conftest import client_for

CONVENOR = "+919810000002"
PROTECTED = [
    "/api/v1/me",
    "/api/v1/units",
    "/api/v1/units/UP-D-162/",
    "/api/v1/units/UP-D-162/children",
    "/api/v1/units/UP-D-162/coverage",
    "/api/v1/people",
    "/api/v1/people/1",
]


def post_json(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def login_by_otp(sent_codes, phone=CONVENOR) -> dict:
    c = Client()
    with sent_codes.capture():
        r = post_json(c, "/api/v1/auth/otp/request", {"phone": phone})
    assert r.status_code == 202
    r = post_json(
        c, "/api/v1/auth/otp/verify", {"phone": phone, "code": sent_codes.last_for(phone)}
    )
    assert r.status_code == 200, r.content
    return r.json()


@pytest.mark.parametrize("url", PROTECTED)
def test_it_answers_401_without_credentials(cast, url):
    r = Client().get(url)
    assert r.status_code == 401
    assert "Authorization: Bearer" in r.json()["detail"]


def test_an_otp_login_returns_a_token_that_works(cast, sent_codes):
    body = login_by_otp(sent_codes)
    assert body["user"]["phone"] == CONVENOR
    assert body["token"].startswith("sgn_")
    # Only its hash is kept.
    assert not ApiToken.objects.filter(key_hash__contains=body["token"]).exists()
    r = Client().get("/api/v1/me", **bearer(body["token"]))
    assert r.status_code == 200 and r.json()["person_id"] == cast.convenor_person.pk


def test_a_forged_or_expired_token_is_refused(cast):
    raw, _token = do_issue_api_token(cast.convenor)
    assert Client().get("/api/v1/me", **bearer(raw + "x")).status_code == 401
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401


def test_logout_revokes_the_token(cast):
    raw, _token = do_issue_api_token(cast.convenor)
    r = Client().post("/api/v1/auth/logout", **bearer(raw))
    assert r.status_code == 204
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401
    assert AuditLog.objects.filter(action="token_revoked", actor=cast.convenor).exists()


def test_the_staff_session_works_too(cast):
    r = client_for(cast.convenor).get("/api/v1/me")
    assert r.status_code == 200 and r.json()["phone"] == CONVENOR


def test_a_session_needs_the_csrf_token_to_post(cast):
    c = Client(enforce_csrf_checks=True)
    c.force_login(cast.convenor)
    assert c.post("/api/v1/auth/logout").status_code == 403


def test_otp_request_answers_the_same_for_unknown_numbers(cast, sent_codes):
    answers = []
    for phone in (CONVENOR, "+919700000000"):
        with sent_codes.capture():
            r = post_json(Client(), "/api/v1/auth/otp/request", {"phone": phone})
        answers.append((r.status_code, r.content))
    assert answers[0] == answers[1]
    assert answers[0][0] == 202
    assert [p for p, _ in sent_codes] == [CONVENOR]


def test_otp_errors_name_the_problem(cast, sent_codes):
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    r = post_json(c, "/api/v1/auth/otp/request", {"phone": "12345"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_phone"
    assert "too short" in r.json()["detail"]
    with sent_codes.capture():
        post_json(c, "/api/v1/auth/otp/request", {"phone": CONVENOR})
    r = post_json(c, "/api/v1/auth/otp/verify", {"phone": CONVENOR, "code": "12"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_code"
    code = sent_codes.last_for(CONVENOR)
    wrong = "000000" if code != "000000" else "111111"
    r = post_json(c, "/api/v1/auth/otp/verify", {"phone": CONVENOR, "code": wrong})
    assert r.status_code == 400 and r.json()["code"] == "wrong_code"


def test_otp_request_is_rate_limited(cast, settings):
    settings.SANGATHAN_OTP_MAX_PER_PHONE_PER_HOUR = 1
    c = Client()
    assert post_json(c, "/api/v1/auth/otp/request", {"phone": CONVENOR}).status_code == 202
    r = post_json(c, "/api/v1/auth/otp/request", {"phone": CONVENOR})
    assert r.status_code == 429 and r.json()["code"] == "too_many_requests"


def test_the_openapi_schema_is_served(db):
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in (
        "/api/v1/auth/otp/request",
        "/api/v1/auth/otp/verify",
        "/api/v1/me",
        "/api/v1/units/{code}/coverage",
        "/api/v1/people",
    ):
        assert p in paths
