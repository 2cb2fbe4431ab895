"""Real electoral geography: nation > state > district > assembly constituency > polling station.

The data files live in ``sangathan/org/data/`` (sources and licences in its README.md). Every
unit is keyed by a stable ``code`` so that importing twice creates nothing:

* ``IN`` — the nation; ``UP`` — a state (the ISO 3166-2:IN suffix);
* ``UP-D-162`` — a district (LGD code); ``UP-D-NA`` — the placeholder for ACs the data does not
  place in any district (Delhi, parts of West Bengal, Gujarat, MP, Sikkim's Sangha seat);
* ``UP-AC-173`` — an assembly constituency (number zero-padded to three digits);
* ``UP-AC-173-PS-042``, ``UP-AC-175-PS-081A`` — a polling station (booth);
* ``UP-AC-173-M-01`` and ``UP-AC-173-S-01-02`` — mandals and sectors built by grouping booths.

Loading uses :class:`~sangathan.org.bulk.TreeBuilder` (bulk inserts with computed paths), so all
of UP's 1.4 lakh booths go in within seconds. The import never moves an existing unit: a
reorganisation done with ``do_move_unit`` survives a re-import.
"""

import csv
import gzip
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Concat, Length, Substr
from django.utils.translation import gettext as _

from sangathan.org.bulk import TreeBuilder
from sangathan.org.models import Level, OrgUnit, PollingLocation

NATIONAL_CODE = "IN"
# Only Uttar Pradesh's polling stations are in the data (see data/README.md).
BOOTH_FILES = {"UP": "up_polling_stations.csv.gz"}
UNASSIGNED_DISTRICT = "NA"

Progress = Callable[[str, int, int], None]


class GeographyError(Exception):
    """Bad input to the import (unknown state, district or AC); the message names the problem."""


@dataclass(frozen=True)
class StateInfo:
    lgd_code: str
    short: str
    iso: str
    name_en: str
    name_hi: str
    ac_count: int


def data_dir() -> Path:
    return Path(settings.SANGATHAN_DATA_DIR)


def iter_rows(name: str) -> Iterator[dict]:
    """Rows of a bundled data file (gzipped or not) as dicts, streamed."""
    path = data_dir() / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def read_rows(name: str) -> list[dict]:
    return list(iter_rows(name))


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9\u0900-\u097f]+", "", text.lower().replace("&", "and"))


@lru_cache(maxsize=1)
def states() -> tuple[StateInfo, ...]:
    return tuple(
        StateInfo(
            lgd_code=r["lgd_code"],
            short=r["iso_3166_2"].split("-", 1)[1],
            iso=r["iso_3166_2"],
            name_en=r["name_en"],
            name_hi=r["name_hi"],
            ac_count=int(r["ac_count"] or 0),
        )
        for r in read_rows("states.csv")
    )


def find_state(query: str) -> StateInfo:
    """A state by short code (``UP``), ISO code (``IN-UP``), LGD code (``9``) or name."""
    q = _norm(query or "")
    for s in states():
        if q and q in {s.short.lower(), _norm(s.iso), s.lgd_code, _norm(s.name_en), s.name_hi}:
            return s
    raise GeographyError(
        _(
            "Unknown state “%(query)s”: give its short code (such as UP), its LGD code (such as 9) "
            "or its English name. Known codes: %(codes)s."
        )
        % {"query": query, "codes": ", ".join(sorted(s.short for s in states()))}
    )


# --- codes and names -------------------------------------------------------------------------


def district_code(state: str, lgd_code: str) -> str:
    return f"{state}-D-{lgd_code}"


def ac_code(state: str, ac_no: int) -> str:
    return f"{state}-AC-{int(ac_no):03d}"


def _ps_parts(ps_no: str) -> tuple[int, str]:
    m = re.fullmatch(r"(\d+)(.*)", ps_no.strip())
    if not m:
        return (10**6, ps_no)
    return (int(m.group(1)), m.group(2).strip().upper())


def booth_code(state: str, ac_no: int, ps_no: str) -> str:
    number, suffix = _ps_parts(ps_no)
    return f"{ac_code(state, ac_no)}-PS-{number:03d}{suffix}"


def mandal_code(ac: str, mandal: int) -> str:
    return f"{ac}-M-{mandal:02d}"


def sector_code(ac: str, mandal: int, sector: int) -> str:
    return f"{ac}-S-{mandal:02d}-{sector:02d}"


def display_case(text: str) -> str:
    """``PRATHMIK VIDYALAYA ROOM NO. 1`` → ``Prathmik Vidyalaya Room No. 1`` (P.P., J.H.S. kept)."""
    text = re.sub(r"\s+", " ", text or "").strip()
    if not text or not text.isupper():
        return text
    return re.sub(r"[A-Za-z]+", lambda m: m.group(0).capitalize(), text.lower())


# --- grouping booths into sectors and mandals ------------------------------------------------


def plan_sectors(
    booths: list[tuple[str, str]], *, booths_per_sector: int = 10, sectors_per_mandal: int = 6
) -> dict[str, tuple[int, int]]:
    """Place booths (``(code, locality key)`` in booth-number order) into sectors of about
    ``booths_per_sector``, and sectors into mandals of ``sectors_per_mandal``.

    Returns ``{booth code: (mandal no, sector no within the mandal)}``. A sector is closed at the
    first change of locality once it is full; a locality that would not fit is started in a
    fresh sector when the current one is already 70 % full; no sector grows beyond 1.5× the size.
    """
    if booths_per_sector < 1 or sectors_per_mandal < 1:
        raise GeographyError(_("Booths per sector and sectors per mandal must be at least 1."))
    hard_max = max(booths_per_sector, (booths_per_sector * 3) // 2)
    soft_min = max(1, (booths_per_sector * 7) // 10)
    # Length of the run of equal keys starting at each booth.
    run = [1] * len(booths)
    for i in range(len(booths) - 2, -1, -1):
        key = booths[i][1]
        if key and key == booths[i + 1][1]:
            run[i] = run[i + 1] + 1
    sectors: list[list[str]] = []
    current: list[str] = []
    prev_key = None
    for i, (code, key) in enumerate(booths):
        if current:
            same = bool(key) and key == prev_key
            n = len(current)
            if (
                n >= hard_max
                or (n >= booths_per_sector and not same)
                or (n >= soft_min and not same and n + run[i] > hard_max)
            ):
                sectors.append(current)
                current = []
        current.append(code)
        prev_key = key
    if current:
        sectors.append(current)
    plan = {}
    for index, codes in enumerate(sectors):
        mandal, sector = divmod(index, sectors_per_mandal)
        for code in codes:
            plan[code] = (mandal + 1, sector + 1)
    return plan


class _SectorMaker:
    """Finds or creates the mandal and sector units of one AC, by code."""

    def __init__(self, builder: TreeBuilder, ac: OrgUnit, levels: dict[str, Level], stats):
        self.builder, self.ac, self.levels, self.stats = builder, ac, levels, stats
        codes = OrgUnit.objects.filter(path__under=ac.path, level__slug__in=["mandal", "sector"])
        self.units = {u.code: u for u in codes}

    def sector(self, mandal_no: int, sector_no: int) -> OrgUnit:
        m_code = mandal_code(self.ac.code, mandal_no)
        mandal = self.units.get(m_code)
        if mandal is None:
            mandal = self.units[m_code] = self.builder.add(
                self.ac,
                level=self.levels["mandal"],
                code=m_code,
                name=f"मंडल {mandal_no}",
                name_hi=f"मंडल {mandal_no}",
                name_en=f"Mandal {mandal_no}",
                ac_no=self.ac.ac_no,
            )
            self.stats["mandal"] += 1
        s_code = sector_code(self.ac.code, mandal_no, sector_no)
        sector = self.units.get(s_code)
        if sector is None:
            label = f"{mandal_no}.{sector_no}"
            sector = self.units[s_code] = self.builder.add(
                mandal,
                level=self.levels["sector"],
                code=s_code,
                name=f"सेक्टर {label}",
                name_hi=f"सेक्टर {label}",
                name_en=f"Sector {label}",
                ac_no=self.ac.ac_no,
            )
            self.stats["sector"] += 1
        return sector


def _reparent(builder: TreeBuilder, unit_path: str, new_parent: OrgUnit) -> str:
    """Move the subtree at ``unit_path`` under ``new_parent`` (a unit the builder is creating
    or one that already exists), set-based. The caller fixes the old parent's ``numchild``."""
    new_path = builder.child_path_for(new_parent)
    new_value = Concat(Value(new_path), Substr("path", len(unit_path) + 1))
    changes = {"path": new_value}
    if len(new_path) != len(unit_path):
        changes = {"depth": Length(new_value) / OrgUnit.steplen, "path": new_value}
    OrgUnit.objects.filter(path__under=unit_path).update(**changes)
    return new_path


def _levels(*slugs: str) -> dict[str, Level]:
    levels = {lv.slug: lv for lv in Level.objects.filter(slug__in=slugs)}
    missing = [s for s in slugs if s not in levels]
    if missing:
        raise GeographyError(
            _("These levels are missing from the database: %(slugs)s. Run the migrations first.")
            % {"slugs": ", ".join(missing)}
        )
    return levels


def _booth_sort_key(ps_no: str) -> tuple[int, str]:
    return _ps_parts(ps_no)


@transaction.atomic
def group_booths(
    ac_unit: OrgUnit, *, booths_per_sector: int = 10, sectors_per_mandal: int = 6
) -> dict:
    """Build mandals and sectors under an AC and move the booths that sit directly under it
    into them, in booth-number order, keeping a polling location's booths together where
    possible. Returns the numbers of mandals and sectors created and booths moved."""
    levels = _levels("mandal", "sector", "booth")
    ac_unit.refresh_from_db()
    stats: Counter = Counter()
    booths = list(
        OrgUnit.objects.filter(
            path__under=ac_unit.path, depth=ac_unit.depth + 1, level=levels["booth"]
        ).select_related("polling_location")
    )
    if not booths:
        return {"mandal": 0, "sector": 0, "moved": 0}
    booths.sort(key=lambda b: _booth_sort_key(b.ps_no))
    plan = plan_sectors(
        [(b.code, _location_key_of(b)) for b in booths],
        booths_per_sector=booths_per_sector,
        sectors_per_mandal=sectors_per_mandal,
    )
    _move_into_sectors(ac_unit, booths, plan, levels, stats)
    recount_if_needed()
    return {"mandal": stats["mandal"], "sector": stats["sector"], "moved": stats["moved"]}


def _location_key_of(booth: OrgUnit) -> str:
    loc = booth.polling_location
    return f"{loc.locality}|{loc.name}" if loc else ""


def _move_into_sectors(ac_unit, booths, plan, levels, stats) -> None:
    builder = TreeBuilder()
    maker = _SectorMaker(builder, ac_unit, levels, stats)
    targets = [(b, maker.sector(*plan[b.code])) for b in booths]
    builder.flush()  # the sectors must exist before booths move under them
    leaves: dict[int, str] = {}
    for booth, sector in targets:
        if booth.numchild:
            _reparent(builder, booth.path, sector)
        else:
            leaves[booth.pk] = builder.child_path_for(sector)
    # Leaf booths (the usual case) move in a few set-based updates instead of one each.
    ids = list(leaves)
    depth = ac_unit.depth + 3
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        OrgUnit.objects.filter(pk__in=chunk).update(
            depth=depth,
            path=Case(*[When(pk=pk, then=Value(leaves[pk])) for pk in chunk]),
        )
    stats["moved"] += len(targets)
    builder.flush()
    OrgUnit.objects.filter(pk=ac_unit.pk).update(numchild=F("numchild") - len(targets))


def recount_if_needed() -> None:
    """Rebuild the maintained counts when new units could change them. New units start empty,
    but positions at their level add seats, and moved booths carry their people."""
    from sangathan.org.counts import recount
    from sangathan.people.models import Person, Position

    if Position.objects.exists() or Person.objects.exists():
        recount()


# --- the import ------------------------------------------------------------------------------

STRUCTURE_FIELDS = [
    "name",
    "name_en",
    "name_hi",
    "lgd_code",
    "ac_no",
    "pc_no",
    "pc_name",
    "reserved",
]
BOOTH_FIELDS = ["name", "name_en", "name_hi", "ps_no", "ac_no", "electors", "polling_location_id"]


class _Upserter:
    """Creates units through a TreeBuilder unless a unit with the code exists; then it only
    refreshes the descriptive fields that changed."""

    def __init__(self, builder: TreeBuilder, existing: dict[str, OrgUnit], stats: Counter):
        self.builder, self.existing, self.stats = builder, existing, stats
        self.changed: list[OrgUnit] = []

    def ensure(self, parent: OrgUnit | None, level: Level, code: str, **fields) -> OrgUnit:
        unit = self.existing.get(code)
        if unit is None:
            unit = self.builder.add(parent, level=level, code=code, **fields)
            self.existing[code] = unit
            self.stats[level.slug] += 1
            return unit
        if unit.level_id != level.pk:
            raise GeographyError(
                _("Unit %(code)s exists at another level (%(level)s); it was not changed.")
                % {"code": code, "level": unit.level.slug}
            )
        dirty = False
        for name, value in fields.items():
            if getattr(unit, name) != value:
                setattr(unit, name, value)
                dirty = True
        if dirty:
            self.changed.append(unit)
            self.stats["updated"] += 1
        return unit

    def save_changes(self, fields: list[str]) -> None:
        if self.changed:
            OrgUnit.objects.bulk_update(self.changed, fields, batch_size=1000)
            self.changed = []


def import_geography(
    state: str = "UP",
    *,
    booths: bool = False,
    acs: list[int] | None = None,
    districts: list[str] | None = None,
    group: bool = False,
    booths_per_sector: int = 10,
    sectors_per_mandal: int = 6,
    include_superseded: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Create (or refresh) the nation, one state, its districts and assembly constituencies,
    and with ``booths`` its polling stations and their polling locations.

    ``acs`` / ``districts`` choose which ACs get booths (the state's districts and ACs are
    always imported whole: a few hundred rows). ``group`` places those booths into mandals and
    sectors (see :func:`plan_sectors`). ACs the data marks as superseded (Assam's and J&K's
    pre-2022/23 lists) are left out unless ``include_superseded``.

    Returns counts: ``created`` per level slug, ``updated``, ``skipped_superseded``,
    ``seconds``.
    """
    started = time.monotonic()
    info = find_state(state)
    if (acs or districts or group) and not booths:
        raise GeographyError(
            _("--ac, --district and --group choose and arrange polling stations: add --booths.")
        )
    if booths and info.short not in BOOTH_FILES:
        raise GeographyError(
            _(
                "Polling stations are in the data only for %(states)s; %(state)s has none. "
                "Import its structure without --booths."
            )
            % {"states": ", ".join(sorted(BOOTH_FILES)), "state": info.name_en}
        )
    report = progress or (lambda step, done, total: None)
    stats: Counter = Counter()
    with transaction.atomic():
        skipped = _import_structure(info, stats, include_superseded, report)
        if booths:
            _import_booths(
                info,
                stats,
                acs=acs,
                districts=districts,
                group=group,
                booths_per_sector=booths_per_sector,
                sectors_per_mandal=sectors_per_mandal,
                report=report,
            )
        created = {k: v for k, v in stats.items() if v and k not in ("updated", "moved")}
        if any(created.values()) or stats["moved"]:
            recount_if_needed()
    return {
        "state": info.short,
        "created": created,
        "updated": stats["updated"],
        "moved": stats["moved"],
        "skipped_superseded": skipped,
        "seconds": round(time.monotonic() - started, 2),
    }


def _import_structure(info: StateInfo, stats: Counter, include_superseded: bool, report) -> int:
    levels = _levels("national", "state", "district", "assembly")
    S = info.short
    existing = {
        u.code: u
        for u in OrgUnit.objects.filter(
            Q(code__in=[NATIONAL_CODE, S])
            | Q(code__startswith=f"{S}-D-", level=levels["district"])
            | Q(code__startswith=f"{S}-AC-", level=levels["assembly"])
        ).select_related("level")
    }
    builder = TreeBuilder()
    up = _Upserter(builder, existing, stats)
    nation = up.ensure(
        None, levels["national"], NATIONAL_CODE, name="भारत", name_en="India", name_hi="भारत"
    )
    state_unit = up.ensure(
        nation,
        levels["state"],
        S,
        name=info.name_hi or info.name_en,
        name_en=info.name_en,
        name_hi=info.name_hi,
        lgd_code=info.lgd_code,
    )
    district_rows = sorted(
        (r for r in read_rows("districts.csv") if r["state_lgd_code"] == info.lgd_code),
        key=lambda r: r["name_en"],
    )
    district_units: dict[str, OrgUnit] = {}
    for r in district_rows:
        district_units[r["lgd_code"]] = up.ensure(
            state_unit,
            levels["district"],
            district_code(S, r["lgd_code"]),
            name=r["name_hi"] or r["name_en"],
            name_en=r["name_en"],
            name_hi=r["name_hi"],
            lgd_code=r["lgd_code"],
        )
    report("districts", len(district_rows), len(district_rows))
    ac_rows = sorted(
        (
            r
            for r in read_rows("assembly_constituencies.csv")
            if r["state_lgd_code"] == info.lgd_code
        ),
        key=lambda r: int(r["ac_no"]),
    )
    skipped = 0
    for r in ac_rows:
        if r["status"].startswith("superseded") and not include_superseded:
            skipped += 1
            continue
        district = district_units.get(r["district_lgd_code"])
        if district is None:
            district = district_units.get(UNASSIGNED_DISTRICT)
            if district is None:
                district = district_units[UNASSIGNED_DISTRICT] = up.ensure(
                    state_unit,
                    levels["district"],
                    district_code(S, UNASSIGNED_DISTRICT),
                    name="अनिर्दिष्ट",
                    name_en="Unassigned",
                    name_hi="अनिर्दिष्ट",
                    lgd_code="",
                )
        up.ensure(
            district,
            levels["assembly"],
            ac_code(S, int(r["ac_no"])),
            name=r["name_hi"] or r["name_en"],
            name_en=r["name_en"],
            name_hi=r["name_hi"],
            ac_no=int(r["ac_no"]),
            pc_no=int(r["pc_no"]) if r["pc_no"] else None,
            pc_name=r["pc_name_en"],
            reserved=r["reserved"],
            lgd_code="",
        )
    report("assembly constituencies", len(ac_rows), len(ac_rows))
    builder.flush()
    up.save_changes(STRUCTURE_FIELDS)
    return skipped


def _select_acs(info: StateInfo, acs, districts) -> set[int]:
    rows = [
        r for r in read_rows("assembly_constituencies.csv") if r["state_lgd_code"] == info.lgd_code
    ]
    all_acs = {int(r["ac_no"]) for r in rows}
    if not acs and not districts:
        return all_acs
    chosen: set[int] = set()
    for ac in acs or []:
        if int(ac) not in all_acs:
            raise GeographyError(
                _("%(state)s has no assembly constituency number %(ac)s (1–%(max)s).")
                % {"state": info.name_en, "ac": ac, "max": max(all_acs)}
            )
        chosen.add(int(ac))
    if districts:
        by_key: dict[str, str] = {}
        for r in read_rows("districts.csv"):
            if r["state_lgd_code"] == info.lgd_code:
                for key in (r["lgd_code"], _norm(r["name_en"]), r["name_hi"]):
                    if key:
                        by_key[key] = r["lgd_code"]
        for d in districts:
            lgd = by_key.get(d.strip()) or by_key.get(_norm(d))
            if lgd is None:
                raise GeographyError(
                    _(
                        "%(state)s has no district “%(district)s” "
                        "(give its English name or LGD code)."
                    )
                    % {"state": info.name_en, "district": d}
                )
            chosen |= {int(r["ac_no"]) for r in rows if r["district_lgd_code"] == lgd}
    return chosen


def _import_booths(
    info: StateInfo,
    stats: Counter,
    *,
    acs,
    districts,
    group,
    booths_per_sector,
    sectors_per_mandal,
    report,
) -> None:
    levels = _levels("booth", "mandal", "sector")
    S = info.short
    chosen = _select_acs(info, acs, districts)
    ac_units = {
        u.ac_no: u
        for u in OrgUnit.objects.filter(
            code__in=[ac_code(S, n) for n in chosen], level__slug="assembly"
        )
    }
    by_ac: dict[int, list[dict]] = defaultdict(list)
    for r in iter_rows(BOOTH_FILES[S]):
        ac_no = int(r["ac_no"])
        if ac_no in ac_units:
            by_ac[ac_no].append(r)
    for rows in by_ac.values():
        rows.sort(key=lambda r: _booth_sort_key(r["ps_no"]))

    # Polling locations (buildings) first: the stations point at them.
    ac_ids = {u.pk: n for n, u in ac_units.items()}
    known = {
        (loc.assembly_id, loc.name, loc.locality): loc.pk
        for loc in PollingLocation.objects.filter(assembly_id__in=list(ac_ids))
    }
    new_locations = {}
    for ac_no, rows in by_ac.items():
        ac_id = ac_units[ac_no].pk
        for r in rows:
            key = _location_key(ac_id, r)
            if key and key not in known and key not in new_locations:
                new_locations[key] = PollingLocation(
                    assembly_id=key[0], name=key[1], locality=key[2]
                )
    PollingLocation.objects.bulk_create(new_locations.values(), batch_size=2000)
    stats["location"] += len(new_locations)
    if new_locations:
        known = {
            (loc.assembly_id, loc.name, loc.locality): loc.pk
            for loc in PollingLocation.objects.filter(assembly_id__in=list(ac_ids))
        }
    report("polling locations", len(new_locations), len(new_locations))

    # Booths by code, per AC: a code range on the unique index (units added by hand or by
    # other tools may lack ``ac_no``).
    existing = {}
    for ac in ac_units.values():
        prefix = f"{ac.code}-PS-"
        for u in OrgUnit.objects.filter(code__gte=prefix, code__lt=prefix[:-1] + ".").only(
            "id", "code", "path", "depth", "level_id", *BOOTH_FIELDS
        ):
            existing[u.code] = u
    builder = TreeBuilder()
    up = _Upserter(builder, existing, stats)
    total = sum(len(rows) for rows in by_ac.values())
    done = 0
    for ac_no in sorted(by_ac):
        ac = ac_units[ac_no]
        rows = by_ac[ac_no]
        maker = plan = None
        if group:
            maker = _SectorMaker(builder, ac, levels, stats)
            plan = plan_sectors(
                [(booth_code(S, ac_no, r["ps_no"]), _row_locality_key(r)) for r in rows],
                booths_per_sector=booths_per_sector,
                sectors_per_mandal=sectors_per_mandal,
            )
        for r in rows:
            code = booth_code(S, ac_no, r["ps_no"])
            parent = ac
            if maker is not None and code not in existing:
                parent = maker.sector(*plan[code])
            name_en = display_case(r["ps_name_en"])
            name_hi = r["ps_name_hi"].strip()
            number = r["ps_no"].strip()
            up.ensure(
                parent,
                levels["booth"],
                code,
                name=name_hi or name_en or f"मतदान केंद्र {number}",
                name_en=name_en or f"Polling station {number}",
                name_hi=name_hi,
                ps_no=number,
                ac_no=ac_no,
                electors=int(r["electors"]) if r["electors"].strip() else None,
                polling_location_id=known.get(_location_key(ac.pk, r)),
            )
        done += len(rows)
        report("polling stations", done, total)
    builder.flush()
    up.save_changes(BOOTH_FIELDS)
    if group:
        # Booths imported earlier without grouping still sit directly under their AC.
        for ac_no in sorted(by_ac):
            ac = ac_units[ac_no]
            ac.refresh_from_db()
            loose = list(
                OrgUnit.objects.filter(
                    path__under=ac.path, depth=ac.depth + 1, level=levels["booth"]
                )
            )
            if loose:
                plan = plan_sectors(
                    [
                        (booth_code(S, ac_no, r["ps_no"]), _row_locality_key(r))
                        for r in by_ac[ac_no]
                    ],
                    booths_per_sector=booths_per_sector,
                    sectors_per_mandal=sectors_per_mandal,
                )
                loose = [b for b in loose if b.code in plan]
                _move_into_sectors(ac, loose, plan, levels, stats)


def _row_locality_key(r: dict) -> str:
    """The same key as ``_location_key_of`` gives for the booth once it is stored."""
    key = _location_key(0, r)
    return f"{key[2]}|{key[1]}" if key else ""


def _location_key(ac_id: int, r: dict) -> tuple[int, str, str] | None:
    building = display_case(r["polling_location"])
    locality = display_case(r["locality"])
    if not building and not locality:
        return None
    return (ac_id, building or locality, locality)


def states_with_booths() -> Iterable[str]:
    return sorted(BOOTH_FILES)
