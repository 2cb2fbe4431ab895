"""One page of a member's feed, as plain rows: the hot path of the member app.

``Broadcast.objects.feed_for(person)`` is the definition of a feed (the single-item routes use
it, and a test holds this module to it); this module reads the same rows for a page in one SQL
statement: the broadcasts addressed to the member's unit or an ancestor (an ``IN`` over at most
8 path prefixes, then the index (audience_unit, status, sent_at)), with the audience unit's
names and the member's own receipt joined in. Narrowed broadcasts (filters, silence
exclusions) come back in the same rows and are checked against the member in Python; the
member's appointments and tags are read only when such a row is on the page.

Why SQL by hand: compiling the ORM queries, building model instances and validating the
response cost ~15 ms a request against well under 1 ms for the rows themselves, and the feed
is what every member's phone asks for. The statements are plain enough for SQLite and
PostgreSQL alike; values come back through :func:`_datetime` and :func:`_json`.
"""

from __future__ import annotations

import base64
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language

STEPLEN = 4  # OrgUnit.steplen (treebeard), asserted in tests

# The newest n broadcasts addressed to each ancestor unit, each branch one seek down the index
# (audience_unit, status, sent_at); then the n newest of those, with the unit and receipt.
# (One ``IN`` over the units instead lets both databases scan every sent broadcast and sort.)
FEED_BRANCH = """
SELECT id, sent_at FROM (
  SELECT b.id, b.sent_at FROM broadcasts_broadcast b
  WHERE b.audience_unit_id = (SELECT id FROM org_orgunit WHERE path = %s)
    AND b.status = 'sent'{more}
  ORDER BY b.sent_at DESC, b.id DESC
  LIMIT %s
) AS branch{i}
"""

FEED_SQL = """
WITH top AS MATERIALIZED (
  SELECT id, sent_at FROM ({branches}) AS candidates ORDER BY sent_at DESC, id DESC LIMIT %s
)
SELECT b.id, b.code, b.title_hi, b.body_hi, b.title_en, b.body_en, b.link, b.attachment,
       b.topic, b.local_note, b.sent_at, b.narrowed, b.filters, b.excluded_paths,
       u.code, u.name, u.name_hi, u.name_en,
       r.read_at IS NOT NULL AS is_read, r.shared_at IS NOT NULL AS is_shared
FROM top
JOIN broadcasts_broadcast b ON b.id = top.id
JOIN org_orgunit u ON u.id = b.audience_unit_id
LEFT JOIN broadcasts_feedread r ON r.broadcast_id = b.id AND r.person_id = %s
ORDER BY top.sent_at DESC, top.id DESC
"""

APPOINTMENTS_SQL = """
SELECT l.slug, a.position_id, p.wing
FROM people_appointment a
JOIN org_orgunit u ON u.id = a.unit_id
JOIN org_level l ON l.id = u.level_id
JOIN people_position p ON p.id = a.position_id
WHERE a.person_id = %s AND a.starts <= %s AND (a.ends IS NULL OR a.ends > %s)
"""

TAGS_SQL = """
SELECT t.name FROM people_tag t JOIN people_person_tags pt ON pt.tag_id = t.id
WHERE pt.person_id = %s
"""


@dataclass
class Member:
    """What the feed needs to know about the reader: their record, unit path and app status.
    Appointments and tags are read on first use (only narrowed broadcasts need them)."""

    person_id: int | None
    path: str
    joined: bool
    user_id: int | None = None
    _levels: set | None = field(default=None, repr=False)
    _tags: set | None = field(default=None, repr=False)

    @classmethod
    def of(cls, person) -> Member:
        from sangathan.people.models import AppStatus

        return cls(person.pk, person.unit.path, person.app_status == AppStatus.JOINED)

    def _appointments(self) -> None:
        today = connection.ops.adapt_datefield_value(timezone.localdate())
        with connection.cursor() as cur:
            cur.execute(APPOINTMENTS_SQL, [self.person_id, today, today])
            rows = cur.fetchall()
        self._levels = {r[0] for r in rows}
        self._positions = {r[1] for r in rows}
        self._wings = {r[2] for r in rows}

    @property
    def levels(self) -> set:
        if self._levels is None:
            self._appointments()
        return self._levels

    @property
    def positions(self) -> set:
        if self._levels is None:
            self._appointments()
        return self._positions

    @property
    def wings(self) -> set:
        if self._levels is None:
            self._appointments()
        return self._wings

    @property
    def tags(self) -> set:
        if self._tags is None:
            with connection.cursor() as cur:
                cur.execute(TAGS_SQL, [self.person_id])
                self._tags = {r[0] for r in cur.fetchall()}
        return self._tags

    def matches(self, filters: dict, excluded_paths) -> bool:
        """The same test as ``sangathan.broadcasts.audience.MemberProfile.matches``."""
        from sangathan.broadcasts.audience import MemberProfile

        return MemberProfile.matches(self, filters, excluded_paths)


def _datetime(value) -> datetime | None:
    """A timestamp column as an aware datetime (SQLite hands back text in UTC)."""
    if value is None or isinstance(value, datetime):
        if value is not None and timezone.is_naive(value):
            value = value.replace(tzinfo=UTC)
        return value
    parsed = parse_datetime(value)
    return parsed.replace(tzinfo=UTC) if timezone.is_naive(parsed) else parsed


def _json(value):
    if value is None or isinstance(value, (dict, list)):
        return value
    return json.loads(value)


_ENCODER = DjangoJSONEncoder()


@contextmanager
def hot_cursor(*, health_check: bool = True):
    """A cursor for the member app's hottest statements (the feed page, the token lookup).

    On PostgreSQL it binds parameters on the server, so psycopg prepares a statement it has
    run ``prepare_threshold`` times on a connection (``SANGATHAN_PG_PREPARE_THRESHOLD``, 5;
    Django leaves it off): the feed's UNION of one branch per ancestor is planned once per
    connection and shape instead of on every request (planning took ~1.3 ms, as long as
    running it). The rest of the site keeps Django's client-side binding, which never
    prepares. It is still Django's cursor wrapper: errors are translated as any other.
    ``health_check=False`` skips Django's ``SELECT 1`` before the request's first statement,
    for a caller that retries that statement on a fresh connection instead
    (``sangathan.accounts.members``)."""
    if connection.vendor != "postgresql" or connection.queries_logged:
        # (While queries are logged — DEBUG, a test counting them — the usual cursor: the
        # log cannot show a prepared statement's text.)
        with connection.cursor() as cur:
            yield cur
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    if health_check:
        connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    cur = connection.make_cursor(ServerBindingCursor(connection.connection))
    try:
        yield cur
    finally:
        cur.close()


class BadCursor(ValueError):
    """The page marker could not be read."""


def encode_cursor(sent_at: datetime, pk: int) -> str:
    raw = f"{sent_at.isoformat()}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, pk = raw.split("|")
        sent_at = parse_datetime(when)
        if sent_at is None:
            raise ValueError
        return sent_at, int(pk)
    except (ValueError, UnicodeDecodeError):
        raise BadCursor(cursor) from None


def _ancestor_paths(path: str) -> list[str]:
    return [path[:i] for i in range(STEPLEN, len(path) + 1, STEPLEN)]


def _rows(member: Member, after: tuple[datetime, int] | None, topic: str, n: int) -> list:
    more = ""
    extra: list = []
    if topic:
        more += " AND b.topic = %s"
        extra.append(topic)
    if after is not None:
        sent_at = connection.ops.adapt_datetimefield_value(after[0])
        more += " AND (b.sent_at < %s OR (b.sent_at = %s AND b.id < %s))"
        extra += [sent_at, sent_at, after[1]]
    branches, params = [], []
    for i, path in enumerate(_ancestor_paths(member.path)):
        branches.append(FEED_BRANCH.format(more=more, i=i))
        params += [path, *extra, n]
    sql = FEED_SQL.format(branches=" UNION ALL ".join(branches))
    with hot_cursor() as cur:
        cur.execute(sql, [*params, n, member.person_id])
        return cur.fetchall()


def feed_page(
    member, *, cursor: str = "", limit: int = 20, topic: str = ""
) -> tuple[list[dict], str | None]:
    """Up to ``limit`` feed items for ``member`` (a :class:`Member` or a ``Person``), newest
    first, after ``cursor``; and the cursor of the next page (None on the last). Raises
    :class:`BadCursor`."""
    if not isinstance(member, Member):
        member = Member.of(member)
    after = decode_cursor(cursor) if cursor else None
    hindi = (get_language() or "hi").startswith("hi")
    kept: list = []
    # Narrowed rows the member does not match are dropped, so read a little more than a page
    # and go on from the last row read until the page is full or the feed ends.
    chunk = limit + 1 + 8
    while len(kept) <= limit:
        rows = _rows(member, after, topic, chunk)
        for row in rows:
            if row[11] and not member.matches(_json(row[12]) or {}, _json(row[13])):
                continue
            kept.append(row)
        if len(rows) < chunk:
            break
        after = (_datetime(rows[-1][10]), rows[-1][0])
        chunk = max(chunk, 2 * (limit + 1 - len(kept)))
    more = len(kept) > limit
    kept = kept[:limit]
    items = [_item(row, hindi) for row in kept]
    if more:
        last = kept[-1]
        return items, encode_cursor(_datetime(last[10]), last[0])
    return items, None


def _item(row: tuple, hindi: bool) -> dict:
    (
        _pk,
        code,
        title_hi,
        body_hi,
        title_en,
        body_en,
        link,
        attachment,
        topic,
        local_note,
        sent_at,
        _narrowed,
        _filters,
        _excluded,
        unit_code,
        unit_name,
        unit_name_hi,
        unit_name_en,
        is_read,
        is_shared,
    ) = row
    if hindi:
        title, body = title_hi or title_en, body_hi or body_en
        unit_display = unit_name_hi or unit_name
    else:
        title, body = title_en or title_hi, body_en or body_hi
        unit_display = unit_name_en or unit_name
    return {
        "id": code,
        "title": title,
        "body": body,
        "title_hi": title_hi,
        "body_hi": body_hi,
        "title_en": title_en,
        "body_en": body_en,
        "link": link,
        "attachment": f"/api/v1/feed/{code}/attachment" if attachment else "",
        "topic": topic,
        "unit": unit_code,
        "unit_name": unit_display,
        "local_note": local_note,
        "sent_at": _ENCODER.default(_datetime(sent_at)),
        "read": bool(is_read),
        "shared": bool(is_shared),
    }
