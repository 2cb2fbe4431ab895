"""The member's own API: /api/v1/me/* (profile, consents, export, erase, tasks, invite)."""

import json

import pytest
from django.test import Client

from sangathan.accounts.actions import do_issue_api_token
from sangathan.accounts.models import AuditLog
from sangathan.broadcasts.audience import audience_people, reachable_on
from sangathan.broadcasts.models import Broadcast
from sangathan.channels.actions import do_opt_out
from sangathan.channels.models import Delivery, Suppression
from sangathan.people.actions import do_create_task, do_record_consent
from sangathan.people.models import Consent, Person

ME_ROUTES = [
    ("get", "/api/v1/me/profile"),
    ("post", "/api/v1/me/consents"),
    ("get", "/api/v1/me/export"),
    ("post", "/api/v1/me/erase"),
    ("get", "/api/v1/me/tasks"),
    ("post", "/api/v1/me/tasks/1/done"),
    ("post", "/api/v1/me/tasks/1/undone"),
    ("get", "/api/v1/me/invite"),
]


def bearer(user) -> dict:
    raw, _token = do_issue_api_token(user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": "en"}


def post_json(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def call(method, url, **extra):
    if method == "get":
        return Client().get(url, **extra)
    return Client().post(url, "{}", content_type="application/json", **extra)


@pytest.mark.parametrize(("method", "url"), ME_ROUTES)
def test_every_route_refuses_without_a_token(cast, method, url):
    r = call(method, url)
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "url"), ME_ROUTES)
def test_every_route_refuses_a_forged_token(cast, method, url):
    r = call(method, url, HTTP_AUTHORIZATION="Bearer sgn_forged")
    assert r.status_code == 401


def test_the_profile_shows_unit_trail_posts_and_every_consent_choice(cast):
    do_record_consent(cast.volunteer_person, "sms", "organisational", "form")
    r = Client().get("/api/v1/me/profile", **bearer(cast.volunteer))
    assert r.status_code == 200
    data = r.json()
    assert data["name"] == "पूजा यादव"
    assert data["phone"] == "+919810000003"
    assert data["unit"]["code"] == "UP-AC-172-PS-001"
    assert data["unit"]["trail"][:3] == ["India", "Uttar Pradesh", "Lucknow"]
    assert data["positions"] == [
        {"title": "IT cell — Booth volunteer", "unit_name": "Primary School 1"}
    ]
    assert len(data["consents"]) == 15  # 5 channels x 3 purposes
    sms = next(
        c for c in data["consents"] if (c["channel"], c["purpose"]) == ("sms", "organisational")
    )
    assert sms["active"] and sms["granted_at"] and sms["withdrawn_at"] is None
    assert sum(c["active"] for c in data["consents"]) == 1


def test_a_user_without_a_member_record_gets_404(cast):
    r = Client().get("/api/v1/me/profile", **bearer(cast.superuser))
    assert r.status_code == 404


def reaches_by_sms(person, purpose="organisational") -> bool:
    qs = reachable_on(audience_people(cast_tree_root(person)), "sms", purpose)
    return qs.filter(pk=person.pk).exists()


def cast_tree_root(person):
    from sangathan.org.models import OrgUnit

    return OrgUnit.objects.get(path=person.unit.path[: OrgUnit.steplen])


def test_withdrawing_and_granting_is_recorded_and_changes_the_audience(cast):
    person = cast.volunteer_person
    headers = bearer(cast.volunteer)
    c = Client()
    r = post_json(
        c,
        "/api/v1/me/consents",
        {"channel": "sms", "purpose": "organisational", "grant": True},
        **headers,
    )
    assert r.status_code == 200
    assert reaches_by_sms(person)
    r = post_json(
        c,
        "/api/v1/me/consents",
        {"channel": "sms", "purpose": "organisational", "grant": False},
        **headers,
    )
    assert r.status_code == 200
    entry = next(
        x for x in r.json()["consents"] if (x["channel"], x["purpose"]) == ("sms", "organisational")
    )
    assert entry["active"] is False and entry["withdrawn_at"]
    assert not reaches_by_sms(person)
    # The withdrawn row is kept, with the evidence.
    row = Consent.objects.get(person=person, channel="sms")
    assert row.withdrawn_at is not None and "member app" in row.evidence
    actions = list(
        AuditLog.objects.filter(detail__person=person.pk).values_list("action", flat=True)
    )
    assert "consent_granted" in actions and "consent_withdrawn" in actions
    # Withdrawing again is harmless.
    r = post_json(
        c,
        "/api/v1/me/consents",
        {"channel": "sms", "purpose": "organisational", "grant": False},
        **headers,
    )
    assert r.status_code == 200
    # Granting again records a new row.
    post_json(
        c,
        "/api/v1/me/consents",
        {"channel": "sms", "purpose": "organisational", "grant": True},
        **headers,
    )
    assert Consent.objects.filter(person=person, channel="sms").count() == 2
    assert reaches_by_sms(person)


def test_withdrawal_suppresses_what_is_queued_on_that_channel_and_purpose(cast):
    person = cast.volunteer_person
    do_record_consent(person, "sms", "organisational", "form")
    do_record_consent(person, "sms", "schemes", "form")
    org = Broadcast.objects.create(
        audience_unit=cast.up, channels=["sms"], status="sent", purpose="organisational"
    )
    schemes = Broadcast.objects.create(
        audience_unit=cast.up, channels=["sms"], status="sent", purpose="schemes"
    )
    for b in (org, schemes):
        Delivery.objects.create(
            broadcast=b, person=person, channel="sms", unit_path=person.unit.path
        )
    r = post_json(
        Client(),
        "/api/v1/me/consents",
        {"channel": "sms", "purpose": "organisational", "grant": False},
        **bearer(cast.volunteer),
    )
    assert r.status_code == 200
    assert Delivery.objects.get(broadcast=org).status == "suppressed"
    assert Delivery.objects.get(broadcast=schemes).status == "queued"


def test_granting_in_the_app_lifts_an_earlier_stop(cast):
    person = cast.volunteer_person
    do_record_consent(person, "sms", "organisational", "form")
    do_opt_out("sms", person.phone, "STOP", "STOP via sms")
    assert not reaches_by_sms(person)
    r = post_json(
        Client(),
        "/api/v1/me/consents",
        {"channel": "sms", "purpose": "organisational", "grant": True},
        **bearer(cast.volunteer),
    )
    assert r.status_code == 200
    assert not Suppression.objects.filter(channel="sms", address=person.phone).exists()
    assert reaches_by_sms(person)
    lifted = AuditLog.objects.get(action="suppression_lifted")
    assert (
        lifted.detail["suppression_reason"] == "STOP" and lifted.detail["evidence"] == "member app"
    )


def test_a_choice_the_app_does_not_offer_is_refused_in_the_users_language(cast):
    headers = bearer(cast.volunteer)
    headers["HTTP_ACCEPT_LANGUAGE"] = "hi"
    r = post_json(
        Client(),
        "/api/v1/me/consents",
        {"channel": "call", "purpose": "organisational", "grant": True},
        **headers,
    )
    assert r.status_code == 400
    assert r.json()["code"] == "bad_choice"


def test_export_is_a_json_download_of_everything_held(cast):
    person = cast.volunteer_person
    do_record_consent(person, "whatsapp", "schemes", "join page ABC")
    r = Client().get("/api/v1/me/export", **bearer(cast.volunteer))
    assert r.status_code == 200
    assert r["Content-Disposition"].startswith("attachment;")
    data = json.loads(r.content)
    assert data["person"]["phone"] == "+919810000003"
    assert data["unit"]["code"] == "UP-AC-172-PS-001"
    assert data["appointments"][0]["position"] == "Booth volunteer"
    assert data["consents"][0]["evidence"] == "join page ABC"
    assert data["account"]["phone"] == "+919810000003"
    assert any(e["action"] == "token_issued" for e in data["audit"])
    assert AuditLog.objects.filter(action="person_data_exported", detail__person=person.pk).exists()
    # Nobody else's record is in it.
    assert "+919810000002" not in r.content.decode()


def test_erase_needs_confirmation_then_the_token_stops_working(cast):
    headers = bearer(cast.volunteer)
    c = Client()
    r = post_json(c, "/api/v1/me/erase", {"confirm": False}, **headers)
    assert r.status_code == 400 and r.json()["code"] == "not_confirmed"
    r = post_json(c, "/api/v1/me/erase", {"confirm": True, "reason": "I left"}, **headers)
    assert r.status_code == 200, r.content
    assert r.json()["detail"]
    assert c.get("/api/v1/me/profile", **headers).status_code == 401
    assert not Person.objects.filter(phone="+919810000003").exists()


def test_tasks_lists_own_and_position_tasks_never_anothers(cast):
    mine = do_create_task(cast.convenor, title="Call the booth team", person=cast.volunteer_person)
    for_post = do_create_task(
        cast.convenor,
        title="Add 10 members",
        kind="add_members",
        position=cast.booth_pos,
        scope_unit=cast.lucknow,
    )
    for_other = do_create_task(cast.convenor, title="Someone else's", person=cast.convenor_person)
    kanpur_post = do_create_task(
        cast.outsider, title="Kanpur booths", position=cast.booth_pos, scope_unit=cast.kanpur
    )
    headers = bearer(cast.volunteer)
    c = Client()
    items = c.get("/api/v1/me/tasks", **headers).json()["items"]
    assert {i["id"] for i in items} == {mine.pk, for_post.pk}
    post_item = next(i for i in items if i["id"] == for_post.pk)
    assert post_item["assigned"] == "position" and post_item["unit_name"] == "Primary School 1"
    assert post_item["position"] == "IT cell — Booth volunteer"
    for other in (for_other, kanpur_post):
        assert post_json(c, f"/api/v1/me/tasks/{other.pk}/done", {}, **headers).status_code == 404
        assert post_json(c, f"/api/v1/me/tasks/{other.pk}/undone", {}, **headers).status_code == 404

    r = post_json(c, f"/api/v1/me/tasks/{for_post.pk}/done", {}, **headers)
    assert r.status_code == 200 and r.json()["done"] is True
    first = r.json()["done_at"]
    again = post_json(c, f"/api/v1/me/tasks/{for_post.pk}/done", {}, **headers).json()
    assert again["done_at"] == first  # idempotent
    items = c.get("/api/v1/me/tasks", **headers).json()["items"]
    assert [i["id"] for i in items] == [mine.pk, for_post.pk]  # open first, then done
    r = post_json(c, f"/api/v1/me/tasks/{for_post.pk}/undone", {}, **headers)
    assert r.json()["done"] is False and r.json()["done_at"] is None
    assert post_json(c, f"/api/v1/me/tasks/{for_post.pk}/undone", {}, **headers).status_code == 200


def test_invite_gives_code_absolute_link_counts_and_an_svg_qr(cast, settings):
    settings.ALLOWED_HOSTS = ["app.example.org"]
    person = cast.volunteer_person
    Person.objects.create(
        name="नया सदस्य", phone="+919810000077", unit=cast.booth1, referred_by=person
    )
    r = Client().get("/api/v1/me/invite", HTTP_HOST="app.example.org", **bearer(cast.volunteer))
    assert r.status_code == 200
    data = r.json()
    assert data["code"] == person.referral_code
    assert data["url"] == f"http://app.example.org/join/{person.referral_code}"
    assert data["joined"] == 1 and data["joined_7d"] == 1
    assert data["qr_svg"].startswith("<svg") and "<path" in data["qr_svg"]


def test_the_openapi_schema_documents_the_me_routes(db):
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/me/tasks/{task_id}/done" in schema["paths"]
    assert "ProfileOut" in schema["components"]["schemas"]
