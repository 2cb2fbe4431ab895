"""Writes for accounts: asking for and checking one-time passwords, issuing API tokens.

Who may log in: anyone with an active ``User``, and any ``Person`` on the rolls (the member app
needs members to log in to read their feed; staff pages show nothing outside the person's
jurisdiction, which is empty without an appointment). The ``User`` is created on the first
successful login, linked to the ``Person`` with that phone. Nobody learns whether a number is
known: unknown numbers get a challenge row too (so rate limits and answers are identical), only
its code is never sent.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sangathan.accounts.audit import audit
from sangathan.accounts.models import ApiToken, OtpChallenge, User
from sangathan.accounts.otp import (
    InvalidPhone,
    code_matches,
    hash_code,
    new_code,
    normalise_phone,
    send_code,
)

# How long challenge rows are kept: long enough for the hourly rate limits to count them.
CHALLENGE_RETENTION = timedelta(days=1)
API_TOKEN_PREFIX = "sgn_"


@dataclass
class OtpError(Exception):
    """A refused OTP request or check; ``reason`` is stable for code, ``message`` for people."""

    reason: str
    message: str

    def __str__(self) -> str:
        return str(self.message)


def _audit(action: str, *, ip: str | None, actor: User | None = None, **detail) -> None:
    audit(action, actor=actor, obj=actor, ip=ip or None, **detail)


def _serialise(kind: int, key: str | None) -> None:
    """Make concurrent requests for the same phone (or IP) take turns, so that counting rows
    is a safe rate limit with many web processes. SQLite needs nothing: its IMMEDIATE
    transactions already admit one writer at a time."""
    if not key or connection.vendor != "postgresql":
        return
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [kind, h])


def _normalise(phone_raw: str) -> str:
    try:
        return normalise_phone(phone_raw)
    except InvalidPhone as e:
        raise OtpError("invalid_phone", str(e)) from None


def _may_log_in(phone: str) -> bool:
    from sangathan.people.models import Person

    user = User.objects.filter(phone=phone).only("is_active").first()
    if user is not None:
        return user.is_active
    return Person.objects.filter(phone=phone).exists()


def do_request_otp(phone_raw: str, ip: str | None = None, *, joining: bool = False) -> str:
    """Send a login code to ``phone_raw`` if it belongs to someone who may log in; answer the
    same either way. Returns the phone in E.164; raises :class:`OtpError` for an invalid
    number or too many requests.

    ``joining``: the number is signing up (the drives' join page, or the API with a referral
    code), so the code is sent whether or not it is known; same limits, hashing and expiry."""
    phone = _normalise(phone_raw)
    refusal = _request_otp(phone, ip, joining)
    if refusal is not None:
        raise refusal
    return phone


@transaction.atomic(durable=True)
def _request_otp(phone: str, ip: str | None, joining: bool = False) -> OtpError | None:
    _serialise(1, phone)
    _serialise(2, ip)
    now = timezone.now()
    OtpChallenge.objects.filter(created_at__lt=now - CHALLENGE_RETENTION).delete()
    hour_ago = now - timedelta(hours=1)
    per_phone = OtpChallenge.objects.filter(phone=phone, created_at__gte=hour_ago).count()
    if per_phone >= settings.SANGATHAN_OTP_MAX_PER_PHONE_PER_HOUR:
        _audit("otp_refused", ip=ip, phone=phone, reason="phone_rate")
        return OtpError(
            "too_many_requests",
            _("Too many codes were asked for this number. Please try again in an hour."),
        )
    if ip:
        per_ip = OtpChallenge.objects.filter(ip=ip, created_at__gte=hour_ago).count()
        if per_ip >= settings.SANGATHAN_OTP_MAX_PER_IP_PER_HOUR:
            _audit("otp_refused", ip=ip, phone=phone, reason="ip_rate")
            return OtpError(
                "too_many_requests",
                _("Too many codes were asked from your network. Please try again in an hour."),
            )
    code = new_code()
    OtpChallenge.objects.create(
        phone=phone,
        code_hash=hash_code(phone, code),
        ip=ip or None,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SANGATHAN_OTP_TTL_SECONDS),
    )
    if joining or _may_log_in(phone):
        transaction.on_commit(lambda: send_code(phone, code))
    return None


def do_verify_otp(phone_raw: str, code: str, ip: str | None = None) -> User:
    """The user whose phone received ``code``; creates the ``User`` on first login. Raises
    :class:`OtpError` (wrong, expired or used code, too many attempts)."""
    phone = _normalise(phone_raw)
    code = (code or "").strip()
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise OtpError("invalid_code", _("The code has 6 digits. Please check and type it again."))
    user, refusal = _verify_otp(phone, code, ip)
    if refusal is not None:
        raise refusal
    return user


@transaction.atomic(durable=True)
def _verify_otp(phone: str, code: str, ip: str | None) -> tuple[User | None, OtpError | None]:
    refusal = _use_challenge(phone, code, ip)
    if refusal is not None:
        return None, refusal
    user = _user_for_phone(phone, ip)
    if user is None:
        # Never sent, so only a guess gets here; answer as for any wrong code.
        _audit("login_failed", ip=ip, phone=phone, reason="wrong_code", method="otp")
        return None, OtpError("wrong_code", _("The code is wrong. Check the SMS and try again."))
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    _audit("login", ip=ip, actor=user, method="otp")
    return user, None


def _use_challenge(phone: str, code: str, ip: str | None) -> OtpError | None:
    """Check ``code`` against the phone's latest challenge and use it up; counts the attempt
    (the caller's transaction must commit a refusal too, so it returns rather than raises)."""
    now = timezone.now()
    challenge = OtpChallenge.objects.filter(phone=phone).order_by("-created_at", "-pk").first()

    def refuse(reason: str, message) -> OtpError:
        _audit("login_failed", ip=ip, phone=phone, reason=reason, method="otp")
        return OtpError(reason, message)

    if challenge is None or challenge.used_at is not None or challenge.expires_at <= now:
        return refuse(
            "expired_code", _("This code has expired or was already used. Ask for a new code.")
        )
    counted = OtpChallenge.objects.filter(
        pk=challenge.pk, attempts__lt=settings.SANGATHAN_OTP_MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not counted:
        return refuse(
            "too_many_attempts", _("Too many wrong codes were tried. Ask for a new code.")
        )
    if not code_matches(phone, code, challenge.code_hash):
        return refuse("wrong_code", _("The code is wrong. Check the SMS and try again."))
    if not OtpChallenge.objects.filter(pk=challenge.pk, used_at=None).update(used_at=now):
        return refuse(
            "expired_code", _("This code has expired or was already used. Ask for a new code.")
        )
    return None


def do_verify_join_otp(phone_raw: str, code: str, ip: str | None = None) -> str:
    """Check and use up a code sent to a joining phone (``do_request_otp(joining=True)``);
    the E.164 phone, or :class:`OtpError` as for a login. Creates nobody: the join action
    creates the person and then calls :func:`user_for_joined_phone`."""
    phone = _normalise(phone_raw)
    code = (code or "").strip()
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise OtpError("invalid_code", _("The code has 6 digits. Please check and type it again."))
    with transaction.atomic(durable=True):
        refusal = _use_challenge(phone, code, ip)
    if refusal is not None:
        raise refusal
    return phone


def user_for_joined_phone(phone: str, ip: str | None = None) -> User | None:
    """The ``User`` of a phone whose person has just joined (created on first login), logged
    in; inside the caller's transaction. None for a deactivated user."""
    user = _user_for_phone(phone, ip)
    if user is not None:
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        _audit("login", ip=ip, actor=user, method="otp_join")
    return user


def _user_for_phone(phone: str, ip: str | None) -> User | None:
    from sangathan.people.models import Person

    user = User.objects.filter(phone=phone).select_related("person").first()
    person = Person.objects.filter(phone=phone, user__isnull=True).first()
    if user is not None:
        if not user.is_active:
            return None
        if user.person_id is None and person is not None:
            user.person = person
            user.save(update_fields=["person"])
        return user
    if person is None:
        linked = User.objects.filter(person__phone=phone, is_active=True).first()
        return linked  # a user whose person's phone changed after they first logged in
    user = User.objects.create_user(phone, person=person, name=person.name[:200])
    _audit("user_created", ip=ip, actor=user, person=person.pk)
    return user


# --- API tokens -----------------------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_ttl() -> timedelta:
    return timedelta(days=getattr(settings, "SANGATHAN_API_TOKEN_TTL_DAYS", 30))


@transaction.atomic(durable=True)
def do_issue_api_token(user: User, ip: str | None = None) -> tuple[str, ApiToken]:
    """A new bearer token for ``user``: the raw token (shown once) and its row."""
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    # Expired tokens of this user are of no use to anyone; drop them as we go.
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    token = ApiToken.objects.create(
        user=user, key_hash=_token_hash(raw), created_at=now, expires_at=now + api_token_ttl()
    )
    _audit("token_issued", ip=ip, actor=user, token=token.pk)
    return raw, token


def user_for_api_token(raw: str) -> User | None:
    """The active user holding the live token ``raw``, else None."""
    if not raw or not raw.startswith(API_TOKEN_PREFIX):
        return None
    # The member's record and unit come in the same query: almost every call needs them.
    token = (
        ApiToken.objects.live()
        .select_related("user", "user__person", "user__person__unit")
        .filter(key_hash=_token_hash(raw))
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Write at most once an hour per token, not on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(hours=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic(durable=True)
def do_revoke_api_token(raw: str, ip: str | None = None) -> bool:
    token = ApiToken.objects.select_related("user").filter(key_hash=_token_hash(raw)).first()
    if token is None:
        return False
    token.delete()
    _audit("token_revoked", ip=ip, actor=token.user)
    return True
