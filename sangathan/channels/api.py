"""API for the member app's Web Push: the server's VAPID public key, subscribe, unsubscribe."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from ninja import Router, Schema, Status

from sangathan.channels.push import do_subscribe_push, do_unsubscribe_push
from sangathan.people.actions import ActionRefused

router = Router(tags=["push"])


class PushKeys(Schema):
    p256dh: str
    auth: str


class SubscriptionIn(Schema):
    endpoint: str
    keys: PushKeys


class EndpointIn(Schema):
    endpoint: str


class KeyOut(Schema):
    public_key: str
    enabled: bool


class Refusal(Schema):
    detail: str
    code: str


def _person(request):
    person = getattr(request.auth, "person", None)
    if person is None:
        raise Http404("No member record")
    return person


@router.get("/push/key", response=KeyOut)
def push_key(request):
    """The VAPID public key to pass to ``pushManager.subscribe`` (applicationServerKey)."""
    key = settings.SANGATHAN_VAPID_PUBLIC_KEY
    return {"public_key": key, "enabled": bool(key)}


@router.post("/push/subscriptions", response={201: dict, 400: Refusal})
def subscribe(request, payload: SubscriptionIn):
    """Register this device's push subscription (the JSON of a PushSubscription)."""
    try:
        sub = do_subscribe_push(
            _person(request),
            payload.endpoint,
            payload.keys.p256dh,
            payload.keys.auth,
            request=request,
        )
    except ActionRefused as exc:
        return Status(400, {"detail": " ".join(exc.messages), "code": exc.code})
    return Status(201, {"endpoint": sub.endpoint})


@router.post("/push/subscriptions/delete", response={200: dict})
def unsubscribe(request, payload: EndpointIn):
    """Forget this device's subscription (only your own)."""
    removed = do_unsubscribe_push(_person(request), payload.endpoint, request=request)
    return {"removed": removed}
