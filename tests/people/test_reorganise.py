"""Bulk reorganisation: preview with conflicts (line numbers), apply all-or-nothing in one
transaction, undo exactly what was done (refused when later changes conflict), the staff pages
and the ``sangathan reorganise`` command."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sangathan.accounts.models import AuditLog
from sangathan.people.actions import do_appoint, do_end_appointment
from sangathan.people.models import Appointment, ReorgBatch
from sangathan.people.reorganise import (
    ReorganisationRefused,
    do_apply_reorganisation,
    do_preview_reorganisation,
    do_undo_reorganisation,
    plan_reorganisation,
)
from tests.conftest import client_for
from tests.factories import make_person
from tests.people.committee_fixtures import (
    apply_in_lucknow,
    assert_counts_match_recount,
    make_committees,
)


@pytest.fixture
def t(cast):
    t = apply_in_lucknow(make_committees(cast))
    t.neeraj = make_person(t.booth2, "नीरज", "+919810000011")
    t.ravi = make_person(t.booth2, "रवि", "+919810000012")
    return t


def csv_of(*rows) -> bytes:
    return ("phone,position,unit_code,action,date\n" + "\n".join(rows) + "\n").encode()


def good_file(t):
    today = timezone.localdate().isoformat()
    return csv_of(
        f"9810000011,IT volunteer,{t.booth2.code},appoint,{today}",
        f"9810000012,बूथ अध्यक्ष,{t.booth2.code},appoint,",
        f"9810000003,Booth volunteer,{t.booth1.code},relieve,{today}",
        f"9810000002,District co-convenor,{t.lucknow.code},appoint,",
    )


def test_preview_counts_without_writing(t):
    plan = plan_reorganisation(good_file(t), t.convenor)
    assert plan.conflicts == []
    assert plan.counts == {"appoint": 3, "relieve": 1, "transfer": 0}
    assert not Appointment.objects.filter(person=t.neeraj).exists()


def test_conflicts_are_reported_with_line_numbers(t):
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    old = (timezone.localdate() - datetime.timedelta(days=800)).isoformat()
    data = csv_of(
        f"9810000011,IT volunteer,{t.booth2.code},appoint,",  # 2: fine
        f"9810000012,IT volunteer,{t.booth2.code},appoint,",  # 3: seat now full
        f"9899999999,IT volunteer,{t.booth2.code},appoint,",  # 4: unknown phone
        f"9810000012,Chief minister,{t.booth2.code},appoint,",  # 5: unknown post
        "9810000012,IT volunteer,NO-SUCH,appoint,",  # 6: unknown unit
        f"9810000012,IT volunteer,{t.kanpur_booth.code},appoint,",  # 7: outside the area
        f"9810000005,IT volunteer,{t.booth1.code},appoint,",  # 8: a Kanpur person
        f"9810000012,WhatsApp pramukh,{t.booth2.code},relieve,",  # 9: does not hold it
        f"9810000012,WhatsApp pramukh,{t.booth2.code},appoint,{future}",  # 10: future
        f"9810000012,WhatsApp pramukh,{t.booth2.code},appoint,{old}",  # 11: too old
        f"9810000012,WhatsApp pramukh,{t.booth2.code},promote,",  # 12: bad action
        f"9810000012,IT volunteer,{t.booth1.code},transfer,",  # 13: holds it nowhere
    )
    plan = plan_reorganisation(data, t.convenor)
    codes = {c["line"]: c["code"] for c in plan.conflicts}
    assert codes == {
        3: "seats_full",
        4: "unknown_phone",
        5: "unknown_position",
        6: "unknown_unit",
        7: "unknown_unit",
        8: "unknown_phone",
        9: "not_holding",
        10: "future_date",
        11: "old_date",
        12: "bad_action",
        13: "not_holding",
    }
    assert plan.counts["appoint"] == 1
    # The superuser sees Kanpur: line 7 is then only a seat without a committee.
    plan = plan_reorganisation(data, t.superuser)
    codes = {c["line"]: c["code"] for c in plan.conflicts}
    assert codes[7] == "no_seat" and 8 not in codes


def test_a_relieve_earlier_in_the_file_frees_the_seat(t):
    do_appoint(t.neeraj, t.it_volunteer, t.booth2, actor=t.convenor)
    data = csv_of(
        f"9810000012,IT volunteer,{t.booth2.code},appoint,",
        f"9810000011,IT volunteer,{t.booth2.code},relieve,",
        f"9810000012,IT volunteer,{t.booth2.code},appoint,",
    )
    plan = plan_reorganisation(data, t.convenor)
    assert [c["line"] for c in plan.conflicts] == [2]
    plan = plan_reorganisation(csv_of(*data.decode().splitlines()[2:]), t.convenor)
    assert plan.conflicts == []


def test_apply_then_undo_restores_everything(t):
    before = set(Appointment.objects.values_list("pk", "ends"))
    batch, plan = do_preview_reorganisation(good_file(t), "lucknow.csv", actor=t.convenor)
    do_apply_reorganisation(batch, actor=t.convenor)
    batch.refresh_from_db()
    assert batch.status == "applied"
    assert Appointment.objects.current().filter(person=t.neeraj, unit=t.booth2).exists()
    ended = Appointment.objects.get(person=t.volunteer_person)
    assert ended.ends == timezone.localdate() and ended.ended_by == t.convenor
    new = Appointment.objects.get(person=t.neeraj)
    assert new.appointed_by == t.convenor
    assert batch.changes.count() == 4
    assert_counts_match_recount()
    assert AuditLog.objects.filter(action="reorganisation_applied").exists()
    # applying twice is refused
    with pytest.raises(ReorganisationRefused):
        do_apply_reorganisation(batch, actor=t.convenor)

    result = do_undo_reorganisation(batch, actor=t.convenor)
    assert result == {"removed": 3, "reopened": 1}
    assert set(Appointment.objects.values_list("pk", "ends")) == before
    assert_counts_match_recount()
    batch.refresh_from_db()
    assert batch.status == "undone"
    assert AuditLog.objects.filter(action="reorganisation_undone").exists()


def test_transfer_moves_the_holder_and_undo_moves_back(t):
    first = do_appoint(t.neeraj, t.whatsapp, t.booth2, actor=t.convenor)
    batch, plan = do_preview_reorganisation(
        csv_of(f"9810000011,WhatsApp pramukh,{t.booth1.code},transfer,"), "t.csv", actor=t.convenor
    )
    assert plan.counts["transfer"] == 1 and plan.conflicts == []
    do_apply_reorganisation(batch, actor=t.convenor)
    first.refresh_from_db()
    assert first.ends == timezone.localdate()
    assert Appointment.objects.current().get(person=t.neeraj).unit == t.booth1
    assert_counts_match_recount()
    do_undo_reorganisation(batch, actor=t.convenor)
    first.refresh_from_db()
    assert first.ends is None
    assert Appointment.objects.filter(person=t.neeraj).count() == 1
    assert_counts_match_recount()


def test_apply_is_all_or_nothing(t):
    batch, plan = do_preview_reorganisation(good_file(t), "x.csv", actor=t.convenor)
    # Someone takes the IT volunteer seat between the preview and the click.
    do_appoint(t.ravi, t.it_volunteer, t.booth2, actor=t.convenor)
    count = Appointment.objects.count()
    with pytest.raises(ReorganisationRefused) as e:
        do_apply_reorganisation(batch, actor=t.convenor)
    assert [c["line"] for c in e.value.conflicts] == [2]
    assert Appointment.objects.count() == count
    batch.refresh_from_db()
    assert batch.status == "previewed"


def test_undo_is_refused_when_later_changes_conflict(t):
    batch, _plan = do_preview_reorganisation(good_file(t), "x.csv", actor=t.convenor)
    do_apply_reorganisation(batch, actor=t.convenor)
    # Later: Neeraj is relieved by hand, and the booth volunteer's seat goes to someone else.
    do_end_appointment(
        Appointment.objects.get(person=t.neeraj), actor=t.convenor, ends=timezone.localdate()
    )
    do_appoint(t.ravi, t.booth_pos, t.booth1, actor=t.convenor)
    with pytest.raises(ReorganisationRefused) as e:
        do_undo_reorganisation(batch, actor=t.convenor)
    assert {(c["line"], c["code"]) for c in e.value.conflicts} == {(2, "changed_since")}
    # With the first conflict out of the way the seat conflict shows.
    Appointment.objects.filter(person=t.neeraj).update(ends=None)
    with pytest.raises(ReorganisationRefused) as e:
        do_undo_reorganisation(batch, actor=t.convenor)
    assert {(c["line"], c["code"]) for c in e.value.conflicts} == {(4, "seat_taken")}
    batch.refresh_from_db()
    assert batch.status == "applied"


# --- pages ----------------------------------------------------------------------------------


def test_upload_preview_apply_undo_pages(t):
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = client_for(t.convenor)
    assert c.get("/people/reorganise/").status_code == 200
    r = c.post(
        "/people/reorganise/", {"file": SimpleUploadedFile("lucknow.csv", good_file(t), "text/csv")}
    )
    assert r.status_code == 302
    batch = ReorgBatch.objects.get()
    r = c.get(r.url)
    assert r.status_code == 200
    assert 'id="n-appoint">3<' in r.text and "Apply the changes" in r.text
    r = c.post(f"/people/reorganise/{batch.token}/")
    assert r.status_code == 302
    r = c.get(r.url)
    assert "Undo this file" in r.text and "नीरज" in r.text
    r = c.post(f"/people/reorganise/{batch.token}/undo/")
    assert r.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "undone"


def test_preview_page_lists_conflicts_and_offers_no_apply(t):
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = client_for(t.convenor)
    data = csv_of(f"9810000012,IT volunteer,{t.kanpur_booth.code},appoint,")
    r = c.post("/people/reorganise/", {"file": SimpleUploadedFile("k.csv", data)}, follow=True)
    assert "No unit with code UP-AC-213-PS-001 in your area." in r.text
    assert "Apply the changes" not in r.text
    batch = ReorgBatch.objects.get()
    r = c.post(f"/people/reorganise/{batch.token}/")
    assert r.status_code == 400
    # a file without the columns is refused at upload
    r = c.post("/people/reorganise/", {"file": SimpleUploadedFile("bad.csv", b"name,phone\n")})
    assert r.status_code == 400 and "Missing column" in r.text


def test_outsider_cannot_open_or_apply_someone_elses_batch(t):
    batch, _plan = do_preview_reorganisation(good_file(t), "x.csv", actor=t.convenor)
    c = client_for(t.outsider)
    assert c.get(f"/people/reorganise/{batch.token}/").status_code == 404
    assert c.post(f"/people/reorganise/{batch.token}/").status_code == 404
    assert c.post(f"/people/reorganise/{batch.token}/undo/").status_code == 404
    # and the outsider's own upload of the same file finds nothing of Lucknow
    plan = plan_reorganisation(good_file(t), t.outsider)
    assert plan.changes == [] and len(plan.conflicts) == 4


# --- the command ----------------------------------------------------------------------------


def run(*args):
    out = StringIO()
    call_command("reorganise", *args, stdout=out)
    return out.getvalue()


def test_command_previews_and_commits(t, tmp_path):
    f = tmp_path / "r.csv"
    f.write_bytes(good_file(t))
    result = json.loads(run(str(f), "--json"))
    assert result == {"appoint": 3, "relieve": 1, "transfer": 0, "conflicts": []}
    assert not Appointment.objects.filter(person=t.neeraj).exists()
    result = json.loads(run(str(f), "--json", "--commit", "--as", "+919810000002"))
    assert result["applied"] is True and result["appoint"] == 3
    assert Appointment.objects.filter(person=t.neeraj).exists()
    assert ReorgBatch.objects.get(token=result["batch"]).user == t.convenor
    assert_counts_match_recount()


def test_command_refuses_commit_with_conflicts(t, tmp_path):
    f = tmp_path / "r.csv"
    f.write_bytes(good_file(t) + b"9899999999,IT volunteer,UP-AC-172-PS-002,appoint,\n")
    out = StringIO()
    with pytest.raises(CommandError) as e:
        call_command("reorganise", str(f), "--json", "--commit", stdout=out)
    assert e.value.returncode == 1
    result = json.loads(out.getvalue())
    assert result["applied"] is False
    assert result["conflicts"][0]["line"] == 6 and result["conflicts"][0]["code"] == "unknown_phone"
    assert not Appointment.objects.filter(person=t.neeraj).exists()
    # preview alone exits normally, listing the conflict
    assert "line 6" in run(str(f))
