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
import functools
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language

STEPLEN = 4  # OrgUnit.steplen (treebeard), asserted in tests
# Ancestor branches of the statement that reads the token too (the member's depth is not known
# when it is written); a member deeper than this is read with the path-parameter statement.
TOKEN_BRANCHES = 8

# The newest n broadcasts addressed to each ancestor unit, each branch one seek down the index
# (audience_unit, status, sent_at, id); then the n newest of those, with the unit and receipt.
# (One ``IN`` over the units instead lets both databases scan every sent broadcast and sort.)
FEED_BRANCH = """
SELECT id, sent_at FROM (
  SELECT b.id, b.sent_at FROM broadcasts_broadcast b
  WHERE b.audience_unit_id = (SELECT id FROM org_orgunit WHERE path = {unit})
    AND b.status = 'sent'{more}
  ORDER BY b.sent_at DESC, b.id DESC
  LIMIT %s
) AS branch{i}
"""

FEED_COLUMNS = """
       b.id, b.code, b.title_hi, b.body_hi, b.title_en, b.body_en, b.link, b.attachment,
       b.topic, b.local_note, {sent_at}, b.narrowed, b.filters, b.excluded_paths,
       u.code, u.name, u.name_hi, u.name_en,
       r.read_at IS NOT NULL AS is_read, r.shared_at IS NOT NULL AS is_shared
"""

TOP = """top AS MATERIALIZED (
  SELECT id, sent_at FROM ({branches}) AS candidates ORDER BY sent_at DESC, id DESC LIMIT %s
)"""

# A page for a member whose unit path is known (the staff session, the pages after a first
# one the member's narrowed broadcasts thinned out).
FEED_SQL = """
WITH {top}
SELECT {columns}
FROM top
JOIN broadcasts_broadcast b ON b.id = top.id
JOIN org_orgunit u ON u.id = b.audience_unit_id
LEFT JOIN broadcasts_feedread r ON r.broadcast_id = b.id AND r.person_id = %s
ORDER BY top.sent_at DESC, top.id DESC
"""

# The member app's request: the bearer token's member (``TOKEN_SELECT``) and their page, in
# one statement. No row: the token is not live. One row with no broadcast: an empty feed.
TOKEN_FEED_SQL = """
WITH m AS MATERIALIZED ({token}), {top}
SELECT m.token_id, m.last_used, m.user_id, m.person_id, m.app_status, m.path, {columns}
FROM m
LEFT JOIN top ON 1 = 1
LEFT JOIN broadcasts_broadcast b ON b.id = top.id
LEFT JOIN org_orgunit u ON u.id = b.audience_unit_id
LEFT JOIN broadcasts_feedread r ON r.broadcast_id = b.id AND r.person_id = m.person_id
ORDER BY top.sent_at DESC, top.id DESC
"""
TOKEN_WIDTH = 6  # the member's columns before the page's


def utc_text(column: str) -> str:
    """SQL for a timestamp column as UTC text (``YYYY-MM-DD?HH:MM:SS[.ffffff]``), which
    :func:`json_time` and :func:`_datetime` read: turning twenty timestamps a page into
    datetimes in the driver, only to print them again, cost more than the page's SQL."""
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    # SQLite keeps them as UTC text already; the cast only hides the column's declared type,
    # for which Django's driver settings would parse every value into a datetime.
    return f"CAST({column} AS TEXT)"


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


@functools.lru_cache(maxsize=64)
def _qmark(sql: str) -> str:
    return sql.replace("%s", "?").replace("%%", "%")


class _QmarkCursor(CursorWrapper):
    """Django's cursor wrapper around SQLite's own cursor, the statement's ``%s`` turned
    into ``?`` once per statement text (Django's SQLite cursor runs a regular expression
    over the whole statement on every execution: a tenth of a millisecond for the feed's)."""

    def execute(self, sql, params=None):
        return super().execute(_qmark(sql), params)


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
    (``sangathan.accounts.members``). On SQLite: :class:`_QmarkCursor`. Callers pass the
    same statement text object each time (built once, :func:`functools.cache`)."""
    if connection.queries_logged or connection.vendor not in ("postgresql", "sqlite"):
        # (While queries are logged — DEBUG, a test counting them — the usual cursor: the
        # log cannot show a prepared statement's text.)
        with connection.cursor() as cur:
            yield cur
        return
    if health_check:
        connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    if connection.vendor == "sqlite":
        cur = _QmarkCursor(connection.connection.cursor(), connection)
    else:
        from django.db.backends.postgresql.base import ServerBindingCursor

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


def _filters(after: tuple[datetime, int] | None, topic: str) -> tuple[str, list]:
    """The branches' extra conditions (topic, the page marker) and their parameters."""
    more, extra = "", []
    if topic:
        more += " AND b.topic = %s"
        extra.append(topic)
    if after is not None:
        sent_at = connection.ops.adapt_datetimefield_value(after[0])
        more += " AND (b.sent_at < %s OR (b.sent_at = %s AND b.id < %s))"
        extra += [sent_at, sent_at, after[1]]
    return more, extra


def _rows(member: Member, after: tuple[datetime, int] | None, topic: str, n: int) -> list:
    more, extra = _filters(after, topic)
    params = []
    paths = _ancestor_paths(member.path)
    for path in paths:
        params += [path, *extra, n]
    sql = _feed_sql(connection.vendor, more, len(paths))
    with hot_cursor() as cur:
        cur.execute(sql, [*params, n, member.person_id])
        return cur.fetchall()


@functools.cache
def _feed_sql(vendor: str, more: str, branches: int) -> str:
    """The page statement for a member ``branches`` levels deep (``vendor`` keys the cache:
    the timestamp's SQL differs)."""
    top = TOP.format(
        branches=" UNION ALL ".join(
            FEED_BRANCH.format(unit="%s", more=more, i=i) for i in range(branches)
        )
    )
    return FEED_SQL.format(top=top, columns=FEED_COLUMNS.format(sent_at=utc_text("b.sent_at")))


@functools.cache
def _token_sql(vendor: str, more: str) -> str:
    from sangathan.accounts.members import token_select

    branches = []
    for i in range(TOKEN_BRANCHES):
        n = STEPLEN * (i + 1)
        unit = f"(SELECT substr(m.path, 1, {n}) FROM m WHERE length(m.path) >= {n})"
        branches.append(FEED_BRANCH.format(unit=unit, more=more, i=i))
    top = TOP.format(branches=" UNION ALL ".join(branches))
    columns = FEED_COLUMNS.format(sent_at=utc_text("b.sent_at"))
    return TOKEN_FEED_SQL.format(token=token_select(), top=top, columns=columns)


MAX_PAGE = 50


def page_size(limit: int) -> int:
    """The page size a request asked for, within 1 and :data:`MAX_PAGE` (the API route and
    the member feed route in front of it)."""
    return max(1, min(limit, MAX_PAGE))


def _chunk(limit: int) -> int:
    # Narrowed rows the member does not match are dropped (one in twenty, say), so read a
    # few more than a page: a second read is rarely needed.
    return limit + 1 + 4


def feed_page(
    member, *, cursor: str = "", limit: int = 20, topic: str = ""
) -> tuple[list[dict], str | None]:
    """Up to ``limit`` feed items for ``member`` (a :class:`Member` or a ``Person``), newest
    first, after ``cursor``; and the cursor of the next page (None on the last). Raises
    :class:`BadCursor`."""
    if not isinstance(member, Member):
        member = Member.of(member)
    after = decode_cursor(cursor) if cursor else None
    return _page(member, after, topic, limit, None)


def token_feed_page(raw: str, *, cursor: str = "", limit: int = 20, topic: str = ""):
    """The member app's feed request in one statement: the member holding the bearer token
    ``raw`` and their page. Returns ``(member, items, next_cursor)``, or None when the token
    is not live; ``member.person_id`` is None (and the page empty) for a login without a
    member record. Raises :class:`BadCursor` before looking at the token."""
    from sangathan.accounts.members import first_statement, member_of_row, token_params

    after = decode_cursor(cursor) if cursor else None
    now = timezone.now()
    params = token_params(raw, now)
    if params is None:
        return None
    more, extra = _filters(after, topic)
    chunk = _chunk(limit)
    sql = _token_sql(connection.vendor, more)
    params += [*extra, chunk] * TOKEN_BRANCHES + [chunk]

    def run(health_check: bool):
        with hot_cursor(health_check=health_check) as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    rows = first_statement(run)
    if not rows:
        return None
    member = member_of_row(rows[0][:TOKEN_WIDTH], now)
    if member.person_id is None:
        return member, [], None
    if len(member.path) > STEPLEN * TOKEN_BRANCHES:  # deeper than the statement reaches
        return member, *_page(member, after, topic, limit, None)
    first = [row[TOKEN_WIDTH:] for row in rows if row[TOKEN_WIDTH] is not None]
    return member, *_page(member, after, topic, limit, first)


def _page(member: Member, after, topic: str, limit: int, rows: list | None):
    """The page from ``rows`` (the first read, if made already) and as many more reads as
    the member's narrowed broadcasts thin out."""
    hindi = (get_language() or "hi").startswith("hi")
    kept: list = []
    chunk = _chunk(limit)
    if rows is None:
        rows = _rows(member, after, topic, chunk)
    while True:
        for row in rows:
            if row[11] and not member.matches(_json(row[12]) or {}, _json(row[13])):
                continue
            kept.append(row)
        if len(kept) > limit or len(rows) < chunk:
            break
        after = (_datetime(rows[-1][10]), rows[-1][0])
        chunk = max(chunk, 2 * (limit + 1 - len(kept)))
        rows = _rows(member, after, topic, chunk)
    more = len(kept) > limit
    kept = kept[:limit]
    items = [_item(row, hindi) for row in kept]
    if more:
        last = kept[-1]
        return items, encode_cursor(_datetime(last[10]), last[0])
    return items, None


def json_time(value) -> str:
    """A timestamp as the API writes it (Django's JSON encoder: milliseconds, when there
    are any, and Z), from :func:`utc_text`'s text or a datetime."""
    if value is None or isinstance(value, datetime):
        return _ENCODER.default(_datetime(value)) if value is not None else None
    text = value.replace(" ", "T", 1)
    fraction = text[20:26]
    return text[:19] + (f".{fraction[:3]}" if fraction.strip("0") else "") + "Z"


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
        "sent_at": json_time(sent_at),
        "read": bool(is_read),
        "shared": bool(is_shared),
    }
