"""Funnels and leaderboards: set-based counts that add up, and districts rolled up the tree."""

from datetime import timedelta

from django.utils import timezone

from sangathan.accounts.models import ApiToken
from sangathan.broadcasts.models import Broadcast, FeedRead
from sangathan.drives import reports
from sangathan.drives.models import DriveTarget, FunnelDay, SignUp
from sangathan.people.models import Person
from tests.drives.conftest import Joiner
from tests.factories import add_unit


def join(sent, code, i, **extra):
    j = Joiner(sent, REMOTE_ADDR=f"10.9.0.{i}")
    response = j.join(code, j.form(phone=f"96{i:08d}", **extra))
    assert response.status_code == 200, response.content.decode()[:1500]
    return Person.objects.get(phone=f"+9196{i:08d}")


def test_funnel_counts_visits_codes_joins_and_activity(
    campus, sent_codes, on_commit_after_action, django_assert_max_num_queries
):
    t = campus
    a = join(sent_codes, t.recruiter.code, 1)
    join(sent_codes, t.recruiter.code, 2)
    join(sent_codes, t.gate.code, 3, institution=t.university.pk)
    Joiner(sent_codes).client.get(f"/join/{t.drive.code}")  # a visit only
    # Person a reads the feed on day 2; the others never use the app (a token used after the
    # window does not count).
    token_user = ApiToken.objects.filter(user__person=a).get()
    ApiToken.objects.filter(pk=token_user.pk).update(
        last_used_at=timezone.now() + timedelta(days=2)
    )
    late = Person.objects.get(phone="+919600000002")
    ApiToken.objects.filter(user__person=late).update(
        last_used_at=timezone.now() + timedelta(days=8)
    )
    with django_assert_max_num_queries(3):
        f = reports.funnel(t.drive)
    assert f == {
        "visits": 4,
        "otp_sent": 3,
        "verified": 3,
        "joined": 3,
        "counted": 3,
        "repeat": 0,
        "suspicious": 0,
        "rejected": 0,
        "active_7d": 1,
    }
    by_code = {row["code"]: row for row in reports.funnel_by_code(t.drive)}
    assert by_code[t.recruiter.code]["counted"] == 2 and by_code[t.recruiter.code]["active_7d"] == 1
    assert by_code[t.gate.code]["visits"] == 1 and by_code[t.drive.code]["visits"] == 1
    assert by_code[t.drive.code]["kind"] == "drive" and by_code[t.gate.code]["kind"] == "location"


def test_a_feed_read_within_seven_days_is_activity(campus, sent_codes, on_commit_after_action):
    t = campus
    a = join(sent_codes, t.drive.code, 1)
    b = join(sent_codes, t.drive.code, 2)
    broadcast = Broadcast.objects.create(
        author=t.superuser, origin_unit=t.up, audience_unit=t.up, title_hi="सूचना", body_hi="…"
    )
    FeedRead.objects.create(
        broadcast=broadcast, person=a, unit_path=a.unit.path, read_at=timezone.now()
    )
    FeedRead.objects.create(  # read, but three weeks later: not "within 7 days"
        broadcast=broadcast,
        person=b,
        unit_path=b.unit.path,
        read_at=timezone.now() + timedelta(days=21),
    )
    assert reports.funnel(t.drive)["active_7d"] == 1


def test_funnel_reads_counters_not_events(campus, django_assert_max_num_queries):
    t = campus
    today = timezone.localdate()
    FunnelDay.objects.create(drive=t.drive, code=t.drive.code, day=today, visits=5000)
    FunnelDay.objects.create(
        drive=t.drive, code=t.drive.code, day=today - timedelta(days=1), visits=7000, otp_sent=9
    )
    with django_assert_max_num_queries(3):
        f = reports.funnel(t.drive)
    assert (f["visits"], f["otp_sent"]) == (12000, 9)


def test_leaderboards_by_recruiter_institution_and_district(
    campus, sent_codes, on_commit_after_action
):
    t = campus
    # A second Lucknow assembly with its own booth, and a booth in Kanpur.
    ac2 = add_unit(t.lucknow, "assembly", "UP-AC-173", "लखनऊ उत्तर", "Lucknow North", ac_no=173)
    b2 = add_unit(ac2, "booth", "UP-AC-173-PS-001", "बूथ 1", "Booth 1", ps_no="1")
    join(sent_codes, t.recruiter.code, 1, booth=t.booth1.code, institution=t.university.pk)
    join(sent_codes, t.recruiter.code, 2, booth=b2.code)
    join(sent_codes, t.gate.code, 3, booth=t.kanpur_booth.code)
    join(sent_codes, t.drive.code, 4)  # no booth: the institution's or the drive's unit
    recruiters = reports.leaderboard_recruiters(t.drive)
    assert [(r["recruiter"], r["n"]) for r in recruiters] == [(t.recruiter, 2)]
    institutions = reports.leaderboard_institutions(t.drive)
    assert [(r["institution"], r["n"]) for r in institutions] == [(t.university, 2)]
    districts = {r["unit"].code: r["n"] for r in reports.leaderboard_districts(t.drive)}
    assert districts == {"UP-D-162": 3, "UP-D-164": 1}
    # A repeat or a queued sign-up is not counted anywhere.
    SignUp.objects.filter(code=t.gate.code).update(status="suspicious", counted=False)
    districts = {r["unit"].code: r["n"] for r in reports.leaderboard_districts(t.drive)}
    assert districts == {"UP-D-162": 3}


def test_targets_progress(campus, sent_codes, on_commit_after_action):
    t = campus
    DriveTarget.objects.create(drive=t.drive, unit=t.ac_west, target=4)
    DriveTarget.objects.create(drive=t.drive, institution=t.university, target=10)
    join(sent_codes, t.drive.code, 1, booth=t.booth1.code, institution=t.university.pk)
    join(sent_codes, t.drive.code, 2, booth=t.kanpur_booth.code)
    rows = {r["name"]: (r["n"], r["percent"]) for r in reports.target_progress(t.drive)}
    assert rows == {"Lucknow West": (1, 25), "University of Lucknow": (1, 10)}
