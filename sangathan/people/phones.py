"""Indian mobile numbers as people write them, turned into E.164 (``+919876543210``).

A number is accepted only when there is exactly one reading of it; anything else is refused
with a reason the person fixing the spreadsheet can act on. We never guess: a number that Excel
turned into ``9.18765E+11`` has lost its last digits and cannot be recovered.
"""

import re
import unicodedata

import phonenumbers
from django.utils.translation import gettext, gettext_noop

REGION = "IN"

# Excel writes long numbers in a "General" column as 9.18765E+11 when saving to CSV.
_SCIENTIFIC = re.compile(r"^[+-]?\d+([.,]\d+)?\s*[eE]\s*[+-]?\d+$")
# What may appear in a phone number besides digits: spaces, dashes, dots, brackets, a leading +.
_ALLOWED = re.compile(r"^\+?[\d\s().\-/]+$")


class Reason:
    """A message to show the user, kept untranslated until it is shown so that a stored
    preview reads in the language of whoever looks at it. ``msgid`` is an English string
    marked with ``gettext_noop``; ``params`` fill its ``%(name)s`` slots."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, **params):
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        return gettext(self.msgid) % self.params

    def __repr__(self) -> str:
        return f"Reason({self.msgid!r}, {self.params!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Reason) and (self.msgid, self.params) == (
            other.msgid,
            other.params,
        )

    def to_dict(self) -> dict:
        return {"msgid": self.msgid, "params": self.params}

    @classmethod
    def from_dict(cls, data: dict) -> "Reason":
        return cls(data["msgid"], **data.get("params", {}))


class PhoneError(ValueError):
    """The text is not one Indian mobile number; ``reason`` says why, translatably."""

    def __init__(self, reason: Reason):
        self.reason = reason
        super().__init__(str(reason))


def ascii_digits(text: str) -> str:
    """Replace any script's decimal digits (Devanagari ०-९, Bengali…) with 0-9."""
    return "".join(
        str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch for ch in text
    )


def normalise_phone(raw) -> str:
    """``raw`` as an E.164 Indian mobile number, or ``PhoneError`` with the reason."""
    text = unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()
    text = ascii_digits(text)
    if not text:
        raise PhoneError(Reason(gettext_noop("the mobile number is missing")))
    if _SCIENTIFIC.match(text):
        raise PhoneError(
            Reason(
                gettext_noop(
                    "the mobile number “%(value)s” was turned into scientific notation by "
                    "Excel and has lost digits; format the column as text and export again"
                ),
                value=text,
            )
        )
    if not _ALLOWED.match(text):
        raise PhoneError(
            Reason(
                gettext_noop("“%(value)s” is not a mobile number: it contains letters or symbols"),
                value=text,
            )
        )
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        raise PhoneError(
            Reason(gettext_noop("“%(value)s” is not a mobile number"), value=text)
        ) from None
    if number.country_code != 91:
        raise PhoneError(
            Reason(
                gettext_noop(
                    "“%(value)s” is not an Indian number (+91); only Indian mobile numbers "
                    "are accepted"
                ),
                value=text,
            )
        )
    national = str(number.national_number)
    if len(national) < 10:
        raise PhoneError(
            Reason(
                gettext_noop(
                    "the mobile number “%(value)s” is too short: an Indian mobile number has "
                    "10 digits"
                ),
                value=text,
            )
        )
    if len(national) > 10:
        raise PhoneError(
            Reason(
                gettext_noop(
                    "the mobile number “%(value)s” is too long: an Indian mobile number has "
                    "10 digits"
                ),
                value=text,
            )
        )
    if national[0] not in "6789":
        raise PhoneError(
            Reason(
                gettext_noop(
                    "“%(value)s” is not a mobile number (a landline?): Indian mobile numbers "
                    "start with 6, 7, 8 or 9"
                ),
                value=text,
            )
        )
    return f"+91{national}"
