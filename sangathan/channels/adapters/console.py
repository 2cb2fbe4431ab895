"""The demo's adapter: writes each message to the log (logger ``sangathan.channels``).

Deliveries it sends are recorded with ``adapter="console"``, which is what the "sent
messages" page lists."""

from __future__ import annotations

import logging

from sangathan.channels.adapters.base import BaseAdapter, OutgoingMessage, SendResult

logger = logging.getLogger("sangathan.channels")


class ConsoleAdapter(BaseAdapter):
    name = "console"

    def __init__(self, channel: str):
        self.channel = channel

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        results = []
        for m in messages:
            to = m.to
            if isinstance(to, list):  # push subscriptions
                to = f"{len(to)} device(s) of person {m.person_id}"
            logger.info("%s to %s: %s", self.channel, to, m.title)
            results.append(SendResult.accepted(m, f"console-{m.delivery_id}"))
        return results
