"""Drives the member app in Debian's Chromium at a phone's size (360×740): OTP login, the feed,
offline reading and an offline read that is sent when the connection returns, installability
(Chromium's own check) and the service worker; then the invite and profile screens. Screenshots
go to tests/screenshots/."""

import json
import re
import time

import pytest

from sangathan.broadcasts.actions import Draft, do_create_broadcast
from sangathan.broadcasts.models import FeedRead
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, eventually, playwright
from tests.browser.test_staff_ui import otp_codes  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}


def wait_js(page, expression: str, timeout: float = 10) -> None:
    """Wait until ``expression`` (which may be a promise) is truthy in the page.
    (``wait_for_function`` does not await a promise: it would take the promise as true.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(100)


# Every control a thumb has to hit: buttons, button-like links, fields, tabs, switch rows.
TAP_TARGETS = (
    "button, a.button, input:not([type=checkbox]), textarea, .tabs a, a.lang, label.switch"
)


def check_phone_layout(page) -> None:
    """Nothing wider than the 360 px screen, and every visible tap target at least 48 px tall
    (and wide)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"
    small = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
        .filter((el) => el.offsetParent !== null || getComputedStyle(el).position === "fixed")
        .map((el) => [el.id || el.textContent.trim().slice(0, 30), el.getBoundingClientRect()])
        .filter(([, r]) => r.width > 0 && (r.height < 47.5 || r.width < 47.5))
        .map(([name, r]) => `${name}: ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        TAP_TARGETS,
    )
    assert not small, small


def shot(page, name: str, *, full_page: bool = False) -> None:
    """What the phone's screen shows (the tab bar is fixed to its bottom); ``full_page`` for
    the long profile. Checks the layout first."""
    check_phone_layout(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def _broadcasts(cast):
    older = do_create_broadcast(
        cast.convenor,
        Draft(
            audience_unit=cast.lucknow,
            title_hi="रविवार को बूथ बैठक",
            body_hi="सभी बूथ अध्यक्ष रविवार सुबह 10 बजे पार्टी कार्यालय पहुँचें। अपने बूथ की सदस्य सूची साथ लाएँ।",
            title_en="Booth meeting on Sunday",
            body_en="All booth presidents: the party office, Sunday 10 am.",
        ),
    )
    newer = do_create_broadcast(
        cast.convenor,
        Draft(
            audience_unit=cast.ac_west,
            title_hi="मतदाता सूची पुनरीक्षण अभियान",
            body_hi="अपने बूथ में नए मतदाताओं का पंजीकरण कराएँ: फ़ॉर्म 6 भरवाएँ और बीएलओ से मिलें।",
            link="https://voters.eci.gov.in/",
        ),
    )
    return older, newer


@pytest.fixture
def phone(monkeypatch, tmp_path, live_server):
    """A Chromium profile on disk at a phone's size: Chromium never offers to install an app
    from an incognito context, which is what Playwright's ``new_context`` makes."""
    with playwright(monkeypatch, live_server) as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            locale="hi-IN",
            viewport=PHONE,
            device_scale_factor=2,
            service_workers="allow",
        )
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            context.close()


def test_login_feed_offline_read_and_sync(
    cast,
    live_server,
    phone,
    otp_codes,  # noqa: F811
    monkeypatch,
):
    from playwright.sync_api import expect

    from sangathan.broadcasts.feedroute import MemberFeedRoute

    # Which feed requests the route in front of Django answered (the live server's thread).
    answered = []
    answer = MemberFeedRoute._answer

    def spy(self, environ):
        response = answer(self, environ)
        answered.append(response is not None)
        return response

    monkeypatch.setattr(MemberFeedRoute, "_answer", spy)
    older, newer = _broadcasts(cast)
    context = phone
    page = context.pages[0] if context.pages else context.new_page()

    page.goto(live_server.url + "/app/")
    expect(page.locator("#screen-login")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    shot(page, "member-01-login")

    # The number typed with a Hindi keyboard's digits.
    page.locator("#phone").press_sequentially("९८१०० ००००३", delay=10)
    page.locator("#phone-form button[type=submit]").click()
    expect(page.locator("#code-form")).to_be_visible()
    code = otp_codes["+919810000003"]
    page.fill("#code", code)
    page.locator("#code-form button[type=submit]").click()

    items = page.locator("#feed-list article.item")
    expect(items).to_have_count(2)
    assert True in answered  # the app's feed came from the member feed route
    expect(items.first).to_contain_text("मतदाता सूची पुनरीक्षण अभियान")
    expect(items.nth(1)).to_contain_text("रविवार को बूथ बैठक")
    expect(page.locator("#feed-list article.item.unread")).to_have_count(2)
    token = page.evaluate("localStorage.getItem('sangathan.token')")
    assert token and token.startswith("sgn_")

    # The service worker is active, controls the page, and saved the feed for offline use.
    state = page.evaluate("navigator.serviceWorker.ready.then(r => r.active.state)")
    assert state == "activated"
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    wait_js(
        page,
        "caches.open('sangathan-data').then(c => c.keys())"
        ".then(keys => keys.some(r => r.url.includes('/api/v1/feed')))",
    )
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == live_server.url + "/app/"
    shot(page, "member-02-feed")

    # Chromium finds the app installable (manifest, icons, service worker, start URL).
    cdp = context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/app/manifest.webmanifest")
    assert not manifest.get("errors")

    # Offline: the app still opens and reads the feed (and says it shows a saved copy).
    context.set_offline(True)
    page.reload()
    expect(page.locator("#net")).to_be_visible()
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("मतदाता सूची पुनरीक्षण अभियान")
    assert page.evaluate("fetch('/api/v1/feed?limit=20&x=1').then(() => 'net', () => 'none')") == (
        "none"
    ), "the network must really be off for this test to mean anything"

    # Open the older message offline: it shows as read, and the read waits in the outbox.
    items.nth(1).locator(".item-head").click()
    expect(items.nth(1)).to_have_class(re.compile(r"\bopen\b"))
    expect(items.nth(1)).not_to_have_class(re.compile(r"\bunread\b"))
    expect(page.locator("#toast")).to_be_visible()
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 1)")
    shot(page, "member-03-feed-offline")
    # Still offline after another start: the read is still shown as read.
    page.reload()
    expect(page.locator("#feed-list article.item.unread")).to_have_count(1)
    assert not FeedRead.objects.filter(broadcast=older, read_at__isnull=False).exists()

    # Back online, it is sent (by the next start, or by the worker's Background Sync, whichever
    # comes first) and recorded.
    context.set_offline(False)
    page.reload()
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 0)")
    read = FeedRead.objects.filter(broadcast=older, person=cast.volunteer_person)
    assert eventually(read.filter(read_at__isnull=False).exists)
    assert not FeedRead.objects.filter(broadcast=newer).exists()

    # Offline without leaving the page: the read waits, and is sent once the connection is
    # back (the page's "online" event, or Background Sync).
    context.set_offline(True)
    expect(page.locator("#net")).to_be_visible()
    items.first.locator(".item-head").click()
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 1)")
    assert not FeedRead.objects.filter(broadcast=newer).exists()
    context.set_offline(False)
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 0)")
    newer_read = FeedRead.objects.filter(broadcast=newer, person=cast.volunteer_person)
    assert eventually(newer_read.filter(read_at__isnull=False).exists)

    # Online again, the server has both as read.
    page.reload()
    expect(items).to_have_count(2)
    expect(page.locator("#feed-list article.item.unread")).to_have_count(0)

    # Share: no share sheet in desktop Chromium, so WhatsApp's link (answered here, not by
    # WhatsApp); the share is recorded.
    context.route(
        re.compile(r"^https://wa\.me/"), lambda route: route.fulfill(body="whatsapp", status=200)
    )
    # (A link to one message opens it, as a tapped notification does.)
    page.goto(f"{live_server.url}/app/#/feed/{newer.code}")
    expect(items.first).to_have_class(re.compile(r"\bopen\b"))
    share = items.first.locator("a[href^='https://wa.me/?text=']")
    expect(share).to_be_visible()
    assert "%E0%A4" in share.get_attribute("href")  # the Hindi text, URL-encoded
    with context.expect_page() as whatsapp:
        share.click()
    whatsapp.value.close()
    shared = page.evaluate("JSON.parse(document.getElementById('member-strings').textContent)")
    expect(items.first.locator(".pill")).to_have_text(shared["shared"])
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 0)")
    assert eventually(newer_read.filter(shared_at__isnull=False).exists)

    # A push message: the worker shows it, and a tap opens the message in the app.
    context.grant_permissions(["notifications"], origin=live_server.url)
    payload = {"title": "नई सूचना", "body": "बूथ बैठक", "url": "", "code": older.code}
    regs = page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)")
    assert regs == 1
    registration_id = _registration_id(cdp)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live_server.url,
            "registrationId": registration_id,
            "data": json.dumps(payload, ensure_ascii=False),
        },
    )
    wait_js(
        page,
        "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(n => n.length === 1"
        f" && n[0].title === 'नई सूचना' && n[0].data.code === '{older.code}')",
    )

    # English on switch, and it stays English.
    page.locator("a.lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#tabs")).to_contain_text("Messages")
    expect(page.locator("#feed-list article.item").first).to_contain_text("मतदाता सूची")
    expect(page.locator("#feed-list article.item").nth(1)).to_contain_text(
        "Booth meeting on Sunday"
    )
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "member-04-feed-english")


def _registration_id(cdp) -> str:
    """The service worker registration's id, from the ServiceWorker domain's events."""
    found: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.extend(r["registrationId"] for r in event["registrations"]),
    )
    cdp.send("ServiceWorker.disable")
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 5
    while not found and time.monotonic() < deadline:
        time.sleep(0.05)
        cdp.send("Runtime.evaluate", {"expression": "1"})
    assert found, "no service worker registration reported"
    return found[0]


def _logged_in(context, user):
    from sangathan.accounts.actions import do_issue_api_token
    from sangathan.accounts.api import me_data

    raw, _token = do_issue_api_token(user, "127.0.0.1")
    user_json = json.dumps(me_data(user), default=str)
    context.add_init_script(
        f"localStorage.setItem('sangathan.token', {json.dumps(raw)});"
        f"localStorage.setItem('sangathan.user', {json.dumps(user_json)});"
    )
    return context.pages[0] if context.pages else context.new_page()


def test_tasks_invite_and_profile(cast, live_server, phone):
    import datetime

    from playwright.sync_api import expect

    from sangathan.people.actions import do_create_task
    from sangathan.people.models import Consent, TaskDone

    forward = do_create_task(
        cast.convenor,
        title="योजना का संदेश अपने बूथ ग्रुप में भेजें",
        kind="forward",
        body="प्रधानमंत्री आवास योजना की जानकारी सभी सदस्यों तक पहुँचाएँ।",
        share_text="प्रधानमंत्री आवास योजना: आवेदन की अंतिम तिथि 30 जून।",
        person=cast.volunteer_person,
    )
    meeting = do_create_task(
        cast.convenor,
        title="सेक्टर बैठक में आएँ",
        kind="attend",
        due=datetime.date.today() + datetime.timedelta(days=3),
        position=cast.booth_pos,
        scope_unit=cast.ac_west,
    )
    page = _logged_in(phone, cast.volunteer)
    page.goto(live_server.url + "/app/#/tasks")
    tasks = page.locator("#task-list article.task")
    expect(tasks).to_have_count(2)
    expect(page.locator("#task-list")).to_contain_text("योजना का संदेश अपने बूथ ग्रुप में भेजें")
    expect(page.locator("#task-list")).to_contain_text("सेक्टर बैठक में आएँ")
    shot(page, "member-05-tasks")
    card = page.locator(f"#task-list [data-task='{forward.pk}']")
    card.get_by_role("button").last.click()
    expect(page.locator(f"#task-list [data-task='{forward.pk}']")).to_have_class(
        re.compile(r"is-done")
    )
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 0)")
    assert eventually(TaskDone.objects.filter(task=forward, person=cast.volunteer_person).exists)

    # Ticked offline: waits, then is recorded when the connection is back.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.set_offline(True)
    page.locator(f"#task-list [data-task='{meeting.pk}'] button").last.click()
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 1)")
    assert not TaskDone.objects.filter(task=meeting).exists()
    phone.set_offline(False)
    wait_js(page, "SangathanOutbox.list().then(l => l.length === 0)")
    assert eventually(TaskDone.objects.filter(task=meeting, person=cast.volunteer_person).exists)
    shot(page, "member-06-tasks-done")

    page.locator("#tabs a[data-tab=invite]").click()
    expect(page.locator("#invite-qr svg")).to_be_visible()
    expect(page.locator("#invite-url")).to_have_value(re.compile(r"/join/\w+$"))
    expect(page.locator("#invite-joined")).to_contain_text("0")
    shot(page, "member-07-invite")

    page.locator("#tabs a[data-tab=profile]").click()
    expect(page.locator("#profile-name")).to_have_text("पूजा यादव")
    expect(page.locator("#profile-unit")).to_contain_text("प्राथमिक विद्यालय 1")
    expect(page.locator("#profile-positions")).to_contain_text("बूथ स्वयंसेवक")
    switches = page.locator("#consents input[role=switch]")
    expect(switches).to_have_count(15)
    shot(page, "member-08-profile", full_page=True)

    # Agree to WhatsApp messages about schemes: recorded, and confirmed on screen.
    switch = page.locator("#consents input[data-channel=whatsapp][data-purpose=schemes]")
    expect(switch).not_to_be_checked()
    switch.locator("xpath=..").click()
    expect(page.locator("#toast")).to_be_visible()
    expect(
        page.locator("#consents input[data-channel=whatsapp][data-purpose=schemes]")
    ).to_be_checked()
    assert (
        Consent.objects.active()
        .filter(person=cast.volunteer_person, channel="whatsapp", purpose="schemes")
        .exists()
    )

    # Notifications: this server has no VAPID key, and the app says so instead of failing.
    page.locator("#push-on").click()
    strings = page.evaluate("JSON.parse(document.getElementById('member-strings').textContent)")
    expect(page.locator("#push-state")).to_have_text(strings["pushUnavailable"])

    # Download my data: a JSON file with the member's own data.
    with page.expect_download() as download:
        page.locator("#export").click()
    exported = download.value.path().read_text(encoding="utf-8")
    assert "पूजा यादव" in json.dumps(json.loads(exported), ensure_ascii=False)

    # Deleting the account asks first, then logs out.
    page.locator("#erase").click()
    expect(page.locator("#erase-dialog")).to_be_visible()
    page.locator("#erase-reason").press_sequentially("अब समय नहीं है", delay=10)
    page.locator("#erase-submit").click()
    expect(page.locator("#erase-dialog .error")).to_be_visible()  # the box is not ticked
    shot(page, "member-09-erase-confirm")
    page.locator("#erase-confirm").check()
    page.locator("#erase-submit").click()
    expect(page.locator("#screen-login")).to_be_visible()
    assert page.evaluate("localStorage.getItem('sangathan.token')") is None
