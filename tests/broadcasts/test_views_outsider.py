"""Kanpur's convenor (the outsider) tries every broadcast page with Lucknow's broadcast codes
and unit codes: every lookup answers 404 (or a form error for a typed code), nothing is
written, and no Lucknow name appears in any answer."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from sangathan.accounts.models import AuditLog
from sangathan.broadcasts.actions import Draft, do_create_broadcast, do_reshare_broadcast
from sangathan.broadcasts.models import Acknowledgement, Broadcast, PollDate
from sangathan.channels.models import Delivery
from tests.conftest import client_for

LUCKNOW_WORDS = [
    "Lucknow",
    "लखनऊ",
    "संजय राय",
    "पूजा यादव",
    "Primary School",
    "प्राथमिक",
    "गोपनीय",
    "Sanjay",
    "Pooja",
]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def lucknow(cast, settings):
    """Lucknow's broadcasts: a sent one with an attachment, a pending one, a state broadcast
    re-shared to Lucknow; a poll date and an outbox row."""
    t = cast
    sent = do_create_broadcast(
        t.convenor,
        Draft(
            audience_unit=t.lucknow,
            title_hi="गोपनीय लखनऊ बैठक",
            body_hi="लखनऊ के सभी मंडल",
            channels=["feed", "sms"],
            attachment=SimpleUploadedFile("a.pdf", b"%PDF-1.4 secret", "application/pdf"),
        ),
    )
    state = do_create_broadcast(
        t.state_admin, Draft(audience_unit=t.up, title_en="State news", body_en="For all")
    )
    reshared = do_reshare_broadcast(t.convenor, state, t.lucknow, note="गोपनीय नोट लखनऊ")
    settings.SANGATHAN_APPROVAL_THRESHOLD = 0
    pending = do_create_broadcast(
        t.volunteer, Draft(audience_unit=t.booth1, title_hi="गोपनीय बूथ", body_hi="x")
    )
    settings.SANGATHAN_APPROVAL_THRESHOLD = 10000
    PollDate.objects.create(
        unit=t.ac_west, poll_closes_at=timezone.now() + timedelta(hours=10), note="गोपनीय"
    )
    Delivery.objects.create(
        broadcast=sent,
        person=t.volunteer_person,
        channel="sms",
        status="failed",
        error="पूजा यादव unreachable",
        unit_path=t.booth1.path,
    )
    t.sent, t.state, t.reshared, t.pending = sent, state, reshared, pending
    return t


def assert_clean(response, statuses=(404,)):
    assert response.status_code in statuses, response.status_code
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8", "replace")
    leaked = [w for w in LUCKNOW_WORDS if w in text]
    assert leaked == [], leaked


def test_outsider_gets_404_for_every_page_of_a_lucknow_broadcast(lucknow):
    client = client_for(lucknow.outsider)
    for b in (lucknow.sent, lucknow.reshared, lucknow.pending):
        for suffix in ("", "reach/", "reach/?unit=UP-D-162", "reach.csv", "attachment/"):
            assert_clean(client.get(f"/broadcasts/{b.code}/{suffix}"))
            assert_clean(client.get(f"/broadcasts/{b.code}/{suffix}", **HX))
        for action in ("approve", "reject", "cancel", "acknowledge", "reshare"):
            data = {"unit": "UP-D-164", f"{b.code}-reason": "no", "note": "x"}
            assert_clean(client.post(f"/broadcasts/{b.code}/{action}/", data))
    assert_clean(client.get(f"/broadcasts/new/?parent={lucknow.sent.code}"))
    assert_clean(client.post("/broadcasts/new/", {"parent": lucknow.sent.code, "unit": "UP-D-164"}))
    lucknow.pending.refresh_from_db()
    assert lucknow.pending.status == "pending"
    assert Broadcast.objects.filter(parent=lucknow.sent).count() == 0
    assert AuditLog.objects.filter(action="denied", actor=lucknow.outsider).count() > 10


def test_outsider_gets_404_for_lucknow_unit_codes(lucknow):
    client = client_for(lucknow.outsider)
    for code in ("UP-D-162", "UP-AC-172", "UP-AC-172-PS-001"):
        assert_clean(client.get(f"/broadcasts/new/?unit={code}"))
        query = f"unit={code}&channels=feed&purpose=organisational&when=now"
        # The live preview answers a typed code with a form message, never a count.
        response = client.get(f"/broadcasts/new/?{query}", **HX)
        assert_clean(response, statuses=(200,))
        assert "data-channel" not in response.content.decode()
        # Reach of a broadcast the outsider may see (the state's), for a Lucknow unit.
        for suffix in ("reach/", "reach.csv"):
            assert_clean(client.get(f"/broadcasts/{lucknow.state.code}/{suffix}?unit={code}"))
        for action in ("acknowledge", "reshare"):
            assert_clean(client.post(f"/broadcasts/{lucknow.state.code}/{action}/", {"unit": code}))
    assert not Acknowledgement.objects.filter(unit__code__startswith="UP-AC-172").exists()


def test_outsider_cannot_send_or_set_poll_dates_in_lucknow(lucknow):
    client = client_for(lucknow.outsider)
    data = {
        "unit": "UP-D-162",
        "purpose": "organisational",
        "channels": ["feed"],
        "when": "now",
        "title_hi": "घुसपैठ",
        "body_hi": "x",
        "topic": "organisation",
    }
    assert_clean(client.post("/broadcasts/new/", data), statuses=(400,))
    assert_clean(client.post("/broadcasts/new/", data | {"action": "preview"}), statuses=(200,))
    assert not Broadcast.objects.filter(title_hi="घुसपैठ").exists()
    future = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/broadcasts/poll-dates/", {"unit": "UP-AC-172", "poll_closes_at": future}
    )
    assert_clean(response, statuses=(400,))
    assert PollDate.objects.count() == 1


def test_outsiders_lists_show_nothing_of_lucknow(lucknow):
    client = client_for(lucknow.outsider)
    for url in (
        "/broadcasts/",
        "/broadcasts/?status=pending",
        "/broadcasts/approvals/",
        "/broadcasts/inbox/",
        "/broadcasts/outbox/",
        "/broadcasts/outbox/?status=failed",
        "/broadcasts/poll-dates/",
        "/broadcasts/new/",
    ):
        assert_clean(client.get(url), statuses=(200,))


def test_outsider_sees_a_state_broadcast_only_for_kanpur(lucknow):
    client = client_for(lucknow.outsider)
    response = client.get(f"/broadcasts/{lucknow.state.code}/")
    assert_clean(response, statuses=(200,))
    html = response.content.decode()
    assert "Reach in Kanpur Nagar" in html and "Govind Nagar" in html
    assert_clean(client.get(f"/broadcasts/{lucknow.state.code}/reach.csv"), statuses=(200,))
    inbox = client.get("/broadcasts/inbox/")
    assert_clean(inbox, statuses=(200,))
    assert "State news" in inbox.content.decode()


def test_the_outsiders_own_pages_work(lucknow):
    """The refusals above are about Lucknow, not a page that refuses everyone."""
    client = client_for(lucknow.outsider)
    response = client.get("/broadcasts/new/?unit=UP-D-164")
    assert response.status_code == 200 and "Kanpur Nagar" in response.content.decode()
    own = do_create_broadcast(
        lucknow.outsider,
        Draft(audience_unit=lucknow.kanpur, title_en="Kanpur meeting", body_en="x"),
    )
    assert client.get(f"/broadcasts/{own.code}/").status_code == 200
    assert client.get(f"/broadcasts/{own.code}/reach/?unit=UP-AC-213").status_code == 200
