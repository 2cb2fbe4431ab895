"""Synthetic organisations of any size, for demos and benchmarks.

``build_org`` lays out national > state > region > district > assembly > mandal > sector >
booth with the fan-outs of a national party (about 36 states, 760 districts, 4,100 ACs and
10.5 lakh booths: ~250 booths per AC, ~10 per sector, ~6 sectors per mandal) through
``TreeBuilder`` (bulk inserts with computed materialised paths). ``seed_people`` spreads people
over booths with plausible Hindi names and writes them with raw ``executemany`` in 10,000-row
batches, one transaction each, then adds them to the maintained counts set-based.

Synthetic units carry codes starting ``SYN-`` so they never collide with real geography, and
synthetic people get phones from one reserved block (``+91 69…``) numbered by a counter, so a
second seed continues where the first stopped instead of colliding with it.

On SQLite new people are indexed for search (the FTS5 trigram table of migration people 0003)
in one ``INSERT … SELECT`` after the load rather than by the per-row trigger, which would make
seeding several times slower: see ``search_index_deferred``.
"""

from __future__ import annotations

import random
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from sangathan.core import names_hi
from sangathan.org.bulk import TreeBuilder
from sangathan.org.models import Level, OrgUnit
from sangathan.people.models import REFERRAL_ALPHABET, Person, new_referral_code
from sangathan.people.names import SEARCH_FTS_TABLE, person_name_fields

SYN_PREFIX = "SYN"
# Synthetic people: +91 69 followed by an 8-digit counter (10 crore numbers).
PHONE_BLOCK = "+9169"
PHONE_DIGITS = 8
BATCH_ROWS = 10_000

# National fan-outs (ECI/LGD orders of magnitude).
BOOTHS_PER_AC = 250
BOOTHS_PER_SECTOR = 10
SECTORS_PER_MANDAL = 6
ACS_PER_DISTRICT = 5.4
DISTRICTS_PER_REGION = 6
DISTRICTS_PER_STATE = 21
MAX_STATES = 36


def _split(total: int, parts: int) -> list[int]:
    """``total`` spread as evenly as possible over ``parts`` (all parts ≥ 1 when possible)."""
    parts = max(1, min(parts, total)) if total else 1
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _parts(total: int, per_part: float) -> int:
    return max(1, round(total / per_part))


@dataclass
class OrgShape:
    """How many units of each level ``build_org`` made."""

    states: int = 0
    regions: int = 0
    districts: int = 0
    acs: int = 0
    mandals: int = 0
    sectors: int = 0
    booths: int = 0


def _levels() -> dict[str, Level]:
    return {lv.slug: lv for lv in Level.objects.all()}


def national_root(levels: dict[str, Level] | None = None) -> OrgUnit:
    """The national unit, created if the tree has none yet."""
    root = OrgUnit.objects.filter(depth=1, level__slug="national").first()
    if root is None:
        levels = levels or _levels()
        root = OrgUnit.objects.add_root(
            {
                "level": levels["national"],
                "code": "IN",
                "name": "भारत",
                "name_hi": "भारत",
                "name_en": "India",
            }
        )
    return root


def unit_prefix(state_code: str | None) -> str:
    return f"{SYN_PREFIX}-{state_code}" if state_code else SYN_PREFIX


def build_org(
    booths: int,
    *,
    state_code: str | None = None,
    progress: bool = False,
) -> OrgShape:
    """Create a synthetic organisation with ``booths`` booths under the national root.

    Without ``state_code`` the booths are spread over up to 36 states (``SYN-S01``…); with it
    everything goes under one state ``SYN-<state_code>``. Refuses to run twice with the same
    prefix, naming the prefix.
    """
    prefix = unit_prefix(state_code)
    if OrgUnit.objects.filter(code__startswith=prefix + "-").exists() or (
        state_code and OrgUnit.objects.filter(code=prefix).exists()
    ):
        raise ValueError(
            f"Synthetic units with codes starting {prefix!r} already exist; "
            "pass a different --state-code to add another synthetic state."
        )
    lv = _levels()
    root = national_root(lv)
    shape = OrgShape()
    n_acs = _parts(booths, BOOTHS_PER_AC)
    n_districts = _parts(n_acs, ACS_PER_DISTRICT)
    n_states = 1 if state_code else min(MAX_STATES, _parts(n_districts, DISTRICTS_PER_STATE))
    ac_sizes = iter(_split(booths, n_acs))
    district_acs = iter(_split(n_acs, n_districts))

    builder = TreeBuilder(batch_size=5000)
    bar = tqdm(total=booths, desc="units", unit=" booths", disable=not progress, file=sys.stderr)
    ac_no = district_no = region_no = 0
    with transaction.atomic():
        for s, districts_here in enumerate(_split(n_districts, n_states), start=1):
            s_code = prefix if state_code else f"{prefix}-S{s:02d}"
            label = state_code or f"{s:02d}"
            state = builder.add(
                root,
                level=lv["state"],
                code=s_code,
                name=f"प्रदेश {label}",
                name_hi=f"प्रदेश {label}",
                name_en=f"State {label}",
            )
            shape.states += 1
            for districts_in_region in _split(
                districts_here, _parts(districts_here, DISTRICTS_PER_REGION)
            ):
                region_no += 1
                region = builder.add(
                    state,
                    level=lv["region"],
                    code=f"{prefix}-R{region_no:03d}",
                    name=f"क्षेत्र {region_no}",
                    name_hi=f"क्षेत्र {region_no}",
                    name_en=f"Region {region_no}",
                )
                shape.regions += 1
                for _ in range(districts_in_region):
                    district_no += 1
                    district = builder.add(
                        region,
                        level=lv["district"],
                        code=f"{prefix}-D{district_no:04d}",
                        name=f"जिला {district_no}",
                        name_hi=f"जिला {district_no}",
                        name_en=f"District {district_no}",
                    )
                    shape.districts += 1
                    for _ in range(next(district_acs)):
                        ac_no += 1
                        _build_ac(builder, lv, district, prefix, ac_no, next(ac_sizes), shape)
                        bar.update(shape.booths - bar.n)
        builder.flush()
    bar.close()
    return shape


def _build_ac(builder, lv, district, prefix, ac_no, booths, shape: OrgShape) -> None:
    ac_code = f"{prefix}-AC{ac_no:04d}"
    # ac_no stays empty: synthetic ACs must never answer a lookup by a real AC number.
    ac = builder.add(
        district,
        level=lv["assembly"],
        code=ac_code,
        name=f"विधानसभा {ac_no}",
        name_hi=f"विधानसभा {ac_no}",
        name_en=f"Assembly {ac_no}",
    )
    shape.acs += 1
    n_sectors = _parts(booths, BOOTHS_PER_SECTOR)
    sector_sizes = _split(booths, n_sectors)
    n_mandals = _parts(len(sector_sizes), SECTORS_PER_MANDAL)
    ps_no = sector_no = 0
    sizes = iter(sector_sizes)
    for m, sectors_here in enumerate(_split(len(sector_sizes), n_mandals), start=1):
        mandal = builder.add(
            ac,
            level=lv["mandal"],
            code=f"{ac_code}-M{m:02d}",
            name=f"मंडल {m}",
            name_hi=f"मंडल {m}",
            name_en=f"Mandal {m}",
        )
        shape.mandals += 1
        for _ in range(sectors_here):
            sector_no += 1
            sector = builder.add(
                mandal,
                level=lv["sector"],
                code=f"{ac_code}-S{sector_no:03d}",
                name=f"सेक्टर {sector_no}",
                name_hi=f"सेक्टर {sector_no}",
                name_en=f"Sector {sector_no}",
            )
            shape.sectors += 1
            for _ in range(next(sizes)):
                ps_no += 1
                builder.add(
                    sector,
                    level=lv["booth"],
                    code=f"{ac_code}-PS{ps_no:04d}",
                    name=f"बूथ {ps_no}",
                    name_hi=f"बूथ {ps_no}",
                    name_en=f"Booth {ps_no}",
                    ps_no=str(ps_no),
                )
                shape.booths += 1


def booths_under(prefix_or_unit: str | OrgUnit) -> list[tuple[int, str]]:
    """``(id, path)`` of the booths under a unit, or of the synthetic booths of a prefix."""
    qs = OrgUnit.objects.filter(level__slug="booth")
    if isinstance(prefix_or_unit, OrgUnit):
        qs = qs.within(prefix_or_unit)
    else:
        qs = qs.filter(code__startswith=prefix_or_unit + "-")
    return list(qs.order_by("path").values_list("id", "path"))


# --- people -------------------------------------------------------------------------------


def _encode(n: int, width: int) -> str:
    base = len(REFERRAL_ALPHABET)
    chars = []
    for _ in range(width):
        n, r = divmod(n, base)
        chars.append(REFERRAL_ALPHABET[r])
    return "".join(reversed(chars))


# Counter-based referral codes live in the block whose first letter is "Z"; a code is the
# letter, 4 high and 3 low base-32 digits of the counter (15 bits per low part).
_REF_LEAD = "Z"
_LOW3 = [_encode(i, 3) for i in range(32**3)]


@lru_cache(maxsize=64)
def _high_part(high: int) -> str:
    return _REF_LEAD + _encode(high, 4)


def referral_code_for(index: int) -> str:
    return _high_part(index >> 15) + _LOW3[index & 0x7FFF]


def phone_for(index: int) -> str:
    return f"{PHONE_BLOCK}{index:0{PHONE_DIGITS}d}"


def next_free_index() -> int:
    """The first counter value whose phone is not taken (phones in the block are sequential)."""
    top = (
        Person.objects.filter(phone__gte=PHONE_BLOCK, phone__lt=PHONE_BLOCK + ":")
        .order_by("-phone")
        .values_list("phone", flat=True)
        .first()
    )
    return int(top[len(PHONE_BLOCK) :]) + 1 if top else 1


def _vocabulary(words) -> list[str]:
    """Distinct words, in NFC as ``Person.name`` is stored."""
    return list(dict.fromkeys(unicodedata.normalize("NFC", w) for w in words))


# (female, first name index, surname index) -> (name, name_latin, name_key); shared by every
# NameMaker so that repeated seeds in one process transliterate each combination once.
_NAME_CACHE: dict[tuple[bool, int, int], tuple[str, str, str]] = {}


class NameMaker:
    """Draws plausible names; each name's Latin form and search key are computed once."""

    def __init__(self, rng: random.Random, latin_share: float = 0.0):
        self.rng = rng
        self.male = _vocabulary(names_hi.MALE_FIRST_NAMES)
        self.female = _vocabulary(names_hi.FEMALE_FIRST_NAMES)
        self.surnames = _vocabulary(names_hi.SURNAMES)
        self.latin_share = latin_share
        self.cache = _NAME_CACHE

    def draw(self) -> tuple[str, str, str, str]:
        """``(name, name_latin, name_key, gender)``."""
        r = self.rng.random
        if self.latin_share and r() < self.latin_share:
            name, gender = names_hi.LATIN_NAMES[int(r() * len(names_hi.LATIN_NAMES))]
            latin, key = person_name_fields(name)
            return name, latin, key, gender
        female = r() < 0.47
        firsts = self.female if female else self.male
        k = (female, int(r() * len(firsts)), int(r() * len(self.surnames)))
        hit = self.cache.get(k)
        if hit is None:
            name = f"{firsts[k[1]]} {self.surnames[k[2]]}"
            hit = (name, *person_name_fields(name))
            self.cache[k] = hit
        return hit[0], hit[1], hit[2], "female" if female else "male"


PERSON_COLUMNS = (
    "name",
    "name_latin",
    "name_key",
    "phone",
    "email",
    "unit",
    "birth_year",
    "gender",
    "institution",
    "languages",
    "app_status",
    "referral_code",
    "source",
    "created_at",
    "updated_at",
)


def person_insert_sql() -> str:
    opts = Person._meta
    cols = ", ".join(connection.ops.quote_name(opts.get_field(f).column) for f in PERSON_COLUMNS)
    marks = ", ".join(["%s"] * len(PERSON_COLUMNS))
    return f"INSERT INTO {connection.ops.quote_name(opts.db_table)} ({cols}) VALUES ({marks})"


def person_rows(
    count: int,
    unit_ids: Sequence[int],
    *,
    rng: random.Random,
    start: int,
    source: str = "seed",
    latin_share: float = 0.0,
) -> Iterator[list[tuple]]:
    """Batches of ready-to-insert rows (``PERSON_COLUMNS`` order), ``BATCH_ROWS`` at a time."""
    if not unit_ids:
        raise ValueError("There are no booths to put people in.")
    names = NameMaker(rng, latin_share)
    draw = names.draw
    r = rng.random
    n_units = len(unit_ids)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    taken = _taken_referral_codes(start, start + count)
    for lo in range(0, count, BATCH_ROWS):
        batch = []
        append = batch.append
        for i in range(start + lo, start + min(lo + BATCH_ROWS, count)):
            name, latin, key, gender = draw()
            ref = referral_code_for(i)
            if ref in taken:
                ref = new_referral_code()
            append(
                (
                    name,
                    latin,
                    key,
                    f"{PHONE_BLOCK}{i:08d}",
                    "",
                    unit_ids[int(r() * n_units)],
                    1950 + int(r() * 58),
                    gender,
                    "",
                    "hi",
                    "none",
                    ref,
                    source,
                    now,
                    now,
                )
            )
        yield batch


def _taken_referral_codes(first: int, end: int) -> set[str]:
    """Referral codes (random ones, made elsewhere) that fall in the counter block we use."""
    lo, hi = referral_code_for(first), referral_code_for(max(first, end - 1))
    return set(
        Person.objects.filter(referral_code__gte=lo, referral_code__lte=hi).values_list(
            "referral_code", flat=True
        )
    )


def insert_rows(batches, sql: str | None = None, on_batch: Callable[[int], None] | None = None):
    """``executemany`` each batch in its own transaction. Returns the unit of every row."""
    sql = sql or person_insert_sql()
    units: Counter = Counter()
    unit_col = PERSON_COLUMNS.index("unit")
    for batch in batches:
        with transaction.atomic(), connection.cursor() as cur:
            cur.executemany(sql, batch)
        units.update(row[unit_col] for row in batch)
        if on_batch:
            on_batch(len(batch))
    return units


# The per-row trigger of migration people 0003, to put back after a bulk load (normally its
# own stored text is put back; this is for one left dropped by an interrupted load).
FTS_INSERT_TRIGGER = f"{SEARCH_FTS_TABLE}_ai"
FTS_INSERT_TRIGGER_SQL = (
    f"CREATE TRIGGER {FTS_INSERT_TRIGGER} AFTER INSERT ON people_person BEGIN "
    f"INSERT INTO {SEARCH_FTS_TABLE}(rowid, name_key, phone) "
    "VALUES (new.id, new.name_key, new.phone); END"
)


@contextmanager
def search_index_deferred():
    """SQLite: index the people inserted inside the block in one pass at its end.

    The trigger that indexes each new person costs about six plain inserts, so for a bulk
    load it is dropped, and at the end the rows with ids above the previous maximum (ours and
    any other connection's) are indexed by one ``INSERT … SELECT`` and the trigger put back.
    A load interrupted before that leaves the trigger dropped; the next bulk load finds it
    missing and rebuilds the whole index. Only inserts may happen meanwhile: updates and
    deletes of the new rows would reach the index before the rows do. Elsewhere a no-op."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cur:
        cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE name IN (%s, %s)",
            [SEARCH_FTS_TABLE, FTS_INSERT_TRIGGER],
        )
        found = dict(cur.fetchall())
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Person._meta.db_table}")
        (mark,) = cur.fetchone()
    if SEARCH_FTS_TABLE not in found:  # not migrated that far: no index to keep up
        yield
        return
    trigger_sql = found.get(FTS_INSERT_TRIGGER)
    if trigger_sql:
        with connection.cursor() as cur:
            cur.execute(f"DROP TRIGGER {FTS_INSERT_TRIGGER}")
    try:
        yield
    finally:
        with transaction.atomic(), connection.cursor() as cur:
            if trigger_sql is None:
                cur.execute(
                    f"INSERT INTO {SEARCH_FTS_TABLE}({SEARCH_FTS_TABLE}) VALUES ('rebuild')"
                )
            else:
                cur.execute(
                    f"INSERT INTO {SEARCH_FTS_TABLE}(rowid, name_key, phone) "
                    f"SELECT id, name_key, phone FROM {Person._meta.db_table} WHERE id > %s",
                    [mark],
                )
            cur.execute(trigger_sql or FTS_INSERT_TRIGGER_SQL)


def seed_people(
    count: int,
    booths: Sequence[tuple[int, str]],
    *,
    seed: int = 42,
    source: str = "seed",
    latin_share: float = 0.0,
    progress: bool = False,
) -> int:
    """Insert ``count`` people spread over ``booths`` (``(id, path)`` pairs) and add them to the
    maintained counts. Returns the first counter value used (phones ``phone_for(start…)``)."""
    if count <= 0:
        return next_free_index()
    rng = random.Random(seed)
    start = next_free_index()
    if start + count > 10**PHONE_DIGITS:
        raise ValueError(
            f"The synthetic phone block {PHONE_BLOCK}… has room for "
            f"{10**PHONE_DIGITS - start} more people, not {count}."
        )
    ids = [b[0] for b in booths]
    path_of = dict(booths)
    bar = tqdm(total=count, desc="people", unit=" rows", disable=not progress, file=sys.stderr)
    with search_index_deferred():
        per_unit = insert_rows(
            person_rows(count, ids, rng=rng, start=start, source=source, latin_share=latin_share),
            on_batch=bar.update,
        )
    bar.close()
    add_people_counts({path_of[u]: n for u, n in per_unit.items()})
    return start


def rolled_up(direct: dict[str, int]) -> dict[str, int]:
    step = OrgUnit.steplen
    totals: dict[str, int] = defaultdict(int)
    for path, n in direct.items():
        for i in range(step, len(path) + 1, step):
            totals[path[:i]] += n
    return totals


@transaction.atomic
def add_people_counts(direct: dict[str, int]) -> None:
    """Add ``direct[path]`` people to that unit and all its ancestors, set-based: one temporary
    table keyed by path and one UPDATE, whatever the number of units. Cheaper than
    ``counts.recount()`` after loading a slice into a big tree, since only touched units move."""
    totals = rolled_up(direct)
    if not totals:
        return
    table = OrgUnit._meta.db_table
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS seed_people_counts")
        cur.execute(
            "CREATE TEMPORARY TABLE seed_people_counts "
            "(path varchar(255) PRIMARY KEY, n integer NOT NULL)"
        )
        items = list(totals.items())
        for i in range(0, len(items), BATCH_ROWS):
            cur.executemany(
                "INSERT INTO seed_people_counts (path, n) VALUES (%s, %s)",
                items[i : i + BATCH_ROWS],
            )
        cur.execute(
            f"UPDATE {table} SET people_count = people_count + "
            f"(SELECT n FROM seed_people_counts s WHERE s.path = {table}.path) "
            "WHERE path IN (SELECT path FROM seed_people_counts)"
        )
        cur.execute("DROP TABLE seed_people_counts")
