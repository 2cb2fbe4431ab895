"""Bearer-token authentication for the member app's hottest route, the feed.

``TokenAuth`` (``sangathan.accounts.api``) gives every route a full ``User``; building it with
the member's record and unit costs more than the feed's own query. ``MemberTokenAuth`` reads
token, user, person and unit path in one SQL statement and hands the route a small
:class:`sangathan.broadcasts.feed.Member`; the ``User`` is loaded only if something (an audit
row, say) asks for ``request.user``. The rules are those of ``user_for_api_token``: a live
token of an active user, ``last_used_at`` written at most once an hour.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import OperationalError, connection
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from ninja.security import HttpBearer

from sangathan.accounts.actions import API_TOKEN_PREFIX, _token_hash

TOKEN_SQL = """
SELECT t.id, t.last_used_at, t.user_id, p.id, p.app_status, o.path
FROM accounts_apitoken t
JOIN accounts_user u ON u.id = t.user_id
LEFT JOIN people_person p ON p.id = u.person_id
LEFT JOIN org_orgunit o ON o.id = p.unit_id
WHERE t.key_hash = %s AND t.expires_at > %s AND u.is_active
"""


def _token_row(params: list, *, health_check: bool):
    from sangathan.broadcasts.feed import hot_cursor

    with hot_cursor(health_check=health_check) as cur:
        cur.execute(TOKEN_SQL, params)
        return cur.fetchone()


def member_for_api_token(raw: str):
    """The member holding the live token ``raw`` (``person_id`` None when the user has no
    member record), else None."""
    from sangathan.accounts.models import ApiToken
    from sangathan.broadcasts.feed import Member, _datetime
    from sangathan.people.models import AppStatus

    if not raw or not raw.startswith(API_TOKEN_PREFIX):
        return None
    now = timezone.now()
    params = [_token_hash(raw), connection.ops.adapt_datetimefield_value(now)]
    try:
        row = _token_row(params, health_check=False)
    except OperationalError:
        # The request's first statement runs without Django's health check (a SELECT 1, a
        # third round trip on every feed request): a connection the server has dropped
        # fails here instead, and is replaced, and the lookup asked once more.
        if connection.in_atomic_block:
            raise
        connection.close()
        row = _token_row(params, health_check=True)
    # The statement has just shown the connection works: no SELECT 1 later in the request.
    connection.health_check_done = True
    if row is None:
        return None
    token_id, last_used, user_id, person_id, app_status, path = row
    last_used = _datetime(last_used)
    if last_used is None or now - last_used > timedelta(hours=1):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    member = Member(person_id, path or "", app_status == AppStatus.JOINED)
    member.user_id = user_id
    return member


class MemberTokenAuth(HttpBearer):
    """``Authorization: Bearer sgn_…`` from the member app, answered with a ``Member``."""

    def authenticate(self, request, token: str):
        member = member_for_api_token(token)
        if member is not None:
            from sangathan.accounts.models import User

            user_id = member.user_id
            request.user = SimpleLazyObject(lambda: User.objects.get(pk=user_id))
        return member
