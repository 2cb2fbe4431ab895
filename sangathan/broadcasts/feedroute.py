"""The member app's feed request, answered in front of Django's request machinery.

``GET /api/v1/feed`` with a bearer token is what every member's phone asks for, and most
often. Measured in process (SQLite, 1/10 national), Django's middleware chain, URL resolver and
django-ninja's operation (parameter model, authentication chain, response) took 0.7 ms of the
request's 1.7 ms, against 0.5 ms for the statement itself. :class:`MemberFeedRoute` wraps the
site's WSGI application and answers that one request itself, with the same statement
(:func:`sangathan.broadcasts.feed.token_feed_page`), the same language rule
(``HindiFirstLocaleMiddleware``), the same response headers (the response goes through
the ``process_response`` of the middleware that add headers to it: clickjacking, common,
locale, security; a test holds the headers to the full stack's) and the same request
signals (database connections opened, aged and closed as for any request).

Only the successful answer is made here. Anything else goes to the full stack unchanged,
which answers it as it always has: another method or path, no bearer token or not one of
ours, a page size that is not a plain number, a bad page marker, a token that is not live, a
login without a member record, an error (logged here first). The django-ninja route stays
the definition: its schema is the OpenAPI document, it serves the staff session, and a test
holds this route's pages to it. (Imported before Django is set up: models inside.)
"""

from __future__ import annotations

import json
import logging

from django.core import signals
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.http import HttpResponse
from django.urls import set_script_prefix

FEED_PATH = "/api/v1/feed"
BEARER = "Bearer sgn_"  # sangathan.accounts.actions.API_TOKEN_PREFIX, asserted in tests

logger = logging.getLogger(__name__)


def _noop(request):  # the middleware below are used for their process_* methods only
    return None


class MemberFeedRoute:
    """WSGI application: the member app's feed request answered here, everything else by
    ``application`` (Django's)."""

    def __init__(self, application):
        self.application = application
        self._locale = None
        self._response_middleware = None

    def __call__(self, environ, start_response):
        if (
            environ.get("PATH_INFO") != FEED_PATH
            or environ.get("REQUEST_METHOD") != "GET"
            or not environ.get("HTTP_AUTHORIZATION", "").startswith(BEARER)
        ):
            return self.application(environ, start_response)
        try:
            response = self._answer(environ)
        except Exception:
            logger.exception("The member feed route failed; the full stack answers instead.")
            response = None
        if response is None:
            return self.application(environ, start_response)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return response  # closing it sends request_finished, as Django's handler does

    def _middleware(self):
        if self._response_middleware is None:
            from django.middleware.clickjacking import XFrameOptionsMiddleware
            from django.middleware.common import CommonMiddleware
            from django.middleware.security import SecurityMiddleware

            from sangathan.core.middleware import HindiFirstLocaleMiddleware

            self._locale = HindiFirstLocaleMiddleware(_noop)
            # In the order Django applies them to a response: the innermost first.
            self._response_middleware = [
                XFrameOptionsMiddleware(_noop),
                CommonMiddleware(_noop),
                self._locale,
                SecurityMiddleware(_noop),
            ]
        return self._locale, self._response_middleware

    def _answer(self, environ) -> HttpResponse | None:
        from sangathan.broadcasts.feed import BadCursor, page_size, token_feed_page

        request = WSGIRequest(environ)
        limit_text = request.GET.get("limit", "20")
        if not limit_text.isascii() or not limit_text.isdigit():
            return None  # the API's own validation error
        locale, response_middleware = self._middleware()
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=self.__class__, environ=environ)
        locale.process_request(request)
        try:
            found = token_feed_page(
                environ["HTTP_AUTHORIZATION"][len("Bearer ") :],
                cursor=request.GET.get("cursor", ""),
                limit=page_size(int(limit_text)),
                topic=request.GET.get("topic", ""),
            )
        except BadCursor:
            found = None
        if found is None or found[0].person_id is None:
            signals.request_finished.send(sender=self.__class__)
            return None
        _member, items, next_cursor = found
        body = json.dumps({"items": items, "next_cursor": next_cursor}, ensure_ascii=False)
        response = HttpResponse(body.encode(), content_type="application/json")
        for middleware in response_middleware:
            response = middleware.process_response(request, response)
        response._handler_class = self.__class__
        return response


def site_application():
    """The site's WSGI application: Django's, with the member app's feed request answered in
    front of it (``sangathan.wsgi``, ``sangathan serve`` and the feed bench serve this)."""
    from django.core.wsgi import get_wsgi_application

    return MemberFeedRoute(get_wsgi_application())
