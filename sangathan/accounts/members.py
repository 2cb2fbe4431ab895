"""Bearer-token authentication for the member app's hottest route, the feed.

``TokenAuth`` (``sangathan.accounts.api``) gives every route a full ``User``; building it with
the member's record and unit costs more than the feed's own query. ``MemberTokenAuth`` reads
token, user, person and unit path in one SQL statement and hands the route a small
:class:`sangathan.broadcasts.feed.Member`; the ``User`` is loaded only if something (an audit
row, say) asks for ``request.user``. ``FeedTokenAuth`` goes one step further for the feed
itself: it only takes the token off the request, and the feed reads the token and the first
page in one statement (``sangathan.broadcasts.feed.token_feed_page``), answering 401 itself
when the token is not live. The rules are those of ``user_for_api_token``: a live token of an
active user, ``last_used_at`` written at most once an hour.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from django.db import OperationalError, connection
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from ninja.security import HttpBearer

from sangathan.accounts.actions import API_TOKEN_PREFIX, _token_hash

# The member behind a live token: (token id, last used as UTC text, user id, person id, app
# status, unit path). ``{last_used}`` is the vendor's text form of t.last_used_at.
TOKEN_SELECT = """
SELECT t.id AS token_id, {last_used} AS last_used, t.user_id, p.id AS person_id,
       p.app_status, o.path
FROM accounts_apitoken t
JOIN accounts_user u ON u.id = t.user_id
LEFT JOIN people_person p ON p.id = u.person_id
LEFT JOIN org_orgunit o ON o.id = p.unit_id
WHERE t.key_hash = %s AND t.expires_at > %s AND u.is_active
"""


def token_select() -> str:
    return _token_select(connection.vendor)


@functools.cache
def _token_select(vendor: str) -> str:
    from sangathan.broadcasts.feed import utc_text

    return TOKEN_SELECT.format(last_used=utc_text("t.last_used_at"))


def token_params(raw: str, now) -> list | None:
    """The parameters of ``TOKEN_SELECT`` for the bearer token ``raw`` (None if it cannot be
    one of ours)."""
    if not raw or not raw.startswith(API_TOKEN_PREFIX):
        return None
    return [_token_hash(raw), connection.ops.adapt_datetimefield_value(now)]


def first_statement(run):
    """``run(health_check)`` as the request's first statement, without Django's health-check
    ``SELECT 1`` before it (a third round trip on every feed request): a connection the
    server has dropped fails the statement instead, and is replaced, and ``run`` asked once
    more."""
    try:
        result = run(False)
    except OperationalError:
        if connection.in_atomic_block:
            raise
        connection.close()
        result = run(True)
    # The statement has just shown the connection works: no SELECT 1 later in the request.
    connection.health_check_done = True
    return result


def member_of_row(row, now):
    """The :class:`~sangathan.broadcasts.feed.Member` of a ``TOKEN_SELECT`` row; writes the
    token's ``last_used_at`` when it is over an hour old."""
    from sangathan.accounts.models import ApiToken
    from sangathan.broadcasts.feed import Member, _datetime
    from sangathan.people.models import AppStatus

    token_id, last_used, user_id, person_id, app_status, path = row
    last_used = _datetime(last_used)
    if last_used is None or now - last_used > timedelta(hours=1):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    member = Member(person_id, path or "", app_status == AppStatus.JOINED)
    member.user_id = user_id
    return member


def member_for_api_token(raw: str):
    """The member holding the live token ``raw`` (``person_id`` None when the user has no
    member record), else None."""
    from sangathan.broadcasts.feed import hot_cursor

    now = timezone.now()
    params = token_params(raw, now)
    if params is None:
        return None

    def run(health_check: bool):
        with hot_cursor(health_check=health_check) as cur:
            cur.execute(token_select(), params)
            return cur.fetchone()

    row = first_statement(run)
    return None if row is None else member_of_row(row, now)


def set_lazy_user(request, member) -> None:
    """``request.user`` as the token's user, loaded only if something asks for it."""
    from sangathan.accounts.models import User

    user_id = member.user_id
    request.user = SimpleLazyObject(lambda: User.objects.get(pk=user_id))


class MemberTokenAuth(HttpBearer):
    """``Authorization: Bearer sgn_…`` from the member app, answered with a ``Member``."""

    def authenticate(self, request, token: str):
        member = member_for_api_token(token)
        if member is not None:
            set_lazy_user(request, member)
        return member


@dataclass(frozen=True)
class BearerToken:
    """A bearer token not yet looked up: the route reads it with its own first statement and
    must answer 401 itself when it is not live."""

    raw: str


class FeedTokenAuth(HttpBearer):
    """``Authorization: Bearer sgn_…`` taken off the request unchecked, for a route that looks
    the token up in its own statement (the feed). Anything else is not ours, and the route's
    next authentication (the staff session) is tried."""

    def authenticate(self, request, token: str):
        if not token or not token.startswith(API_TOKEN_PREFIX):
            return None
        return BearerToken(token)
