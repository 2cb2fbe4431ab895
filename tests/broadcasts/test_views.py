"""The staff pages for broadcasts: compose with its live preview, the list, approvals, the
inbox, a broadcast's reach with drill-down and CSV, sent messages and poll dates.

tests/broadcasts/conftest.py runs on_commit callbacks when an action's transaction ends, so
the publish task (fan-out, reach counters) runs as it would after a real commit."""

import csv
import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from sangathan.accounts.models import AuditLog
from sangathan.broadcasts.actions import (
    Draft,
    can_approve,
    do_acknowledge_broadcast,
    do_create_broadcast,
)
from sangathan.broadcasts.models import Acknowledgement, Broadcast, PollDate
from sangathan.broadcasts.views import approvable_by
from sangathan.channels.models import Delivery, Suppression
from sangathan.people.models import Consent
from tests.conftest import client_for
from tests.factories import add_unit, make_person

HX = {"HTTP_HX_REQUEST": "true"}
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def send(actor, unit, **kw):
    kw.setdefault("title_hi", "बैठक की सूचना")
    kw.setdefault("body_hi", "रविवार को सभी बूथ अध्यक्ष आएँ।")
    return do_create_broadcast(actor, Draft(audience_unit=unit, **kw))


def body(response) -> str:
    return response.content.decode()


def compose_data(**kw):
    data = {
        "unit": "UP-D-162",
        "purpose": "organisational",
        "channels": ["feed"],
        "when": "now",
        "app": "",
        "title_hi": "बैठक की सूचना",
        "body_hi": "रविवार को सभी बूथ अध्यक्ष आएँ।",
        "title_en": "",
        "body_en": "",
        "link": "",
        "topic": "organisation",
        "action": "send",
    }
    data.update(kw)
    return data


# --- compose --------------------------------------------------------------------------------


def test_compose_page_puts_hindi_first_and_offers_only_the_users_units(cast, as_convenor):
    response = as_convenor.get("/broadcasts/new/")
    assert response.status_code == 200
    html = body(response)
    assert html.index('name="title_hi"') < html.index('name="title_en"')
    assert '<textarea name="body_hi" id="id_body_hi" lang="hi"' in html
    datalist = html.split('id="unit-list"')[1].split("</datalist>")[0]
    assert 'value="UP-D-162"' in datalist and 'value="UP-AC-172"' in datalist
    assert "UP-D-164" not in datalist and 'value="UP"' not in datalist


def test_whatsapp_is_shown_unavailable_with_the_reason_for_a_political_org(cast, as_convenor):
    html = body(as_convenor.get("/broadcasts/new/"))
    assert 'id="whatsapp-why"' in html and "political parties" in html
    assert 'name="channels" value="whatsapp"' not in html


def test_whatsapp_is_offered_to_an_organisation_that_may_use_it(cast, as_convenor, settings):
    settings.SANGATHAN_ORG_KIND = "union"
    html = body(as_convenor.get("/broadcasts/new/"))
    assert 'value="whatsapp"' in html and 'id="whatsapp-why"' not in html


def test_opening_compose_for_a_unit_shows_its_audience(cast, as_convenor):
    html = body(as_convenor.get("/broadcasts/new/?unit=UP-AC-172"))
    assert 'value="UP-AC-172"' in html
    preview = html.split('id="preview"')[1].split("</aside>")[0]
    assert "Lucknow West" in preview
    assert 'data-channel="feed"><b>1</b>' in preview
    assert 'id="no-approval"' in preview


def test_live_preview_counts_each_channel_after_consent_and_opt_outs(cast, as_convenor):
    for person in (cast.convenor_person, cast.volunteer_person):
        Consent.objects.create(
            person=person, channel="sms", purpose="organisational", evidence="form"
        )
    Consent.objects.create(
        person=cast.volunteer_person, channel="sms", purpose="campaign", evidence="form"
    )
    Suppression.objects.create(channel="sms", address=cast.convenor_person.phone, reason="STOP")
    query = "unit=UP-D-162&channels=feed&channels=sms&purpose=organisational&when=now"
    response = as_convenor.get(f"/broadcasts/new/?{query}", **HX)
    assert response.status_code == 200
    html = body(response)
    assert "<html" not in html  # the partial only
    assert 'data-channel="feed"><b>2</b>' in html
    assert 'data-channel="sms"><b>1</b>' in html
    Consent.objects.filter(person=cast.volunteer_person, purpose="organisational").update(
        withdrawn_at=timezone.now()
    )
    html = body(as_convenor.get(f"/broadcasts/new/?{query}", **HX))
    assert 'data-channel="sms"><b>0</b>' in html


def test_live_preview_narrows_by_app_and_level(cast, as_convenor):
    base = "unit=UP-D-162&channels=feed&purpose=organisational&when=now"
    html = body(as_convenor.get(f"/broadcasts/new/?{base}&levels=booth", **HX))
    assert 'data-channel="feed"><b>1</b>' in html  # only the booth volunteer
    html = body(as_convenor.get(f"/broadcasts/new/?{base}&app=joined", **HX))
    assert 'data-channel="feed"><b>0</b>' in html


def test_live_preview_says_when_approval_is_needed(cast, as_convenor, settings):
    settings.SANGATHAN_APPROVAL_THRESHOLD = 1
    query = "unit=UP-D-162&channels=feed&purpose=organisational&when=now"
    html = body(as_convenor.get(f"/broadcasts/new/?{query}", **HX))
    assert 'id="needs-approval"' in html and "More than 1 people" in html


def test_live_preview_explains_a_refused_channel_and_an_unknown_unit(cast, as_convenor):
    html = body(
        as_convenor.get(
            "/broadcasts/new/?unit=UP-D-162&channels=whatsapp&purpose=organisational&when=now",
            **HX,
        )
    )
    assert "Meta" in html and "data-channel" not in html
    html = body(as_convenor.get("/broadcasts/new/?unit=NOPE&channels=feed&when=now", **HX))
    assert "No unit with code NOPE in your area." in html


def test_compose_sends_a_hindi_broadcast_and_shows_it(cast, as_convenor):
    response = as_convenor.post("/broadcasts/new/", compose_data())
    broadcast = Broadcast.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/broadcasts/{broadcast.code}/"
    assert broadcast.status == "sent" and broadcast.author == cast.convenor
    assert broadcast.origin_unit == cast.lucknow
    assert broadcast.title_hi == "बैठक की सूचना"
    page = as_convenor.get(response["Location"])
    html = body(page)
    assert "Sent. Members see it in the app now" in html
    assert "बैठक की सूचना" in html and "रविवार को सभी बूथ अध्यक्ष आएँ।" in html


def test_compose_errors_keep_what_was_typed(cast, as_convenor):
    data = compose_data(title_hi="", body_hi="संदेश जो खोना नहीं चाहिए", link="https://x.org/a")
    response = as_convenor.post("/broadcasts/new/", data)
    assert response.status_code == 400
    html = body(response)
    assert "Give the message a title, in Hindi or English." in html
    assert "संदेश जो खोना नहीं चाहिए" in html and 'value="https://x.org/a"' in html
    assert not Broadcast.objects.exists()


def test_compose_refuses_whatsapp_with_the_reason_and_keeps_the_text(cast, as_convenor):
    response = as_convenor.post("/broadcasts/new/", compose_data(channels=["feed", "whatsapp"]))
    assert response.status_code == 400
    html = body(response)
    assert "Meta&#x27;s WhatsApp Business Messaging Policy" in html
    assert "बैठक की सूचना" in html
    assert not Broadcast.objects.exists()


def test_compose_shows_refusals_in_hindi_for_a_hindi_user(cast):
    client = client_for(cast.convenor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    response = client.post("/broadcasts/new/", compose_data(title_hi=""))
    html = body(response)
    assert response.status_code == 400 and 'lang="hi"' in html
    with translation.override("hi"):
        refusal = translation.gettext("Give the message a title, in Hindi or English.")
    assert refusal in html  # the action's message, in the user's language
    assert "इकाइयाँ" in html  # the page around it is Hindi


def test_compose_without_javascript_shows_the_audience_and_keeps_the_text(cast, as_convenor):
    response = as_convenor.post("/broadcasts/new/", compose_data(action="preview"))
    assert response.status_code == 200
    html = body(response)
    assert 'data-channel="feed"><b>2</b>' in html and "बैठक की सूचना" in html
    assert not Broadcast.objects.exists()


def test_compose_for_a_unit_outside_the_area_is_refused(cast, as_convenor):
    response = as_convenor.post("/broadcasts/new/", compose_data(unit="UP-D-164"))
    assert response.status_code == 400
    assert "No unit with code UP-D-164 in your area." in body(response)
    assert as_convenor.get("/broadcasts/new/?unit=UP-D-164").status_code == 404


def test_compose_above_the_threshold_waits_for_approval(cast, as_convenor, settings):
    settings.SANGATHAN_APPROVAL_THRESHOLD = 1
    response = as_convenor.post("/broadcasts/new/", compose_data(), follow=True)
    broadcast = Broadcast.objects.get()
    assert broadcast.status == "pending"
    assert "It goes out once a holder of a higher post approves it." in body(response)


def test_compose_schedules_for_later(cast, as_convenor):
    at = timezone.localtime(timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    data = compose_data(when="later", scheduled_at=at.strftime("%Y-%m-%dT%H:%M"))
    response = as_convenor.post("/broadcasts/new/", data, follow=True)
    broadcast = Broadcast.objects.get()
    assert broadcast.status == "scheduled" and broadcast.scheduled_at == at
    assert "Scheduled: it goes out at" in body(response)
    missing = as_convenor.post("/broadcasts/new/", compose_data(when="later"))
    assert missing.status_code == 400
    assert "Give the date and time to send it." in body(missing)


def test_compose_attaches_a_pdf_and_serves_it_only_inside_the_area(cast, as_convenor):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("सूचना.pdf", PDF, content_type="application/pdf")
    response = as_convenor.post("/broadcasts/new/", compose_data(attachment=upload))
    assert response.status_code == 302
    broadcast = Broadcast.objects.get()
    assert broadcast.attachment.name.endswith(".pdf")
    served = as_convenor.get(f"/broadcasts/{broadcast.code}/attachment/")
    assert served.status_code == 200 and served["Content-Type"] == "application/pdf"
    assert b"".join(served.streaming_content) == PDF
    outsider = client_for(cast.outsider)
    assert outsider.get(f"/broadcasts/{broadcast.code}/attachment/").status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("photo.png", b"<svg onload=alert(1)>", "Attach a photo (JPEG, PNG or WebP) or a PDF."),
        ("page.html", PDF, "Attach a photo (JPEG, PNG or WebP) or a PDF."),
        (
            "big.png",
            PNG + b"\x00" * 1_600_000,
            "The attachment is 1.5 MB; at most 1 MB can be sent.",
        ),
    ],
)
def test_compose_refuses_attachments_of_the_wrong_type_or_size(
    cast, as_convenor, settings, name, content, error
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.SANGATHAN_ATTACHMENT_MAX_BYTES = 1024 * 1024
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    response = as_convenor.post("/broadcasts/new/", compose_data(attachment=upload))
    assert response.status_code == 400
    assert error in body(response)
    assert not Broadcast.objects.exists()


def test_campaign_preview_and_send_respect_the_silence_window(cast, as_convenor):
    PollDate.objects.create(unit=cast.ac_west, poll_closes_at=timezone.now() + timedelta(hours=5))
    query = "channels=feed&purpose=campaign&when=now"
    html = body(as_convenor.get(f"/broadcasts/new/?unit=UP-D-162&{query}", **HX))
    assert "1 constituency here is in the campaign-silence window" in html
    assert 'data-channel="feed"><b>1</b>' in html  # the booth volunteer is left out
    html = body(as_convenor.get(f"/broadcasts/new/?unit=UP-AC-172&{query}", **HX))
    assert "is in the campaign-silence window until polling closes" in html
    response = as_convenor.post(
        "/broadcasts/new/", compose_data(unit="UP-AC-172", purpose="campaign")
    )
    assert response.status_code == 400
    assert "campaign-silence window" in body(response)
    # Organisational messages still go.
    response = as_convenor.post("/broadcasts/new/", compose_data(unit="UP-AC-172"))
    assert response.status_code == 302


def test_compose_from_a_parent_prefills_and_links_it(cast):
    parent = send(cast.state_admin, cast.up, title_en="State meeting")
    client = client_for(cast.convenor)
    html = body(client.get(f"/broadcasts/new/?parent={parent.code}"))
    assert 'value="UP-D-162"' in html and "बैठक की सूचना" in html
    assert f'value="{parent.code}"' in html and 'name="local_note"' in html
    data = compose_data(parent=parent.code, local_note="लखनऊ के लिए: शाम 5 बजे")
    response = client.post("/broadcasts/new/", data)
    assert response.status_code == 302
    child = Broadcast.objects.get(parent=parent)
    assert child.local_note == "लखनऊ के लिए: शाम 5 बजे" and child.audience_unit == cast.lucknow


# --- list -----------------------------------------------------------------------------------


def test_list_shows_broadcasts_in_the_area_newest_first_and_filters_by_status(
    cast, as_convenor, settings
):
    first = send(cast.convenor, cast.lucknow, title_en="First")
    second = send(cast.convenor, cast.ac_west, title_hi="दूसरा संदेश")
    send(cast.outsider, cast.kanpur, title_hi="कानपुर की बैठक")
    settings.SANGATHAN_APPROVAL_THRESHOLD = 0
    pending = send(cast.volunteer, cast.booth1, title_hi="बूथ संदेश")
    assert pending.status == "pending"
    html = body(as_convenor.get("/broadcasts/"))
    assert html.index(pending.code) < html.index(second.code) < html.index(first.code)
    assert "कानपुर की बैठक" not in html
    partial = body(as_convenor.get("/broadcasts/?status=pending", **HX))
    assert "<html" not in partial and pending.code in partial and first.code not in partial


def test_list_query_count_does_not_grow_with_the_broadcasts(cast, as_convenor):
    send(cast.convenor, cast.lucknow)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert as_convenor.get("/broadcasts/").status_code == 200
        return len(ctx.captured_queries)

    one = queries()
    for i in range(5):
        send(cast.convenor, cast.ac_west, title_en=f"More {i}")
    assert queries() == one


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_inbox_and_sent_messages_query_counts_do_not_grow(cast, as_convenor):
    send(cast.state_admin, cast.up)
    broadcast = send(cast.superuser, cast.lucknow, title_en="To all")
    _delivery(broadcast, cast.volunteer_person)
    inbox, outbox = (
        _queries(as_convenor, "/broadcasts/inbox/"),
        _queries(as_convenor, "/broadcasts/outbox/"),
    )
    for i in range(4):
        state = send(cast.state_admin, cast.up, title_en=f"State {i}")
        do_acknowledge_broadcast(cast.convenor, state, cast.lucknow)
        _delivery(state, make_person(cast.booth2, f"सदस्य {i}"))
    assert _queries(as_convenor, "/broadcasts/inbox/") == inbox
    assert _queries(as_convenor, "/broadcasts/outbox/") == outbox


# --- approvals ------------------------------------------------------------------------------


@pytest.fixture
def pending(cast, settings):
    settings.SANGATHAN_APPROVAL_THRESHOLD = 0
    broadcast = send(cast.volunteer, cast.booth1, title_hi="बूथ पर सभा", channels=["feed", "sms"])
    assert broadcast.status == "pending"
    return broadcast


def test_approval_queue_lists_what_the_user_may_approve(cast, pending, as_convenor):
    html = body(as_convenor.get("/broadcasts/approvals/"))
    assert "बूथ पर सभा" in html and "SMS" in html and "Pooja" in html
    assert pending.code not in body(client_for(cast.volunteer).get("/broadcasts/approvals/"))
    assert pending.code not in body(client_for(cast.outsider).get("/broadcasts/approvals/"))


def test_approvable_by_agrees_with_can_approve(cast, pending, settings):
    mine = send(cast.convenor, cast.lucknow)  # pending too, threshold 0
    state = send(cast.state_admin, cast.up)
    for user in (cast.convenor, cast.volunteer, cast.state_admin, cast.outsider, cast.superuser):
        expected = {b.pk for b in (pending, mine, state) if can_approve(user, b)}
        assert set(approvable_by(user).values_list("pk", flat=True)) == expected, user


def test_approve_sends_it(cast, pending, as_convenor):
    response = as_convenor.post(f"/broadcasts/{pending.code}/approve/", follow=True)
    pending.refresh_from_db()
    assert pending.status == "sent" and pending.approved_by == cast.convenor
    assert "Approved" in body(response)
    assert AuditLog.objects.filter(action="broadcast_approved").exists()


def test_reject_needs_a_reason_and_shows_it_on_the_broadcast(cast, pending, as_convenor):
    field = f"{pending.code}-reason"
    response = as_convenor.post(f"/broadcasts/{pending.code}/reject/", {field: "  "})
    assert response.status_code == 400
    assert "Say why it is rejected." in body(response)
    response = as_convenor.post(f"/broadcasts/{pending.code}/reject/", {field: "तारीख़ ग़लत है"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "rejected" and pending.status_reason == "तारीख़ ग़लत है"
    html = body(client_for(cast.volunteer).get(f"/broadcasts/{pending.code}/"))
    assert "तारीख़ ग़लत है" in html


def test_the_author_cannot_approve_their_own(cast, pending):
    response = client_for(cast.volunteer).post(f"/broadcasts/{pending.code}/approve/", follow=True)
    assert "Only a holder of a higher position can approve" in body(response)
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_the_author_can_cancel_a_pending_broadcast(cast, pending):
    client = client_for(cast.volunteer)
    assert 'id="cancel"' in body(client.get(f"/broadcasts/{pending.code}/"))
    client.post(f"/broadcasts/{pending.code}/cancel/")
    pending.refresh_from_db()
    assert pending.status == "cancelled"


# --- inbox ----------------------------------------------------------------------------------


def test_inbox_lists_broadcasts_from_above_with_acknowledge_and_reshare(cast, as_convenor):
    state = send(cast.state_admin, cast.up, title_hi="प्रदेश का संदेश")
    send(cast.convenor, cast.lucknow, title_hi="मेरा अपना संदेश")
    html = body(as_convenor.get("/broadcasts/inbox/"))
    assert "प्रदेश का संदेश" in html and "मेरा अपना संदेश" not in html
    item = html.split(f'id="b-{state.code}"')[1]
    assert "Acknowledge" in item and "Re-share to लखनऊ" not in item  # English page
    assert "Re-share to Lucknow with a note" in item


def test_acknowledge_from_the_inbox(cast, as_convenor):
    state = send(cast.state_admin, cast.up)
    response = as_convenor.post(
        f"/broadcasts/{state.code}/acknowledge/", {"unit": "UP-D-162"}, follow=True
    )
    assert "Acknowledged for Lucknow" in body(response)
    assert Acknowledgement.objects.filter(broadcast=state, unit=cast.lucknow).exists()
    item = body(as_convenor.get("/broadcasts/inbox/")).split(f'id="b-{state.code}"')[1]
    assert "✓ Acknowledged" in item


def test_reshare_from_the_inbox_makes_a_child_broadcast(cast, as_convenor):
    state = send(cast.state_admin, cast.up)
    prefix = f"{state.code}-UP-D-162"
    response = as_convenor.post(
        f"/broadcasts/{state.code}/reshare/",
        {"unit": "UP-D-162", f"{prefix}-note": "सभी मंडल ध्यान दें", f"{prefix}-channels": "feed"},
    )
    assert response.status_code == 302
    child = Broadcast.objects.get(parent=state)
    assert child.audience_unit == cast.lucknow and child.local_note == "सभी मंडल ध्यान दें"
    assert Acknowledgement.objects.filter(broadcast=state, unit=cast.lucknow).exists()
    item = body(as_convenor.get("/broadcasts/inbox/")).split(f'id="b-{state.code}"')[1]
    assert f'href="/broadcasts/{child.code}/"' in item


def test_reshare_errors_keep_the_note(cast, as_convenor, settings):
    state = send(cast.state_admin, cast.up)
    prefix = f"{state.code}-UP-D-162"
    settings.SANGATHAN_ORG_KIND = "political"
    response = as_convenor.post(
        f"/broadcasts/{state.code}/reshare/",
        {"unit": "UP-D-162", f"{prefix}-note": "नोट बचा रहे", f"{prefix}-channels": "fax"},
    )
    assert response.status_code == 400
    assert "नोट बचा रहे" in body(response)


# --- detail and reach -----------------------------------------------------------------------


def test_reach_shows_children_acknowledgements_and_the_rollup(cast, as_convenor):
    broadcast = send(cast.convenor, cast.lucknow, channels=["feed", "sms"])
    html = body(as_convenor.get(f"/broadcasts/{broadcast.code}/"))
    reach = html.split('id="reach"')[1]
    assert "Reach in Lucknow" in reach and "Lucknow West" in reach
    assert f'/broadcasts/{broadcast.code}/reach/?unit=UP-AC-172"' in reach
    assert "0 of 1 acknowledged" in reach and "SMS" in reach
    do_acknowledge_broadcast(cast.volunteer, broadcast, cast.booth1)
    sector = body(as_convenor.get(f"/broadcasts/{broadcast.code}/reach/?unit=UP-AC-172-S-1"))
    row = sector.split("Primary School 1</a>")[1].split("</tr>")[0]
    assert "✓" in row
    row2 = sector.split("Primary School 2</a>")[1].split("</tr>")[0]
    assert "✗" in row2
    assert "1 of 2 acknowledged" in sector


def test_reach_drills_down_to_the_booth_with_breadcrumbs_back(cast, as_convenor):
    broadcast = send(cast.convenor, cast.lucknow)
    url = f"/broadcasts/{broadcast.code}/reach/"
    path = ["UP-D-162", "UP-AC-172", "UP-AC-172-M-1", "UP-AC-172-S-1"]
    for code, child in zip(path, path[1:] + ["UP-AC-172-PS-001"], strict=True):
        html = body(as_convenor.get(f"{url}?unit={code}"))
        assert f'href="{url}?unit={child}"' in html
    booth = body(as_convenor.get(f"{url}?unit=UP-AC-172-PS-001"))
    crumbs = booth.split('class="crumbs" aria-label="Reach: units above"')[1].split("</ol>")[0]
    assert f'href="{url}?unit=UP-D-162"' in crumbs and f'href="{url}?unit=UP-AC-172-S-1"' in crumbs
    assert "Uttar Pradesh" not in crumbs
    assert "No units below this one." in booth
    partial = body(as_convenor.get(f"{url}?unit=UP-AC-172", **HX))
    assert partial.startswith('<div id="reach">')


def test_an_in_charge_sees_the_reach_of_a_state_broadcast_in_their_own_district(cast):
    state = send(cast.state_admin, cast.up, title_en="State")
    client = client_for(cast.convenor)
    html = body(client.get(f"/broadcasts/{state.code}/"))
    assert "Reach in Lucknow" in html and "Kanpur" not in html
    crumbs = html.split('aria-label="Reach: units above"')[1].split("</ol>")[0]
    assert "Uttar Pradesh" in crumbs and 'href="/broadcasts/' not in crumbs
    assert client.get(f"/broadcasts/{state.code}/reach/?unit=UP").status_code == 404
    assert client.get(f"/broadcasts/{state.code}/reach/?unit=UP-D-164").status_code == 404


def test_reach_of_a_unit_outside_the_audience_is_404(cast):
    broadcast = send(cast.state_admin, cast.lucknow)
    client = client_for(cast.state_admin)
    assert client.get(f"/broadcasts/{broadcast.code}/reach/?unit=UP-D-164").status_code == 404
    assert client.get(f"/broadcasts/{broadcast.code}/reach/?unit=UP-AC-172").status_code == 200


def test_reach_csv_escapes_formulas_and_is_audited(cast, as_convenor):
    add_unit(cast.ac_west, "mandal", "UP-AC-172-M-9", '=HYPERLINK("x")', "=1+1")
    broadcast = send(cast.convenor, cast.lucknow, channels=["feed", "email"])
    response = as_convenor.get(f"/broadcasts/{broadcast.code}/reach.csv?unit=UP-AC-172")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["unit_code", "unit_name", "level", "feed_audience"]
    assert "email_delivered" in rows[0] and rows[0][-2:] == ["acknowledged", "reshared"]
    assert rows[1][:3] == ["UP-AC-172", "Lucknow West", "assembly"]
    names = [r[1] for r in rows[2:]]
    assert "Mandal 1" in names and "'=1+1" in names
    log = AuditLog.objects.get(action="broadcast_reach_export")
    assert log.actor == cast.convenor and log.detail["unit"] == "UP-AC-172"


def test_detail_renders_hindi_for_a_hindi_user(cast):
    broadcast = send(cast.convenor, cast.lucknow, title_en="Meeting", body_en="Sunday")
    client = client_for(cast.convenor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    html = body(client.get(f"/broadcasts/{broadcast.code}/"))
    assert 'lang="hi"' in html
    assert "<h1>बैठक की सूचना</h1>" in html
    assert "लखनऊ पश्चिम" in html  # the reach table's units, in Hindi
    assert 'lang="en"' in html and "Sunday" in html  # both languages of the message


def test_detail_shows_recipients_per_channel_once_fanned_out(cast, as_convenor):
    Consent.objects.create(
        person=cast.volunteer_person, channel="sms", purpose="organisational", evidence="x"
    )
    broadcast = send(cast.convenor, cast.lucknow, channels=["feed", "sms"])
    broadcast.refresh_from_db()
    assert broadcast.audience_counts.get("sms") == 1
    html = body(as_convenor.get(f"/broadcasts/{broadcast.code}/"))
    counts = html.split('id="channel-counts"')[1].split("</ul>")[0]
    assert "SMS: <b>1</b>" in counts


# --- sent messages --------------------------------------------------------------------------


def _delivery(broadcast, person, channel="sms", status="sent", **kw):
    return Delivery.objects.create(
        broadcast=broadcast,
        person=person,
        channel=channel,
        status=status,
        adapter="console",
        unit_path=person.unit.path,
        **kw,
    )


def test_sent_messages_show_only_people_in_the_area_newest_first(cast, as_convenor):
    broadcast = send(cast.superuser, cast.up, title_en="To all")
    mine = _delivery(broadcast, cast.volunteer_person)
    _delivery(broadcast, cast.kanpur_member)
    failed = _delivery(
        broadcast, cast.convenor_person, channel="email", status="failed", error="bounced"
    )
    html = body(as_convenor.get("/broadcasts/outbox/"))
    assert "पूजा यादव" in html and "रीना गुप्ता" not in html
    assert html.index("संजय राय") < html.index("पूजा यादव")  # newest first
    assert "bounced" in html and "console" in html
    partial = body(as_convenor.get("/broadcasts/outbox/?status=failed", **HX))
    assert "<html" not in partial and "संजय राय" in partial and "पूजा यादव" not in partial
    sms = body(as_convenor.get("/broadcasts/outbox/?channel=sms"))
    assert "पूजा यादव" in sms and "संजय राय" not in sms
    assert mine.pk < failed.pk


def test_sent_messages_page_by_id(cast, as_convenor, monkeypatch):
    from sangathan.broadcasts import views

    monkeypatch.setattr(views, "OUTBOX_SIZE", 2)
    broadcast = send(cast.superuser, cast.lucknow, title_en="To all")
    people = [make_person(cast.booth2, f"सदस्य {i}") for i in range(3)]
    for p in people:
        _delivery(broadcast, p)
    html = body(as_convenor.get("/broadcasts/outbox/"))
    assert "सदस्य 2" in html and "सदस्य 1" in html and "सदस्य 0" not in html
    older = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    html = body(as_convenor.get("/broadcasts/outbox/" + older.replace("&amp;", "&")))
    assert "सदस्य 0" in html and "सदस्य 1" not in html


# --- poll dates -----------------------------------------------------------------------------


def test_poll_dates_are_set_for_an_assembly_and_audited(cast, as_convenor):
    closes = timezone.localtime(timezone.now() + timedelta(hours=30)).replace(
        second=0, microsecond=0
    )
    data = {
        "unit": "UP-AC-172",
        "poll_closes_at": closes.strftime("%Y-%m-%dT%H:%M"),
        "note": "उपचुनाव",
    }
    response = as_convenor.post("/broadcasts/poll-dates/", data, follow=True)
    poll = PollDate.objects.get()
    assert poll.unit == cast.ac_west and poll.poll_closes_at == closes
    html = body(response)
    assert "Polling in Lucknow West closes at" in html
    assert "silent now" in html  # 30 hours before the close is inside the 48-hour window
    assert "Lucknow West" in html.split('id="silent-now"')[1].split("</div>")[0]
    log = AuditLog.objects.get(action="poll_date_set")
    assert log.actor == cast.convenor and log.detail["unit"] == "UP-AC-172"
    # Setting it again corrects the upcoming poll instead of adding one.
    later = closes + timedelta(days=3)
    data["poll_closes_at"] = later.strftime("%Y-%m-%dT%H:%M")
    as_convenor.post("/broadcasts/poll-dates/", data)
    assert list(PollDate.objects.values_list("poll_closes_at", flat=True)) == [later]


def test_poll_dates_refuse_a_district_and_a_past_date(cast, as_convenor):
    future = (timezone.localtime() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    response = as_convenor.post(
        "/broadcasts/poll-dates/", {"unit": "UP-D-162", "poll_closes_at": future}
    )
    assert response.status_code == 400
    assert "Poll dates are set per assembly constituency" in body(response)
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = as_convenor.post(
        "/broadcasts/poll-dates/", {"unit": "UP-AC-172", "poll_closes_at": past, "note": "x"}
    )
    assert response.status_code == 400
    html = body(response)
    assert "Polling closes in the future: check the date." in html and 'value="x"' in html
    assert not PollDate.objects.exists()


def test_poll_dates_list_only_the_area(cast, as_convenor):
    at = timezone.now() + timedelta(days=10)
    PollDate.objects.create(unit=cast.ac_west, poll_closes_at=at, note="लखनऊ पश्चिम उपचुनाव")
    PollDate.objects.create(unit=cast.ac_kanpur, poll_closes_at=at, note="गोविंदनगर उपचुनाव")
    html = body(as_convenor.get("/broadcasts/poll-dates/"))
    assert "लखनऊ पश्चिम उपचुनाव" in html and "गोविंदनगर" not in html


# --- navigation -----------------------------------------------------------------------------


def test_every_page_has_the_nav_entry(cast, as_convenor):
    html = body(as_convenor.get("/"))
    assert 'href="/broadcasts/"' in html
    html = body(as_convenor.get("/broadcasts/inbox/"))
    nav = html.split('class="main-nav"')[1].split("</nav>")[0]
    assert 'href="/broadcasts/" aria-current="page"' in nav


# --- admin ----------------------------------------------------------------------------------


def test_admin_lists_and_shows_broadcast_records_read_only(cast):
    broadcast = send(cast.convenor, cast.lucknow, channels=["feed", "sms"])
    do_acknowledge_broadcast(cast.volunteer, broadcast, cast.booth1)
    PollDate.objects.create(unit=cast.ac_west, poll_closes_at=timezone.now() + timedelta(days=9))
    client = client_for(cast.superuser)
    for model in ("broadcast", "acknowledgement", "feedread", "reachcounter", "polldate"):
        response = client.get(f"/admin/broadcasts/{model}/")
        assert response.status_code == 200, model
    html = body(client.get(f"/admin/broadcasts/broadcast/{broadcast.pk}/change/"))
    assert "बैठक की सूचना" in html and 'name="_save"' not in html
    assert client.get("/admin/broadcasts/broadcast/add/").status_code == 403
