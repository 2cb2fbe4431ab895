"""The broadcasts API: compose, preview, feed with receipts, reach; and the outsider."""

import json

import pytest
from django.test import Client

from sangathan.accounts.actions import do_issue_api_token
from sangathan.broadcasts.actions import Draft, do_create_broadcast
from sangathan.broadcasts.api import router as broadcasts_router
from sangathan.broadcasts.models import Broadcast
from sangathan.channels.models import Delivery, Suppression
from sangathan.people.models import Consent
from tests.conftest import client_for
from tests.factories import make_person


def bearer(user) -> dict:
    raw, _token = do_issue_api_token(user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, url, data=None, **extra):
    return client.post(url, json.dumps(data or {}), content_type="application/json", **extra)


def lucknow_broadcast(cast, **kw):
    kw.setdefault("title_hi", "लखनऊ संदेश")
    kw.setdefault("body_hi", "सभी बूथों तक")
    return do_create_broadcast(cast.convenor, Draft(audience_unit=cast.lucknow, **kw))


def test_a_convenor_posts_a_broadcast_and_members_read_it(cast):
    r = post(
        Client(),
        "/api/v1/broadcasts",
        {"unit": "UP-D-162", "title_hi": "बैठक", "body_hi": "कल 10 बजे", "channels": ["feed"]},
        **bearer(cast.convenor),
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "sent" and body["unit"] == "UP-D-162"
    member = bearer(cast.volunteer)
    feed = Client().get("/api/v1/feed", **member).json()
    assert [i["id"] for i in feed["items"]] == [body["id"]]
    assert feed["items"][0]["title"] == "बैठक" and feed["items"][0]["read"] is False
    assert Client().get("/api/v1/feed", **bearer(cast.outsider)).json()["items"] == []


def test_a_refusal_is_a_400_in_the_callers_language(cast):
    r = post(
        Client(),
        "/api/v1/broadcasts",
        {"unit": "UP-D-162", "title_hi": "", "body_hi": "x"},
        HTTP_ACCEPT_LANGUAGE="hi",
        **bearer(cast.convenor),
    )
    assert r.status_code == 400
    assert r.json()["code"] == "no_title"
    assert "title" not in r.json()["detail"]  # Hindi, not English


def test_the_feed_pages_with_a_cursor_newest_first(cast):
    made = [lucknow_broadcast(cast, title_hi=f"संदेश {i}") for i in range(5)]
    member = bearer(cast.volunteer)
    seen, cursor = [], ""
    while True:
        page = Client().get("/api/v1/feed", {"limit": 2, "cursor": cursor}, **member).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [b.code for b in reversed(made)]
    assert Client().get("/api/v1/feed", {"cursor": "garbage!"}, **member).status_code == 400


def test_read_and_share_receipts_are_idempotent(cast):
    b = lucknow_broadcast(cast)
    member = bearer(cast.volunteer)
    first = post(Client(), f"/api/v1/feed/{b.code}/read", **member).json()
    again = post(Client(), f"/api/v1/feed/{b.code}/read", **member).json()
    assert first["read_at"] == again["read_at"] and first["shared_at"] is None
    shared = post(Client(), f"/api/v1/feed/{b.code}/share", **member).json()
    assert shared["shared_at"] is not None
    assert post(Client(), f"/api/v1/feed/{b.code}/share", **member).json() == shared
    item = Client().get("/api/v1/feed", **member).json()["items"][0]
    assert item["read"] and item["shared"]
    # Not in the outsider's feed: 404, not a receipt.
    assert post(Client(), f"/api/v1/feed/{b.code}/read", **bearer(cast.outsider)).status_code == 404


def test_preview_counts_consent_and_opt_outs(cast):
    extra = make_person(cast.booth2, "अनीता", "+919833333333")
    for p in (cast.volunteer_person, extra):
        Consent.objects.create(person=p, channel="sms", purpose="organisational", evidence="form")
    Suppression.objects.create(channel="sms", address=extra.phone, reason="STOP")
    r = post(
        Client(),
        "/api/v1/broadcasts/preview",
        {"unit": "UP-D-162", "channels": ["feed", "sms"]},
        **bearer(cast.convenor),
    )
    assert r.json() == {"feed": 3, "sms": 1}


def test_sms_fan_out_makes_one_outbox_row_per_consenting_person(cast):
    extra = make_person(cast.booth2, "अनीता", "+919833333333")
    withdrawn = make_person(cast.booth2, "बबलू", "+919844444444")
    for p in (cast.volunteer_person, extra, withdrawn, cast.outsider_person):
        Consent.objects.create(person=p, channel="sms", purpose="organisational", evidence="form")
    Consent.objects.filter(person=withdrawn).update(withdrawn_at="2026-01-01T00:00:00Z")
    Consent.objects.create(
        person=cast.convenor_person, channel="sms", purpose="campaign", evidence="form"
    )  # other purpose
    b = lucknow_broadcast(cast, channels=["feed", "sms"])
    rows = Delivery.objects.filter(broadcast=b, channel="sms")
    assert set(rows.values_list("person_id", flat=True)) == {cast.volunteer_person.pk, extra.pk}
    b.refresh_from_db()
    assert b.audience_counts == {"feed": 4, "sms": 2}
    reach = Client().get(f"/api/v1/broadcasts/{b.code}/reach", **bearer(cast.convenor)).json()
    assert reach["unit"]["channels"]["sms"]["audience"] == 2
    assert reach["unit"]["channels"]["feed"]["audience"] == 4
    ac = next(c for c in reach["children"] if c["unit"] == "UP-AC-172")
    assert ac["channels"]["sms"]["audience"] == 2


def test_reach_drills_down_below_the_assembly_from_the_outbox(cast):
    Consent.objects.create(
        person=cast.volunteer_person, channel="sms", purpose="organisational", evidence="form"
    )
    b = lucknow_broadcast(cast, channels=["feed", "sms"])
    post(Client(), f"/api/v1/feed/{b.code}/read", **bearer(cast.volunteer))
    r = (
        Client()
        .get(
            f"/api/v1/broadcasts/{b.code}/reach", {"unit": "UP-AC-172-S-1"}, **bearer(cast.convenor)
        )
        .json()
    )
    booths = {c["unit"]: c for c in r["children"]}
    assert booths["UP-AC-172-PS-001"]["channels"]["sms"]["audience"] == 1
    assert booths["UP-AC-172-PS-001"]["channels"]["feed"]["read"] == 1
    assert booths["UP-AC-172-PS-002"]["channels"]["feed"]["read"] == 0
    # And the counters above agree.
    top = Client().get(f"/api/v1/broadcasts/{b.code}/reach", **bearer(cast.convenor)).json()
    assert top["unit"]["channels"]["feed"]["read"] == 1


def test_an_in_charge_sees_the_reach_of_a_state_broadcast_in_their_own_district(cast):
    b = do_create_broadcast(
        cast.state_admin, Draft(audience_unit=cast.up, title_hi="प्रदेश", body_hi="सूचना")
    )
    r = Client().get(f"/api/v1/broadcasts/{b.code}/reach", **bearer(cast.convenor))
    assert r.status_code == 200
    assert r.json()["unit"]["unit"] == "UP-D-162"
    assert "UP-D-164" not in r.text
    up = Client().get(f"/api/v1/broadcasts/{b.code}/reach", {"unit": "UP"}, **bearer(cast.convenor))
    assert up.status_code == 404


def test_approval_through_the_api(cast, settings):
    settings.SANGATHAN_APPROVAL_THRESHOLD = 1
    b = lucknow_broadcast(cast)
    assert b.status == "pending"
    no = post(Client(), f"/api/v1/broadcasts/{b.code}/approve", **bearer(cast.convenor))
    assert no.status_code == 400 and no.json()["code"] == "not_approver"
    ok = post(Client(), f"/api/v1/broadcasts/{b.code}/approve", **bearer(cast.state_admin))
    assert ok.status_code == 200 and ok.json()["status"] == "sent"


def test_acknowledge_and_reshare_through_the_api(cast):
    b = do_create_broadcast(
        cast.state_admin, Draft(audience_unit=cast.up, title_hi="प्रदेश", body_hi="सूचना")
    )
    me = bearer(cast.convenor)
    r = post(Client(), f"/api/v1/broadcasts/{b.code}/acknowledge", {"unit": "UP-D-162"}, **me)
    assert r.status_code == 200
    r = post(
        Client(),
        f"/api/v1/broadcasts/{b.code}/reshare",
        {"unit": "UP-D-162", "note": "ज़रूर देखें"},
        **me,
    )
    assert r.status_code == 201 and r.json()["parent"] == b.code
    assert Broadcast.objects.filter(parent=b, audience_unit=cast.lucknow).exists()


# --- the outsider -------------------------------------------------------------------------

LEAKS = ["लखनऊ संदेश", "UP-D-162", "Lucknow", "लखनऊ"]


def outsider_cases(b) -> dict[str, list[tuple[str, str, dict | None]]]:
    return {
        "/broadcasts/{code}": [("get", f"/api/v1/broadcasts/{b.code}", None)],
        "/broadcasts/{code}/reach": [
            ("get", f"/api/v1/broadcasts/{b.code}/reach", None),
            ("get", f"/api/v1/broadcasts/{b.code}/reach?unit=UP-D-162", None),
        ],
        "/broadcasts/{code}/approve": [("post", f"/api/v1/broadcasts/{b.code}/approve", {})],
        "/broadcasts/{code}/reject": [
            ("post", f"/api/v1/broadcasts/{b.code}/reject", {"reason": "x"})
        ],
        "/broadcasts/{code}/acknowledge": [
            ("post", f"/api/v1/broadcasts/{b.code}/acknowledge", {"unit": "UP-D-162"})
        ],
        "/broadcasts/{code}/reshare": [
            ("post", f"/api/v1/broadcasts/{b.code}/reshare", {"unit": "UP-D-162"})
        ],
        "/broadcasts": [
            ("post", "/api/v1/broadcasts", {"unit": "UP-D-162", "title_hi": "x", "body_hi": "y"})
        ],
        "/broadcasts/preview": [("post", "/api/v1/broadcasts/preview", {"unit": "UP-D-162"})],
        "/feed/{code}/read": [("post", f"/api/v1/feed/{b.code}/read", {})],
        "/feed/{code}/attachment": [("get", f"/api/v1/feed/{b.code}/attachment", None)],
        "/feed/{code}/share": [("post", f"/api/v1/feed/{b.code}/share", {})],
    }


NOT_SCOPED = {"/feed"}  # the caller's own feed


def test_every_broadcasts_route_has_an_outsider_case(cast):
    b = lucknow_broadcast(cast)
    covered = set(outsider_cases(b)) | NOT_SCOPED
    routes = set(broadcasts_router.path_operations)
    assert routes <= covered, f"add an outsider case for {sorted(routes - covered)}"


def test_the_outsider_gets_404_and_no_lucknow_word(cast, settings):
    settings.SANGATHAN_APPROVAL_THRESHOLD = 1  # so approve/reject have something to refuse
    b = lucknow_broadcast(cast)
    c = client_for(cast.outsider)
    for route, cases in outsider_cases(b).items():
        for method, url, data in cases:
            r = c.get(url) if method == "get" else post(c, url, data)
            assert r.status_code == 404, (route, url, r.status_code, r.content)
            assert not [s for s in LEAKS if s in r.text], (url, r.text)
    b.refresh_from_db()
    assert b.status == "pending"
    assert Broadcast.objects.count() == 1
    # the list holds nothing of Lucknow's
    r = c.get("/api/v1/broadcasts")
    assert r.status_code == 200 and b.code not in r.text


@pytest.mark.parametrize("user", ["volunteer", "outsider"])
def test_a_member_cannot_post_to_a_unit_above_them(cast, user):
    r = post(
        client_for(getattr(cast, user)),
        "/api/v1/broadcasts",
        {"unit": "UP", "title_hi": "x", "body_hi": "y"},
    )
    assert r.status_code == 404


def test_the_feed_takes_the_same_few_queries_however_many_broadcasts(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = bearer(cast.volunteer)
    lucknow_broadcast(cast)
    with CaptureQueriesContext(connection) as one:
        Client().get("/api/v1/feed", **member)
    for i in range(15):
        lucknow_broadcast(cast, title_hi=f"और {i}", filters={"levels": ["booth"]} if i % 2 else {})
    with CaptureQueriesContext(connection) as many:
        page = Client().get("/api/v1/feed", **member).json()
    assert len(page["items"]) == 16
    assert len(many) <= len(one) + 1  # the narrowed broadcasts' check: one query
    assert len(many) <= 8


def test_a_member_opens_the_attachment_from_the_feed_and_an_outsider_cannot(cast):
    from django.core.files.base import ContentFile

    pdf = ContentFile(b"%PDF-1.4\n%test\n", name="yojana.pdf")
    b = do_create_broadcast(
        cast.convenor,
        Draft(audience_unit=cast.lucknow, title_hi="योजना", body_hi="पीडीएफ देखें", attachment=pdf),
    )
    member = bearer(cast.volunteer)
    item = Client().get("/api/v1/feed", **member).json()["items"][0]
    assert item["attachment"] == f"/api/v1/feed/{b.code}/attachment"
    r = Client().get(item["attachment"], **member)
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert b"".join(r.streaming_content).startswith(b"%PDF")
    assert Client().get(item["attachment"], **bearer(cast.outsider)).status_code == 404
