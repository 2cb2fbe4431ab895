"""The public join page: a new member from a poster to the app, without duplicates, minors,
or unchecked phones."""

import json
import re

from django.test import Client

from sangathan.accounts.models import ApiToken, User
from sangathan.drives.models import FunnelDay, SignUp
from sangathan.people.models import Consent, Person
from tests.drives.conftest import Joiner


def handover(response) -> dict:
    match = re.search(
        r'<script id="sangathan-handover" type="application/json">(.*?)</script>',
        response.content.decode(),
    )
    return json.loads(match.group(1))


def test_it_signs_up_a_new_member_through_a_recruiter_code(campus, joiner):
    t = campus
    data = joiner.form(
        institution=t.university.pk,
        booth="UP-AC-172-PS-002",
        consents=["app:organisational", "sms:campaign"],
    )
    response = joiner.join(t.recruiter.code, data)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert "no-store" in response["Cache-Control"]
    person = Person.objects.get(phone="+919876500001")
    assert person.name == "रवि कुमार"
    assert person.referred_by == t.volunteer_person
    assert person.source == f"drive:{t.drive.code}"
    assert person.unit == t.booth2
    assert person.institution == "लखनऊ विश्वविद्यालय"
    assert person.app_status == "joined"
    consents = {(c.channel, c.purpose): c.evidence for c in Consent.objects.filter(person=person)}
    assert consents == {
        ("app", "organisational"): f"join page {t.recruiter.code}",
        ("sms", "campaign"): f"join page {t.recruiter.code}",
    }
    sign_up = SignUp.objects.get()
    assert (sign_up.drive, sign_up.recruiter, sign_up.status, sign_up.counted) == (
        t.drive,
        t.recruiter,
        "counted",
        True,
    )
    assert sign_up.institution == t.university and sign_up.home_unit == t.booth2
    # The page hands a working bearer token to the member app.
    data = handover(response)
    assert data["token"].startswith("sgn_") and data["user"]["person_id"] == person.pk
    assert 'location.replace("/app/")' in response.content.decode()
    assert ApiToken.objects.filter(user__person=person).count() == 1
    me = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {data['token']}")
    assert me.status_code == 200 and me.json()["person_id"] == person.pk
    t.booth2.refresh_from_db()
    assert t.booth2.people_count == 1


def test_codes_resolve_in_order_drive_location_recruiter_invite(campus, joiner):
    t = campus
    for code, expected in (
        (t.drive.code, None),
        (t.gate.code, None),
        (t.recruiter.code, t.volunteer_person),
        (t.convenor_person.referral_code, t.convenor_person),
    ):
        n = Person.objects.count()
        phone = f"98765{n:05d}"
        response = joiner.join(code, joiner.form(phone=phone))
        assert response.status_code == 200, (code, response.content.decode()[:1500])
        person = Person.objects.get(phone="+91" + phone)
        assert person.referred_by == expected
    rows = {s.code: s for s in SignUp.objects.all()}
    assert rows[t.gate.code].location == t.gate
    assert rows[t.gate.code].institution == t.university  # the place's institution
    invite = rows[t.convenor_person.referral_code]
    assert invite.drive is None and invite.referrer == t.convenor_person
    assert Person.objects.get(phone=f"+91{invite.person.phone[3:]}").source == "invite"
    assert joiner.client.get("/join/NOSUCHCODE").status_code == 404


def test_codes_are_lower_case_tolerant(campus, joiner):
    response = joiner.client.get(f"/join/{campus.drive.code.lower()}")
    assert response.status_code == 200


def test_it_refuses_under_18_with_the_reason_and_sends_no_code(campus, joiner):
    response = joiner.send(campus.drive.code, joiner.form(age="minor"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "18 or older" in text and "guardian" in text and 'id="minor-refusal"' in text
    assert joiner.sent == [] and not Person.objects.filter(phone="+919876500001").exists()


def test_a_wrong_code_signs_up_nobody(campus, joiner):
    response = joiner.join(campus.drive.code, otp="000000")
    assert response.status_code == 400
    assert "wrong" in response.content.decode() or "expired" in response.content.decode()
    assert not Person.objects.filter(phone="+919876500001").exists()
    assert not SignUp.objects.exists()


def test_the_same_phone_never_makes_a_second_person_or_counts_twice(
    campus, sent_codes, on_commit_after_action
):
    t = campus
    first = Joiner(sent_codes)
    assert first.join(t.recruiter.code, first.form(name="रवि")).status_code == 200
    again = Joiner(sent_codes)  # another device
    assert again.join(t.recruiter.code, again.form(name="रवि कुमार")).status_code == 200
    other_drive_code = t.gate.code  # same drive, another code
    third = Joiner(sent_codes)
    assert third.join(other_drive_code, third.form()).status_code == 200
    assert Person.objects.filter(phone="+919876500001").count() == 1
    assert Person.objects.get(phone="+919876500001").name == "रवि कुमार"  # updated
    assert SignUp.objects.filter(drive=t.drive).count() == 1
    # Through someone's invite (no drive) it is recorded, never counted again.
    fourth = Joiner(sent_codes)
    assert fourth.join(t.convenor_person.referral_code, fourth.form()).status_code == 200
    assert SignUp.objects.count() == 2
    assert SignUp.objects.filter(counted=True).count() == 1
    assert SignUp.objects.get(drive=None).status == "repeat"
    # The first attribution stays.
    assert Person.objects.get(phone="+919876500001").referred_by == t.volunteer_person


def test_an_existing_member_joining_keeps_their_record(campus, joiner):
    t = campus
    response = joiner.join(t.drive.code, joiner.form(name="पूजा यादव", phone="9810000003"))
    assert response.status_code == 200
    assert Person.objects.filter(phone="+919810000003").count() == 1
    assert User.objects.filter(phone="+919810000003").count() == 1  # the volunteer's own user
    assert SignUp.objects.get().new_person is False


def test_funnel_counters_follow_the_steps(campus, joiner):
    t = campus
    joiner.client.get(f"/join/{t.gate.code}")
    joiner.client.get(f"/join/{t.gate.code}")
    joiner.join(t.gate.code, joiner.form())
    day = FunnelDay.objects.get(code=t.gate.code)
    assert (day.visits, day.otp_sent, day.verified, day.joined) == (3, 1, 1, 1)
    assert day.drive == t.drive


def test_booth_lookup_by_assembly_and_station_number(campus, joiner):
    response = joiner.join(campus.drive.code, joiner.form(ac_no="172", ps_no="2"))
    assert response.status_code == 200
    assert Person.objects.get(phone="+919876500001").unit == campus.booth2


def test_unknown_station_number_is_a_clear_error(campus, joiner):
    response = joiner.send(campus.drive.code, joiner.form(ac_no="172", ps_no="99"))
    assert response.status_code == 400
    assert "No polling station 99 found in assembly constituency 172" in response.content.decode()


def test_booth_search_by_name_offers_choices_and_keeps_the_form(campus, joiner):
    response = joiner.client.post(
        f"/join/{campus.drive.code}",
        {**joiner.form(name="सीमा"), "booth_q": "Primary School", "action": "find"},
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert 'value="UP-AC-172-PS-001"' in text and 'value="UP-AC-172-PS-002"' in text
    assert "UP-AC-213-PS-001" not in text  # Kanpur's girls' school does not match
    assert 'value="सीमा"' in text
    assert "errorlist" not in text and "jerror" not in text
    partial = joiner.client.post(
        f"/join/{campus.drive.code}",
        {"booth_q": "विद्यालय", "action": "find"},
        HTTP_HX_REQUEST="true",
    )
    assert partial.content.decode().lstrip().startswith('<div id="booth-results"')


def test_page_works_in_hindi_by_default(campus):
    response = Client().get(f"/join/{campus.drive.code}")
    text = response.content.decode()
    assert response.status_code == 200
    assert "कैंपस अभियान — लखनऊ विश्वविद्यालय" in text
    assert 'lang="hi"' in text


def test_new_codes_avoid_every_table(campus, monkeypatch):
    from sangathan.drives import models

    taken = [campus.drive.code, campus.gate.code, campus.recruiter.code]
    taken.append(campus.convenor_person.referral_code)
    fresh = iter([*taken, "FRESH234"])
    monkeypatch.setattr(models, "new_referral_code", lambda: next(fresh))
    assert models.new_unique_code() == "FRESH234"


def test_a_closed_or_ended_drive_takes_no_sign_ups(campus, joiner):
    import datetime

    t = campus
    t.drive.is_open = False
    t.drive.save()
    page = joiner.client.get(f"/join/{t.recruiter.code}")
    assert page.status_code == 410 and "not taking sign-ups" in page.content.decode()
    assert joiner.send(t.recruiter.code, joiner.form()).status_code == 410
    t.drive.is_open = True
    t.drive.ends = datetime.date.today() - datetime.timedelta(days=1)
    t.drive.save()
    assert joiner.send(t.gate.code, joiner.form()).status_code == 410
    assert joiner.sent == [] and not SignUp.objects.exists()
    # A personal invite has no drive to close.
    assert joiner.client.get(f"/join/{t.convenor_person.referral_code}").status_code == 200


def test_ticking_a_channel_lifts_an_earlier_stop_but_only_that_one(campus, joiner):
    """A STOP is kept by address; the person's own verified choice on the join page lifts it
    for the channel they tick, recorded in the audit log, and no other."""
    from sangathan.accounts.models import AuditLog
    from sangathan.channels.models import Suppression

    t = campus
    for channel in ("sms", "whatsapp"):
        Suppression.objects.create(channel=channel, address="+919810000003", reason="STOP")
    response = joiner.join(
        t.drive.code,
        joiner.form(name="पूजा यादव", phone="9810000003", consents=["sms:organisational"]),
    )
    assert response.status_code == 200
    assert list(Suppression.objects.values_list("channel", flat=True)) == ["whatsapp"]
    lifted = AuditLog.objects.get(action="suppression_lifted")
    assert lifted.detail["channel"] == "sms" and lifted.detail["suppression_reason"] == "STOP"
