"""The member app's feed request answered in front of Django (``feedroute.MemberFeedRoute``):
the same answer as the django-ninja route, byte for byte and header for header, and
everything it does not answer itself handed to the full stack untouched."""

import io
import json
import random
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sangathan.accounts.actions import API_TOKEN_PREFIX, do_issue_api_token
from sangathan.broadcasts import feed, feedroute
from sangathan.broadcasts.feedroute import MemberFeedRoute
from sangathan.broadcasts.models import Broadcast
from sangathan.people.models import Person
from tests.broadcasts.test_feed import expected, scatter

pytestmark = pytest.mark.django_db


@contextmanager
def in_test_transaction():
    """As Django's test client does: the request signals must not close the connection that
    holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def call(app, path="/api/v1/feed", *, query=None, method="GET", **headers):
    """One request through a WSGI application: (status, headers, body)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": urlencode(query or {}),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        **headers,
    }
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"], started["headers"] = status, response_headers

    with in_test_transaction():
        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()
    return started["status"], started["headers"], body


class FullStack:
    """Django's handler, counting the requests it is handed."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


def bearer(user) -> dict:
    raw, _token = do_issue_api_token(user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_the_route_knows_our_token_prefix():
    assert feedroute.BEARER == f"Bearer {API_TOKEN_PREFIX}"


def test_pages_headers_and_bytes_are_the_full_stacks(cast):
    scatter(cast, 60, random.Random(5))
    full = FullStack()
    fast = MemberFeedRoute(full)
    cases = [{}, {"HTTP_ACCEPT_LANGUAGE": "en"}, {"HTTP_COOKIE": "django_language=en"}]
    for user in (cast.volunteer, cast.convenor, cast.outsider):
        member = bearer(user)
        call(full, **member)  # the token's hourly last-used write, out of the way
        person = Person.objects.select_related("unit").get(pk=user.person_id)
        for extra in cases:
            for topic in ("", "scheme"):
                seen, cursor = [], ""
                while True:
                    query = {"limit": 7, "topic": topic, **({"cursor": cursor} if cursor else {})}
                    calls = full.calls
                    ours = call(fast, query=query, **member, **extra)
                    assert full.calls == calls  # answered in front of Django
                    theirs = call(full, query=query, **member, **extra)
                    assert ours[0] == theirs[0] == "200 OK"
                    assert sorted(ours[1]) == sorted(theirs[1])
                    assert ours[2] == theirs[2]
                    page = json.loads(ours[2])
                    seen += [i["id"] for i in page["items"]]
                    cursor = page["next_cursor"]
                    if not cursor:
                        break
                assert seen == expected(person, topic)
    headers = dict(ours[1])
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Frame-Options"] == "DENY" and "Content-Length" in headers


def test_hindi_first_and_the_member_app_language(cast):
    Broadcast.objects.create(
        audience_unit=cast.india,
        title_hi="योजना",
        body_hi="सूचना",
        title_en="Scheme",
        body_en="Notice",
        status=Broadcast.Status.SENT,
        sent_at=timezone.now(),
    )
    fast = MemberFeedRoute(FullStack())
    member = bearer(cast.volunteer)
    _s, headers, body = call(fast, **member)
    assert dict(headers)["Content-Language"] == "hi" and "योजना".encode() in body
    _s, headers, body = call(fast, **member, HTTP_ACCEPT_LANGUAGE="en-IN,en;q=0.9")
    item = json.loads(body)["items"][0]
    assert dict(headers)["Content-Language"] == "en" and item["title"] == "Scheme"


@pytest.mark.parametrize(
    "case",
    [
        dict(method="POST"),
        dict(path="/api/v1/feed/"),
        dict(path="/api/v1/feedx"),
        dict(auth=""),
        dict(auth="Bearer nope"),
        dict(auth="Bearer sgn_notalivetoken"),
        dict(query={"cursor": "!!"}),
        dict(query={"limit": "ten"}),
        dict(query={"limit": "-1"}),  # the API's to clamp
        dict(query={"limit": "٣"}),  # an Arabic-Indic digit: isdigit, but not ours to judge
    ],
)
def test_everything_else_goes_to_the_full_stack_as_it_is(cast, case):
    full = FullStack()
    fast = MemberFeedRoute(full)
    auth = case.get("auth", bearer(cast.volunteer)["HTTP_AUTHORIZATION"])
    kwargs = dict(path=case.get("path", "/api/v1/feed"), query=case.get("query"))
    kwargs["method"] = case.get("method", "GET")
    ours = call(fast, **kwargs, **({"HTTP_AUTHORIZATION": auth} if auth else {}))
    assert full.calls == 1
    theirs = call(full, **kwargs, **({"HTTP_AUTHORIZATION": auth} if auth else {}))
    assert ours[0] == theirs[0] and ours[2] == theirs[2]


def test_a_login_without_a_member_record_is_the_full_stacks(cast):
    full = FullStack()
    status, _h, _b = call(MemberFeedRoute(full), **bearer(cast.superuser))
    assert full.calls == 1 and status.startswith("404")


def test_a_failure_is_logged_and_the_full_stack_answers(cast, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    full = FullStack()
    monkeypatch.setattr(feed, "token_feed_page", broken)
    status, _h, body = call(MemberFeedRoute(full), **bearer(cast.volunteer))
    assert full.calls == 1 and status == "200 OK" and b"items" in body
    assert "full stack answers instead" in caplog.text


def test_one_statement_and_the_request_signals(cast):
    scatter(cast, 30, random.Random(3))
    Broadcast.objects.update(narrowed=False, filters={}, excluded_paths=[])
    member = bearer(cast.volunteer)
    fast = MemberFeedRoute(FullStack())
    call(fast, **member)
    seen = []

    def started(**kwargs):
        seen.append("started")

    def finished(**kwargs):
        seen.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        with CaptureQueriesContext(connection) as queries:
            status, _h, _b = call(fast, **member)
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert status == "200 OK"
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    assert seen == ["started", "finished"]  # connections aged and closed as for any request


def test_a_large_page_is_clamped_as_the_api_clamps_it(cast):
    scatter(cast, 200, random.Random(13))
    full = FullStack()
    member = bearer(cast.volunteer)
    call(full, **member)
    ours = call(MemberFeedRoute(full), query={"limit": "500"}, **member)
    assert full.calls == 1  # only the warm-up: the large page was answered in front
    assert ours == call(full, query={"limit": "500"}, **member)
    assert len(expected(cast.volunteer_person)) > feed.MAX_PAGE
    assert len(json.loads(ours[2])["items"]) == feed.MAX_PAGE
