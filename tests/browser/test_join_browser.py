"""The public join page in Debian's Chromium at a 360×740 phone viewport: from a poster's
code to the member app, with the OTP from the (captured) console backend; and the same page
without JavaScript. Screenshots go to tests/screenshots/join-*.png.

Never runs ``playwright install``: it uses /usr/bin/chromium and skips when that is missing.
"""

import datetime
import re

import pytest

from tests.browser.test_staff_ui import browser, otp_codes, shot  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PHONE_VIEWPORT = {"width": 360, "height": 740}


@pytest.fixture
def drive(cast):
    from sangathan.drives.models import Drive, Institution, Recruiter

    university = Institution.objects.create(
        name="लखनऊ विश्वविद्यालय",
        name_en="University of Lucknow",
        kind="university",
        district=cast.lucknow,
        unit=cast.lucknow,
    )
    d = Drive.objects.create(
        name="Campus drive — Lucknow University",
        name_hi="कैंपस अभियान — लखनऊ विश्वविद्यालय",
        kind="campus",
        starts=datetime.date.today(),
        unit=cast.lucknow,
    )
    d.institutions.add(university)
    d.recruiter = Recruiter.objects.create(drive=d, person=cast.volunteer_person)
    d.university = university
    return d


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_join_on_a_phone_lands_in_the_app_with_a_token(live_server, browser, otp_codes, drive):  # noqa: F811
    from playwright.sync_api import expect

    from sangathan.people.models import Person

    context = browser.new_context(locale="hi-IN", viewport=PHONE_VIEWPORT, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/join/{drive.recruiter.code}")
    expect(page.locator("h1")).to_contain_text("लखनऊ विश्वविद्यालय")
    expect(page.locator(".join-sub")).to_contain_text("पूजा यादव")
    assert no_horizontal_overflow(page)
    shot(page, "join-1-empty")
    # Tap targets are at least 44 px high.
    for selector in ("#join-send", "label.jchoice >> nth=0", "input[name=phone]"):
        assert page.locator(selector).bounding_box()["height"] >= 44, selector

    # Under 18: refused with the reason, no code sent.
    page.fill("input[name=name]", "रवि कुमार")
    page.fill("input[name=phone]", "98765 00001")
    page.locator("label.jchoice", has=page.locator("input[value=minor]")).click()
    page.click("#join-send")
    expect(page.locator("#minor-refusal")).to_be_visible()
    assert otp_codes == {}
    assert no_horizontal_overflow(page)
    shot(page, "join-2-under-18")

    # Adult: institution, booth by locality search (htmx), consents; then the code.
    page.locator("label.jchoice", has=page.locator("input[value=adult]")).click()
    page.select_option("select[name=institution]", str(drive.university.pk))
    page.fill("input[name=booth_q]", "विद्यालय 2")
    page.click("button[value=find]")
    booth = page.locator("#booth-UP-AC-172-PS-002")
    expect(booth).to_be_attached()
    page.locator("label[for=booth-UP-AC-172-PS-002]").click()
    page.locator("label[for=consent-app-organisational]").click()
    page.locator("label[for=consent-whatsapp-campaign]").click()
    shot(page, "join-3-filled")
    page.click("#join-send")
    expect(page.locator("input[name=otp]")).to_be_visible()
    shot(page, "join-4-otp")
    page.fill("input[name=otp]", "000000" if otp_codes["+919876500001"] != "000000" else "111111")
    page.click("#join-verify")
    expect(page.locator(".jerror")).to_be_visible()
    shot(page, "join-5-wrong-code")
    page.fill("input[name=otp]", otp_codes["+919876500001"])
    page.click("#join-verify")
    page.wait_for_url(re.compile(r"/app/$"))
    token = page.evaluate("localStorage.getItem('sangathan.token')")
    user = page.evaluate("JSON.parse(localStorage.getItem('sangathan.user'))")
    assert token and token.startswith("sgn_")
    person = Person.objects.get(phone="+919876500001")
    assert user["person_id"] == person.pk
    assert person.referred_by_id == drive.recruiter.person_id
    assert person.unit.code == "UP-AC-172-PS-002"
    assert set(person.consents.values_list("channel", "purpose")) == {
        ("app", "organisational"),
        ("whatsapp", "campaign"),
    }
    shot(page, "join-6-app")
    context.close()


def test_join_works_without_javascript(live_server, browser, otp_codes, drive):  # noqa: F811
    from playwright.sync_api import expect

    from sangathan.people.models import Person

    context = browser.new_context(
        locale="hi-IN", viewport=PHONE_VIEWPORT, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/join/{drive.code}")
    page.fill("input[name=name]", "सीमा देवी")
    page.fill("input[name=phone]", "9876500002")
    page.check("input[value=adult]")
    page.fill("input[name=ac_no]", "172")
    page.fill("input[name=ps_no]", "1")
    page.check("#consent-sms-organisational")
    page.click("#join-send")
    page.fill("input[name=otp]", otp_codes["+919876500002"])
    page.click("#join-verify")
    expect(page.locator("#join-done")).to_be_visible()
    assert no_horizontal_overflow(page)
    shot(page, "join-7-done-no-js")
    person = Person.objects.get(phone="+919876500002")
    assert person.unit.code == "UP-AC-172-PS-001" and person.source == f"drive:{drive.code}"
    context.close()


def test_the_drive_page_for_its_owner(live_server, browser, cast):  # noqa: F811
    """The convenor's view of the demo drive: funnel, codes, leaderboards (a screenshot)."""
    from django.conf import settings
    from django.test import Client
    from playwright.sync_api import expect

    from sangathan.drives.demo import ensure_demo_drives
    from sangathan.drives.models import Drive

    assert ensure_demo_drives(cast.superuser, cast.convenor, cast.lucknow)
    drive = Drive.objects.get()
    c = Client()
    c.force_login(cast.convenor)
    context = browser.new_context(locale="hi-IN", viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": c.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/drives/{drive.code}/")
    expect(page.locator("#funnel")).to_be_visible()
    expect(page.locator("#board-recruiters li").first).to_be_visible()
    expect(page.locator("nav.main-nav a[aria-current=page]")).to_have_attribute("href", "/drives/")
    shot(page, "drives-1-detail")
    page.goto(f"{live_server.url}/drives/{drive.code}/suspicious/")
    expect(page.locator("#queue tbody tr")).to_have_count(1)
    shot(page, "drives-2-queue")
    context.close()
