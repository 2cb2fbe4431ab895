"""The API's way in: /auth/otp/request and /verify with a referral code make a new member
attributed to the drive or recruiter; known numbers just log in; the schema documents it."""

from django.test import Client

from sangathan.drives.models import FunnelDay, SignUp
from sangathan.people.models import Person


def post(c, path, body):
    return c.post(path, body, content_type="application/json")


def test_a_new_number_joins_through_a_recruiter_code(campus, sent_codes, on_commit_after_action):
    t = campus
    c = Client()
    r = post(
        c, "/api/v1/auth/otp/request", {"phone": "9123456789", "referral_code": t.recruiter.code}
    )
    assert r.status_code == 202
    code = sent_codes.last_for("+919123456789")
    r = post(
        c,
        "/api/v1/auth/otp/verify",
        {"phone": "9123456789", "code": code, "referral_code": t.recruiter.code, "name": "अनिल"},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    person = Person.objects.get(phone="+919123456789")
    assert body["user"]["person_id"] == person.pk and body["token"].startswith("sgn_")
    assert person.referred_by == t.volunteer_person and person.source == f"drive:{t.drive.code}"
    assert person.name == "अनिल" and person.unit == t.lucknow  # the drive's unit
    assert not person.consents.exists()  # nothing ticked, nothing granted
    s = SignUp.objects.get()
    assert (s.via, s.recruiter, s.counted) == ("api", t.recruiter, True)
    day = FunnelDay.objects.get(code=t.recruiter.code)
    assert (day.otp_sent, day.verified, day.joined) == (1, 1, 1)


def test_without_a_code_an_unknown_number_gets_nothing(campus, sent_codes, on_commit_after_action):
    r = post(Client(), "/api/v1/auth/otp/request", {"phone": "9123456789"})
    assert r.status_code == 202 and sent_codes == []
    r = post(Client(), "/api/v1/auth/otp/request", {"phone": "9123456789", "referral_code": "ZZZZ"})
    assert r.status_code == 202 and sent_codes == []


def test_a_known_member_logs_in_and_is_not_reattributed(campus, sent_codes, on_commit_after_action):
    t = campus
    c = Client()
    post(c, "/api/v1/auth/otp/request", {"phone": "9810000005", "referral_code": t.drive.code})
    code = sent_codes.last_for("+919810000005")
    r = post(
        c,
        "/api/v1/auth/otp/verify",
        {"phone": "9810000005", "code": code, "referral_code": t.drive.code},
    )
    assert r.status_code == 200
    assert Person.objects.get(phone="+919810000005").referred_by is None
    assert not SignUp.objects.exists()


def test_a_wrong_code_with_a_referral_is_refused(campus, sent_codes, on_commit_after_action):
    c = Client()
    post(c, "/api/v1/auth/otp/request", {"phone": "9123456789", "referral_code": campus.drive.code})
    r = post(
        c,
        "/api/v1/auth/otp/verify",
        {"phone": "9123456789", "code": "000000", "referral_code": campus.drive.code},
    )
    assert r.status_code == 400 and r.json()["code"] == "wrong_code"
    assert not Person.objects.filter(phone="+919123456789").exists()


def test_the_schema_documents_referral_code(campus):
    schema = Client().get("/api/v1/openapi.json").json()
    text = str(schema["components"]["schemas"]["OtpVerifyIn"])
    assert "referral_code" in text and "attributed" in text
    assert "referral_code" in str(schema["components"]["schemas"]["OtpRequestIn"])


def test_join_code_lookup(campus):
    r = Client().get(f"/api/v1/join-codes/{campus.recruiter.code}")
    assert r.status_code == 200
    assert r.json()["kind"] == "recruiter" and r.json()["drive_code"] == campus.drive.code
    assert r.json()["invited_by"] == campus.volunteer_person.name
    assert Client().get("/api/v1/join-codes/NOPE").status_code == 404
