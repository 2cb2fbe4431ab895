from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from sangathan.accounts.actions import OtpError, do_request_otp, do_verify_otp
from sangathan.accounts.models import AuditLog, OtpChallenge, User

CONVENOR = "+919810000002"
IP = "203.0.113.7"


def request_code(sent_codes, phone=CONVENOR, ip=IP) -> str:
    with sent_codes.capture():
        e164 = do_request_otp(phone, ip)
    return sent_codes.last_for(e164)


def test_it_sends_six_digits_and_stores_only_a_keyed_hash(cast, sent_codes):
    code = request_code(sent_codes, "098100 00002")  # as people type it
    assert len(code) == 6 and code.isdigit()
    challenge = OtpChallenge.objects.get(phone=CONVENOR)
    assert code not in challenge.code_hash
    assert challenge.expires_at - challenge.created_at == timedelta(minutes=10)


def test_a_code_logs_in_once(cast, sent_codes):
    code = request_code(sent_codes)
    assert do_verify_otp(CONVENOR, code, IP) == cast.convenor
    with pytest.raises(OtpError) as e:
        do_verify_otp(CONVENOR, code, IP)
    assert e.value.reason == "expired_code"


def test_a_code_expires_after_ten_minutes(cast, sent_codes):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        code = request_code(sent_codes)
        traveller.shift(timedelta(minutes=10, seconds=1))
        with pytest.raises(OtpError) as e:
            do_verify_otp(CONVENOR, code, IP)
    assert e.value.reason == "expired_code"


def test_a_code_still_works_just_before_expiry(cast, sent_codes):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        code = request_code(sent_codes)
        traveller.shift(timedelta(minutes=9, seconds=50))
        assert do_verify_otp(CONVENOR, code, IP) == cast.convenor


def test_it_stops_accepting_guesses_after_five_wrong_codes(cast, sent_codes):
    code = request_code(sent_codes)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(OtpError) as e:
            do_verify_otp(CONVENOR, wrong, IP)
        assert e.value.reason == "wrong_code"
    with pytest.raises(OtpError) as e:
        do_verify_otp(CONVENOR, code, IP)  # even the right one
    assert e.value.reason == "too_many_attempts"


def test_a_new_code_replaces_the_old_one(cast, sent_codes):
    first = request_code(sent_codes)
    second = request_code(sent_codes)
    if first != second:
        with pytest.raises(OtpError):
            do_verify_otp(CONVENOR, first, IP)
    assert do_verify_otp(CONVENOR, second, IP) == cast.convenor


@override_settings(SANGATHAN_OTP_MAX_PER_PHONE_PER_HOUR=3)
def test_it_limits_codes_per_phone_per_hour(cast, sent_codes):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for i in range(3):
            do_request_otp(CONVENOR, f"198.51.100.{i}")
        with pytest.raises(OtpError) as e:
            do_request_otp(CONVENOR, "198.51.100.99")
        assert e.value.reason == "too_many_requests"
        assert "number" in str(e.value)
        traveller.shift(timedelta(hours=1, seconds=1))
        do_request_otp(CONVENOR, IP)  # the hour has passed
    assert AuditLog.objects.filter(action="otp_refused", detail__reason="phone_rate").exists()


@override_settings(SANGATHAN_OTP_MAX_PER_IP_PER_HOUR=3)
def test_it_limits_codes_per_ip_per_hour(cast, sent_codes):
    for i in range(3):
        do_request_otp(f"+91981000000{i + 1}", IP)
    with pytest.raises(OtpError) as e:
        do_request_otp("+919810000005", IP)
    assert e.value.reason == "too_many_requests"
    assert "network" in str(e.value)
    do_request_otp("+919810000005", "198.51.100.1")  # another network is not affected


def test_unknown_numbers_get_the_same_answer_but_no_code(cast, sent_codes):
    with sent_codes.capture():
        known = do_request_otp(CONVENOR, IP)
        unknown = do_request_otp("+919700000000", IP)
    assert (known, unknown) == (CONVENOR, "+919700000000")
    assert [p for p, _ in sent_codes] == [CONVENOR]
    # The unknown number is counted like any other, so rate limits do not tell them apart.
    assert OtpChallenge.objects.filter(phone="+919700000000").count() == 1
    with pytest.raises(OtpError) as e:
        do_verify_otp("+919700000000", "123456", IP)
    assert e.value.reason == "wrong_code"
    assert not User.objects.filter(phone="+919700000000").exists()


def test_it_names_an_invalid_phone(cast):
    with pytest.raises(OtpError) as e:
        do_request_otp("12345", IP)
    assert e.value.reason == "invalid_phone"
    assert "short" in str(e.value)


def test_first_login_creates_the_user_linked_to_their_person(cast, sent_codes):
    phone = cast.kanpur_member.phone
    code = request_code(sent_codes, phone)
    user = do_verify_otp(phone, code, IP)
    assert user.person == cast.kanpur_member
    assert user.name == "रीना गुप्ता"
    assert not user.is_staff
    assert AuditLog.objects.filter(action="user_created", actor=user).exists()


def test_an_inactive_user_gets_no_code_and_cannot_log_in(cast, sent_codes):
    User.objects.filter(pk=cast.convenor.pk).update(is_active=False)
    with sent_codes.capture():
        do_request_otp(CONVENOR, IP)
    assert sent_codes == []
    with pytest.raises(OtpError):
        do_verify_otp(CONVENOR, "123456", IP)


def test_logins_and_failures_are_audited(cast, sent_codes):
    code = request_code(sent_codes)
    with pytest.raises(OtpError):
        do_verify_otp(CONVENOR, "000000" if code != "000000" else "111111", IP)
    do_verify_otp(CONVENOR, code, IP)
    failed = AuditLog.objects.get(action="login_failed")
    assert failed.detail["phone"] == CONVENOR and failed.detail["reason"] == "wrong_code"
    assert failed.ip == IP
    login = AuditLog.objects.get(action="login")
    assert login.actor == cast.convenor and login.detail["method"] == "otp"
