import json

import pytest
from django.core.management import CommandError, call_command

from sangathan.accounts.models import AuditLog
from sangathan.org.actions import UnitsFileError, import_units, read_units_file
from sangathan.org.models import OrgUnit

GOOD = (
    "code,name,level,parent_code,name_en\n"
    # The sector names its mandal, which comes later in the file.
    "UP-AC-213-S-9,सेक्टर 9,sector,UP-AC-213-M-9,Sector 9\n"
    "UP-AC-213-M-9,मंडल 9,mandal,UP-AC-213,Mandal 9\n"
)


def rows(text: str) -> list[dict]:
    return read_units_file(text.encode("utf-8-sig"))


def test_preview_writes_nothing_and_commit_writes_the_units(tree):
    preview = import_units(rows(GOOD))
    assert (preview["valid"], preview["created"], preview["invalid"]) == (2, 2, [])
    assert not OrgUnit.objects.filter(code__endswith="-9").exists()

    result = import_units(rows(GOOD), commit=True)
    assert result["created"] == 2
    sector = OrgUnit.objects.get(code="UP-AC-213-S-9")
    assert (sector.level.slug, sector.name, sector.name_en) == ("sector", "सेक्टर 9", "Sector 9")
    assert OrgUnit.objects.get_parent(sector).code == "UP-AC-213-M-9"
    assert OrgUnit.objects.get_parent(OrgUnit.objects.get(code="UP-AC-213-M-9")) == tree.ac_kanpur
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    assert AuditLog.objects.filter(action="import_units").count() == 1

    again = import_units(rows(GOOD), commit=True)
    assert (again["created"], again["updated"], again["invalid"]) == (0, 0, [])
    renamed = import_units(rows(GOOD.replace("Mandal 9", "Gomti")), commit=True)
    assert renamed["updated"] == 1
    assert OrgUnit.objects.get(code="UP-AC-213-M-9").name_en == "Gomti"


def test_it_reports_every_bad_row_with_its_line_number(tree):
    text = (
        "code,name,level,parent_code\n"
        "M-OK,मंडल,mandal,UP-AC-172\n"  # 2: fine
        "M-X,मंडल,mandal,NOWHERE\n"  # 3: unknown parent
        "M-Y,मंडल,ward,UP-AC-172\n"  # 4: unknown level
        "M-OK,मंडल,mandal,UP-AC-172\n"  # 5: duplicate
        "D-Z,जिला,district,UP-AC-172\n"  # 6: not below its parent
        "S-Z,सेक्टर,sector,M-X\n"  # 7: parent row invalid
        ",,sector,M-OK\n"  # 8: empty code and name
        "UP-AC-172-S-1,सेक्टर,sector,UP-AC-213-M-1\n"  # 9: exists elsewhere
        "UP-AC-213-M-1,मंडल,sector,UP-AC-213\n"  # 10: exists at another level
    )
    result = import_units(rows(text), commit=True)
    reasons = {p["line"]: p["reason"] for p in result["invalid"]}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "unknown parent_code NOWHERE" in reasons[3]
    assert "unknown level “ward”" in reasons[4]
    assert "first on line 2" in reasons[5]
    assert "cannot sit under UP-AC-172" in reasons[6]
    assert "line 3" in reasons[7]
    assert "code is empty" in reasons[8] and "name is empty" in reasons[8]
    assert "another parent" in reasons[9]
    assert "already exists as a mandal" in reasons[10]
    # The good row is written; nothing else is.
    assert result["created"] == 1
    assert OrgUnit.objects.filter(code__in=["M-X", "M-Y", "D-Z", "S-Z"]).count() == 0
    assert OrgUnit.objects.get(code="M-OK").is_within(tree.ac_west)


def test_a_loop_of_parents_is_refused(tree):
    text = "code,name,level,parent_code\nA,a,mandal,B\nB,b,mandal,A\n"
    result = import_units(rows(text))
    assert {p["line"] for p in result["invalid"]} == {2, 3}


def test_the_header_must_name_the_columns(db):
    with pytest.raises(UnitsFileError, match="no column for level, parent_code"):
        read_units_file(b"code,name\nX,Y\n")
    with pytest.raises(UnitsFileError, match="empty"):
        read_units_file(b"\n\n")
    # Excel "Unicode text": UTF-16, tab-separated.
    utf16 = "code\tname\tlevel\tparent_code\nX\tमंडल\tmandal\tUP\n".encode("utf-16")
    assert read_units_file(utf16)[0]["name"] == "मंडल"


def test_the_command_previews_then_commits(tree, tmp_path, capsys):
    path = tmp_path / "units.csv"
    path.write_text(GOOD + "BAD,x,mandal,NOWHERE\n", encoding="utf-8")
    call_command("import-units", str(path))
    out = capsys.readouterr().out
    assert "line 4: unknown parent_code NOWHERE" in out and "preview" in out
    assert not OrgUnit.objects.filter(code="UP-AC-213-M-9").exists()
    call_command("import-units", str(path), "--commit", "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["created"] == 2 and [p["line"] for p in result["invalid"]] == [4]
    assert OrgUnit.objects.filter(code="UP-AC-213-M-9").exists()
    with pytest.raises(CommandError, match="no column"):
        (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
        call_command("import-units", str(tmp_path / "bad.csv"))
