"""Importing existing group lists: a preview with line numbers and clear reasons, then one
transaction; the same through ``sangathan import-groups``."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from sangathan.groups.actions import import_groups, read_groups_file, reason_text
from sangathan.groups.models import Group, MemberCount
from tests.conftest import client_for
from tests.groups.conftest import LINK2

CSV = (
    "unit_code,group_name,invite_link,admin_phone,member_count\n"
    f"UP-AC-172-PS-002,बूथ 2 कार्यकर्ता,{LINK2},9810000011,64\n"  # 2 good
    "UP-AC-999-PS-001,कहीं और,,,\n"  # 3 unknown unit
    "UP-AC-213-PS-001,कानपुर का,,,\n"  # 4 outside the area
    "UP-AC-172-PS-002,गलत लिंक,https://chat.whatsapp.com/x,,\n"  # 5 bad link
    "UP-AC-172-PS-002,अनजान फ़ोन,,9999988888,\n"  # 6 unknown phone
    "UP-AC-172-PS-002,फ़ोन बाहर,,9810000012,\n"  # 7 admin outside the area
    "UP-AC-172-PS-002,गिनती,,,बहुत\n"  # 8 bad count
    f"UP-AC-172-PS-001,बूथ 1 कार्यकर्ता,{LINK2},,130\n"  # 9 updates the existing group
    "UP-AC-172-PS-002,बूथ 2 कार्यकर्ता,,,\n"  # 10 repeated
)


def reasons(result) -> dict[int, str]:
    return {r["line"]: "; ".join(reason_text(x) for x in r["reasons"]) for r in result["invalid"]}


def test_the_preview_names_every_problem_by_line(groups):
    result = import_groups(read_groups_file(CSV.encode()), actor=groups.convenor)
    got = reasons(result)
    assert got == {
        3: "unknown unit code UP-AC-999-PS-001",
        4: "unit UP-AC-213-PS-001 is outside your area",
        5: "“https://chat.whatsapp.com/x” is not a WhatsApp invite link (https://chat.whatsapp.com/…)",
        6: "no member has the mobile number +919999988888",
        7: "the admin with mobile number +919810000012 is outside your area",
        8: "member count “बहुत” is not a whole number from 0 to 5000",
        10: "group बूथ 2 कार्यकर्ता of UP-AC-172-PS-002 appears again (first on line 2)",
    }
    assert (result["valid"], result["created"], result["updated"]) == (2, 1, 1)
    assert not Group.objects.filter(name="बूथ 2 कार्यकर्ता").exists()


def test_upload_preview_then_confirm_in_one_go(groups):
    c = client_for(groups.convenor)
    upload = SimpleUploadedFile("groups.csv", CSV.encode(), content_type="text/csv")
    r = c.post("/groups/import/", {"file": upload})
    text = r.content.decode()
    assert r.status_code == 200 and 'id="bad-rows">7<' in text
    assert "unknown unit code UP-AC-999-PS-001" in text
    token = text.split('name="token" value="')[1].split('"')[0]
    r = c.post("/groups/import/", {"confirm": "1", "token": token})
    assert r.status_code == 302
    g = Group.objects.get(name="बूथ 2 कार्यकर्ता")
    assert g.unit == groups.booth2 and g.member_count == 64
    assert list(g.admins.all()) == [groups.pramukh]
    groups.group.refresh_from_db()
    assert groups.group.invite_link == LINK2 and groups.group.member_count == 130
    assert MemberCount.objects.filter(group=groups.group).count() == 1  # today's replaced
    # a second click imports nothing
    r = c.post("/groups/import/", {"confirm": "1", "token": token})
    assert Group.objects.filter(name="बूथ 2 कार्यकर्ता").count() == 1


def test_a_file_without_the_columns_is_refused(groups):
    c = client_for(groups.convenor)
    upload = SimpleUploadedFile("x.csv", b"foo,bar\n1,2\n", content_type="text/csv")
    r = c.post("/groups/import/", {"file": upload})
    assert r.status_code == 400 and "unit_code" in r.content.decode()


def test_the_command_previews_and_commits(groups, tmp_path, capsys):
    path = tmp_path / "g.csv"
    path.write_text(CSV, encoding="utf-8")
    call_command("import-groups", str(path), "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] == 4 and len(out["invalid"]) == 5  # no actor: Kanpur is fine
    assert not Group.objects.filter(name="बूथ 2 कार्यकर्ता").exists()
    call_command("import-groups", str(path), "--commit")
    assert "line 3: unknown unit code UP-AC-999-PS-001" in capsys.readouterr().out
    assert Group.objects.filter(name="कानपुर का", unit=groups.kanpur_booth).exists()
