"""The fields the member app's JS reads, from the API it calls (the screens break silently
if one goes missing)."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from sangathan.accounts.actions import do_issue_api_token
from sangathan.broadcasts.actions import Draft, do_create_broadcast
from sangathan.people.actions import do_create_task

pytestmark = pytest.mark.django_db

APP_JS = Path(__file__).resolve().parents[2] / "sangathan/member/static/member/app.js"


@pytest.fixture
def member(cast):
    raw, _token = do_issue_api_token(cast.volunteer, "127.0.0.1")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def get(client, path):
    response = client.get("/api/v1" + path)
    assert response.status_code == 200, (path, response.status_code)
    return response.json()


def test_every_path_the_app_calls_exists(member):
    """Each ``api("/…")`` path in app.js (ids filled in) answers, none with 404."""
    paths = set(re.findall(r'api\(\s*[`"](/[^`"?]*)', APP_JS.read_text()))
    assert {"/me/profile", "/me/tasks", "/me/invite", "/me/export", "/me/consents"} <= paths
    for path in paths:
        if "${" in path or path.startswith("/auth/"):
            continue
        response = member.options("/api/v1" + path)
        assert response.status_code != 404, path


def test_feed_items_carry_what_the_feed_screen_shows(cast, member):
    do_create_broadcast(
        cast.convenor, Draft(audience_unit=cast.lucknow, title_hi="बैठक", body_hi="रविवार को")
    )
    page = get(member, "/feed?limit=20")
    assert "next_cursor" in page
    (item,) = page["items"]
    for field in ("id", "title", "body", "title_hi", "body_hi", "title_en", "body_en", "link"):
        assert field in item
    for field in ("attachment", "unit_name", "local_note", "sent_at", "read", "shared"):
        assert field in item


def test_profile_tasks_and_invite_carry_what_their_screens_show(cast, member):
    do_create_task(cast.convenor, title="बूथ ग्रुप में भेजें", person=cast.volunteer_person)
    profile = get(member, "/me/profile")
    assert profile["name"] == "पूजा यादव"
    assert {"phone", "unit", "positions", "consents"} <= profile.keys()
    assert {"name", "trail"} <= profile["unit"].keys()
    assert {"title", "unit_name"} <= profile["positions"][0].keys()
    consent = profile["consents"][0]
    assert {"channel", "channel_label", "purpose", "purpose_label", "active"} <= consent.keys()

    (task,) = get(member, "/me/tasks")["items"]
    assert {"id", "title", "body", "link", "due", "done", "assigned", "position"} <= task.keys()
    assert {"unit_name", "share_text"} <= task.keys()

    invite = get(member, "/me/invite")
    assert {"code", "url", "joined", "joined_7d", "qr_svg"} <= invite.keys()
    assert invite["qr_svg"].lstrip().startswith(("<svg", "<?xml"))

    key = get(member, "/push/key")
    assert {"public_key", "enabled"} <= key.keys()


def test_the_writes_the_app_sends(cast, member):
    task = do_create_task(cast.convenor, title="बैठक में आएँ", person=cast.volunteer_person)
    done = member.post(f"/api/v1/me/tasks/{task.pk}/done", "{}", content_type="application/json")
    assert done.status_code == 200 and done.json()["done"] is True
    answer = member.post(
        "/api/v1/me/consents",
        json.dumps({"channel": "sms", "purpose": "schemes", "grant": True}),
        content_type="application/json",
    )
    assert answer.status_code == 200
    sms = [
        c for c in answer.json()["consents"] if (c["channel"], c["purpose"]) == ("sms", "schemes")
    ]
    assert sms[0]["active"] is True
