"""The vacancy and coverage report: numbers per committee seat, booths with an IT volunteer,
drill-down, CSV/XLSX exports (formula-escaped), outsiders refused, bounded queries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sangathan.people.actions import do_appoint
from tests.conftest import client_for
from tests.factories import add_unit, make_person
from tests.people.committee_fixtures import apply_in_lucknow, make_committees


@pytest.fixture
def t(cast):
    t = apply_in_lucknow(make_committees(cast))
    t.neeraj = make_person(t.booth2, "=HYPERLINK(1)", "+919810000011")
    do_appoint(t.neeraj, t.it_volunteer, t.booth2, actor=t.convenor)
    do_appoint(t.volunteer_person, t.whatsapp, t.booth1, actor=t.convenor)
    return t


def cell_of(data, title_en):
    i = next(i for i, s in enumerate(data["seats"]) if s.position.title_en == title_en)
    return data["total_cells"][i], [r["cells"][i] for r in data["rows"]]


def test_report_numbers_for_the_district(t):
    from sangathan.people.coverage import coverage_report

    data = coverage_report(t.lucknow, all_children=True)
    total, rows = cell_of(data, "IT volunteer")
    assert total == {"filled": 1, "total": 2, "units": 2, "units_with": 1, "vacant": 1}
    assert rows == [total]  # one assembly below Lucknow holds both booths
    co, _rows = cell_of(data, "District co-convenor")
    assert (co["filled"], co["total"]) == (0, 2)
    headline = {s.position.title_en: c for s, c in data["headline"]}
    assert headline["IT volunteer"]["units_with"] == 1 and headline["IT volunteer"]["units"] == 2
    assert "District co-convenor" not in headline  # the district's own seats, not "units with"


def test_report_drills_down_to_the_booths(t):
    from sangathan.people.coverage import coverage_report

    data = coverage_report(t.sector, all_children=True)
    _total, rows = cell_of(data, "IT volunteer")
    by_code = {r["unit"].code: c for r, c in zip(data["rows"], rows, strict=True)}
    assert by_code[t.booth1.code]["filled"] == 0 and by_code[t.booth2.code]["filled"] == 1
    c = client_for(t.convenor)
    r = c.get(f"/people/report/{t.sector.code}/")
    assert r.status_code == 200
    assert f"/people/report/{t.booth1.code}/" in r.text


def test_state_report_through_the_page(t):
    c = client_for(t.state_admin)
    r = c.get(f"/people/report/{t.up.code}/")
    assert r.status_code == 200
    assert "IT volunteer" in r.text and "WhatsApp pramukh" in r.text
    assert (
        f"/people/report/{t.lucknow.code}/" in r.text
        and f"/people/report/{t.kanpur.code}/" in r.text
    )


def test_csv_and_xlsx_exports_are_escaped(t):
    c = client_for(t.convenor)
    r = c.get(f"/people/report/{t.lucknow.code}/?format=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0][:5] == ["unit code", "unit", "level", "seats filled", "seats total"]
    assert rows[1][0] == t.lucknow.code
    header = rows[0]
    i = header.index(next(h for h in header if "IT volunteer" in h and h.endswith("filled")))
    assert rows[1][i] == "1"
    assert len(rows) == 2 + 1  # header, Lucknow, its one assembly

    import openpyxl

    r = c.get(f"/people/report/{t.lucknow.code}/?format=xlsx")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = book.active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][0] == t.lucknow.code and values[1][i] == 1


def test_export_escapes_formulas(t):
    from sangathan.org.models import OrgUnit

    OrgUnit.objects.filter(pk=t.booth2.pk).update(name_en="=EVIL()", name="=EVIL()")
    r = client_for(t.convenor).get(f"/people/report/{t.sector.code}/?format=csv")
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert "'=EVIL()" in [row[1] for row in rows]


def test_outsider_is_refused(t):
    c = client_for(t.outsider)
    assert c.get(f"/people/report/{t.lucknow.code}/").status_code == 404
    assert c.get(f"/people/report/{t.booth1.code}/?format=csv").status_code == 404
    assert c.get(f"/people/report/{t.kanpur.code}/").status_code == 200


def test_report_reads_a_bounded_number_of_queries(t):
    c = client_for(t.state_admin)
    c.get(f"/people/report/{t.up.code}/")  # warm the session and the user

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(f"/people/report/{t.up.code}/").status_code == 200
        return len(ctx)

    small = queries()
    # Ten more booths with holders, and another district with the committee applied.
    for i in range(10):
        booth = add_unit(t.sector, "booth", f"UP-AC-172-PS-1{i:02d}", f"बूथ {i}", f"Booth {i}")
        person = make_person(booth, f"व्यक्ति {i}")
        do_appoint(person, t.it_volunteer, booth, actor=None)
    from sangathan.people.committees import do_apply_template

    do_apply_template(t.booth_committee, t.kanpur, actor=None)
    assert queries() == small


def test_vacancies_page_and_posts_page_follow_committee_seats(t):
    c = client_for(t.convenor)
    r = c.get(f"/units/{t.lucknow.code}/vacancies/?position={t.it_volunteer.pk}")
    assert r.status_code == 200
    assert t.booth1.code in r.text and t.booth2.code not in r.text  # booth2 has one
    assert "0/1" in r.text
    r = c.get(f"/units/{t.booth1.code}/appointments/")
    assert "<b>IT cell — IT volunteer</b>" in r.text
    assert f"/people/seats/{t.booth1.code}/" in r.text
    # Kanpur has no booth committee: its posts page offers no IT volunteer seat
    r = client_for(t.outsider).get(f"/units/{t.kanpur_booth.code}/appointments/")
    assert r.status_code == 200 and "<b>IT cell — IT volunteer</b>" not in r.text
