"""Opting out: STOP and "बंद" by WhatsApp and SMS, provider opt-outs, unsubscribe links, and
suppressions that outlive a re-import."""

import pytest
from django.test import Client, TestCase

from sangathan.accounts.models import AuditLog
from sangathan.broadcasts.models import ReachCounter
from sangathan.channels.actions import do_opt_out
from sangathan.channels.models import Suppression
from sangathan.channels.optout import is_stop_word, unsubscribe_token, unsubscribe_url
from sangathan.people.importing import do_import_people
from sangathan.people.models import Consent, Person
from tests.channels.test_webhooks import (
    SMS_SECRET,
    WA_SECRET,
    add_delivery,
    assert_counters_match_statuses,
    make_broadcast,
    post_sms,
    post_whatsapp,
    wa_body,
    wa_status,
    wa_text,
)

PHONE = "+919810000003"  # cast.volunteer_person


@pytest.fixture
def hooks(settings):
    settings.SANGATHAN_WHATSAPP_APP_SECRET = WA_SECRET
    settings.SANGATHAN_SMS_WEBHOOK_SECRET = SMS_SECRET
    return Client()


@pytest.fixture
def member(cast):
    """The booth volunteer, who agreed to WhatsApp and SMS for two purposes and has one
    queued message on each channel and one WhatsApp message already sent."""
    person = cast.volunteer_person
    for channel in ("whatsapp", "sms"):
        for purpose in ("organisational", "schemes"):
            Consent.objects.create(
                person=person, channel=channel, purpose=purpose, evidence="sign-up sheet"
            )
    broadcast = make_broadcast(cast.lucknow)
    earlier = make_broadcast(cast.lucknow)
    person.queued = {
        ch: add_delivery(broadcast, person, channel=ch, status="queued")
        for ch in ("whatsapp", "sms")
    }
    person.already_sent = add_delivery(earlier, person, channel="whatsapp", ref="wamid.OLD")
    person.broadcasts = (broadcast, earlier)
    return person


def active(person, channel):
    return Consent.objects.active().filter(person=person, channel=channel).count()


def status_of(delivery):
    delivery.refresh_from_db()
    return delivery.status


def assert_opted_out(person, channel, other, evidence, already_sent="sent"):
    assert Suppression.objects.filter(channel=channel, address=person.phone).exists()
    assert active(person, channel) == 0
    withdrawn = Consent.objects.filter(person=person, channel=channel)
    assert withdrawn.count() == 2  # the record of consent is kept
    for consent in withdrawn:
        assert consent.withdrawn_at is not None
        assert consent.evidence.startswith("sign-up sheet")
        assert evidence in consent.evidence
    assert status_of(person.queued[channel]) == "suppressed"
    # The other channel is untouched.
    assert active(person, other) == 2
    assert status_of(person.queued[other]) == "queued"
    assert status_of(person.already_sent) == already_sent  # it cannot be called back
    for broadcast in person.broadcasts:
        assert_counters_match_statuses(broadcast)
    broadcast = person.broadcasts[0]
    top = ReachCounter.objects.get(
        broadcast=broadcast, channel=channel, unit_path=broadcast.audience_unit.path
    )
    assert top.suppressed == 1


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop! ", "बंद", "बंद करें", "रोकें", "unsubscribe"])
def test_stop_by_whatsapp_suppresses_at_once(hooks, member, text):
    response = post_whatsapp(hooks, wa_body(messages=[wa_text("919810000003", text)]))
    assert response.status_code == 200
    assert_opted_out(member, "whatsapp", "sms", "STOP via whatsapp")
    assert AuditLog.objects.filter(action="opt_out").count() == 1


@pytest.mark.parametrize("text", ["STOP", "बंद", "रोकें"])
def test_stop_by_sms_suppresses_at_once(hooks, member, text):
    payload = {"inbound": [{"from": PHONE, "text": text, "id": "in-1"}]}
    assert post_sms(hooks, payload).status_code == 200
    assert_opted_out(member, "sms", "whatsapp", "STOP via sms")


def test_other_replies_change_nothing(hooks, member):
    post_whatsapp(hooks, wa_body(messages=[wa_text("919810000003", "धन्यवाद, बैठक में आऊँगी")]))
    post_sms(hooks, {"inbound": [{"from": PHONE, "text": "stop the rally? no, keep going"}]})
    assert not Suppression.objects.exists()
    assert active(member, "whatsapp") == 2 and active(member, "sms") == 2
    assert status_of(member.queued["whatsapp"]) == "queued"


def test_an_unsigned_stop_is_refused(hooks, member):
    body = wa_body(messages=[wa_text("919810000003", "STOP")])
    assert post_whatsapp(hooks, body, signature=None).status_code == 403
    assert not Suppression.objects.exists()
    assert active(member, "whatsapp") == 2


def test_a_gateway_opt_out_suppresses(hooks, member):
    assert post_sms(hooks, {"optouts": [{"phone": "9810000003"}]}).status_code == 200
    assert_opted_out(member, "sms", "whatsapp", "provider opt-out via sms")


def test_whatsapp_saying_the_user_stopped_our_messages_suppresses(hooks, member):
    errors = [{"code": 131050, "title": "User stopped marketing messages"}]
    status = wa_status("wamid.OLD", "failed", recipient="919810000003", errors=errors)
    post_whatsapp(hooks, wa_body([status]))
    assert_opted_out(
        member, "whatsapp", "sms", "provider opt-out via whatsapp", already_sent="failed"
    )


def test_a_second_stop_changes_nothing_more(member):
    first = do_opt_out("sms", PHONE, "STOP via sms", "STOP via sms")
    second = do_opt_out("sms", "98100 00003", "STOP via sms", "STOP via sms")
    assert first.created and (first.consents_withdrawn, first.deliveries_suppressed) == (2, 1)
    assert not second.created and (second.consents_withdrawn, second.deliveries_suppressed) == (
        0,
        0,
    )
    assert Suppression.objects.count() == 1
    assert AuditLog.objects.filter(action="opt_out").count() == 1
    assert_counters_match_statuses(member.broadcasts[0])


def test_a_stop_from_an_unknown_number_is_still_remembered(hooks, cast):
    post_sms(hooks, {"inbound": [{"from": "+919811111111", "text": "STOP"}]})
    assert Suppression.objects.filter(channel="sms", address="+919811111111").exists()


@pytest.mark.parametrize(
    "text, stop",
    [("STOP", True), ("बंद", True), ("बंद करो।", True), ("Band karo", True), ("stopped", False)],
)
def test_stop_words(text, stop):
    assert is_stop_word(text) is stop


# --- unsubscribe links ------------------------------------------------------------------------


def test_the_unsubscribe_link_is_absolute_and_signed(member, settings):
    settings.SANGATHAN_PUBLIC_URL = "https://sangathan.example.org/"
    url = unsubscribe_url(member.pk, "sms")
    assert url.startswith("https://sangathan.example.org/hooks/unsubscribe/")
    assert url.endswith(unsubscribe_token(member.pk, "sms"))


def test_the_unsubscribe_page_asks_first_then_opts_out(member):
    client = Client()
    path = unsubscribe_url(member.pk, "sms").split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200
    assert b'method="post"' in page.content
    assert active(member, "sms") == 2  # a mail scanner following the link changes nothing

    with TestCase.captureOnCommitCallbacks(execute=True):
        done = client.post("/" + path)
    assert done.status_code == 200
    assert_opted_out(member, "sms", "whatsapp", "unsubscribe link (sms)")


def test_one_click_unsubscribe_from_a_mail_provider(member):
    member.email = "Pooja@Example.org"
    member.save(update_fields=["email"])
    Consent.objects.create(person=member, channel="email", purpose="organisational", evidence="app")
    path = "/" + unsubscribe_url(member.pk, "email").split("://", 1)[1].split("/", 1)[1]
    response = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Suppression.objects.filter(channel="email", address="pooja@example.org").exists()
    assert active(member, "email") == 0
    assert active(member, "sms") == 2


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_unsubscribe_token_is_refused(member, method):
    token = unsubscribe_token(member.pk, "sms")
    forged = unsubscribe_token(member.pk + 1, "sms").split(":")[0] + ":" + token.split(":", 1)[1]
    for bad in (forged, token[:-2] + ("aa" if not token.endswith("aa") else "bb"), "nonsense"):
        response = getattr(Client(), method)(f"/hooks/unsubscribe/{bad}")
        assert response.status_code == 400
    assert not Suppression.objects.exists()
    assert active(member, "sms") == 2


# --- re-import --------------------------------------------------------------------------------


def test_a_reimport_does_not_grant_again_what_was_withdrawn(cast, member):
    do_opt_out("sms", PHONE, "STOP via sms", "STOP via sms")
    Consent.objects.filter(person=member, channel="whatsapp").delete()
    data = f'name,phone,unit_code,consent\nपूजा यादव,{PHONE},UP-AC-172-PS-001,"sms,whatsapp"\n'
    do_import_people(data.encode(), "again.csv")
    assert active(member, "sms") == 0
    assert active(member, "whatsapp") == 1


def test_a_deleted_and_reimported_person_stays_suppressed(cast):
    person = Person.objects.create(name="रमेश", phone="+919822222222", unit=cast.booth1)
    Consent.objects.create(
        person=person, channel="whatsapp", purpose="organisational", evidence="x"
    )
    do_opt_out("whatsapp", "919822222222", "STOP via whatsapp", "STOP via whatsapp")
    person.delete()
    data = "name,phone,unit_code,consent\nरमेश,9822222222,UP-AC-172-PS-001,yes\n"
    do_import_people(data.encode(), "new.csv")
    again = Person.objects.get(phone="+919822222222")
    assert active(again, "whatsapp") == 0
    assert active(again, "sms") == 1
