"""Web Push (VAPID) to the member app, through pywebpush.

A person may have several subscriptions (browsers, phones): their delivery is ok if any of
them took the message, transient if none did but one may later, permanent otherwise. A push
service that answers 404 or 410 says the subscription is gone: it is deleted at once (in one
statement per batch). The payload is JSON ``{"title", "body", "url", "code"}`` for the
member app's service worker.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from sangathan.channels.adapters.base import (
    BaseAdapter,
    OutgoingMessage,
    SendResult,
    is_transient_status,
    parse_retry_after,
)

logger = logging.getLogger("sangathan.channels")

TTL = 24 * 3600  # a push service keeps an undelivered message this long


class WebPushAdapter(BaseAdapter):
    name = "webpush"
    channel = "push"

    def __init__(self, *, timeout: float | None = None):
        try:
            import requests
            from py_vapid import Vapid
            from pywebpush import WebPushException, webpush
        except ImportError as exc:  # pragma: no cover - pywebpush is a dependency
            raise ImproperlyConfigured(
                f"The webpush adapter needs pywebpush (pip install pywebpush): {exc}"
            ) from exc
        key = settings.SANGATHAN_VAPID_PRIVATE_KEY
        if not key:
            raise ImproperlyConfigured("Set SANGATHAN_VAPID_PRIVATE_KEY to use Web Push.")
        self._webpush = webpush
        self._exception = WebPushException
        self._request_errors = (requests.ConnectionError, requests.Timeout)
        self.vapid = Vapid.from_string(private_key=key)
        self.subject = settings.SANGATHAN_VAPID_SUBJECT
        self.timeout = timeout or float(getattr(settings, "SANGATHAN_PUSH_TIMEOUT", 10))
        self.session = requests.Session()

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        gone: list[int] = []
        took: list[int] = []
        results = [self._send_one(m, gone, took) for m in messages]
        if gone or took:
            from sangathan.channels.models import PushSubscription

            if gone:
                PushSubscription.objects.filter(pk__in=gone).delete()
            if took:
                PushSubscription.objects.filter(pk__in=took).update(last_success_at=timezone.now())
        return results

    def _send_one(self, message: OutgoingMessage, gone: list, took: list) -> SendResult:
        subscriptions = message.to or []
        if not subscriptions:
            return SendResult.rejected(message, "no push subscription")
        data = json.dumps(
            {
                "title": message.title,
                "body": message.body,
                "url": message.link,
                "code": message.broadcast_code,
            },
            ensure_ascii=False,
        )
        ok_ref, transient, errors, retry_after = "", False, [], None
        for sub in subscriptions:
            try:
                response = self._webpush(
                    {"endpoint": sub["endpoint"], "keys": sub["keys"]},
                    data=data,
                    vapid_private_key=self.vapid,
                    vapid_claims={"sub": self.subject},
                    timeout=self.timeout,
                    ttl=TTL,
                    requests_session=self.session,
                )
            except self._exception as exc:
                status = exc.status_code
                errors.append(f"HTTP {status}: {exc.message}"[:150])
                if status in (404, 410):
                    gone.append(sub["id"])
                elif status is None or is_transient_status(status):
                    transient = True
                    wait = parse_retry_after(exc.retry_after)
                    if wait is not None:
                        retry_after = max(retry_after or 0, wait)
                continue
            except self._request_errors as exc:
                transient = True
                errors.append(f"{type(exc).__name__}: {exc}"[:150])
                continue
            took.append(sub["id"])
            ok_ref = ok_ref or response.headers.get("Location", "") or f"push-{sub['id']}"
        if ok_ref:
            return SendResult.accepted(message, ok_ref)
        error = "; ".join(errors) or "no push subscription"
        if transient:
            return SendResult.transient(message, error, retry_after)
        return SendResult.rejected(message, error)

    def close(self) -> None:
        self.session.close()
