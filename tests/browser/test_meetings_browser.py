"""A meeting end to end in Chromium: the state in-charge creates it (desk size), invites every
district convenor under UP by rule (the count previewed live) and one more person, sends the
invitations; the booth volunteer answers in the member app (360×740), checks in with the code
from the organiser's screen (a wrong code first), the organiser writes minutes with an action
item for the volunteer, who finds it under "My action items" and marks it done. Screenshots go
to tests/screenshots/meetings-*.png."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from sangathan.accounts.actions import do_issue_api_token
from sangathan.meetings.models import ActionItem, Invitation, Meeting
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, playwright
from tests.browser.test_member_app_browser import PHONE, check_phone_layout


def action_status(pk: int) -> str:
    return ActionItem.objects.get(pk=pk).status


pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def chromium(monkeypatch, live_server):
    with playwright(monkeypatch, live_server) as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def shot(page, name, *, phone=False, full_page=True):
    if phone:
        check_phone_layout(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"meetings-{name}.png"), full_page=full_page)


def test_meeting_invite_rsvp_checkin_minutes_action_item(cast, live_server, chromium):
    from playwright.sync_api import expect

    t = cast
    staff_client = Client()
    staff_client.force_login(t.state_admin)
    staff = chromium.new_context(locale="en-IN", viewport={"width": 1280, "height": 900})
    staff.add_cookies(
        [
            {
                "name": "sessionid",
                "value": staff_client.cookies["sessionid"].value,
                "url": live_server.url,
            },
            {"name": "django_language", "value": "en", "url": live_server.url},
        ]
    )
    page = staff.new_page()
    page.set_default_timeout(10_000)

    # Create the meeting: it starts in half an hour (check-in opens an hour before).
    starts = timezone.localtime() + datetime.timedelta(minutes=30)
    page.goto(live_server.url + "/meetings/")
    page.locator("#new-meeting").click()
    page.fill("#id_host_unit", "UP")
    page.fill("#id_title", "State IT meeting with all regions")
    page.fill("#id_title_hi", "सभी क्षेत्रों के साथ प्रदेश आईटी बैठक")
    page.select_option("#id_kind", "state")
    page.fill("#id_chair", "9810000001")
    page.fill("#id_starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_ends_at", (starts + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_venue", "State office, Lucknow")
    shot(page, "01-new")
    page.locator("#meeting-form button[type=submit]").click()
    expect(page.locator("#meeting-title")).to_contain_text("State IT meeting")
    meeting = Meeting.objects.get()
    code = meeting.code

    # Agenda, then invitees by rule with the live preview.
    page.fill("#agenda-form #id_title", "WhatsApp expansion")
    page.fill("#agenda-form #id_presenter", "9810000002")
    page.locator("#agenda-form button[type=submit]").click()
    expect(page.locator("#agenda")).to_contain_text("WhatsApp expansion")
    page.select_option("#rule-form #id_position", str(t.district_pos.pk))
    page.locator("#rule-form #id_scope").press_sequentially("UP", delay=30)
    expect(page.locator("#preview")).to_contain_text("2 people will be invited")
    shot(page, "02-rule-preview")
    page.locator("#rule-form button[type=submit]").click()
    page.fill("#extra-form #id_phone", "9810000003")
    page.locator("#extra-form button[type=submit]").click()
    expect(page.locator("#preview")).to_contain_text("3 people will be invited")
    page.locator("#send").click()
    expect(page.locator("#count-invited")).to_have_text("3")
    assert Invitation.objects.filter(meeting=meeting).count() == 3
    shot(page, "03-invited")

    # The volunteer opens the member app at a phone's size (logged in by token).
    raw, _token = do_issue_api_token(t.volunteer, "127.0.0.1")
    phone = chromium.new_context(locale="hi-IN", viewport=PHONE, device_scale_factor=2)
    app = phone.new_page()
    app.set_default_timeout(10_000)
    app.goto(live_server.url + "/app/")
    app.evaluate(f"localStorage.setItem('sangathan.token', {raw!r})")
    app.goto(live_server.url + "/app/#/meetings")
    card = app.locator(f'[data-meeting="{code}"]')
    expect(card).to_contain_text("सभी क्षेत्रों के साथ प्रदेश आईटी बैठक")
    expect(card).to_contain_text("State office, Lucknow")
    card.locator("details.agenda summary").click()
    expect(card.locator("details.agenda")).to_contain_text("WhatsApp expansion")
    # Offline, the answer waits on the phone and goes when the connection is back.
    phone.set_offline(True)
    card.locator('button[data-answer="maybe"]').click()
    expect(app.locator("#toast")).to_be_visible()
    assert app.evaluate("window.SangathanOutbox.list().then(l => l.map(e => e.key))") == [
        f"rsvp:{code}"
    ]
    assert Invitation.objects.get(meeting=meeting, person=t.volunteer_person).rsvp == ""
    phone.set_offline(False)
    deadline = timezone.now() + datetime.timedelta(seconds=8)
    while (
        Invitation.objects.get(meeting=meeting, person=t.volunteer_person).rsvp != "maybe"
        and timezone.now() < deadline
    ):
        app.wait_for_timeout(100)
    assert Invitation.objects.get(meeting=meeting, person=t.volunteer_person).rsvp == "maybe"
    card.locator('button[data-answer="yes"]').click()
    expect(card.locator('button[data-answer="yes"]')).to_have_attribute("aria-pressed", "true")
    app.wait_for_function(
        "() => document.querySelector('#toast') && !document.querySelector('#toast').hidden"
    )
    shot(app, "04-app-rsvp", phone=True, full_page=False)
    assert Invitation.objects.get(meeting=meeting, person=t.volunteer_person).rsvp == "yes"

    # The organiser's check-in screen shows the code big, with its QR code.
    page.goto(live_server.url + f"/meetings/{code}/checkin/")
    shown = page.locator("#checkin-code").get_attribute("data-code")
    assert len(shown) == 6 and page.locator(".qr svg").count() == 1
    shot(page, "05-checkin-screen")

    # A wrong code is refused; the right one checks the volunteer in.
    wrong = f"{(int(shown) + 1) % 1_000_000:06d}"
    field = card.locator(f"#checkin-{code}")
    field.fill(wrong)
    card.locator("form.checkin button[type=submit]").click()
    expect(app.locator("#toast")).to_contain_text(re.compile("code|कोड"))
    expect(card.locator(".present")).to_have_count(0)
    field.fill(shown[:3] + " " + shown[3:])
    card.locator("form.checkin button[type=submit]").click()
    expect(card.locator(".present")).to_be_visible()
    shot(app, "06-app-checked-in", phone=True, full_page=False)
    assert Invitation.objects.get(meeting=meeting, person=t.volunteer_person).attended_at

    # Minutes and an action item for the volunteer.
    page.goto(live_server.url + f"/meetings/{code}/")
    expect(page.locator("#count-attended")).to_have_text("1")
    item_id = meeting.agenda.get().pk
    page.fill(f"#notes-{item_id}", "Lucknow has groups in 60% of booths.")
    page.fill(f"#decisions-{item_id}", "One workers' group per booth.")
    page.locator(f"#minutes-{item_id} button[type=submit]").click()
    page.fill("#action-form #id_title", "Register the booth's workers' group")
    page.fill("#action-form #id_phone", "9810000003")
    page.fill(
        "#action-form #id_due", (timezone.localdate() + datetime.timedelta(days=7)).isoformat()
    )
    page.select_option("#action-form #id_agenda_item", str(item_id))
    page.locator("#action-form button[type=submit]").click()
    expect(page.locator("#action-items")).to_contain_text("Register the booth's workers' group")
    shot(page, "07-minutes-action")
    action = ActionItem.objects.get()

    # The volunteer finds it under "My action items" and marks it done.
    app.reload()
    item = app.locator(f'[data-action="{action.pk}"]')
    expect(item).to_contain_text("Register the booth's workers' group")
    item.scroll_into_view_if_needed()
    shot(app, "08-app-action-items", phone=True, full_page=False)
    item.locator("button").click()
    expect(app.locator(f'[data-action="{action.pk}"] .done-mark')).to_be_visible()
    deadline = timezone.now() + datetime.timedelta(seconds=5)
    while action_status(action.pk) != "done" and timezone.now() < deadline:
        app.wait_for_timeout(100)
    assert action_status(action.pk) == "done"
    shot(app, "09-app-action-done", phone=True, full_page=False)
    # The organiser's page says so.
    page.reload()
    expect(page.locator(f'#action-items tr[data-id="{action.pk}"]')).to_contain_text("done")
    # The calendar: this month with the meeting on its day.
    page.goto(live_server.url + "/meetings/?view=month&month=" + starts.strftime("%Y-%m"))
    expect(page.locator("#month")).to_contain_text("State IT meeting")
    shot(page, "10-month")
    # The meeting's page on a phone: nothing wider than the screen.
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + f"/meetings/{code}/")
    shot(page, "11-detail-phone")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > 361)
        .map((e) => `${e.tagName}#${e.id}.${e.className}:${e.getBoundingClientRect().right}`)
        .slice(0, 8)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wide
    phone.close()
    staff.close()
