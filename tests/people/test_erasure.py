"""DPDP rights: export everything held, erase on request keeping only what the law needs."""

import json

import pytest
from django.test import Client

from sangathan.accounts.actions import OtpError, do_issue_api_token, do_request_otp, do_verify_otp
from sangathan.accounts.models import ApiToken, AuditLog, User
from sangathan.broadcasts.audience import audience_people, reachable_on
from sangathan.broadcasts.models import Acknowledgement, Broadcast, FeedRead
from sangathan.channels.models import Delivery, PushSubscription, Suppression
from sangathan.org.counts import recount
from sangathan.org.models import OrgUnit
from sangathan.people.actions import (
    ActionRefused,
    do_create_task,
    do_erase_person,
    do_export_person_data,
    do_mark_task_done,
    do_record_consent,
)
from sangathan.people.models import Appointment, Consent, ErasureRecord, Person, Task, TaskDone
from tests.conftest import client_for
from tests.factories import make_person

PHONE = "+919810000003"


@pytest.fixture
def held(cast):
    """The volunteer with a bit of everything: consents, a push subscription, a feed read, a
    queued and a sent SMS, an acknowledgement, tasks, someone they invited."""
    p = cast.volunteer_person
    p.email = "Pooja@Example.org"
    p.birth_year = 1999
    p.institution = "Lucknow University"
    p.save()
    do_record_consent(p, "sms", "organisational", "join page ABC")
    do_record_consent(p, "push", "organisational", "member app")
    PushSubscription.objects.create(
        person=p, endpoint="https://push.example/1", p256dh="k", auth="a"
    )
    b = Broadcast.objects.create(
        audience_unit=cast.up, channels=["feed", "sms"], status="sent", title_hi="योजना"
    )
    FeedRead.objects.create(broadcast=b, person=p, unit_path=p.unit.path, read_at=b.created_at)
    Delivery.objects.create(
        broadcast=b, person=p, channel="sms", status="sent", unit_path=p.unit.path
    )
    b2 = Broadcast.objects.create(audience_unit=cast.up, channels=["sms"], status="sent")
    Delivery.objects.create(broadcast=b2, person=p, channel="sms", unit_path=p.unit.path)
    Acknowledgement.objects.create(
        broadcast=b, unit=cast.booth1, unit_path=cast.booth1.path, person=p
    )
    task = do_create_task(cast.convenor, title="Call Pooja's team", person=p)
    post_task = do_create_task(
        cast.convenor, title="Add members", position=cast.booth_pos, scope_unit=cast.lucknow
    )
    do_mark_task_done(p, post_task)
    invited = make_person(cast.booth1, "नया सदस्य", "+919810000088", referred_by=p)
    cast.b, cast.b2, cast.task, cast.post_task, cast.invited = b, b2, task, post_task, invited
    return cast


def test_export_holds_everything(held):
    data = do_export_person_data(held.volunteer_person)
    assert data["person"]["email"] == "Pooja@Example.org"
    assert data["person"]["institution"] == "Lucknow University"
    assert [c["evidence"] for c in data["consents"]] == ["join page ABC", "member app"]
    assert data["appointments"][0]["ends"] is None
    assert data["feed"][0]["broadcast"] == held.b.code
    assert {d["status"] for d in data["deliveries"]} == {"sent", "queued"}
    assert data["push_subscriptions"][0]["endpoint"] == "https://push.example/1"
    assert data["acknowledgements"][0]["broadcast"] == held.b.code
    assert data["tasks_done"][0]["task"] == "Add members"
    assert data["tasks_assigned_to_you"][0]["title"] == "Call Pooja's team"
    assert data["referral"]["people_joined_through_you"] == 1
    assert data["account"]["phone"] == PHONE
    assert any(e["action"] == "consent_granted" for e in data["audit"])
    json.dumps(data)  # JSON-ready


def test_erasure_removes_personal_data_and_keeps_what_the_law_needs(held):
    p = held.volunteer_person
    lucknow_before = OrgUnit.objects.get(pk=held.lucknow.pk).people_count
    seats_before = OrgUnit.objects.get(pk=held.booth1.pk).seats_filled
    raw, _t = do_issue_api_token(held.volunteer)
    old_code = p.referral_code

    record = do_erase_person(p, "moved away", actor=held.volunteer, requested_by="self")

    p.refresh_from_db()
    assert p.is_erased and p.phone.startswith("+0") and len(p.phone) <= 16
    assert p.name == "[erased]" and p.email == "" and p.birth_year is None and p.institution == ""
    assert p.referral_code != old_code
    assert not Person.objects.filter(phone=PHONE).exists()
    # Login, tokens, push subscriptions, personal tasks and done marks are gone.
    assert not User.objects.filter(phone=PHONE).exists()
    assert not ApiToken.objects.filter(user_id=held.volunteer.pk).exists()
    assert Client().get("/api/v1/me/profile", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert not PushSubscription.objects.filter(person=p).exists()
    assert not Task.objects.filter(pk=held.task.pk).exists()
    assert not TaskDone.objects.filter(person=p).exists()
    # Consents kept, all withdrawn; the number is suppressed on every phone channel.
    assert Consent.objects.filter(person=p).count() == 2
    assert not Consent.objects.active().filter(person=p).exists()
    assert set(Suppression.objects.filter(address=PHONE).values_list("channel", flat=True)) == {
        "sms",
        "whatsapp",
        "push",
    }
    assert Suppression.objects.filter(channel="email", address="pooja@example.org").exists()
    # The appointment ended, the seat is free, the history row stays.
    appointment = Appointment.objects.get(person=p)
    assert appointment.ends is not None
    assert OrgUnit.objects.get(pk=held.booth1.pk).seats_filled == seats_before - 1
    # Other apps' rows survive: reach rows, the unit's acknowledgement, the invitee.
    assert FeedRead.objects.filter(person=p).exists()
    assert Delivery.objects.get(broadcast=held.b).status == "sent"
    assert Delivery.objects.get(broadcast=held.b2).status == "suppressed"
    ack = Acknowledgement.objects.get(broadcast=held.b)
    assert ack.person_id is None
    held.invited.refresh_from_db()
    assert held.invited.referred_by_id == p.pk
    # Counts: one member fewer, and a recount agrees.
    assert OrgUnit.objects.get(pk=held.lucknow.pk).people_count == lucknow_before - 1
    recount()
    assert OrgUnit.objects.get(pk=held.lucknow.pk).people_count == lucknow_before - 1
    # The record: when, why, who asked, what was kept — and no personal data.
    assert record.reason == "moved away" and record.requested_by == "self"
    assert record.removed["logins"] == 1 and record.removed["consents_withdrawn"] == 2
    assert "consents" in record.kept and "audit_log" in record.kept
    text = json.dumps([record.reason, record.removed, record.kept], ensure_ascii=False)
    for personal in (
        PHONE,
        "9810000003",
        "पूजा",
        "Pooja",
        "pooja@example.org",
        "Lucknow University",
    ):
        assert personal not in text
    assert AuditLog.objects.filter(action="person_erased", detail__person=p.pk).exists()


def test_the_erased_person_cannot_log_in_by_otp_as_the_same_record(held, monkeypatch):
    do_erase_person(held.volunteer_person, "", requested_by="self")
    sent = []
    monkeypatch.setattr("sangathan.accounts.actions.new_code", lambda: "123456")
    monkeypatch.setattr(
        "sangathan.accounts.actions.send_code", lambda phone, code: sent.append(phone)
    )
    do_request_otp(PHONE)
    from sangathan.accounts.actions import _may_log_in

    assert not _may_log_in(PHONE)  # so no code is sent to a number nobody holds any more
    with pytest.raises(OtpError):
        do_verify_otp(PHONE, "123456")
    assert not User.objects.filter(phone=PHONE).exists()


def test_an_erased_person_is_no_longer_in_any_audience(held):
    p = held.volunteer_person
    assert reachable_on(audience_people(held.up), "sms", "organisational").filter(pk=p.pk).exists()
    do_erase_person(p, "", requested_by="self")
    for channel in ("sms", "push", "whatsapp", "email"):
        assert (
            not reachable_on(audience_people(held.up), channel, "organisational")
            .filter(pk=p.pk)
            .exists()
        )


def test_erasing_twice_is_refused(held):
    do_erase_person(held.volunteer_person, "", requested_by="self")
    with pytest.raises(ActionRefused) as e:
        do_erase_person(held.volunteer_person, "", requested_by="self")
    assert e.value.code == "erased"


def test_staff_erasure_needs_a_reason_and_jurisdiction(held):
    with pytest.raises(ActionRefused) as e:
        do_erase_person(held.volunteer_person, " ", actor=held.convenor, requested_by="staff")
    assert e.value.code == "no_reason"
    with pytest.raises(ActionRefused) as e:
        do_erase_person(
            held.volunteer_person, "asked by letter", actor=held.outsider, requested_by="staff"
        )
    assert e.value.code == "outside_jurisdiction"
    record = do_erase_person(
        held.volunteer_person, "asked by letter", actor=held.convenor, requested_by="staff"
    )
    assert record.actor == held.convenor and record.requested_by == "staff"
    assert ErasureRecord.objects.count() == 1


def test_staff_erase_button_refuses_outsider_and_needs_a_reason(held):
    url = f"/people/{held.volunteer_person.pk}/erase/"
    assert client_for(held.outsider).post(url, {"reason": "x"}).status_code == 404
    r = client_for(held.convenor).post(url, {"reason": ""})
    assert r.status_code == 200 and not ErasureRecord.objects.exists()
    r = client_for(held.convenor).post(url, {"reason": "asked on the phone"})
    assert r.status_code == 302
    assert ErasureRecord.objects.get().reason == "asked on the phone"


def test_the_person_page_links_to_erasure(held):
    page = client_for(held.convenor).get(f"/people/{held.volunteer_person.pk}/").content.decode()
    assert f"/people/{held.volunteer_person.pk}/erase/" in page
