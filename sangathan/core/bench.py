"""Benchmarks behind ``sangathan bench NAME --json``.

Each benchmark runs in a child process whose ``DATABASE_URL`` points at a fresh scratch
database (a temporary SQLite file, or a new PostgreSQL database on the configured server), so
that no benchmark can touch the user's data. ``in_scratch_database`` does the re-execution;
``bench_seed``, ``bench_subtree`` and ``bench_search`` are what the child runs.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction

from sangathan.core import seeding

SCRATCH_ENV = "SANGATHAN_BENCH_SCRATCH"
LEVELS = ("national", "state", "district", "assembly", "booth")


def is_scratch_run() -> bool:
    """True in the child process, where the database is the scratch one we made."""
    url = os.environ.get(SCRATCH_ENV)
    return bool(url) and os.environ.get("DATABASE_URL") == url


@contextmanager
def scratch_database_url():
    """A URL for a new, empty database of the same kind as the configured one; removed after."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        folder = tempfile.mkdtemp(prefix="sangathan-bench-")
        try:
            yield f"sqlite:///{folder}/bench.sqlite3"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError(f"Benchmarks run on SQLite or PostgreSQL, not {db['ENGINE']}.")
    import psycopg

    name = f"sangathan_bench_{os.getpid()}"
    params = dict(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    try:
        with psycopg.connect(**params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as e:
        raise RuntimeError(
            f"Could not create the scratch database {name} on {db['HOST'] or 'localhost'} "
            f"(the benchmark needs CREATE DATABASE rights): {e}"
        ) from e
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    try:
        yield f"postgres://{auth + '@' if auth else ''}{host}{port}/{name}"
    finally:
        with psycopg.connect(**params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_in_scratch(argv: list[str]) -> subprocess.CompletedProcess:
    """Run ``sangathan <argv>`` in a child process against a scratch database. The child's
    stderr (progress) passes through; its stdout is returned."""
    with scratch_database_url() as url:
        env = dict(os.environ, DATABASE_URL=url, **{SCRATCH_ENV: url})
        env.setdefault("DJANGO_SETTINGS_MODULE", "sangathan.settings")
        return subprocess.run(
            [sys.executable, "-m", "sangathan.cli", *argv],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )


def _median_rate(rows: int, seconds: list[float]) -> float:
    return rows / statistics.median(seconds)


def _clear_people() -> None:
    from sangathan.org.models import OrgUnit
    from sangathan.people.models import Person

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {Person._meta.db_table}")
    OrgUnit.objects.filter(people_count__gt=0).update(people_count=0)


def bench_seed(people: int = 200_000, runs: int = 3, booths: int = 1000, seed: int = 42) -> dict:
    """Seeding people (names, phones, keys generated on the fly, counts maintained) against a
    plain ``executemany`` of the same rows, pre-generated, in 10,000-row transactions. Both
    index the new rows for search the same way, in one pass at the end (on SQLite)."""
    seeding.build_org(booths, state_code="BENCH")
    target = seeding.booths_under(seeding.unit_prefix("BENCH"))
    ids = [b[0] for b in target]
    sql = seeding.person_insert_sql()
    ours, baseline = [], []
    for _ in range(runs):
        start = seeding.next_free_index()
        batches = list(
            seeding.person_rows(people, ids, rng=random.Random(seed), start=start, source="seed")
        )
        t = time.perf_counter()
        with seeding.search_index_deferred():  # as seed_people indexes: once, at the end
            for batch in batches:
                with transaction.atomic(), connection.cursor() as cur:
                    cur.executemany(sql, batch)
        baseline.append(time.perf_counter() - t)
        del batches
        _clear_people()

        t = time.perf_counter()
        seeding.seed_people(people, target, seed=seed)
        ours.append(time.perf_counter() - t)
        _clear_people()
    rate, base = _median_rate(people, ours), _median_rate(people, baseline)
    return {
        "bench": "seed",
        "rows": people,
        "runs": runs,
        "database": connection.vendor,
        "rows_per_s": round(rate),
        "baseline_rows_per_s": round(base),
        "ratio": round(rate / base, 3),
    }


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def bench_subtree(
    booths: int = 20_000,
    people: int = 300_000,
    samples: int = 200,
    scans: int = 3,
    seed: int = 42,
    with_recount: bool = False,
    progress: bool = False,
) -> dict:
    """Seed an organisation, then time reading "people under unit X" the way a page does: the
    maintained ``people_count`` through the scoped queryset, for random units at every level.
    A few units are checked against a COUNT(*) over their subtree, which is also timed."""
    from sangathan.accounts.models import User
    from sangathan.org.models import OrgUnit
    from sangathan.people.models import Person

    t = time.perf_counter()
    seeding.build_org(booths, progress=progress)
    units_s = time.perf_counter() - t
    t = time.perf_counter()
    seeding.seed_people(
        people, seeding.booths_under(seeding.SYN_PREFIX), seed=seed, progress=progress
    )
    people_s = time.perf_counter() - t
    recount_s = None
    if with_recount:
        from sangathan.org.counts import recount

        t = time.perf_counter()
        recount()
        recount_s = round(time.perf_counter() - t, 2)

    admin = User.objects.create_superuser("+919999999999", None, name="bench")
    rng = random.Random(seed)
    codes = {}
    for slug in LEVELS:
        all_codes = list(OrgUnit.objects.filter(level__slug=slug).values_list("code", flat=True))
        codes[slug] = [rng.choice(all_codes) for _ in range(samples)]
    plan = [(slug, code) for slug in LEVELS for code in codes[slug]]
    rng.shuffle(plan)

    def maintained(code: str) -> int:
        return (
            OrgUnit.objects.visible_to(admin)
            .filter(code=code)
            .values_list("people_count", flat=True)
            .get()
        )

    for _slug, code in plan[:20]:  # warm the page cache and the query compiler
        maintained(code)
    timings: dict[str, list[float]] = {slug: [] for slug in LEVELS}
    for slug, code in plan:
        t = time.perf_counter()
        maintained(code)
        timings[slug].append((time.perf_counter() - t) * 1000)

    scan_by_level: dict[str, list[float]] = {slug: [] for slug in LEVELS}
    verified = True
    for slug in LEVELS:
        for code in codes[slug][: 1 if slug == "national" else scans]:
            unit = OrgUnit.objects.get(code=code)
            t = time.perf_counter()
            actual = Person.objects.within(unit).count()
            scan_by_level[slug].append((time.perf_counter() - t) * 1000)
            verified &= actual == maintained(code)
    scan_ms = [ms for values in scan_by_level.values() for ms in values]

    every = [ms for values in timings.values() for ms in values]
    result = {
        "bench": "subtree",
        "database": connection.vendor,
        "booths": booths,
        "people": people,
        "samples": len(every),
        "p50_ms": round(statistics.median(every), 3),
        "p99_ms": round(_percentile(every, 99), 3),
        "per_level": {
            slug: {
                "p50_ms": round(statistics.median(values), 3),
                "p99_ms": round(_percentile(values, 99), 3),
            }
            for slug, values in timings.items()
        },
        "counts_verified": verified,
        "scan_p50_ms": round(statistics.median(scan_ms), 1),
        "scan_samples": len(scan_ms),
        # The COUNT(*) scan grows with the subtree: a booth is cheap, the nation is not.
        "scan_per_level_ms": {
            slug: round(statistics.median(values), 1) for slug, values in scan_by_level.items()
        },
        "seed_seconds": {"units": round(units_s, 1), "people": round(people_s, 1)},
    }
    if recount_s is not None:
        result["recount_seconds"] = recount_s
    return result


# The page's searches: a first name in Latin, a surname in Devanagari, two words, a four-letter
# prefix and a phone tail (filled in from a seeded person, so it finds someone).
SEARCH_QUERIES = {
    "first_name_latin": "Sanjay",
    "surname_devanagari": "यादव",
    "two_words": "Pooja Yadav",
    "prefix_4": "Mahe",
    "phone_tail": None,
}


def _district_convenor(district):
    """A person appointed convenor at ``district`` and a user linked to them."""
    from sangathan.accounts.models import User
    from sangathan.people.models import Appointment, Person, Position

    position, _ = Position.objects.get_or_create(
        wing="Bench",
        title_en="District convenor",
        level=district.level,
        defaults={"title_hi": "जिला संयोजक"},
    )
    person = Person.objects.create(name="बेंच संयोजक", phone="+919999999998", unit=district)
    Appointment.objects.create(person=person, position=position, unit=district)
    return User.objects.create_user("+919999999998", person=person, name="bench convenor")


def bench_search(
    booths: int = 20_000,
    people: int = 200_000,
    samples: int = 30,
    seed: int = 42,
    progress: bool = False,
) -> dict:
    """Seed an organisation, then time the person-search page's query,
    ``Person.objects.visible_to(user).search(q)[:20]`` materialised, for a superuser (the whole
    nation) and a district convenor, over typical queries."""
    from sangathan.accounts.models import User
    from sangathan.org.models import OrgUnit
    from sangathan.people.models import Person

    t = time.perf_counter()
    seeding.build_org(booths, progress=progress)
    units_s = time.perf_counter() - t
    t = time.perf_counter()
    start = seeding.seed_people(
        people, seeding.booths_under(seeding.SYN_PREFIX), seed=seed, progress=progress
    )
    people_s = time.perf_counter() - t
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")  # statistics a live database would have: planner choices

    rng = random.Random(seed)
    queries = dict(SEARCH_QUERIES)
    district = rng.choice(
        list(OrgUnit.objects.filter(level__slug="district", code__startswith=seeding.SYN_PREFIX))
    )
    # The last six digits (more if they start with 0, which the search reads as a trunk
    # prefix) of the phone of someone inside the district, so both users can find them.
    inside = Person.objects.within(district).order_by("pk").values_list("phone", flat=True)
    phone = (list(inside[len(inside) // 2 :][:1]) or [seeding.phone_for(start)])[0]
    queries["phone_tail"] = next(phone[-n:] for n in range(6, len(phone)) if phone[-n] != "0")
    users = {
        "national": User.objects.create_superuser("+919999999999", None, name="bench"),
        "district": _district_convenor(district),
    }

    def page(user, q: str) -> list:
        return list(Person.objects.visible_to(user).search(q)[:20])

    cases: dict[str, dict] = {}
    every: list[float] = []
    for scope, user in users.items():
        for label, q in queries.items():
            for _ in range(3):  # warm the page cache
                found = page(user, q)
            timings = []
            for _ in range(samples):
                t = time.perf_counter()
                page(user, q)
                timings.append((time.perf_counter() - t) * 1000)
            every += timings
            cases[f"{scope}/{label}"] = {
                "query": q,
                "found": len(found),
                "p50_ms": round(statistics.median(timings), 3),
                "p99_ms": round(_percentile(timings, 99), 3),
            }
    return {
        "bench": "search",
        "database": connection.vendor,
        "booths": booths,
        "people": people,
        "samples": len(every),
        "p50_ms": round(statistics.median(every), 3),
        "p99_ms": round(_percentile(every, 99), 3),
        "cases": cases,
        "seed_seconds": {"units": round(units_s, 1), "people": round(people_s, 1)},
    }
