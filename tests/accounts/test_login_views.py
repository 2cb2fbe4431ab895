import re

from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from sangathan.accounts.models import AuditLog

CONVENOR = "+919810000002"


def english_client() -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return c


def test_a_worker_logs_in_with_phone_and_code(cast, sent_codes):
    c = english_client()
    with sent_codes.capture():
        r = c.post(reverse("accounts:login"), {"phone": "98100 00002", "next": "/people/"})
    assert r.status_code == 302 and r["Location"] == reverse("accounts:verify")
    page = c.get(r["Location"])
    assert 'name="code"' in page.text and "+91••••••0002" in page.text
    r = c.post(reverse("accounts:verify"), {"code": sent_codes.last_for(CONVENOR)})
    assert r.status_code == 302 and r["Location"] == "/people/"
    assert int(c.session["_auth_user_id"]) == cast.convenor.pk


def test_the_login_page_has_a_phone_field(db):
    r = english_client().get(reverse("accounts:login"))
    assert r.status_code == 200
    assert 'name="phone"' in r.text


def _comparable(page, phone: str) -> str:
    """The page without what must differ: the number itself and the CSRF token."""
    text = page.text.replace(phone, "PHONE").replace(phone[-4:], "LAST4")
    return re.sub(r"[A-Za-z0-9]{64}", "CSRF", text)


def test_an_unknown_number_sees_exactly_what_a_known_one_sees(cast, sent_codes):
    answers = []
    for phone in (CONVENOR, "+919700000000"):
        c = english_client()
        with sent_codes.capture():
            r = c.post(reverse("accounts:login"), {"phone": phone})
        page = c.get(r["Location"])
        answers.append((r.status_code, r["Location"], page.status_code, _comparable(page, phone)))
    assert answers[0] == answers[1]
    assert [p for p, _ in sent_codes] == [CONVENOR]


def test_it_names_an_invalid_number(db):
    r = english_client().post(reverse("accounts:login"), {"phone": "12345"})
    assert r.status_code == 200
    assert "too short" in r.text


def test_it_names_a_wrong_code(cast, sent_codes):
    c = english_client()
    with sent_codes.capture():
        c.post(reverse("accounts:login"), {"phone": CONVENOR})
    code = sent_codes.last_for(CONVENOR)
    wrong = "000000" if code != "000000" else "111111"
    r = c.post(reverse("accounts:verify"), {"code": wrong})
    assert r.status_code == 200 and "The code is wrong" in r.text
    assert "_auth_user_id" not in c.session
    r = c.post(reverse("accounts:verify"), {"code": "12ab56"})
    assert "only digits" in r.text


@override_settings(SANGATHAN_OTP_MAX_PER_PHONE_PER_HOUR=1)
def test_it_names_too_many_requests(cast, sent_codes):
    c = english_client()
    c.post(reverse("accounts:login"), {"phone": CONVENOR})
    r = c.post(reverse("accounts:login"), {"phone": CONVENOR})
    assert r.status_code == 200 and "Too many codes" in r.text


def test_the_code_page_needs_a_phone_first(db):
    r = english_client().get(reverse("accounts:verify"))
    assert r.status_code == 302 and r["Location"] == reverse("accounts:login")


def test_it_does_not_redirect_off_site_after_login(cast, sent_codes):
    c = english_client()
    with sent_codes.capture():
        c.post(reverse("accounts:login"), {"phone": CONVENOR, "next": "https://evil.example/"})
    r = c.post(reverse("accounts:verify"), {"code": sent_codes.last_for(CONVENOR)})
    assert r["Location"] == reverse("org:home")


def test_a_superuser_logs_in_with_a_password(cast):
    c = english_client()
    r = c.post(
        reverse("accounts:password_login"),
        {"username": "99999 99999", "password": "pass-for-tests-1"},
    )
    assert r.status_code == 302
    assert int(c.session["_auth_user_id"]) == cast.superuser.pk
    assert AuditLog.objects.filter(action="login", actor=cast.superuser).exists()


def test_a_wrong_password_is_named_and_audited(cast):
    r = english_client().post(
        reverse("accounts:password_login"), {"username": "+919999999999", "password": "nope"}
    )
    assert r.status_code == 200 and "password is wrong" in r.text
    assert AuditLog.objects.get(action="login_failed").detail["phone"] == "+919999999999"


def test_password_login_is_only_for_administrators(cast):
    cast.convenor.set_password("convenor-pass-1")
    cast.convenor.save()
    c = english_client()
    r = c.post(
        reverse("accounts:password_login"),
        {"username": CONVENOR, "password": "convenor-pass-1"},
    )
    assert r.status_code == 200 and "for administrators" in r.text
    assert "_auth_user_id" not in c.session


def test_logout_needs_post_and_is_audited(cast):
    c = english_client()
    c.force_login(cast.convenor)
    assert c.get(reverse("accounts:logout")).status_code == 405
    r = c.post(reverse("accounts:logout"))
    assert r.status_code == 302
    assert "_auth_user_id" not in c.session
    assert AuditLog.objects.filter(action="logout", actor=cast.convenor).exists()


def test_pages_need_a_login(db):
    r = english_client().get(reverse("org:home"))
    assert r.status_code == 302 and r["Location"].startswith(reverse("accounts:login"))
