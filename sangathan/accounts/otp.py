"""One-time passwords: making a code, keeping only its keyed hash, and delivering it.

The code space is small (10⁶), so a plain hash at rest could be reversed by trying every code;
an HMAC keyed with ``SECRET_KEY`` cannot be, without the key. Each challenge carries its own
salt, so two challenges with the same code do not share a hash.
"""

from __future__ import annotations

import logging
import secrets

from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from sangathan.people import phones

logger = logging.getLogger("sangathan.otp")

CODE_DIGITS = 6
_KEY_SALT = "sangathan.accounts.otp"


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str) -> str:
    """``raw`` as E.164 (``+919876543210``), or :class:`InvalidPhone` naming the problem."""
    try:
        return phones.normalise_phone(raw)
    except phones.PhoneError as e:
        reason = str(e) or str(_("This is not a valid mobile number."))
        raise InvalidPhone(reason[:1].upper() + reason[1:] + ".") from None


def new_code() -> str:
    """Six random digits, leading zeros kept."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(phone: str, code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = salted_hmac(_KEY_SALT, f"{salt}:{phone}:{code}", algorithm="sha256").hexdigest()
    return f"{salt}${digest}"


def code_matches(phone: str, code: str, stored: str) -> bool:
    salt, _sep, _digest = stored.partition("$")
    if not salt:
        return False
    return constant_time_compare(hash_code(phone, code.strip(), salt), stored)


def send_code(phone: str, code: str) -> None:
    """Deliver ``code`` to ``phone``. The demo has no SMS gateway, so the code goes to the
    console; a DLT-registered SMS sender plugs in here."""
    message = f"OTP for {phone}: {code}"
    logger.warning(message)
    print(f"*** Sangathan login code {message} ***", flush=True)
