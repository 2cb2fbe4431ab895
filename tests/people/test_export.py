"""People export: scoped, formula-safe, audited."""

import csv
import io

import openpyxl
from django.urls import reverse

from sangathan.accounts.models import AuditLog
from sangathan.people.exporting import escape_cell
from sangathan.people.models import Tag
from tests.conftest import client_for
from tests.factories import make_person


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel needs the BOM to read Hindi
    return list(csv.reader(io.StringIO(body[1:])))


def test_escape_cell():
    assert escape_cell("=1+1") == "'=1+1"
    assert escape_cell("@SUM(A1)") == "'@SUM(A1)"
    assert escape_cell("-2") == "'-2"
    assert escape_cell("\tx") == "'\tx"
    assert escape_cell("राम") == "राम"
    assert escape_cell(None) == ""


def test_export_escapes_formulas(as_convenor, cast):
    evil = make_person(cast.booth1, '=HYPERLINK("http://evil","x")', institution="+cmd|calc")
    evil.tags.add(Tag.objects.create(name="@tag"))
    rows = rows_of(as_convenor.get(reverse("people:export")))
    assert rows[0] == [
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
    row = next(r for r in rows if "HYPERLINK" in r[0])
    assert row[0] == '\'=HYPERLINK("http://evil","x")'
    assert row[2] == "'" + evil.phone
    assert row[7] == "'+cmd|calc"
    assert row[8] == "'@tag"
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


def test_export_is_scoped_to_the_jurisdiction(cast):
    rows = rows_of(client_for(cast.outsider).get(reverse("people:export")))
    names = {r[0] for r in rows[1:]}
    assert names == {"अमित शुक्ला", "रीना गुप्ता"}


def test_export_of_one_unit(as_convenor, cast):
    response = as_convenor.get(reverse("people:export"), {"unit": cast.booth1.code})
    names = {r[0] for r in rows_of(response)[1:]}
    assert names == {"पूजा यादव"}


def test_outsider_cannot_export_a_lucknow_unit(cast):
    response = client_for(cast.outsider).get(reverse("people:export"), {"unit": cast.booth1.code})
    assert response.status_code == 404
    assert not AuditLog.objects.filter(action="export").exists()


def test_export_is_audited(as_convenor, cast):
    b"".join(as_convenor.get(reverse("people:export"), {"unit": "UP-D-162"}).streaming_content)
    entry = AuditLog.objects.get(action="export")
    assert entry.actor == cast.convenor
    assert entry.detail["count"] == 2
    assert entry.detail["unit"] == "UP-D-162"


def test_export_xlsx(as_convenor, cast):
    make_person(cast.booth2, "=1+2", "+919876543210")
    response = as_convenor.get(reverse("people:export"), {"format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "name"
    assert ["'=1+2", "'+919876543210"] in [r[0:3:2] for r in rows]
    assert {r[0] for r in rows[1:]} >= {"संजय राय", "पूजा यादव"}


def test_bad_format_names_the_problem(as_convenor):
    response = as_convenor.get(reverse("people:export"), {"format": "pdf"})
    assert response.status_code == 400
    assert "pdf" in response.content.decode()


def test_export_reimports_unchanged(as_convenor, cast):
    from sangathan.people.importing import do_import_people

    make_person(cast.booth2, "Anil", "+919876543210", gender="male", birth_year=1990)
    body = b"".join(as_convenor.get(reverse("people:export")).streaming_content)
    result = do_import_people(body, "export.csv", user=cast.convenor)
    assert result.to_json()["invalid"] == []
    assert (result.created, result.updated) == (0, 0)
