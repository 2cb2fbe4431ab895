"""The feed's hand-written page query agrees with its definition, ``feed_for``, whatever the
mix of levels, filters, silence exclusions, topics, receipts and page sizes."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sangathan.accounts.actions import do_issue_api_token
from sangathan.broadcasts import feed
from sangathan.broadcasts.api import FeedPage
from sangathan.broadcasts.models import Broadcast, FeedRead
from sangathan.org.models import OrgUnit
from sangathan.people.models import AppStatus, Person, Tag
from tests.conftest import client_for
from tests.factories import make_person

FILTERS = [
    {},
    {},
    {},
    {"levels": ["booth"]},
    {"levels": ["district"]},
    {"app": "joined"},
    {"app": "not_joined"},
    {"tags": ["student"]},
    {"wings": ["IT cell"]},
]


def bearer(user) -> dict:
    raw, _token = do_issue_api_token(user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def scatter(cast, n: int, rng: random.Random) -> list[Broadcast]:
    """``n`` sent broadcasts to random units of the tree, some narrowed, some sharing a
    sent_at (the cursor must break the tie by id), some to other subtrees."""
    units = [
        cast.india,
        cast.up,
        cast.lucknow,
        cast.kanpur,
        cast.ac_west,
        cast.mandal,
        cast.sector,
        cast.booth1,
        cast.booth2,
        cast.kanpur_booth,
    ]
    base = timezone.now() - timedelta(days=3)
    made = []
    for i in range(n):
        filters = rng.choice(FILTERS)
        excluded = [cast.ac_west.path] if rng.random() < 0.1 else []
        made.append(
            Broadcast(
                audience_unit=rng.choice(units),
                title_hi=f"संदेश {i}",
                body_hi="सभी तक",
                title_en=f"Message {i}" if i % 3 else "",
                topic=rng.choice(["scheme", "programme", "organisation"]),
                status=Broadcast.Status.SENT if i % 11 else Broadcast.Status.SCHEDULED,
                sent_at=base + timedelta(minutes=rng.randrange(40)),
                filters=filters,
                excluded_paths=excluded,
                narrowed=bool(filters or excluded),
            )
        )
    Broadcast.objects.bulk_create(made)
    return made


def expected(person, topic="") -> list[str]:
    qs = Broadcast.objects.feed_for(person)
    if topic:
        qs = qs.filter(topic=topic)
    return list(qs.values_list("code", flat=True))


def paged(person, limit: int, topic="") -> list[str]:
    seen, cursor = [], ""
    while True:
        items, cursor = feed.feed_page(person, cursor=cursor, limit=limit, topic=topic)
        assert len(items) <= limit
        seen += [i["id"] for i in items]
        if cursor is None:
            return seen
        assert len(items) == limit  # only the last page may be short


def test_treebeard_step_is_what_the_feed_assumes():
    assert OrgUnit.steplen == feed.STEPLEN


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_page_size_gives_exactly_the_feed_in_order(cast, seed):
    rng = random.Random(seed)
    scatter(cast, 120, rng)
    student = Tag.objects.create(name="student")
    cast.volunteer_person.tags.add(student)
    Person.objects.filter(pk=cast.volunteer_person.pk).update(app_status=AppStatus.JOINED)
    members = [
        Person.objects.select_related("unit").get(pk=p.pk)
        for p in (
            cast.volunteer_person,
            cast.convenor_person,
            cast.outsider_person,
            cast.kanpur_member,
            cast.state_admin_person,
            make_person(cast.booth2, "नया सदस्य", "+919822222229"),
        )
    ]
    for person in members:
        want = expected(person)
        assert want, "the scatter reaches every member"
        for limit in (1, 3, 7, 20, 50):
            assert paged(person, limit) == want, (person, limit)
        for topic in ("scheme", "organisation"):
            assert paged(person, 4, topic) == expected(person, topic)


def test_receipts_are_the_readers_own(cast):
    b = scatter(cast, 1, random.Random(5))[0]
    Broadcast.objects.filter(pk=b.pk).update(
        audience_unit=cast.lucknow,
        filters={},
        narrowed=False,
        excluded_paths=[],
        status=Broadcast.Status.SENT,
    )
    FeedRead.objects.create(
        broadcast=b, person=cast.convenor_person, unit_path="x", read_at=timezone.now()
    )
    mine = feed.feed_page(cast.volunteer_person)[0]
    theirs = feed.feed_page(cast.convenor_person)[0]
    assert [i["read"] for i in mine] == [False] and [i["read"] for i in theirs] == [True]


def test_the_api_answers_the_documented_schema_token_and_page_in_one_statement(cast):
    scatter(cast, 40, random.Random(7))
    member = bearer(cast.volunteer)
    client = Client()
    client.get("/api/v1/feed", **member)  # the token's hourly last-used write
    with CaptureQueriesContext(connection) as queries:
        r = client.get("/api/v1/feed", {"limit": 10}, **member)
    assert r.status_code == 200
    page = FeedPage.model_validate(r.json())
    assert [i.id for i in page.items] == expected(cast.volunteer_person)[:10]
    # the token with the member's unit and the page; narrowed rows add the member's
    # appointments and tags, and (dropped ones) more reads to fill the page
    assert len(queries) <= 5, [q["sql"][:80] for q in queries]
    assert r.json()["items"][0]["sent_at"].endswith("Z")
    Broadcast.objects.update(narrowed=False, filters={}, excluded_paths=[])
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/feed", {"limit": 10}, **member).status_code == 200
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    assert "accounts_apitoken" in queries[0]["sql"] and "broadcasts_feedread" in queries[0]["sql"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)
def test_on_postgresql_the_token_and_page_statement_is_prepared(cast):
    """psycopg prepares a statement after five runs on a connection, but only through a
    cursor that binds on the server (``feed.hot_cursor``): this keeps the feed's UNION from
    being planned on every request."""
    scatter(cast, 20, random.Random(3))
    member = bearer(cast.volunteer)
    client = Client()
    for _ in range(7):
        assert client.get("/api/v1/feed", **member).status_code == 200
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cur.fetchall()]
    assert any(
        "FROM accounts_apitoken t" in s and "top AS MATERIALIZED" in s for s in statements
    ), statements


def test_the_staff_session_reads_its_own_feed_too(cast):
    scatter(cast, 20, random.Random(9))
    r = client_for(cast.convenor).get("/api/v1/feed")
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["items"]] == expected(cast.convenor_person)[:20]


def test_a_login_without_a_member_record_has_no_feed(cast):
    r = Client().get("/api/v1/feed", **bearer(cast.superuser))
    assert r.status_code == 404
    assert Client().get("/api/v1/feed").status_code == 401


def test_an_expired_or_unknown_token_is_refused(cast):
    raw, token = do_issue_api_token(cast.volunteer)
    type(token).objects.filter(pk=token.pk).update(expires_at=timezone.now())
    assert Client().get("/api/v1/feed", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert Client().get("/api/v1/feed", HTTP_AUTHORIZATION="Bearer sgn_nope").status_code == 401
    cast.volunteer.is_active = False
    cast.volunteer.save()
    raw, _ = do_issue_api_token(cast.volunteer)
    assert Client().get("/api/v1/feed", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server to drop the connection")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_feed_survives_a_connection_the_server_dropped(cast):
    """The feed's token lookup runs without Django's per-request ``SELECT 1``; when the
    server has dropped the kept connection (a restart, an idle timeout), the lookup fails,
    and is asked once more on a new connection: the member sees their feed, not an error."""
    import psycopg

    scatter(cast, 5, random.Random(5))
    member = bearer(cast.volunteer)
    client = Client()
    assert client.get("/api/v1/feed", **member).status_code == 200
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    r = client.get("/api/v1/feed", **member)
    assert r.status_code == 200 and len(r.json()["items"]) > 0
    assert connection.connection.info.backend_pid != pid


def test_the_api_page_is_the_feed_for_every_member_and_marker(cast):
    """The member app's one statement (token and page) and the path statement agree: every
    page, every member, with and without a topic; a deep member, an empty feed."""
    scatter(cast, 60, random.Random(11))
    client = Client()
    for user in (cast.volunteer, cast.convenor, cast.outsider, cast.state_admin):
        member = bearer(user)
        person = Person.objects.select_related("unit").get(pk=user.person_id)
        for topic in ("", "scheme"):
            seen, cursor = [], ""
            while True:
                params = {"limit": 7, "topic": topic, **({"cursor": cursor} if cursor else {})}
                r = client.get("/api/v1/feed", params, **member)
                assert r.status_code == 200
                body = r.json()
                assert (
                    body["items"] == feed.feed_page(person, cursor=cursor, limit=7, topic=topic)[0]
                )
                seen += [i["id"] for i in body["items"]]
                cursor = body["next_cursor"]
                if not cursor:
                    break
            assert seen == expected(person, topic)


def test_the_api_reads_the_feed_of_a_member_deeper_than_its_statement_reaches(cast):
    from sangathan.org.models import Level
    from tests.factories import add_unit

    Level.objects.create(slug="household", name_en="Household", name_hi="परिवार", depth=99)
    unit = cast.booth1
    for i in range(feed.TOKEN_BRANCHES + 1 - unit.depth):
        unit = add_unit(unit, "household", f"DEEP-{i}", f"गहरा {i}")
    deep = make_person(unit, "गहरा सदस्य", "+919833333331")
    from sangathan.accounts.models import User

    user = User.objects.create_user(deep.phone, person=deep, name=deep.name)
    assert len(unit.path) > feed.STEPLEN * feed.TOKEN_BRANCHES
    mine = Broadcast.objects.create(
        audience_unit=unit,
        title_hi="घर तक",
        status=Broadcast.Status.SENT,
        sent_at=timezone.now(),
    )
    above = Broadcast.objects.create(
        audience_unit=cast.up,
        title_hi="राज्य",
        status=Broadcast.Status.SENT,
        sent_at=timezone.now() - timedelta(hours=1),
    )
    r = Client().get("/api/v1/feed", **bearer(user))
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["items"]] == [mine.code, above.code]


def test_an_empty_feed_and_a_bad_marker(cast):
    member = bearer(cast.volunteer)
    r = Client().get("/api/v1/feed", **member)
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
    r = Client().get("/api/v1/feed", {"cursor": "!!"}, **member)
    assert r.status_code == 400 and r.json()["code"] == "bad_cursor"
    # a bad marker with a dead token: the token is refused first
    r = Client().get("/api/v1/feed", {"cursor": "!!"}, HTTP_AUTHORIZATION="Bearer sgn_nope")
    assert r.status_code == 401


def test_times_are_written_as_the_json_encoder_writes_them():
    from datetime import UTC, datetime

    from django.core.serializers.json import DjangoJSONEncoder

    for when in (
        datetime(2026, 11, 28, 9, 5, 7, tzinfo=UTC),
        datetime(2026, 11, 28, 9, 5, 7, 123456, tzinfo=UTC),
        datetime(2026, 11, 28, 9, 5, 7, 500, tzinfo=UTC),
    ):
        want = DjangoJSONEncoder().default(when)
        naive = when.replace(tzinfo=None)
        assert feed.json_time(str(naive)) == want  # SQLite's text
        assert feed.json_time(naive.strftime("%Y-%m-%dT%H:%M:%S.%f")) == want  # to_char's
        assert feed.json_time(when) == want


@pytest.mark.django_db
def test_times_come_back_from_the_database_as_text():
    # Text, not datetimes: the driver parsing twenty of them a page only for json_time to
    # print them again is what utc_text avoids (SQLite's declared column type included).
    with feed.hot_cursor() as cur:  # a timestamp column of any table will do
        cur.execute(f"SELECT {feed.utc_text('applied')} FROM django_migrations LIMIT 1")
        (value,) = cur.fetchone()
    assert isinstance(value, str) and feed.json_time(value).endswith("Z")


def test_the_feed_is_the_first_url_of_the_api():
    from django.urls import get_resolver

    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    (inner,) = api.url_patterns
    assert [str(p.pattern) for p in inner.url_patterns][0] == "feed"
    assert get_resolver().resolve("/api/v1/feed").url_name
