"""Exporting people to CSV and XLSX, scoped to the user's jurisdiction.

Cells that a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) get a leading apostrophe, so a name typed as ``=HYPERLINK(…)`` stays
text (CSV injection, OWASP). Phones start with ``+`` and are escaped too; the importer strips
that apostrophe again, so an export re-imports cleanly.
"""

from __future__ import annotations

import io

from sangathan.org.scoping import jurisdiction_for
from sangathan.people.models import Person

COLUMNS = [
    "name",
    "name_latin",
    "phone",
    "unit_code",
    "unit_name",
    "gender",
    "birth_year",
    "institution",
    "tags",
]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


def escape_cell(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def people_for_export(user, unit=None):
    """People in the user's jurisdiction (and under ``unit``, already checked by the caller
    with ``get_unit_for_user``), in tree order."""
    people = jurisdiction_for(user).filter(Person.objects.all(), "unit__path")
    if unit is not None:
        people = people.within(unit)
    return people.select_related("unit").prefetch_related("tags").order_by("unit__path", "name")


def export_rows(people):
    """The header, then one escaped row per person, fetched in chunks."""
    yield COLUMNS
    for p in people.iterator(chunk_size=CHUNK):
        yield [
            escape_cell(v)
            for v in (
                p.name,
                p.name_latin,
                p.phone,
                p.unit.code,
                p.unit.name,
                p.gender,
                p.birth_year if p.birth_year is not None else "",
                p.institution,
                ", ".join(sorted(t.name for t in p.tags.all())),
            )
        ]


def export_xlsx(people) -> bytes:
    """An XLSX workbook (write-only mode keeps memory flat while rows are added)."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("people")
    for row in export_rows(people):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
