"""Institutions from CSV: a preview with line numbers and reasons, then a confirmed import."""

from django.core.files.uploadedfile import SimpleUploadedFile

from sangathan.drives.actions import import_institutions, read_institutions_file
from sangathan.drives.models import Institution
from tests.conftest import client_for

GOOD = (
    "name,name_en,kind,district_code,unit_code,code\n"
    "लखनऊ विश्वविद्यालय,University of Lucknow,university,UP-D-162,,U-0431\n"
    "इसाबेला थोबर्न महाविद्यालय,Isabella Thoburn College,college,UP-D-162,UP-AC-172,C-1\n"
)


def test_a_good_file_previews_then_imports(cast):
    rows = read_institutions_file(GOOD.encode())
    preview = import_institutions(rows, actor=cast.convenor)
    assert (preview["rows"], preview["valid"], preview["created"], preview["invalid"]) == (
        2,
        2,
        2,
        [],
    )
    assert not Institution.objects.exists()
    import_institutions(rows, commit=True, actor=cast.convenor)
    lu = Institution.objects.get(code="U-0431")
    assert (lu.name_en, lu.kind, lu.district, lu.unit) == (
        "University of Lucknow",
        "university",
        cast.lucknow,
        cast.lucknow,
    )
    assert Institution.objects.get(code="C-1").unit == cast.ac_west
    again = import_institutions(rows, commit=True, actor=cast.convenor)
    assert (again["created"], again["updated"]) == (0, 0)


def test_bad_rows_are_named_by_line_with_reasons(cast):
    text = (
        "name,kind,district_code,unit_code,adults_only,code\n"
        ",college,UP-D-162,,,\n"  # 2: no name
        "A,temple,UP-D-162,,,\n"  # 3: unknown kind
        "B,college,UP-D-999,,,\n"  # 4: unknown district
        "C,college,UP-AC-172,,,\n"  # 5: not a district
        "D,college,UP-D-162,UP-AC-213,,\n"  # 6: unit outside the district
        "E,school,UP-D-162,,no,\n"  # 7: a school for minors
        "F,college,UP-D-162,,maybe,\n"  # 8: adults_only not yes/no
        "G,college,UP-D-162,,,X1\n"
        "H,college,UP-D-162,,,X1\n"  # 10: code again
        "G,college,UP-D-162,,,\n"  # 11: name again at the same unit
        "K,college,UP-D-164,,,\n"  # 12: Kanpur is outside the convenor's area
    )
    result = import_institutions(read_institutions_file(text.encode()), actor=cast.convenor)
    reasons = {r["line"]: r["reason"] for r in result["invalid"]}
    assert reasons[2] == "name is empty"
    assert "unknown kind “temple”" in reasons[3]
    assert reasons[4] == "unknown district_code UP-D-999"
    assert reasons[5] == "UP-AC-172 is not a district"
    assert reasons[6] == "unknown unit_code UP-AC-213"  # outside the area reads as unknown
    assert "adult students" in reasons[7]
    assert "adults_only must be yes or no" in reasons[8]
    assert reasons[10] == "code X1 appears again (first on line 9)"
    assert reasons[11] == "G appears again (first on line 9)"
    assert reasons[12] == "unknown district_code UP-D-164"
    assert result["valid"] == 1 and result["created"] == 1


def test_the_file_must_have_the_columns(cast):
    import pytest

    from sangathan.drives.actions import InstitutionsFileError

    with pytest.raises(InstitutionsFileError, match="no column for kind, district_code"):
        read_institutions_file(b"name\nX\n")
    with pytest.raises(InstitutionsFileError, match="empty"):
        read_institutions_file(b"  \n")
    utf16 = "name\tkind\tdistrict_code\nX\tcollege\tUP-D-162\n".encode("utf-16")
    assert read_institutions_file(utf16) == [
        {"name": "X", "kind": "college", "district_code": "UP-D-162"}
    ]


def test_the_import_page_previews_and_confirms(cast):
    c = client_for(cast.convenor)
    assert c.get("/drives/institutions/import/").status_code == 200
    upload = SimpleUploadedFile("inst.csv", (GOOD + "X,temple,UP-D-162,,\n").encode())
    preview = c.post("/drives/institutions/import/", {"file": upload})
    text = preview.content.decode()
    assert preview.status_code == 200 and "unknown kind" in text and ">4<" in text
    assert not Institution.objects.exists()
    token = text.split('name="token" value="')[1].split('"')[0]
    done = c.post("/drives/institutions/import/", {"confirm": "1", "token": token})
    assert done.status_code == 302
    assert Institution.objects.count() == 2
    page = c.get("/drives/institutions/")
    assert "University of Lucknow" in page.content.decode()
    assert (
        "University of Lucknow"
        not in client_for(cast.outsider).get("/drives/institutions/").content.decode()
    )
