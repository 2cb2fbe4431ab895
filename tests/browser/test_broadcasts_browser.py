"""Drives Chromium through a broadcast: Lucknow's convenor composes one in Hindi, watches the
live preview count each channel, sends it, and opens its reach down the tree. Then the same
pages in English, on a desktop and at a phone's width (360×740). Screenshots go to
tests/screenshots/."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from sangathan.people.models import Consent
from tests.browser.test_staff_ui import browser, shot  # noqa: F401 (a fixture)
from tests.factories import make_person

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def _context(browser, live_server, user, language: str, viewport):  # noqa: F811
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        locale="hi-IN" if language == "hi" else "en-IN",
        viewport=viewport,
        device_scale_factor=2 if viewport == PHONE else 1,
    )
    host = re.sub(r"^https?://|:\d+$", "", live_server.url)
    cookies = [
        {
            "name": settings.SESSION_COOKIE_NAME,
            "value": client.cookies["sessionid"].value,
            "domain": host,
            "path": "/",
        }
    ]
    if language == "en":
        cookies.append(
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "domain": host, "path": "/"}
        )
    context.add_cookies(cookies)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def test_compose_preview_send_and_reach(cast, live_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    # A few more members in Lucknow's booths, some of whom agreed to SMS.
    for i in range(5):
        person = make_person(cast.booth1 if i % 2 else cast.booth2, f"सदस्य {i}")
        if i < 3:
            Consent.objects.create(
                person=person, channel="sms", purpose="organisational", evidence="form"
            )
    # Both in-charges get it: the district convenor (sender) and the booth volunteer.
    context, page = _context(browser, live_server, cast.convenor, "hi", DESKTOP)
    page.goto(live_server.url + "/")
    page.locator("nav.main-nav a[href='/broadcasts/']").click()
    page.wait_for_url(re.compile(r"/broadcasts/$"))
    page.locator("#new-broadcast").click()
    page.wait_for_url(re.compile(r"/broadcasts/new/$"))
    expect(page.locator("#whatsapp-why")).to_be_visible()

    # Devanagari typed key by key, as a phone keyboard would.
    page.locator("#id_title_hi").press_sequentially("रविवार को बूथ बैठक", delay=10)
    page.locator("#id_body_hi").press_sequentially(
        "सभी बूथ अध्यक्ष रविवार सुबह 10 बजे कार्यालय पहुँचें।", delay=5
    )
    page.fill("#id_title_en", "Booth meeting on Sunday")
    page.fill("#id_body_en", "All booth presidents: the office, Sunday 10 am.")
    # The audience: pick the district; the preview counts each channel live.
    page.locator("#id_unit").press_sequentially("UP-D-162", delay=20)
    page.locator("#id_unit").press("Tab")
    preview = page.locator("#preview")
    expect(preview.locator("td[data-channel=feed]")).to_have_text("7")
    expect(preview).to_contain_text("लखनऊ")
    page.locator("input[name=channels][value=sms]").check()
    expect(preview.locator("td[data-channel=sms]")).to_have_text("3")
    expect(page.locator("#no-approval")).to_be_visible()
    expect(page.locator("#id_title_hi")).to_have_value("रविवार को बूथ बैठक")
    shot(page, "30-broadcast-compose-hi")

    page.locator("#send").click()
    page.wait_for_url(re.compile(r"/broadcasts/[a-z0-9]{10}/$"))
    code = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("h1")).to_have_text("रविवार को बूथ बैठक")
    expect(page.locator("ul.messages")).to_be_visible()
    reach = page.locator("#reach")
    expect(reach).to_contain_text("लखनऊ पश्चिम")
    expect(page.locator("#channel-counts")).to_contain_text("3")
    shot(page, "31-broadcast-detail-hi")

    # Drill down (htmx swaps the table and pushes the URL), then back up by the breadcrumb.
    reach.get_by_role("link", name="लखनऊ पश्चिम").click()
    expect(page).to_have_url(re.compile(r"/reach/\?unit=UP-AC-172$"))
    expect(page.locator("#reach-title")).to_contain_text("लखनऊ पश्चिम")
    page.locator("#reach").get_by_role("link", name="मंडल 1").click()
    expect(page.locator("#reach-title")).to_contain_text("मंडल 1")
    page.locator("#reach").get_by_role("link", name="सेक्टर 1").click()
    expect(page.locator("#reach")).to_contain_text("प्राथमिक विद्यालय 2")
    shot(page, "32-broadcast-reach-sector-hi")
    page.locator("#reach .crumbs a", has_text="लखनऊ").first.click()
    expect(page.locator("#reach-title")).to_contain_text("लखनऊ")

    # At a phone's width: compose and the reach.
    phone, mobile = _context(browser, live_server, cast.convenor, "hi", PHONE)
    mobile.goto(live_server.url + "/broadcasts/new/?unit=UP-D-162")
    expect(mobile.locator("td[data-channel=feed]")).to_have_text("7")
    shot(mobile, "33-broadcast-compose-hi-phone")
    mobile.goto(live_server.url + f"/broadcasts/{code}/")
    expect(mobile.locator("#reach")).to_contain_text("लखनऊ पश्चिम")
    shot(mobile, "34-broadcast-detail-hi-phone")
    phone.close()

    # The booth volunteer acknowledges it from the inbox; the reach shows it.
    vol, vpage = _context(browser, live_server, cast.volunteer, "hi", DESKTOP)
    vpage.goto(live_server.url + "/broadcasts/inbox/")
    item = vpage.locator(f"#b-{code}")
    expect(item).to_contain_text("रविवार को बूथ बैठक")
    item.locator("form[action$='/acknowledge/'] button").click()
    expect(vpage.locator(f"#b-{code} .badge.ok")).to_be_visible()
    shot(vpage, "35-broadcast-inbox-hi")
    vol.close()

    # English, desktop and phone.
    en, epage = _context(browser, live_server, cast.convenor, "en", DESKTOP)
    epage.goto(live_server.url + "/broadcasts/new/?unit=UP-AC-172")
    expect(epage.locator("td[data-channel=feed]")).to_have_text("6")
    epage.locator("input[name=purpose][value=campaign]").check()
    epage.locator("input[name=channels][value=sms]").check()
    expect(epage.locator("td[data-channel=sms]")).to_have_text("0")
    shot(epage, "36-broadcast-compose-en")
    epage.goto(live_server.url + f"/broadcasts/{code}/reach/?unit=UP-AC-172-S-1")
    expect(epage.locator("#reach")).to_contain_text("Primary School 1")
    expect(epage.locator("#rollup")).to_contain_text("1 of 2 acknowledged")
    shot(epage, "37-broadcast-reach-en")
    epage.goto(live_server.url + "/broadcasts/")
    expect(epage.locator("table.broadcasts")).to_contain_text("Booth meeting on Sunday")
    shot(epage, "38-broadcast-list-en")
    epage.goto(live_server.url + "/broadcasts/outbox/")
    shot(epage, "39-broadcast-outbox-en")
    epage.goto(live_server.url + "/broadcasts/poll-dates/")
    closes = timezone.localtime() + timedelta(hours=30)
    epage.fill("#id_unit", "UP-AC-172")
    epage.fill("#id_poll_closes_at", closes.strftime("%Y-%m-%dT%H:%M"))
    epage.fill("#id_note", "By-election")
    epage.locator("#set-poll-date").click()
    expect(epage.locator("#silent-now")).to_contain_text("Lucknow West")
    expect(epage.locator("#upcoming .badge.bad")).to_be_visible()
    shot(epage, "40-broadcast-poll-dates-en")
    en.close()

    ephone, emobile = _context(browser, live_server, cast.convenor, "en", PHONE)
    emobile.goto(live_server.url + "/broadcasts/new/?unit=UP-D-162")
    expect(emobile.locator("td[data-channel=feed]")).to_have_text("7")
    shot(emobile, "41-broadcast-compose-en-phone")
    emobile.goto(live_server.url + f"/broadcasts/{code}/reach/?unit=UP-D-162")
    expect(emobile.locator("#reach")).to_contain_text("Lucknow West")
    shot(emobile, "42-broadcast-reach-en-phone")
    ephone.close()
    context.close()
