"""Issue 4's whole path in Debian's Chromium at a phone's size: a poster's code opens the join
page, the new member signs up with the OTP from the (captured) console backend, lands in the
member app, sees the feed, goes offline, reloads and still reads it, opens a message, comes
back online and the read is recorded.

Never runs ``playwright install``: it uses /usr/bin/chromium and skips when that is missing.
"""

import re

import pytest

from sangathan.broadcasts.actions import Draft, do_create_broadcast
from sangathan.broadcasts.models import FeedRead
from tests.browser.conftest import eventually
from tests.browser.test_join_browser import drive  # noqa: F401  (fixture)
from tests.browser.test_member_app_browser import phone, shot, wait_js  # noqa: F401
from tests.browser.test_staff_ui import otp_codes  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_poster_code_to_the_app_offline_and_back(cast, live_server, phone, otp_codes, drive):  # noqa: F811
    from playwright.sync_api import expect

    from sangathan.people.models import Person

    message = do_create_broadcast(
        cast.convenor,
        Draft(
            audience_unit=cast.lucknow,
            title_hi="नए सदस्यों का स्वागत",
            body_hi="लखनऊ इकाई में आपका स्वागत है। रविवार की बैठक में मिलें।",
        ),
    )
    page = phone.pages[0] if phone.pages else phone.new_page()
    page.goto(f"{live_server.url}/join/{drive.code}")
    expect(page.locator("h1")).to_contain_text("लखनऊ विश्वविद्यालय")
    page.fill("input[name=name]", "नेहा सिंह")
    page.fill("input[name=phone]", "98765 00077")
    page.locator("label.jchoice", has=page.locator("input[value=adult]")).click()
    page.select_option("select[name=institution]", str(drive.university.pk))
    page.locator("label[for=consent-app-organisational]").click()
    page.click("#join-send")
    expect(page.locator("input[name=otp]")).to_be_visible()
    page.fill("input[name=otp]", otp_codes["+919876500077"])
    page.click("#join-verify")

    # In the app, logged in, with the feed of the drive's unit.
    page.wait_for_url(re.compile(r"/app/$"))
    person = Person.objects.get(phone="+919876500077")
    assert person.source.startswith("drive:") and person.unit == cast.lucknow
    items = page.locator("#feed-list article.item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("नए सदस्यों का स्वागत")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    wait_js(
        page,
        "caches.open('sangathan-data').then(c => c.keys())"
        ".then(keys => keys.some(r => r.url.includes('/api/v1/feed')))",
    )
    shot(page, "join-app-1-feed")

    # Offline: reload, still reads; open the message, the read waits on the phone.
    phone.set_offline(True)
    page.reload()
    expect(items.first).to_contain_text("नए सदस्यों का स्वागत")
    items.first.locator(".item-head").click()
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 1)")
    assert not FeedRead.objects.filter(broadcast=message, person=person).exists()
    shot(page, "join-app-2-offline-read")

    # Online again: the read is recorded.
    phone.set_offline(False)
    page.reload()
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 0)")
    assert eventually(
        FeedRead.objects.filter(broadcast=message, person=person, read_at__isnull=False).exists
    )
