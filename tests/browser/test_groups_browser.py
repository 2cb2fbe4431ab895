"""Drives Debian's Chromium through the groups pages: the coverage page (drill-down from the
state to a sector, trend) and a group's page, on a desk screen and a 360 px phone, saving
screenshots to tests/screenshots/groups-*.png.

Never runs ``playwright install``: it uses /usr/bin/chromium and skips when that is missing.
"""

import datetime

import pytest
from django.test import Client

from tests.browser.test_staff_ui import browser, shot  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def logged_in(browser, live_server, user, **context):  # noqa: F811
    c = Client()
    c.force_login(user)
    ctx = browser.new_context(locale="hi-IN", **context)
    ctx.add_cookies(
        [{"name": "sessionid", "value": c.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    return page


def test_coverage_and_a_group_page(cast, live_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    from sangathan.groups.actions import do_create_group, do_record_member_count
    from sangathan.groups.coverage import take_snapshots
    from tests.factories import add_unit, appoint, make_person, make_position

    t = cast
    pramukh_pos = make_position("booth", "WhatsApp pramukh", "व्हाट्सऐप प्रमुख")
    pramukh = make_person(t.booth1, "दीपक सिंह", "+919810000011")
    appoint(pramukh, pramukh_pos, t.booth1)
    for i in range(3, 9):
        add_unit(t.sector, "booth", f"UP-AC-172-PS-{i:03}", f"प्राथमिक विद्यालय {i}")
    today = datetime.date.today()
    take_snapshots(today - datetime.timedelta(days=14))
    group = do_create_group(
        t.convenor,
        unit=t.booth1,
        name="बूथ 1 कार्यकर्ता समूह",
        invite_link="https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv",
        admins=[pramukh],
        members=96,
    )
    do_record_member_count(t.convenor, group, 88, on=today - datetime.timedelta(days=7))
    take_snapshots(today - datetime.timedelta(days=7))
    do_create_group(t.convenor, unit=t.booth2, name="बूथ 2 युवा", purpose="youth", members=40)
    take_snapshots(today)

    page = logged_in(browser, live_server, t.state_admin, viewport={"width": 1280, "height": 860})
    page.goto(live_server.url + "/groups/coverage/")
    expect(page.locator("h1")).to_contain_text("उत्तर प्रदेश")
    page.get_by_role("link", name="लखनऊ", exact=True).first.click()
    expect(page.locator("h1")).to_contain_text("लखनऊ")
    expect(page.locator("#covered")).to_have_text("2")
    expect(page.locator("#uncovered")).to_have_text("6")
    expect(page.locator("#trend polyline")).to_be_visible()
    shot(page, "groups-01-coverage-district")
    for name in ["लखनऊ पश्चिम", "मंडल 1", "सेक्टर 1"]:
        page.get_by_role("link", name=name, exact=True).first.click()
        expect(page.locator("h1")).to_contain_text(name)
    expect(page.locator("#coverage")).to_contain_text("प्राथमिक विद्यालय 8")
    shot(page, "groups-02-coverage-sector")

    page.goto(live_server.url + f"/groups/{group.code}/")
    expect(page.locator("#invite-link")).to_be_visible()
    expect(page.locator("#admins")).to_contain_text("दीपक सिंह")
    expect(page.locator("#member-count")).to_have_text("96")
    shot(page, "groups-03-group")

    phone = logged_in(browser, live_server, t.convenor, viewport={"width": 360, "height": 740})
    phone.goto(live_server.url + "/groups/coverage/?unit=UP-D-162")
    expect(phone.locator("#percent")).to_have_text("25%")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the coverage page overflows a 360 px screen ({width} px)"
    shot(phone, "groups-04-coverage-phone")
    phone.goto(live_server.url + f"/groups/{group.code}/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the group page overflows a 360 px screen ({width} px)"
    shot(phone, "groups-05-group-phone")
