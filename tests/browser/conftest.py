"""What every browser test shares: Debian's Chromium (never a downloaded one) and one database
connection between the test and the live server."""

import os
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture(autouse=True, scope="session")
def live_server_serves_the_site_application():
    """The live server serves what ``sangathan serve`` does: Django's handler with the member
    app's feed request answered in front of it (``sangathan.broadcasts.feedroute``), so the
    member app's feed in these tests comes the way it comes to phones."""
    import django.test.testcases as testcases
    from django.core.handlers.wsgi import WSGIHandler

    from sangathan.broadcasts.feedroute import MemberFeedRoute

    original = testcases.WSGIHandler
    testcases.WSGIHandler = lambda: MemberFeedRoute(WSGIHandler())
    yield
    testcases.WSGIHandler = original


@contextmanager
def playwright(monkeypatch, live_server):
    """Playwright's sync API, with the test body on the live server's database connection.

    The test database is SQLite's shared-cache memory database, and the live server is handed
    the test's connection so that both see one database through one connection. Entering
    Playwright's sync API switches greenlets, and the test body comes back in a different
    context: Django's connection registry (context-local) is then empty there, and the first
    query opened a second connection to the shared cache. That connection's reads failed at
    once with "database table is locked" whenever the server was writing (about one run in
    five). Pointing the registry back at the server's connection leaves a single connection.
    """
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed; the browser test needs Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop running in this thread; Django would then
    # refuse ORM calls from the test body (they are safe: the loop is not ours).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections

    shared = dict(live_server.thread.connections_override)
    with sync_api.sync_playwright() as pw:
        for alias, connection in shared.items():
            connections[alias] = connection
        yield pw


def eventually(check, timeout: float = 10.0):
    """``check()`` (a database read) until it is truthy or ``timeout`` seconds pass; its last
    value. The app answers a tap at once and posts it in the background (the outbox holds
    only what failed to go), so the row lands a moment after the page shows the change."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)
