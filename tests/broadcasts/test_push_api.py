"""The member app's push subscription API."""

import json

from django.test import Client

from sangathan.accounts.actions import do_issue_api_token
from sangathan.channels.models import PushSubscription
from sangathan.people.models import Consent

SUB = {
    "endpoint": "https://push.example.org/send/abc",
    "keys": {
        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1Xbjh"
        "azAkj7I99e8QcYP7DkM",
        "auth": "tBHItJI5svbpez7KI4CCXg",
    },
}


def bearer(user):
    raw, _t = do_issue_api_token(user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(url, data, auth):
    return Client().post(url, json.dumps(data), content_type="application/json", **auth)


def test_a_member_subscribes_and_that_records_push_consent(cast):
    auth = bearer(cast.volunteer)
    r = post("/api/v1/push/subscriptions", SUB, auth)
    assert r.status_code == 201
    assert PushSubscription.objects.get().person == cast.volunteer_person
    assert (
        Consent.objects.active().filter(person=cast.volunteer_person, channel="push").count() == 1
    )
    post("/api/v1/push/subscriptions", SUB, auth)  # again: one row, one consent
    assert PushSubscription.objects.count() == 1
    assert Consent.objects.filter(person=cast.volunteer_person, channel="push").count() == 1


def test_unsubscribing_the_last_device_withdraws_push_consent(cast):
    auth = bearer(cast.volunteer)
    post("/api/v1/push/subscriptions", SUB, auth)
    # someone else cannot remove it
    other = post(
        "/api/v1/push/subscriptions/delete", {"endpoint": SUB["endpoint"]}, bearer(cast.outsider)
    )
    assert other.json() == {"removed": False}
    r = post("/api/v1/push/subscriptions/delete", {"endpoint": SUB["endpoint"]}, auth)
    assert r.json() == {"removed": True}
    consent = Consent.objects.get(person=cast.volunteer_person, channel="push")
    assert consent.withdrawn_at is not None  # kept on record, withdrawn


def test_a_bad_subscription_is_refused(cast):
    r = post(
        "/api/v1/push/subscriptions", {**SUB, "endpoint": "http://insecure"}, bearer(cast.volunteer)
    )
    assert r.status_code == 400 and r.json()["code"] == "bad_subscription"


def test_the_public_key_is_served(cast, settings):
    settings.SANGATHAN_VAPID_PUBLIC_KEY = "BPUBLIC"
    r = Client().get("/api/v1/push/key", **bearer(cast.volunteer))
    assert r.json() == {"public_key": "BPUBLIC", "enabled": True}
