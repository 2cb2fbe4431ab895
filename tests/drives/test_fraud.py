"""Fraud controls: velocity caps per code, device and network; the suspicious queue and its
review; verified-enroller mode."""

import pytest

from sangathan.accounts.models import AuditLog
from sangathan.drives import actions
from sangathan.drives.actions import DriveActionRefused, do_review_sign_up
from sangathan.drives.models import SignUp
from sangathan.people.models import Person
from tests.conftest import client_for
from tests.drives.conftest import Joiner


def phone(i: int) -> str:
    return f"97{i:08d}"


def test_the_code_cap_refuses_once_reached(campus, sent_codes, on_commit_after_action):
    t = campus
    t.drive.cap_per_code_per_hour = 2
    t.drive.save()
    for i in range(2):
        j = Joiner(sent_codes, REMOTE_ADDR=f"10.0.0.{i}")
        assert j.join(t.drive.code, j.form(phone=phone(i))).status_code == 200
    j = Joiner(sent_codes, REMOTE_ADDR="10.0.0.9")
    response = j.send(t.drive.code, j.form(phone=phone(9)))
    assert response.status_code == 429
    assert "Too many people joined through this code" in response.content.decode()
    assert not any(p == "+91" + phone(9) for p, _c in sent_codes)  # no OTP spent on it
    # Other codes of the same drive are capped separately.
    j = Joiner(sent_codes, REMOTE_ADDR="10.0.0.8")
    assert j.join(t.gate.code, j.form(phone=phone(8))).status_code == 200


def test_the_device_cap_follows_the_signed_cookie(campus, sent_codes, on_commit_after_action):
    t = campus
    t.drive.cap_per_device_per_day = 2
    t.drive.save()
    j = Joiner(sent_codes)
    for i in range(2):
        assert j.join(t.drive.code, j.form(phone=phone(i))).status_code == 200
    response = j.send(t.drive.code, j.form(phone=phone(5)))
    assert response.status_code == 429
    assert "from this phone today" in response.content.decode()
    # A forged cookie is a new device, not someone else's.
    cookie = j.client.cookies["sangathan_device"].value
    assert ":" in cookie  # signed
    j.client.cookies["sangathan_device"] = "forged"
    assert j.join(t.drive.code, j.form(phone=phone(6)), visit=False).status_code == 200
    assert set(SignUp.objects.values_list("device", flat=True)).__len__() == 2


def test_the_network_cap_counts_one_ip(campus, sent_codes, on_commit_after_action):
    t = campus
    t.drive.cap_per_ip_per_hour = 2
    t.drive.save()
    for i in range(2):
        j = Joiner(sent_codes, REMOTE_ADDR="10.1.1.1")
        assert j.join(t.drive.code, j.form(phone=phone(i))).status_code == 200
    j = Joiner(sent_codes, REMOTE_ADDR="10.1.1.1")
    response = j.send(t.drive.code, j.form(phone=phone(3)))
    assert response.status_code == 429 and "your network" in response.content.decode()


def test_a_second_device_sign_up_goes_to_the_queue_uncounted(
    campus, sent_codes, on_commit_after_action, monkeypatch
):
    t = campus
    monkeypatch.setattr(actions, "SUSPICIOUS_PER_DEVICE_PER_DAY", 1)
    j = Joiner(sent_codes)
    j.join(t.recruiter.code, j.form(phone=phone(1)))
    j.join(t.recruiter.code, j.form(phone=phone(2)))
    first, second = SignUp.objects.order_by("pk")
    assert (first.status, first.counted) == ("counted", True)
    assert (second.status, second.counted, second.flags) == ("suspicious", False, ["device"])
    # The person still joined (they proved their phone); only the credit waits.
    assert Person.objects.get(phone="+91" + phone(2)).referred_by == t.volunteer_person


def test_a_burst_on_one_code_is_flagged(campus, sent_codes, on_commit_after_action, monkeypatch):
    t = campus
    monkeypatch.setattr(actions, "SUSPICIOUS_BURST_PER_CODE", 2)
    for i in range(3):
        j = Joiner(sent_codes, REMOTE_ADDR=f"10.2.0.{i}")
        assert j.join(t.recruiter.code, j.form(phone=phone(i))).status_code == 200
    assert [s.status for s in SignUp.objects.order_by("pk")] == ["counted", "counted", "suspicious"]
    assert SignUp.objects.order_by("pk").last().flags == ["burst"]


@pytest.fixture
def queued(campus, sent_codes, on_commit_after_action, monkeypatch):
    monkeypatch.setattr(actions, "SUSPICIOUS_PER_DEVICE_PER_DAY", 1)
    j = Joiner(sent_codes)
    j.join(campus.recruiter.code, j.form(phone=phone(1)))
    j.join(campus.recruiter.code, j.form(phone=phone(2)))
    campus.queued = SignUp.objects.get(status="suspicious")
    return campus


def test_the_owner_accepts_a_queued_sign_up_and_it_counts(queued):
    t = queued
    c = client_for(t.convenor)
    page = c.get(f"/drives/{t.drive.code}/suspicious/")
    assert page.status_code == 200 and "several sign-ups from one device" in page.content.decode()
    response = c.post(f"/drives/{t.drive.code}/suspicious/{t.queued.pk}/", {"decision": "accept"})
    assert response.status_code == 302
    t.queued.refresh_from_db()
    assert (t.queued.status, t.queued.counted, t.queued.reviewed_by) == (
        "counted",
        True,
        t.convenor,
    )
    assert AuditLog.objects.filter(action="drive_sign_up_accepted", actor=t.convenor).count() == 1
    with pytest.raises(DriveActionRefused):
        do_review_sign_up(t.queued, accept=False, actor=t.convenor)  # only once


def test_rejecting_takes_the_credit_away(queued):
    t = queued
    c = client_for(t.convenor)
    c.post(f"/drives/{t.drive.code}/suspicious/{t.queued.pk}/", {"decision": "reject"})
    t.queued.refresh_from_db()
    assert (t.queued.status, t.queued.counted) == ("rejected", False)
    assert Person.objects.get(pk=t.queued.person_id).referred_by is None
    assert AuditLog.objects.filter(action="drive_sign_up_rejected").count() == 1


def test_an_outsider_cannot_see_or_review_the_queue(queued):
    t = queued
    c = client_for(t.outsider)
    assert c.get(f"/drives/{t.drive.code}/suspicious/").status_code == 404
    response = c.post(f"/drives/{t.drive.code}/suspicious/{t.queued.pk}/", {"decision": "accept"})
    assert response.status_code == 404
    t.queued.refresh_from_db()
    assert t.queued.status == "suspicious"
    with pytest.raises(DriveActionRefused):
        do_review_sign_up(t.queued, accept=True, actor=t.outsider)


def test_verified_enroller_mode_refuses_the_public(campus, sent_codes, on_commit_after_action):
    t = campus
    t.drive.verified_enrollers = True
    t.drive.save()
    j = Joiner(sent_codes)
    page = j.client.get(f"/join/{t.drive.code}")
    assert page.status_code == 403
    assert "only appointed enrollers" in page.content.decode()
    response = j.send(t.drive.code, j.form())
    assert response.status_code == 403 and sent_codes == []
    # A logged-in user who is not an enroller of this drive is refused too.
    other = Joiner(sent_codes, client=client_for(t.convenor))
    assert other.client.get(f"/join/{t.drive.code}").status_code == 403


def test_an_appointed_enroller_signs_people_up_on_their_phone(
    campus, sent_codes, on_commit_after_action
):
    t = campus
    t.drive.verified_enrollers = True
    t.drive.cap_per_device_per_day = 1  # enrollers are not held to the device cap
    t.drive.save()
    enroller = Joiner(sent_codes, client=client_for(t.volunteer))
    for i in range(3):
        response = enroller.join(t.drive.code, enroller.form(phone=phone(i)))
        assert response.status_code == 200
        assert 'id="join-enrolled"' in response.content.decode()
        assert "sangathan-handover" not in response.content.decode()  # no token for the enroller
    rows = SignUp.objects.all()
    assert {r.recruiter for r in rows} == {t.recruiter} and {r.status for r in rows} == {"counted"}
    assert Person.objects.get(phone="+91" + phone(0)).referred_by == t.volunteer_person


def test_the_api_will_not_bypass_enroller_mode(campus, sent_codes, on_commit_after_action):
    t = campus
    t.drive.verified_enrollers = True
    t.drive.save()
    from django.test import Client

    c = Client()
    c.post(
        "/api/v1/auth/otp/request",
        {"phone": phone(1), "referral_code": t.drive.code},
        content_type="application/json",
    )
    assert sent_codes == []  # unknown number, no usable code: nothing sent
