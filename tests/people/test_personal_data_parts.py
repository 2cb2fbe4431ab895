"""The DPDP export and erasure reach the other apps' share of a person's data: drive
sign-ups (with the IP and device recorded) and recruiter codes, WhatsApp groups administered
and forward tasks, meeting invitations and action items."""

import datetime

import pytest
from django.utils import timezone

from sangathan.accounts.models import OtpChallenge
from sangathan.drives.models import Drive, Recruiter, SignUp, phone_key
from sangathan.groups.actions import do_create_group
from sangathan.groups.models import GroupAdmin
from sangathan.meetings import actions as meeting_actions
from sangathan.meetings.models import Invitation
from sangathan.people.actions import do_erase_person, do_export_person_data
from tests.meetings.conftest import meetings  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def everywhere(meetings):  # noqa: F811
    """The booth volunteer signed up through a campus drive, recruits for it, administers
    their booth's WhatsApp group and was named to a meeting with an action item."""
    t = meetings
    p = t.volunteer_person
    drive = Drive.objects.create(
        name="Campus drive — Lucknow University",
        name_hi="कैंपस अभियान",
        kind="campus",
        unit=t.lucknow,
    )
    t.sign_up = SignUp.objects.create(
        drive=drive,
        code=drive.code,
        person=p,
        phone_key=phone_key(p.phone),
        home_unit=t.booth1,
        ip="203.0.113.7",
        device="d-8f3a",
        status="ok",
        counted=True,
    )
    t.recruiter = Recruiter.objects.create(drive=drive, person=p)
    t.group = do_create_group(t.convenor, unit=t.booth1, name="बूथ 1 कार्यकर्ता", admins=[p])
    t.meeting = t.district_meeting
    meeting_actions.do_add_extra_invitee(t.convenor, t.meeting, p)
    meeting_actions.do_send_invitations(t.convenor, t.meeting)
    meeting_actions.do_rsvp(p, t.meeting, "yes")
    meeting_actions.do_add_action_item(
        t.convenor, t.meeting, title="बूथ का व्हाट्सऐप ग्रुप बढ़ाएँ", person=p
    )
    OtpChallenge.objects.create(
        phone=p.phone, code_hash="x", expires_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    return t


def test_the_export_holds_sign_ups_groups_and_meetings(everywhere):
    t = everywhere
    data = do_export_person_data(t.volunteer_person)
    (sign_up,) = data["drive_sign_ups"]
    assert sign_up["drive"] == "Campus drive — Lucknow University"
    assert (sign_up["ip"], sign_up["device"], sign_up["home_unit"]) == (
        "203.0.113.7",
        "d-8f3a",
        t.booth1.code,
    )
    assert data["recruiting_for"] == [
        {
            "drive": "Campus drive — Lucknow University",
            "code": t.recruiter.code,
            "active": True,
            "since": t.recruiter.added_at.isoformat(),
        }
    ]
    assert [g["group"] for g in data["whatsapp_groups_you_administer"]] == ["बूथ 1 कार्यकर्ता"]
    (invitation,) = data["meeting_invitations"]
    assert invitation["meeting"] == "Lucknow IT team" and invitation["rsvp"] == "yes"
    (item,) = data["action_items_assigned_to_you"]
    assert item["action"] == "बूथ का व्हाट्सऐप ग्रुप बढ़ाएँ" and item["status"] == "open"


def test_erasure_clears_them_and_says_what_it_kept(everywhere):
    t = everywhere
    p = t.volunteer_person
    phone = p.phone
    record = do_erase_person(p, "no longer a member")
    t.sign_up.refresh_from_db()
    # counted still (funnels add up), but no IP or device, and the phone only as its hash
    assert (t.sign_up.ip, t.sign_up.device, t.sign_up.counted) == (None, "", True)
    assert t.sign_up.phone_key == phone_key(phone) and phone not in t.sign_up.phone_key
    t.recruiter.refresh_from_db()
    assert t.recruiter.active is False
    assert not GroupAdmin.objects.filter(person=p).exists()
    assert p not in t.meeting.extra_invitees.all()
    assert Invitation.objects.filter(meeting=t.meeting, person=p).exists()  # counts stay true
    assert not OtpChallenge.objects.filter(phone=phone).exists()
    assert record.removed["sign_ups_ip_and_device_removed"] == 1
    assert record.removed["recruiter_codes_switched_off"] == 1
    assert record.removed["group_admin_roles"] == 1
    assert record.removed["named_in_meetings"] == 2  # this meeting and the state meeting
    assert record.removed["pending_login_codes"] == 1
    assert {"drive_sign_ups", "recruiter_codes", "meeting_invitations"} <= set(record.kept)
    # what the export now says about the anonymised record
    data = do_export_person_data(p)
    assert data["drive_sign_ups"][0]["ip"] is None
    assert data["whatsapp_groups_you_administer"] == []
