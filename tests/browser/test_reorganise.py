"""Drives Chromium through a reorganisation: find the new parent live, check what moves,
confirm, and read the move in the unit's history. Screenshots go to tests/screenshots/."""

import re

import pytest
from django.conf import settings
from django.test import Client

from tests.browser.test_staff_ui import browser, shot  # noqa: F401 (a fixture)
from tests.factories import add_unit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_move_a_sector_to_another_mandal(cast, live_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    add_unit(cast.ac_west, "mandal", "UP-AC-172-M-2", "मंडल 2", "Mandal 2 (Aliganj)")
    # Log in as Lucknow's convenor by session cookie (the OTP login has its own test).
    client = Client()
    client.force_login(cast.convenor)
    context = browser.new_context(locale="en-IN", viewport={"width": 1280, "height": 860})
    host = re.sub(r"^https?://|:\d+$", "", live_server.url)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies["sessionid"].value,
                "domain": host,
                "path": "/",
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "domain": host, "path": "/"},
        ]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto(live_server.url + "/units/UP-AC-172-S-1/")
    page.locator("#move-link").click()
    page.wait_for_url(re.compile(r"/units/UP-AC-172-S-1/move/$"))
    page.locator("#parent-q").press_sequentially("aliganj", delay=20)
    candidates = page.locator("#candidates")
    expect(candidates).to_contain_text("Mandal 2 (Aliganj)")
    candidates.locator("input[type=radio]").first.check()
    page.fill("input[name=reason]", "Aliganj mandal formed")
    shot(page, "10-move-search")
    page.locator("#move-check").click()
    expect(page.locator("#move-summary")).to_contain_text(
        "This moves 3 units and 1 person from Mandal 1 to Mandal 2 (Aliganj)."
    )
    shot(page, "11-move-confirm")
    page.locator("#confirm-submit").click()
    page.wait_for_url(re.compile(r"/units/UP-AC-172-S-1/$"))
    expect(page.locator("ul.messages")).to_contain_text("moved from Mandal 1")
    history = page.locator("table.moves")
    expect(history).to_contain_text("Aliganj mandal formed")
    expect(history.get_by_role("link", name="Mandal 1")).to_be_visible()
    expect(page.locator(".crumbs")).to_contain_text("Mandal 2 (Aliganj)")
    shot(page, "12-unit-history")

    # Add a mandal and a sector from a file: every bad row is shown before anything is saved.
    page.goto(live_server.url + "/units/UP-AC-172/import-units/")
    csv = (
        "code,name,level,parent_code,name_en\n"
        "UP-AC-172-M-9,मंडल 9,mandal,UP-AC-172,Mandal 9\n"
        "UP-AC-172-S-9,सेक्टर 9,sector,UP-AC-172-M-9,Sector 9\n"
        "UP-AC-172-S-8,सेक्टर 8,sector,UP-AC-213-M-1,Sector 8\n"
        "UP-AC-172-S-7,,sector,UP-AC-172-M-9,Sector 7\n"
    )
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "units.csv", "mimeType": "text/csv", "buffer": csv.encode()}],
    )
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("main table")).to_contain_text("unknown parent_code UP-AC-213-M-1")
    shot(page, "13-import-units-preview")
    page.locator("#confirm-import").click()
    page.wait_for_url(re.compile(r"/units/UP-AC-172/$"))
    expect(page.locator("ul.messages")).to_contain_text("2 units added")
    context.close()
