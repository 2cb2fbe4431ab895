"""Opt-out helpers: STOP words, addresses, signed one-click unsubscribe links, and the check
that keeps an import from granting again what someone withdrew.

A ``Suppression`` is keyed by channel and address (phone or email), not by person, so it
outlives a deleted and re-imported person; ``sangathan.channels.actions.do_opt_out`` writes it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.urls import reverse

from sangathan.channels.models import Suppression

# Channels whose address is the person's mobile number; email's is the email address.
PHONE_CHANNELS = ("sms", "whatsapp", "push")
OPT_OUT_CHANNELS = (*PHONE_CHANNELS, "email")

# Replies that mean "stop messaging me", compared after casefolding and dropping punctuation.
STOP_WORDS = frozenset(
    {
        "stop",
        "stop all",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "optout",
        "opt out",
        "बंद",
        "बंद करें",
        "बंद करो",
        "बन्द",
        "बन्द करें",
        "रोकें",
        "रोको",
        "रोक दें",
        "अनसब्सक्राइब",
        "संदेश बंद",
        "band",
        "band karo",
        "roko",
    }
)

SIGNING_SALT = "sangathan.channels.unsubscribe"


def is_stop_word(text: str | None) -> bool:
    """Whether an inbound message asks to stop ("STOP", "बंद", "Unsubscribe!", …)."""
    if not text:
        return False
    text = unicodedata.normalize("NFC", text).casefold()
    # Keep letters, digits and marks (Devanagari vowel signs are marks); the rest is a space.
    text = "".join(ch if unicodedata.category(ch)[0] in "LMN" else " " for ch in text)
    return " ".join(text.split()) in STOP_WORDS


def address_of(person, channel: str) -> str:
    """The address a suppression for ``channel`` is keyed by: phone or email ("" if none)."""
    if channel == "email":
        return (person.email or "").strip().lower()
    return person.phone or ""


def normalise_address(channel: str, address: str) -> str:
    """E.164 for phone channels (a WhatsApp ``wa_id`` has no "+"), lower case for email."""
    address = (address or "").strip()
    if channel == "email":
        return address.lower()
    from sangathan.people.phones import PhoneError, normalise_phone

    digits = "".join(ch for ch in address if ch.isdigit())
    if not digits:
        return ""
    # "+91…" as it is; "919810000003" (a WhatsApp wa_id) is international without the "+";
    # "9810000003" or "09810000003" (some gateways) is national.
    if address.startswith("+"):
        candidates = [address]
    elif len(digits) > 11:
        candidates = [f"+{digits}", digits]
    else:
        candidates = [digits, f"+{digits}"]
    for candidate in candidates:
        try:
            return normalise_phone(candidate)
        except PhoneError:
            continue
    return f"+{digits}"


def is_suppressed(channel: str, address: str) -> bool:
    return Suppression.objects.filter(
        channel=channel, address=normalise_address(channel, address)
    ).exists()


def suppressed_pairs(pairs: Iterable[tuple[str, str]], chunk: int = 1000) -> set[tuple[str, str]]:
    """Which of the (channel, address) pairs are suppressed."""
    by_channel: dict[str, set[str]] = {}
    for channel, address in pairs:
        if address:
            by_channel.setdefault(channel, set()).add(address)
    found: set[tuple[str, str]] = set()
    for channel, addresses in by_channel.items():
        addresses = sorted(addresses)
        for i in range(0, len(addresses), chunk):
            found.update(
                (channel, a)
                for a in Suppression.objects.filter(
                    channel=channel, address__in=addresses[i : i + chunk]
                ).values_list("address", flat=True)
            )
    return found


def without_suppressed(consents: list) -> list:
    """``consents`` (unsaved ``people.Consent`` objects with ``person_id``) minus those for a
    channel whose address the person asked to stop: an import must not grant again what a
    STOP or an unsubscribe link withdrew."""
    if not consents or not Suppression.objects.exists():
        return consents
    from sangathan.people.models import Person

    person_ids = sorted({c.person_id for c in consents})
    addresses: dict[int, tuple[str, str]] = {}
    for i in range(0, len(person_ids), 1000):
        for pk, phone, email in Person.objects.filter(pk__in=person_ids[i : i + 1000]).values_list(
            "pk", "phone", "email"
        ):
            addresses[pk] = (phone, (email or "").strip().lower())

    def pair(consent) -> tuple[str, str]:
        phone, email = addresses.get(consent.person_id, ("", ""))
        return (consent.channel, email if consent.channel == "email" else phone)

    suppressed = suppressed_pairs(pair(c) for c in consents)
    if not suppressed:
        return consents
    return [c for c in consents if pair(c) not in suppressed]


# --- one-click unsubscribe links -----------------------------------------------------------


def unsubscribe_token(person_id: int, channel: str) -> str:
    """Signed, not encrypted, and without a timestamp: the same person and channel always
    get the same link, which keeps working for as long as the secret key does."""
    return signing.Signer(salt=SIGNING_SALT).sign_object([person_id, channel], compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(person id, channel) from a token, or ``signing.BadSignature``."""
    value = signing.Signer(salt=SIGNING_SALT).unsign_object(token)
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or value[1] not in OPT_OUT_CHANNELS
    ):
        raise signing.BadSignature("malformed unsubscribe token")
    return value[0], value[1]


def unsubscribe_url(person_id: int, channel: str) -> str:
    """An absolute one-click unsubscribe link for ``person_id`` on ``channel`` (for message
    footers and email's List-Unsubscribe header; it never expires)."""
    if channel not in OPT_OUT_CHANNELS:
        raise ValueError(f"no opt-out for channel {channel!r}")
    path = reverse("channels:unsubscribe", args=[unsubscribe_token(person_id, channel)])
    return settings.SANGATHAN_PUBLIC_URL.rstrip("/") + path
