"""Reading, validating and writing people files (sangathan.people.importing)."""

import io
import json
from unittest import mock

import openpyxl
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from sangathan.accounts.models import AuditLog
from sangathan.org.models import OrgUnit
from sangathan.people.importing import ImportFileError, do_import_people, plan_import
from sangathan.people.models import Consent, Person, Tag

B1 = "UP-AC-172-PS-001"
B2 = "UP-AC-172-PS-002"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def csv_bytes(text: str, encoding="utf-8") -> bytes:
    return text.encode(encoding)


def plan(data, user=None, filename="people.csv"):
    return plan_import(data, filename, user).result


def people_count(unit) -> int:
    return OrgUnit.objects.get(pk=unit.pk).people_count


SIMPLE = f"name,phone,unit_code\nराम कुमार,9876543210,{B1}\nसीता देवी,+91-98765-43211,{B2}\n"


@pytest.mark.parametrize(
    "encoding, prefix",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b"")],
)
def test_it_reads_utf8_and_utf16(cast, encoding, prefix):
    text = SIMPLE
    if encoding == "utf-16":
        text = text.replace(",", "\t")  # Excel "Unicode text" is tab-separated, with a BOM
    data = prefix + text.encode(encoding)
    if encoding == "utf-16":
        assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    result = do_import_people(data, "people.txt")
    assert result.to_json()["invalid"] == []
    assert result.created == 2
    assert Person.objects.get(phone="+919876543210").name == "राम कुमार"


def test_it_reads_windows_1252_and_semicolons(cast):
    data = f"Name;Phone;Unit Code\nJosé Zoë;9876543210;{B1}\n".encode("cp1252")
    do_import_people(data, "excel.csv")
    assert Person.objects.get(phone="+919876543210").name == "José Zoë"


def test_it_reads_xlsx(cast):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["नाम", "मोबाइल", "बूथ", "जन्म वर्ष", "लिंग"])
    ws.append(["गीता", 9876543210, B1, 1990, "महिला"])
    ws.append([None, None, None, None, None])
    ws.append(["रवि", "9.18765E+11", B1, None, None])
    buf = io.BytesIO()
    wb.save(buf)
    result = do_import_people(buf.getvalue(), "people.xlsx")
    assert result.rows == 2
    assert [e["line"] for e in result.to_json()["invalid"]] == [4]
    geeta = Person.objects.get(phone="+919876543210")
    assert (geeta.name, geeta.birth_year, geeta.gender) == ("गीता", 1990, "female")


def test_it_maps_hindi_and_odd_headers(cast):
    data = f" नाम ,फ़ोन,इकाई,लिंग,संस्थान,टैग\nअनिल,9876543210,{B1},पुरुष,लखनऊ विश्वविद्यालय,छात्र; आईटी\n"
    result = do_import_people(csv_bytes(data), "hi.csv")
    assert result.created == 1
    anil = Person.objects.get(phone="+919876543210")
    assert anil.gender == "male"
    assert anil.institution == "लखनऊ विश्वविद्यालय"
    assert sorted(anil.tags.values_list("name", flat=True)) == ["आईटी", "छात्र"]


def test_it_keeps_the_name_as_written_in_nfc(cast):
    decomposed = "Zoe\u0308 Sharma"  # e + combining diaeresis, which NFC composes to ë
    data = f"name,phone,unit_code\n  {decomposed}  ,9876543210,{B1}\n"
    do_import_people(csv_bytes(data), "nfc.csv")
    assert Person.objects.get(phone="+919876543210").name == "Zo\u00eb Sharma"


def test_line_numbers_are_spreadsheet_rows(cast):
    data = (
        "name,phone,unit_code\n"
        f"A,9876543210,{B1}\n"
        "\n"
        f",9876543211,{B1}\n"
        f"C,12345,{B1}\n"
        f"D,9876543212,NOPE-1\n"
        f"E,9876543213,{B1},extra\n"
    )
    result = plan(csv_bytes(data))
    lines = {e["line"]: e["reason"] for e in result.to_json()["invalid"]}
    assert sorted(lines) == [4, 5, 6]
    assert "name is missing" in lines[4]
    assert "too short" in lines[5]
    assert "unknown unit code “NOPE-1”" in lines[6]
    assert result.rows == 5
    assert result.valid == 2


def test_it_merges_duplicate_phones(cast):
    data = (
        "name,phone,unit_code,institution,tags\n"
        f"Ram,9876543210,{B1},BHU,a\n"
        f"Ram Kumar,098765 43210,{B2},,b\n"
        f"Sita,9876543211,{B1},,\n"
    )
    result = do_import_people(csv_bytes(data), "dup.csv")
    assert result.to_json() == {
        "rows": 3,
        "valid": 3,
        "invalid": [],
        "duplicates": 1,
        "created": 2,
        "updated": 0,
    }
    ram = Person.objects.get(phone="+919876543210")
    # The later row's non-empty cells win; its empty cells keep the earlier values.
    assert (ram.name, ram.unit.code, ram.institution) == ("Ram Kumar", B2, "BHU")
    assert sorted(ram.tags.values_list("name", flat=True)) == ["a", "b"]


def test_preview_writes_nothing(cast):
    before = Person.objects.count()
    result = plan(csv_bytes(SIMPLE))
    assert result.created == 2
    assert Person.objects.count() == before
    assert not AuditLog.objects.filter(action="import").exists()


def test_a_failing_row_does_not_stop_good_ones(cast):
    data = f"name,phone,unit_code\nA,9876543210,{B1}\nB,bad,{B1}\nC,9876543212,{B1}\n"
    result = do_import_people(csv_bytes(data), "mixed.csv")
    assert result.created == 2
    assert [e["line"] for e in result.to_json()["invalid"]] == [3]


def test_reimporting_the_same_file_changes_nothing(cast):
    data = csv_bytes(
        "name,phone,unit_code,gender,birth_year,tags,consent\n"
        f"राम,9876543210,{B1},M,1980,a;b,yes\n"
        f"सीता,9876543211,{B2},F,,,\n"
    )
    first = do_import_people(data, "x.csv")
    assert (first.created, first.updated) == (2, 0)
    snapshot = list(Person.objects.order_by("phone").values())
    second = do_import_people(data, "x.csv")
    assert (second.created, second.updated) == (0, 0)
    assert list(Person.objects.order_by("phone").values()) == snapshot
    assert Consent.objects.filter(person__phone="+919876543210").count() == 2


def test_update_never_blanks_stored_fields(cast):
    person = Person.objects.create(
        name="राम", phone="+919876543210", unit=cast.booth1, institution="BHU", birth_year=1980
    )
    data = "name,phone,unit_code,institution,birth_year\nराम,9876543210,,,\n"
    result = do_import_people(csv_bytes(data), "x.csv")
    assert (result.created, result.updated) == (0, 0)
    person.refresh_from_db()
    assert (person.institution, person.birth_year, person.unit_id) == ("BHU", 1980, cast.booth1.pk)


def test_it_updates_and_moves_people_and_keeps_counts(cast):
    Person.objects.create(name="राम", phone="+919876543210", unit=cast.booth1)
    from sangathan.org.counts import recount

    recount()
    b1, b2, lucknow = (
        people_count(cast.booth1),
        people_count(cast.booth2),
        people_count(cast.lucknow),
    )
    data = f"name,phone,unit_code,gender\nराम,9876543210,{B2},male\nनया,9876543219,{B2},\n"
    result = do_import_people(csv_bytes(data), "x.csv")
    assert (result.created, result.updated) == (1, 1)
    assert people_count(cast.booth1) == b1 - 1
    assert people_count(cast.booth2) == b2 + 2
    assert people_count(cast.lucknow) == lucknow + 1
    assert Person.objects.get(phone="+919876543210").gender == "male"


def test_consent_only_when_the_file_has_a_consent_column(cast):
    do_import_people(csv_bytes(SIMPLE), "plain.csv")
    assert not Consent.objects.exists()
    data = f'name,phone,unit_code,consent\nX,9876543219,{B1},"sms,whatsapp"\nY,9876543218,{B1},no\n'
    do_import_people(csv_bytes(data), "consent.csv")
    consents = Consent.objects.filter(person__phone="+919876543219")
    assert sorted(consents.values_list("channel", flat=True)) == ["sms", "whatsapp"]
    assert consents.first().evidence == "import consent.csv line 2"
    assert consents.first().purpose == "organisational"
    assert not Consent.objects.filter(person__phone="+919876543218").exists()


def test_bad_gender_year_and_consent_are_reported(cast):
    data = (
        "name,phone,unit_code,gender,birth_year,consent\n"
        f"A,9876543210,{B1},x,,\n"
        f"B,9876543211,{B1},,85,\n"
        f"C,9876543212,{B1},,1800,\n"
        f"D,9876543213,{B1},,,maybe\n"
    )
    reasons = [e["reason"] for e in plan(csv_bytes(data)).to_json()["invalid"]]
    assert "unknown gender “x”" in reasons[0]
    assert "birth year “85”" in reasons[1]
    assert "birth year “1800”" in reasons[2]
    assert "unknown consent “maybe”" in reasons[3]


def test_outsider_cannot_import_into_lucknow(cast):
    data = f"name,phone,unit_code\nA,9876543210,{B1}\nB,9876543211,UP-AC-213-PS-001\n"
    result = do_import_people(csv_bytes(data), "x.csv", user=cast.outsider)
    invalid = result.to_json()["invalid"]
    assert invalid == [{"line": 2, "reason": f"unknown unit code “{B1}”"}]
    assert not Person.objects.filter(phone="+919876543210").exists()


def test_outsider_cannot_take_over_a_lucknow_person(cast):
    data = "name,phone,unit_code\nHijack,+919810000003,UP-AC-213-PS-001\n"
    result = do_import_people(csv_bytes(data), "x.csv", user=cast.outsider)
    assert result.created == result.updated == 0
    assert "outside your area" in result.to_json()["invalid"][0]["reason"]
    cast.volunteer_person.refresh_from_db()
    assert cast.volunteer_person.name == "पूजा यादव"


def test_an_error_mid_commit_leaves_nothing_half_written(cast):
    before = (Person.objects.count(), Tag.objects.count(), people_count(cast.lucknow))
    audits = AuditLog.objects.count()
    data = csv_bytes(f"name,phone,unit_code,tags\nA,9876543210,{B1},t\nB,9876543211,{B2},t\n")
    with mock.patch("sangathan.org.counts.bump", side_effect=RuntimeError("disk full")):
        with pytest.raises(RuntimeError):
            do_import_people(data, "x.csv")
    assert (Person.objects.count(), Tag.objects.count(), people_count(cast.lucknow)) == before
    assert AuditLog.objects.count() == audits


def test_commit_is_audited(cast):
    do_import_people(csv_bytes(SIMPLE), "people.csv", user=cast.convenor)
    entry = AuditLog.objects.get(action="import")
    assert entry.actor == cast.convenor
    assert entry.detail["filename"] == "people.csv"
    assert entry.detail["created"] == 2


def test_commit_uses_bulk_queries(cast, django_assert_max_num_queries):
    rows = "".join(f"P{i},98765{i:05d},{B1},t{i % 3}\n" for i in range(300))
    data = csv_bytes("name,phone,unit_code,tags\n" + rows)
    with django_assert_max_num_queries(40):
        result = do_import_people(data, "big.csv")
    assert result.created == 300


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (bytes(range(256)) * 20, "could not be read"),
        (b"PK\x03\x04garbage", "Excel file could not be opened"),
        (b"\xd0\xcf\x11\xe0rest", ".xls"),
        (b"foo,bar\n1,2\n", "no recognisable header"),
        (b"name,phone\nA,9876543210\n", "no column for unit_code"),
    ],
)
def test_unreadable_files_get_a_clear_error(cast, data, words):
    with pytest.raises(ImportFileError) as exc:
        plan(data)
    assert words in str(exc.value.reason)


def test_oversize_files_are_refused(cast):
    with override_settings(SANGATHAN_MAX_UPLOAD_BYTES=10):
        with pytest.raises(ImportFileError) as exc:
            plan(csv_bytes(SIMPLE))
    assert "larger than" in str(exc.value.reason)


def test_command_prints_the_json_shape(cast, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text(SIMPLE + f"Bad,9.18765E+11,{B1}\n", encoding="utf-8")
    call_command("import-people", str(path), "--json")

    preview = json.loads(capsys.readouterr().out)
    assert set(preview) == {"rows", "valid", "invalid", "duplicates", "created", "updated"}
    assert preview["rows"] == 3 and preview["valid"] == 2 and preview["created"] == 2
    assert preview["invalid"][0]["line"] == 4
    assert "scientific notation" in preview["invalid"][0]["reason"]
    assert not Person.objects.filter(phone="+919876543210").exists()

    call_command("import-people", str(path), "--json", "--commit")
    committed = json.loads(capsys.readouterr().out)
    assert committed["created"] == 2
    call_command("import-people", str(path), "--json", "--commit")
    again = json.loads(capsys.readouterr().out)
    assert (again["created"], again["updated"]) == (0, 0)


def test_command_as_user_is_scoped(cast, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text(SIMPLE, encoding="utf-8")
    call_command("import-people", str(path), "--json", "--as", "+919810000004")
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] == 0 and len(result["invalid"]) == 2


def test_command_fails_on_unreadable_file(cast, tmp_path):
    from django.core.management import CommandError

    path = tmp_path / "x.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="empty"):
        call_command("import-people", str(path))


def test_it_fills_the_search_fields_from_the_name(cast):
    fake = mock.Mock(side_effect=lambda name: (f"latin:{name}", f"key:{name}"))
    with mock.patch("sangathan.people.importing.person_name_fields", fake):
        do_import_people(csv_bytes(SIMPLE), "people.csv")
    ram = Person.objects.get(phone="+919876543210")
    assert (ram.name_latin, ram.name_key) == ("latin:राम कुमार", "key:राम कुमार")


def test_command_prints_a_readable_table_of_errors(cast, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text(SIMPLE + f"Bad,12345,{B1}\n", encoding="utf-8")
    call_command("import-people", str(path))
    out = capsys.readouterr().out
    assert "to create 2" in out
    assert "     4  the mobile number “12345” is too short" in out
    assert "nothing was written" in out
