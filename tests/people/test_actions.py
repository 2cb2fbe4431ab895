import datetime

import pytest
import time_machine
from django.db import transaction

from sangathan.accounts.models import AuditLog
from sangathan.people.actions import (
    ActionRefused,
    do_appoint,
    do_end_appointment,
    do_record_consent,
    do_transfer,
    do_withdraw_consent,
)
from sangathan.people.models import Appointment, Consent
from tests.factories import make_person, make_position


def counts(*units):
    for u in units:
        u.refresh_from_db()
    return [(u.seats_total, u.seats_filled) for u in units]


def test_appoint_fills_a_seat_and_bumps_counts_up_the_tree(cast):
    person = make_person(cast.booth2, "राहुल सिंह")
    before = counts(cast.booth2, cast.lucknow, cast.up)
    appointment = do_appoint(person, cast.booth_pos, cast.booth2, actor=cast.convenor)
    after = counts(cast.booth2, cast.lucknow, cast.up)
    assert [f for _, f in after] == [f + 1 for _, f in before]
    assert appointment.is_current()
    assert appointment.appointed_by == cast.convenor
    entry = AuditLog.objects.get(action="appoint")
    assert entry.actor == cast.convenor
    assert entry.object_id == str(appointment.pk)
    assert entry.detail["unit"] == "UP-AC-172-PS-002"


def test_appoint_refuses_a_unit_of_another_level(cast):
    person = make_person(cast.booth2)
    with pytest.raises(ActionRefused) as exc:
        do_appoint(person, cast.booth_pos, cast.sector, actor=cast.convenor)
    assert exc.value.code == "wrong_level"
    assert "Sector 1" in exc.value.message or "सेक्टर 1" in exc.value.message
    assert not AuditLog.objects.filter(action="appoint").exists()


def test_appoint_refuses_when_all_seats_are_filled(cast):
    # booth1's one volunteer seat is held by Pooja.
    person = make_person(cast.booth1)
    with pytest.raises(ActionRefused) as exc:
        do_appoint(person, cast.booth_pos, cast.booth1, actor=cast.convenor)
    assert exc.value.code == "seats_full"
    assert counts(cast.booth1) == [(1, 1)]


def test_appoint_allows_as_many_people_as_seats(cast, tree):
    pos = make_position("booth", "Booth committee member", "बूथ समिति सदस्य", seats=2)
    a, b, c = (make_person(cast.booth2) for _ in range(3))
    do_appoint(a, pos, cast.booth2, actor=cast.convenor)
    do_appoint(b, pos, cast.booth2, actor=cast.convenor)
    with pytest.raises(ActionRefused):
        do_appoint(c, pos, cast.booth2, actor=cast.convenor)


def test_appoint_refuses_the_same_person_twice(cast):
    pos = make_position("booth", "Booth committee member", "बूथ समिति सदस्य", seats=3)
    person = make_person(cast.booth2)
    do_appoint(person, pos, cast.booth2, actor=cast.convenor)
    with pytest.raises(ActionRefused) as exc:
        do_appoint(person, pos, cast.booth2, actor=cast.convenor)
    assert exc.value.code == "already_holds"


def test_appoint_refuses_other_district_unit_and_person(cast):
    lucknow_person = make_person(cast.booth2)
    with pytest.raises(ActionRefused) as exc:
        do_appoint(lucknow_person, cast.booth_pos, cast.kanpur_booth, actor=cast.convenor)
    assert exc.value.code == "outside_jurisdiction"
    kanpur_person = make_person(cast.kanpur_booth)
    with pytest.raises(ActionRefused) as exc:
        do_appoint(kanpur_person, cast.booth_pos, cast.booth2, actor=cast.convenor)
    assert exc.value.code == "outside_jurisdiction"
    assert not Appointment.objects.filter(person__in=[lucknow_person, kanpur_person]).exists()


def test_appoint_refuses_a_future_start(cast):
    person = make_person(cast.booth2)
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    with pytest.raises(ActionRefused) as exc:
        do_appoint(person, cast.booth_pos, cast.booth2, actor=cast.convenor, starts=tomorrow)
    assert exc.value.code == "future_start"


def test_error_messages_follow_the_language(cast):
    from django.utils import translation

    person = make_person(cast.booth2)
    with translation.override("en"), pytest.raises(ActionRefused) as exc:
        do_appoint(person, cast.booth_pos, cast.sector, actor=cast.convenor)
    assert "Sector 1" in exc.value.message
    with translation.override("hi"), pytest.raises(ActionRefused) as exc:
        do_appoint(person, cast.booth_pos, cast.sector, actor=cast.convenor)
    assert "सेक्टर 1" in exc.value.message


def test_end_appointment_frees_the_seat_and_keeps_history(cast):
    appointment = Appointment.objects.get(person=cast.volunteer_person)
    with time_machine.travel(datetime.datetime(2030, 1, 10, 12, 0), tick=False):
        do_end_appointment(appointment, actor=cast.convenor)
        assert not appointment.is_current()
    appointment.refresh_from_db()
    assert appointment.ends == datetime.date(2030, 1, 10)
    assert counts(cast.booth1, cast.lucknow) == [(1, 0), (3, 1)]
    assert AuditLog.objects.filter(action="end_appointment", object_id=str(appointment.pk))


def test_end_appointment_refuses_twice_and_outsiders(cast):
    appointment = Appointment.objects.get(person=cast.volunteer_person)
    with pytest.raises(ActionRefused) as exc:
        do_end_appointment(appointment, actor=cast.outsider)
    assert exc.value.code == "outside_jurisdiction"
    do_end_appointment(appointment, actor=cast.convenor)
    with pytest.raises(ActionRefused) as exc:
        do_end_appointment(appointment, actor=cast.convenor)
    assert exc.value.code == "already_ended"
    assert counts(cast.booth1) == [(1, 0)]


def test_transfer_moves_the_holder_to_another_booth(cast):
    appointment = Appointment.objects.get(person=cast.volunteer_person)
    new = do_transfer(appointment, cast.booth2, actor=cast.convenor)
    appointment.refresh_from_db()
    assert appointment.ends is not None
    assert new.unit == cast.booth2 and new.person == cast.volunteer_person
    assert counts(cast.booth1, cast.booth2, cast.lucknow) == [(1, 0), (1, 1), (3, 2)]
    assert AuditLog.objects.filter(action="transfer").count() == 1


def test_failed_transfer_changes_nothing(cast):
    appointment = Appointment.objects.get(person=cast.volunteer_person)
    with pytest.raises(ActionRefused):
        do_transfer(appointment, cast.kanpur_booth, actor=cast.convenor)
    appointment.refresh_from_db()
    assert appointment.ends is None
    assert counts(cast.booth1, cast.lucknow) == [(1, 1), (3, 2)]
    assert not AuditLog.objects.exists()


def test_actions_refuse_to_run_inside_another_transaction(cast):
    # durable=True: an action is its own unit of work, never part of a caller's transaction.
    person = make_person(cast.booth2)
    with transaction.atomic(), pytest.raises(RuntimeError):
        do_appoint(person, cast.booth_pos, cast.booth2, actor=cast.convenor)


def test_consent_is_recorded_once_and_withdrawn_with_evidence(cast):
    person = cast.volunteer_person
    c1 = do_record_consent(person, "sms", "organisational", "signed form", actor=cast.convenor)
    c2 = do_record_consent(person, "sms", "organisational", "again", actor=cast.convenor)
    assert c1.pk == c2.pk
    withdrawn = do_withdraw_consent(person, "sms", "organisational", "replied STOP")
    assert withdrawn.withdrawn_at is not None
    assert "replied STOP" in withdrawn.evidence
    assert not Consent.objects.active().filter(person=person).exists()
    actions = list(AuditLog.objects.order_by("at").values_list("action", flat=True))
    assert actions == ["consent_granted", "consent_withdrawn"]


def test_consent_errors_name_the_problem(cast):
    person = cast.volunteer_person
    with pytest.raises(ActionRefused) as exc:
        do_record_consent(person, "pigeon", "organisational", "x")
    assert exc.value.code == "bad_channel"
    with pytest.raises(ActionRefused) as exc:
        do_record_consent(person, "sms", "organisational", "  ")
    assert exc.value.code == "no_evidence"
    with pytest.raises(ActionRefused) as exc:
        do_withdraw_consent(person, "sms", "organisational", "call")
    assert exc.value.code == "no_consent"
    with pytest.raises(ActionRefused) as exc:
        do_record_consent(person, "sms", "organisational", "form", actor=cast.outsider)
    assert exc.value.code == "outside_jurisdiction"
