"""Chromium through bulk reorganisation: log in as the Lucknow convenor, upload a CSV, read
the preview, apply it, see the seat's history and the person's posts (htmx relieve), and the
coverage report on a 360 px phone. Screenshots go to tests/screenshots/reorg-*.png."""

import re

import pytest
from django.utils import timezone

from tests.browser.test_staff_ui import browser, otp_codes, shot  # noqa: F401 (fixtures)
from tests.factories import make_person
from tests.people.committee_fixtures import apply_in_lucknow, make_committees

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def login(page, live_server, otp_codes, phone, e164):  # noqa: F811
    page.goto(live_server.url + "/")
    page.fill("input[name=phone]", phone)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/accounts/login/verify/"))
    page.fill("input[name=code]", otp_codes[e164])
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(live_server.url + "/")


def test_upload_preview_apply_and_history(cast, live_server, browser, otp_codes, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    t = apply_in_lucknow(make_committees(cast))
    make_person(t.booth2, "नीरज तिवारी", "+919810000011")
    make_person(t.booth2, "रवि मिश्रा", "+919810000012")
    today = timezone.localdate().isoformat()
    good = tmp_path / "lucknow-reorganisation.csv"
    good.write_text(
        "phone,position,unit_code,action,date\n"
        f"9810000011,IT volunteer,{t.booth2.code},appoint,{today}\n"
        f"9810000012,बूथ अध्यक्ष,{t.booth2.code},appoint,\n"
        f"9810000003,Booth volunteer,{t.booth2.code},transfer,{today}\n",
        encoding="utf-8",
    )
    bad = tmp_path / "with-conflicts.csv"
    bad.write_text(
        "phone,position,unit_code,action,date\n"
        f"9810000011,IT volunteer,{t.booth2.code},appoint,\n"
        f"9810000012,IT volunteer,{t.booth2.code},appoint,\n"
        f"9810000005,IT volunteer,{t.booth1.code},appoint,\n",
        encoding="utf-8",
    )

    context = browser.new_context(locale="hi-IN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, live_server, otp_codes, "98100 00002", "+919810000002")

    # A file with conflicts: listed by line, nothing to apply.
    page.goto(live_server.url + "/people/reorganise/")
    page.set_input_files("input[type=file]", str(bad))
    page.locator("#reorganise-check").click()
    page.wait_for_url(re.compile(r"/people/reorganise/[\w-]+/$"))
    expect(page.locator("#conflicts")).to_contain_text("3")
    expect(page.locator("#n-conflicts")).to_have_text("2")
    expect(page.locator("#reorganise-apply")).to_have_count(0)
    shot(page, "reorg-01-conflicts")

    # The good file: preview, apply.
    page.goto(live_server.url + "/people/reorganise/")
    page.set_input_files("input[type=file]", str(good))
    page.locator("#reorganise-check").click()
    page.wait_for_url(re.compile(r"/people/reorganise/[\w-]+/$"))
    expect(page.locator("#n-appoint")).to_have_text("2")
    expect(page.locator("#n-transfer")).to_have_text("1")
    expect(page.locator("#changes")).to_contain_text("नीरज तिवारी")
    shot(page, "reorg-02-preview")
    page.locator("#reorganise-apply").click()
    expect(page.locator("#reorganise-undo")).to_be_visible()
    shot(page, "reorg-03-applied")

    # The seat's history, from the applied file's row.
    page.locator("#changes a", has_text="प्राथमिक विद्यालय 2").first.click()
    expect(page.locator("#seat-history")).to_contain_text("नीरज तिवारी")
    expect(page.locator("#seat-history")).to_contain_text("Sanjay")
    shot(page, "reorg-04-seat-history")

    # The person's page: relieve with htmx, then the full history.
    page.locator("#seat-history a", has_text="नीरज तिवारी").click()
    expect(page.locator("#person-history")).to_contain_text("आईटी स्वयंसेवक")
    page.goto(page.url.replace("/history/", "/"))
    page.locator("#posts details summary").first.click()
    page.locator("#posts form[action*=relieve] button").first.click()
    expect(page.locator("#posts")).to_contain_text("आईटी स्वयंसेवक")
    expect(page.locator("#posts .post-current")).to_have_count(0)
    shot(page, "reorg-05-person-relieved")

    # The coverage report on a phone.
    phone = browser.new_context(locale="hi-IN", viewport={"width": 360, "height": 740})
    phone.add_cookies(context.cookies())
    p2 = phone.new_page()
    p2.goto(f"{live_server.url}/people/report/{t.lucknow.code}/")
    expect(p2.locator("table.report")).to_be_visible()
    width = p2.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width})"
    shot(p2, "reorg-06-report-360")
    phone.close()
    context.close()
