"""Drives Debian's Chromium through the staff UI: OTP login, drill-down from state to booth,
and a cross-script people search, saving screenshots to tests/screenshots/.

Never runs ``playwright install``: it uses /usr/bin/chromium and skips when that is missing.
"""

import re

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, playwright

pytestmark = [
    pytest.mark.browser,
    # The live server runs in another thread, so the data must be committed; serialized
    # rollback restores the migrated levels that the flush after a transactional test removes.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser(monkeypatch, live_server):
    with playwright(monkeypatch, live_server) as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def otp_codes(monkeypatch):
    """Codes the login sends, captured instead of printed."""
    sent: dict[str, str] = {}
    import sangathan.accounts.actions as accounts_actions

    monkeypatch.setattr(
        accounts_actions, "send_code", lambda phone, code: sent.__setitem__(phone, code)
    )
    return sent


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_login_drill_down_and_search(cast, live_server, browser, otp_codes):
    from playwright.sync_api import expect

    from sangathan.people.models import Person
    from sangathan.people.names import person_name_fields

    for person in Person.objects.all():
        person.name_latin, person.name_key = person_name_fields(person.name)
        person.save(update_fields=["name_latin", "name_key"])

    context = browser.new_context(locale="hi-IN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)

    # Log in with the phone and the one-time code, as a state in-charge would.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    shot(page, "01-login")
    page.fill("input[name=phone]", "98100 00001")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/accounts/login/verify/"))
    code = otp_codes["+919810000001"]
    page.fill("input[name=code]", code)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(live_server.url + "/")
    shot(page, "02-home")

    # Drill down: state → district → AC → mandal → sector → booth, in Hindi.
    for name in ["उत्तर प्रदेश", "लखनऊ", "लखनऊ पश्चिम", "मंडल 1", "सेक्टर 1"]:
        page.get_by_role("link", name=name, exact=True).first.click()
        expect(page.locator("h1")).to_contain_text(name)
        if name == "लखनऊ":
            expect(page.locator(".stats")).to_contain_text("2")
            shot(page, "03-district")
        if name == "लखनऊ पश्चिम":
            expect(page.locator(".page-head .meta")).to_contain_text("172")
    shot(page, "04-sector")
    page.get_by_role("link", name="प्राथमिक विद्यालय 1", exact=True).click()
    expect(page.locator("h1")).to_contain_text("प्राथमिक विद्यालय 1")
    # The breadcrumb leads back up.
    expect(page.locator(".crumbs a", has_text="लखनऊ पश्चिम")).to_be_visible()
    shot(page, "05-booth")
    page.locator("nav.tabs a").nth(2).click()
    expect(page.locator("table.posts")).to_contain_text("पूजा यादव")
    shot(page, "05b-booth-posts")
    page.locator(".crumbs a", has_text="लखनऊ पश्चिम").click()
    page.locator("nav.tabs a").nth(3).click()
    page.wait_for_url(re.compile(r"/units/UP-AC-172/vacancies/$"))  # loaded, htmx ready
    page.select_option("select[name=position]", index=1)
    expect(page).to_have_url(re.compile(r"position=\d+"))
    expect(page.locator("#results")).to_contain_text("प्राथमिक विद्यालय 2")
    shot(page, "05c-ac-vacancies")

    # Fill the vacancy: find a person live, pick them, appoint.
    page.locator("#results a.button").first.click()
    page.wait_for_url(re.compile(r"/units/UP-AC-172-PS-002/appointments/"))
    page.locator("#cand-q").press_sequentially("pooja", delay=20)
    page.locator("#candidates input[type=radio]").first.check()
    expect(page.locator("#candidates")).to_contain_text("पूजा यादव")
    page.locator("#appoint-submit").click()
    expect(page.locator("ul.messages")).to_contain_text("पूजा यादव")
    expect(page.locator("table.posts")).to_contain_text("पूजा यादव")
    shot(page, "05d-appointed")

    # Search a Hindi name by its Latin spelling, live (htmx) without pressing Enter.
    page.locator("nav.main-nav a").nth(1).click()
    page.wait_for_url(re.compile(r"/people/"))
    page.locator("input[name=q]").press_sequentially("sanjay rai", delay=20)
    # htmx pushes the URL once the results have been swapped in.
    expect(page).to_have_url(re.compile(r"q=sanjay(\+|%20)rai$"))
    results = page.locator("#results")
    expect(results).to_contain_text("संजय राय")
    expect(results).not_to_contain_text("पूजा यादव")
    shot(page, "06-search")

    # And the person's page.
    results.get_by_role("link", name="संजय राय").click()
    expect(page.locator("h1")).to_contain_text("संजय राय")
    shot(page, "07-person")

    # A phone-width look at the district page.
    phone = browser.new_context(
        locale="hi-IN", viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    phone.add_cookies(context.cookies())
    mobile = phone.new_page()
    mobile.goto(live_server.url + "/units/UP-D-162/")
    expect(mobile.locator("h1")).to_contain_text("लखनऊ")
    shot(mobile, "08-district-phone")
    phone.close()
    context.close()
