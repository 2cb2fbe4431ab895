"""Importing people from CSV and XLSX files, as district offices actually produce them.

Three steps, each usable alone:

1. ``read_rows(data, filename)`` turns bytes into ``(line, {field: text})`` pairs. It reads
   XLSX (openpyxl, read-only) and CSV/TSV in UTF-8 (with or without BOM), UTF-16 (Excel's
   "Unicode text", with BOM) and Windows-1252, sniffing the delimiter (comma, tab, semicolon)
   from the header line. Headers are matched case- and space-insensitively in English and
   Hindi. ``line`` is the row number a spreadsheet shows (header = 1).
2. ``plan_import(data, filename, user)`` validates every row, merges rows that share a phone
   (later rows' non-empty cells win: the bottom of a sheet is usually the latest correction),
   and compares with what is stored. It writes nothing; this is the preview.
3. ``do_import_people(...)`` plans again and writes every good row in one transaction with
   bulk inserts/updates, maintains the per-unit counts and writes the audit row.

Existing people are updated only with the cells the file gives: an empty cell never blanks
stored data, tags are added and never removed, and a person outside the importer's
jurisdiction is never touched.
"""

from __future__ import annotations

import csv
import datetime
import io
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from sangathan.accounts.audit import audit
from sangathan.channels.optout import without_suppressed
from sangathan.org import counts
from sangathan.org.models import OrgUnit
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.models import Channel, Consent, Gender, Person, Purpose, Tag
from sangathan.people.phones import PhoneError, Reason, ascii_digits, normalise_phone

try:
    from sangathan.people.names import person_name_fields
except ImportError:  # pragma: no cover - names.py is written in parallel

    def person_name_fields(name: str) -> tuple[str, str]:
        return ("", "")


BATCH = 2000

# Header spellings, compared after ``_header_key`` (casefolded, no spaces/_/-/.).
HEADERS = {
    "name": ["name", "fullname", "नाम", "पूरानाम"],
    "phone": [
        "phone",
        "mobile",
        "mobileno",
        "mobilenumber",
        "phoneno",
        "phonenumber",
        "whatsapp",
        "मोबाइल",
        "मोबाईल",
        "मोबाइलनंबर",
        "मोबाइलनं",
        "फ़ोन",
        "फोन",
        "फ़ोननंबर",
        "फोननंबर",
    ],
    "unit_code": ["unitcode", "unit", "booth", "boothcode", "बूथ", "बूथकोड", "इकाई", "इकाईकोड"],
    "gender": ["gender", "sex", "लिंग"],
    "birth_year": ["birthyear", "yearofbirth", "yob", "जन्मवर्ष", "जन्मसाल"],
    "institution": ["institution", "college", "संस्थान", "कॉलेज"],
    "tags": ["tags", "tag", "टैग"],
    "consent": ["consent", "सहमति"],
}
REQUIRED = ("name", "phone", "unit_code")

GENDERS = {
    "male": Gender.MALE,
    "m": Gender.MALE,
    "पुरुष": Gender.MALE,
    "पु": Gender.MALE,
    "female": Gender.FEMALE,
    "f": Gender.FEMALE,
    "महिला": Gender.FEMALE,
    "स्त्री": Gender.FEMALE,
    "other": Gender.OTHER,
    "o": Gender.OTHER,
    "अन्य": Gender.OTHER,
}
YES = {"yes", "y", "true", "1", "हाँ", "हां", "हा"}
NO = {"no", "n", "false", "0", "नहीं", "नही"}
# "yes" in the consent column: the channels a phone number on a sign-up sheet stands for.
CONSENT_YES_CHANNELS = (Channel.SMS, Channel.WHATSAPP)


class ImportFileError(Exception):
    """The file as a whole cannot be read; ``reason`` says why, translatably."""

    def __init__(self, reason: Reason):
        self.reason = reason
        super().__init__(str(reason))


@dataclass
class ImportResult:
    """Counts and bad rows; ``to_json`` gives the public shape used by the command."""

    rows: int = 0
    valid: int = 0
    invalid: list[tuple[int, Reason]] = field(default_factory=list)
    duplicates: int = 0
    created: int = 0
    updated: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "rows": self.rows,
            "valid": self.valid,
            "invalid": [{"line": line, "reason": str(r)} for line, r in self.invalid],
            "duplicates": self.duplicates,
            "created": self.created,
            "updated": self.updated,
        }

    def to_store(self) -> dict:
        """Like ``to_json`` but with reasons untranslated, to render later in any language."""
        data = self.to_json()
        data["invalid"] = [{"line": line, **r.to_dict()} for line, r in self.invalid]
        data["ignored_columns"] = self.ignored_columns
        return data

    @classmethod
    def from_store(cls, data: dict) -> ImportResult:
        return cls(
            rows=data.get("rows", 0),
            valid=data.get("valid", 0),
            invalid=[(e["line"], Reason.from_dict(e)) for e in data.get("invalid", [])],
            duplicates=data.get("duplicates", 0),
            created=data.get("created", 0),
            updated=data.get("updated", 0),
            ignored_columns=data.get("ignored_columns", []),
        )


# --- 1. reading ----------------------------------------------------------------------------


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFC", str(text)).casefold()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "_-.*:")


_HEADER_LOOKUP = {
    _header_key(spelling): name for name, spellings in HEADERS.items() for spelling in spellings
}


def _cell_text(value) -> str:
    """A cell as text, the way its author meant it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # XLSX numbers: 9876543210.0 → 9876543210, 1990.0 → 1990
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value)).strip()
    # Undo our own export's formula escaping so that an export re-imports cleanly.
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


def check_size(size: int) -> None:
    limit = settings.SANGATHAN_MAX_UPLOAD_BYTES
    if size > limit:
        raise ImportFileError(
            Reason(
                gettext_noop(
                    "the file is %(size)s MB; files larger than %(limit)s MB are refused. "
                    "Split it into smaller files."
                ),
                size=f"{size / 1024 / 1024:.1f}",
                limit=f"{limit / 1024 / 1024:.0f}"
                if limit >= 1024 * 1024
                else "%.3f" % (limit / 1024 / 1024),
            )
        )


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    head = data[:4000]
    # UTF-16 without a BOM: every other byte of ASCII text is NUL.
    if len(head) >= 4 and head.count(b"\x00") > len(head) // 3:
        even, odd = head[0::2].count(b"\x00"), head[1::2].count(b"\x00")
        try:
            return data.decode("utf-16-be" if even > odd else "utf-16-le")
        except UnicodeDecodeError:
            pass
        raise ImportFileError(_unreadable())
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page; bytes cp1252 leaves undefined
        # (0x81, 0x8D…) are taken as Latin-1 rather than refusing the whole file.
        return (
            data.decode("cp1252", errors="ignore") if _is_cp1252(data) else data.decode("latin-1")
        )


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _unreadable() -> Reason:
    return Reason(
        gettext_noop(
            "the file could not be read: it is neither a CSV (comma, tab or semicolon separated "
            "text) nor an Excel .xlsx workbook"
        )
    )


def _text_rows(text: str):
    if "\x00" in text or sum(1 for ch in text[:4000] if _is_control(ch)) > 8:
        raise ImportFileError(_unreadable())
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(("\t", ",", ";"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise ImportFileError(
            Reason(
                gettext_noop("the file is not valid CSV near line %(line)s: %(error)s"),
                line=reader.line_num,
                error=str(exc),
            )
        ) from None


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" and ch not in "\t\r\n"


def _xlsx_rows(data: bytes):
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(
            Reason(
                gettext_noop(
                    "the Excel file could not be opened (%(error)s); save it again as .xlsx or CSV"
                ),
                error=str(exc)[:200],
            )
        ) from None
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def read_rows(data: bytes, filename: str = ""):
    """``(header_map, rows)``: which column holds which field, and an iterator of
    ``(line, {field: text})`` for every non-blank data row."""
    check_size(len(data))
    if not data.strip():
        raise ImportFileError(Reason(gettext_noop("the file is empty")))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            Reason(
                gettext_noop(
                    "this is an old Excel .xls file; save it as .xlsx or CSV and upload again"
                )
            )
        )
    if data.startswith(b"PK\x03\x04"):
        raw_rows = _xlsx_rows(data)
    else:
        raw_rows = _text_rows(_decode(data))

    header_line = 0
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for line, raw in enumerate(raw_rows, start=1):
        cells = [_cell_text(v) for v in raw]
        if not any(cells):
            continue  # blank lines above the header
        header_line = line
        for index, cell in enumerate(cells):
            name = _HEADER_LOOKUP.get(_header_key(cell))
            if name and name not in columns:
                columns[name] = index
            elif cell:
                ignored.append(cell)
        break
    if not header_line:
        raise ImportFileError(Reason(gettext_noop("the file is empty")))
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        if len(columns) == 0:
            raise ImportFileError(
                Reason(
                    gettext_noop(
                        "no recognisable header in line %(line)s: the first row must name the "
                        "columns, e.g. name, phone, unit_code (or नाम, मोबाइल, बूथ)"
                    ),
                    line=header_line,
                )
            )
        raise ImportFileError(
            Reason(
                gettext_noop("the header has no column for %(missing)s"),
                missing=", ".join(missing),
            )
        )

    def rows():
        for line, raw in enumerate(raw_rows, start=header_line + 1):
            cells = [_cell_text(v) for v in raw]
            if not any(cells):
                continue
            yield line, {name: (cells[i] if i < len(cells) else "") for name, i in columns.items()}

    return columns, ignored, rows()


def check_header(data: bytes, filename: str = "") -> None:
    """Raise ``ImportFileError`` if the file cannot be read or has no usable header line.
    Reads no further than the header, so an upload can be refused at once and the rows
    checked later in the background."""
    read_rows(data, filename)  # the unread rows are dropped (an XLSX workbook closes then)


# --- 2. validating and planning ------------------------------------------------------------


@dataclass
class Row:
    """One person as the file describes them, after validation and merging."""

    line: int
    phone: str
    name: str
    unit_code: str = ""
    gender: str = ""
    birth_year: int | None = None
    institution: str = ""
    tags: list[str] = field(default_factory=list)
    consent: list[str] = field(default_factory=list)
    consent_line: int = 0
    lines: list[int] = field(default_factory=list)  # every line merged into this row

    def merge(self, later: Row) -> None:
        """Later rows' non-empty cells win; tags and consents add up."""
        self.line = later.line
        self.lines.append(later.line)
        self.name = later.name or self.name
        for attr in ("unit_code", "gender", "institution"):
            setattr(self, attr, getattr(later, attr) or getattr(self, attr))
        if later.birth_year is not None:
            self.birth_year = later.birth_year
        self.tags += [t for t in later.tags if t not in self.tags]
        if later.consent:
            self.consent += [c for c in later.consent if c not in self.consent]
            self.consent_line = later.consent_line


def _parse_row(line: int, cells: dict[str, str], year_now: int) -> Row:
    """A valid ``Row`` or ``ValueError(Reason)``."""
    name = cells.get("name", "")  # already NFC and stripped; otherwise kept as written
    if not name:
        raise ValueError(Reason(gettext_noop("the name is missing")))
    if len(name) > 200:
        raise ValueError(Reason(gettext_noop("the name is longer than 200 characters")))
    try:
        phone = normalise_phone(cells.get("phone", ""))
    except PhoneError as exc:
        raise ValueError(exc.reason) from None
    row = Row(
        line=line,
        phone=phone,
        name=name,
        unit_code=cells.get("unit_code", "").strip(),
        lines=[line],
    )

    gender = cells.get("gender", "").strip()
    if gender:
        row.gender = GENDERS.get(gender.casefold(), "")
        if not row.gender:
            raise ValueError(
                Reason(
                    gettext_noop(
                        "unknown gender “%(value)s”: write male, female or other "
                        "(पुरुष, महिला, अन्य; M, F)"
                    ),
                    value=gender,
                )
            )
    year = ascii_digits(cells.get("birth_year", "").strip())
    if year:
        lowest, highest = year_now - 110, year_now - 10
        if not (len(year) == 4 and year.isdigit() and lowest <= int(year) <= highest):
            raise ValueError(
                Reason(
                    gettext_noop(
                        "birth year “%(value)s” is not a year between %(lowest)s and %(highest)s"
                    ),
                    value=year,
                    lowest=lowest,
                    highest=highest,
                )
            )
        row.birth_year = int(year)
    institution = " ".join(cells.get("institution", "").split())
    if len(institution) > 200:
        raise ValueError(Reason(gettext_noop("the institution is longer than 200 characters")))
    row.institution = institution
    for tag in cells.get("tags", "").replace(";", ",").split(","):
        tag = " ".join(tag.split())
        if not tag:
            continue
        if len(tag) > 60:
            raise ValueError(
                Reason(gettext_noop("the tag “%(value)s” is longer than 60 characters"), value=tag)
            )
        if tag not in row.tags:
            row.tags.append(tag)
    consent = cells.get("consent", "").strip().casefold()
    if consent and consent not in NO:
        if consent in YES:
            row.consent = list(CONSENT_YES_CHANNELS)
        else:
            for word in consent.replace(";", ",").split(","):
                word = word.strip()
                if word not in Channel.values:
                    raise ValueError(
                        Reason(
                            gettext_noop(
                                "unknown consent “%(value)s”: write yes, no, or channels such as "
                                "sms, whatsapp"
                            ),
                            value=word,
                        )
                    )
                if word not in row.consent:
                    row.consent.append(word)
        row.consent_line = line
    return row


@dataclass
class Plan:
    """What an import would do: the result counts and the writes to make."""

    result: ImportResult
    new: list[Person] = field(default_factory=list)
    changed: list[Person] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    moves: list[tuple[str, str]] = field(default_factory=list)  # (old path, new path)
    tags: dict[str, list[str]] = field(default_factory=dict)  # phone → tags to add
    consents: dict[str, tuple[list[str], int]] = field(default_factory=dict)  # phone → (ch, line)


def _chunks(items, size=BATCH):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def plan_import(data: bytes, filename: str, user) -> Plan:
    """Read, validate and compare with the database; writes nothing."""
    _, ignored, rows = read_rows(data, filename)
    result = ImportResult(ignored_columns=ignored)
    year_now = timezone.localdate().year

    merged: dict[str, Row] = {}
    for line, cells in rows:
        result.rows += 1
        try:
            row = _parse_row(line, cells, year_now)
        except ValueError as exc:
            result.invalid.append((line, exc.args[0]))
            continue
        if row.phone in merged:
            merged[row.phone].merge(row)
            result.duplicates += 1
        else:
            merged[row.phone] = row
        result.valid += 1

    # Units: only those inside the importer's jurisdiction can be found at all, so a unit
    # elsewhere reads exactly like one that does not exist.
    jurisdiction = jurisdiction_for(user) if user is not None else None
    codes = {r.unit_code for r in merged.values() if r.unit_code}
    units: dict[str, OrgUnit] = {}
    for chunk in _chunks(codes | {c.upper() for c in codes}):
        qs = OrgUnit.objects.filter(code__in=chunk).only("id", "path", "code")
        if jurisdiction is not None:
            qs = jurisdiction.filter(qs, "path")
        units.update({u.code: u for u in qs})

    existing: dict[str, Person] = {}
    for chunk in _chunks(merged):
        for person in Person.objects.filter(phone__in=chunk).select_related("unit"):
            existing[person.phone] = person
    existing_tags: dict[int, set[str]] = defaultdict(set)
    existing_consents: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks([p.pk for p in existing.values()]):
        for pid, tag in Person.tags.through.objects.filter(person_id__in=chunk).values_list(
            "person_id", "tag__name"
        ):
            existing_tags[pid].add(tag)
        for pid, channel in (
            Consent.objects.active()
            .filter(person_id__in=chunk, purpose=Purpose.ORGANISATIONAL)
            .values_list("person_id", "channel")
        ):
            existing_consents[pid].add(channel)

    plan = Plan(result=result)
    now = timezone.now()
    for phone, row in merged.items():
        unit = None
        if row.unit_code:
            unit = units.get(row.unit_code) or units.get(row.unit_code.upper())
            if unit is None:
                _refuse(
                    result,
                    row,
                    Reason(gettext_noop("unknown unit code “%(value)s”"), value=row.unit_code),
                )
                continue
        person = existing.get(phone)
        if person is None:
            if unit is None:
                _refuse(result, row, Reason(gettext_noop("the unit code is missing")))
                continue
            latin, key = person_name_fields(row.name)
            plan.new.append(
                Person(
                    name=row.name,
                    name_latin=latin,
                    name_key=key,
                    phone=phone,
                    unit=unit,
                    gender=row.gender,
                    birth_year=row.birth_year,
                    institution=row.institution,
                    source="import",
                )
            )
            if row.tags:
                plan.tags[phone] = row.tags
            if row.consent:
                plan.consents[phone] = (row.consent, row.consent_line)
            result.created += 1
            continue

        if jurisdiction is not None and not jurisdiction.contains(person.unit):
            # The phone is taken (it is unique), so we must refuse; say no more than that.
            _refuse(
                result,
                row,
                Reason(
                    gettext_noop(
                        "the mobile number %(value)s is already registered outside your area; "
                        "ask a coordinator there to move the person"
                    ),
                    value=phone,
                ),
            )
            continue
        changed = False
        if row.name != person.name:
            person.name = row.name
            person.name_latin, person.name_key = person_name_fields(row.name)
            plan.changed_fields |= {"name", "name_latin", "name_key"}
            changed = True
        if unit is not None and unit.pk != person.unit_id:
            plan.moves.append((person.unit.path, unit.path))
            person.unit = unit
            plan.changed_fields.add("unit")
            changed = True
        for attr in ("gender", "birth_year", "institution"):
            value = getattr(row, attr)
            if value not in ("", None) and value != getattr(person, attr):
                setattr(person, attr, value)
                plan.changed_fields.add(attr)
                changed = True
        new_tags = [t for t in row.tags if t not in existing_tags[person.pk]]
        if new_tags:
            plan.tags[phone] = new_tags
            changed = True
        new_consents = [c for c in row.consent if c not in existing_consents[person.pk]]
        if new_consents:
            plan.consents[phone] = (new_consents, row.consent_line)
            changed = True
        if changed:
            person.updated_at = now
            plan.changed.append(person)
            result.updated += 1
    result.invalid.sort(key=lambda e: e[0])
    return plan


def _refuse(result: ImportResult, row: Row, reason: Reason) -> None:
    """Every line merged into a refused row is reported and no longer counts as valid."""
    for line in row.lines:
        result.invalid.append((line, reason))
    result.valid -= len(row.lines)
    result.duplicates -= len(row.lines) - 1


# --- 3. writing ----------------------------------------------------------------------------


def do_import_people(
    data: bytes,
    filename: str,
    *,
    user=None,
    request=None,
    on_written: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Write every good row of the file in one transaction; bad rows are skipped and
    reported. ``user`` None means full jurisdiction (the command line). ``on_written`` runs
    inside that transaction after the rows are written (a background commit marks its batch
    done there, so a crash can never leave the people written and the batch unmarked); if it
    raises, nothing is written."""
    plan = plan_import(data, filename, user)
    result = plan.result
    with transaction.atomic(durable=True):
        for chunk in _chunks(plan.new):
            Person.objects.bulk_create(chunk)
        if plan.changed:
            fields = sorted(plan.changed_fields | {"updated_at"})
            for chunk in _chunks(plan.changed):
                Person.objects.bulk_update(chunk, fields)

        ids: dict[str, int] = {}
        wanted = set(plan.tags) | set(plan.consents)
        for chunk in _chunks(wanted):
            ids.update(Person.objects.filter(phone__in=chunk).values_list("phone", "id"))
        _add_tags(plan.tags, ids)
        consents = [
            Consent(
                person_id=ids[phone],
                channel=channel,
                purpose=Purpose.ORGANISATIONAL,
                evidence=f"import {filename} line {line}"[:255],
            )
            for phone, (channels, line) in plan.consents.items()
            for channel in channels
        ]
        # A STOP or an unsubscribe link outlives a re-import: never grant those again.
        consents = without_suppressed(consents)
        for chunk in _chunks(consents):
            Consent.objects.bulk_create(chunk)

        _update_counts(plan)
        audit(
            "import",
            actor=user,
            request=request,
            filename=filename,
            rows=result.rows,
            valid=result.valid,
            invalid=len(result.invalid),
            duplicates=result.duplicates,
            created=result.created,
            updated=result.updated,
        )
        if on_written is not None:
            on_written(result)
    return result


def _add_tags(tags_by_phone: dict[str, list[str]], ids: dict[str, int]) -> None:
    if not tags_by_phone:
        return
    names = {t for tags in tags_by_phone.values() for t in tags}
    Tag.objects.bulk_create([Tag(name=n) for n in names], ignore_conflicts=True)
    tag_ids: dict[str, int] = {}
    for chunk in _chunks(names):
        tag_ids.update(Tag.objects.filter(name__in=chunk).values_list("name", "id"))
    through = Person.tags.through
    links = [
        through(person_id=ids[phone], tag_id=tag_ids[name])
        for phone, tags in tags_by_phone.items()
        for name in tags
    ]
    for chunk in _chunks(links):
        through.objects.bulk_create(chunk, ignore_conflicts=True)


def _update_counts(plan: Plan) -> None:
    delta: dict[str, int] = defaultdict(int)
    for person in plan.new:
        delta[person.unit.path] += 1
    for old, new in plan.moves:
        delta[old] -= 1
        delta[new] += 1
    delta = {path: n for path, n in delta.items() if n}
    if len(delta) > 2000:
        counts.recount()  # one set-based rebuild beats thousands of single bumps
        return
    for path, n in delta.items():
        counts.bump(path, people=n)


def describe_error(exc: ImportFileError) -> str:
    return gettext("The file cannot be imported: %(reason)s") % {"reason": exc.reason}
