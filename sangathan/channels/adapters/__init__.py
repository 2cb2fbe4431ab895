"""Channel adapters, chosen per channel by ``settings.SANGATHAN_CHANNEL_ADAPTERS``.

| channel  | adapters                                                         |
| -------- | ---------------------------------------------------------------- |
| sms      | ``console``, ``http`` (generic DLT gateway, ``adapters/sms.py``) |
| email    | ``console``, ``smtp`` (Django's email backend)                   |
| push     | ``console``, ``webpush`` (VAPID Web Push via pywebpush)          |
| whatsapp | ``console``, ``cloud`` (WhatsApp Cloud API; not for political    |
|          | organisations)                                                   |
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sangathan.channels.adapters.base import (  # noqa: F401 (the public interface)
    Adapter,
    BaseAdapter,
    OutgoingMessage,
    SendResult,
)

ADAPTERS = {
    ("sms", "console"): "sangathan.channels.adapters.console.ConsoleAdapter",
    ("email", "console"): "sangathan.channels.adapters.console.ConsoleAdapter",
    ("push", "console"): "sangathan.channels.adapters.console.ConsoleAdapter",
    ("whatsapp", "console"): "sangathan.channels.adapters.console.ConsoleAdapter",
    ("sms", "http"): "sangathan.channels.adapters.sms.HttpSmsAdapter",
    ("email", "smtp"): "sangathan.channels.adapters.email.EmailAdapter",
    ("push", "webpush"): "sangathan.channels.adapters.webpush.WebPushAdapter",
    ("whatsapp", "cloud"): "sangathan.channels.adapters.whatsapp.CloudAdapter",
}

POLITICAL_WHATSAPP = (
    "SANGATHAN_CHANNEL_ADAPTERS['whatsapp'] is 'cloud', but this organisation is configured "
    "as political (SANGATHAN_ORG_KIND=political). Meta's WhatsApp Business Messaging Policy "
    "does not admit political parties, candidates or campaigns to the WhatsApp Business "
    "Platform, so the Cloud API adapter cannot be used. Reach members on WhatsApp through "
    "the WhatsApp groups' forward tasks (ready text and wa.me share links) instead, and set "
    "SANGATHAN_WHATSAPP_ADAPTER=console."
)


def adapter_name(channel: str) -> str:
    return getattr(settings, "SANGATHAN_CHANNEL_ADAPTERS", {}).get(channel, "console")


def get_adapter(channel: str):
    """A new adapter for ``channel`` as configured. The caller closes it when done."""
    name = adapter_name(channel)
    path = ADAPTERS.get((channel, name))
    if path is None:
        choices = sorted(n for c, n in ADAPTERS if c == channel)
        raise ImproperlyConfigured(
            f"Unknown adapter {name!r} for channel {channel!r}; choose one of {choices}."
        )
    if name == "cloud" and getattr(settings, "SANGATHAN_ORG_KIND", "") == "political":
        raise ImproperlyConfigured(POLITICAL_WHATSAPP)
    module, _, cls = path.rpartition(".")
    try:
        adapter_class = getattr(import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise ImproperlyConfigured(
            f"The {name!r} adapter for {channel!r} is not available: {exc}"
        ) from exc
    if cls == "ConsoleAdapter":
        return adapter_class(channel)
    return adapter_class()
