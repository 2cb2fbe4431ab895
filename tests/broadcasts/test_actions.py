"""Compose, approve, publish, silence, feed, receipts, acknowledgement and re-share."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from sangathan.broadcasts.actions import (
    Draft,
    do_acknowledge_broadcast,
    do_approve_broadcast,
    do_create_broadcast,
    do_record_receipt,
    do_reject_broadcast,
    do_reshare_broadcast,
)
from sangathan.broadcasts.models import Broadcast, FeedRead, PollDate, ReachCounter
from sangathan.broadcasts.reach import reach_report
from sangathan.broadcasts.tasks import publish_due_broadcasts
from sangathan.people.actions import ActionRefused
from tests.factories import appoint, make_person


def draft(unit, **kw):
    kw.setdefault("title_hi", "नई योजना")
    kw.setdefault("body_hi", "सभी बूथों तक पहुँचाएँ")
    return Draft(audience_unit=unit, **kw)


def feed_titles(person):
    return [b.title_hi for b in Broadcast.objects.feed_for(person)]


def test_it_publishes_to_the_feed_of_everyone_below_and_nobody_else(cast):
    b = do_create_broadcast(cast.convenor, draft(cast.lucknow))
    assert b.status == "sent" and b.sent_at is not None
    assert list(Broadcast.objects.feed_for(cast.volunteer_person)) == [b]
    assert list(Broadcast.objects.feed_for(cast.convenor_person)) == [b]
    assert list(Broadcast.objects.feed_for(cast.outsider_person)) == []
    assert list(Broadcast.objects.feed_for(cast.state_admin_person)) == []


def test_the_feed_has_ancestors_broadcasts_newest_first(cast):
    older = do_create_broadcast(cast.state_admin, draft(cast.up, title_hi="प्रदेश"))
    newer = do_create_broadcast(cast.convenor, draft(cast.booth1, title_hi="बूथ"))
    # Sent two hours apart (not by travelling back: between midnight and 2 am IST that
    # was yesterday, before the appointments began, and the send was refused).
    Broadcast.objects.filter(pk=older.pk).update(sent_at=older.sent_at - timedelta(hours=2))
    assert list(Broadcast.objects.feed_for(cast.volunteer_person)) == [newer, older]
    assert list(Broadcast.objects.feed_for(cast.outsider_person)) == [older]


def test_it_refuses_an_audience_outside_the_authors_jurisdiction(cast):
    with pytest.raises(ActionRefused) as e:
        do_create_broadcast(cast.outsider, draft(cast.lucknow))
    assert e.value.code == "outside_jurisdiction"
    assert not Broadcast.objects.exists()


def test_it_refuses_whatsapp_for_a_political_organisation_and_says_why(cast, settings):
    settings.SANGATHAN_ORG_KIND = "political"
    with pytest.raises(ActionRefused) as e:
        do_create_broadcast(cast.convenor, draft(cast.lucknow, channels=["feed", "whatsapp"]))
    assert "Business Messaging Policy" in " ".join(e.value.messages)
    settings.SANGATHAN_ORG_KIND = "nonprofit"
    b = do_create_broadcast(cast.convenor, draft(cast.lucknow, channels=["feed", "whatsapp"]))
    assert b.channels == ["feed", "whatsapp"]


def test_it_needs_a_title_and_a_known_channel(cast):
    with pytest.raises(ActionRefused):
        do_create_broadcast(cast.convenor, draft(cast.lucknow, title_hi=""))
    with pytest.raises(ActionRefused) as e:
        do_create_broadcast(cast.convenor, draft(cast.lucknow, channels=["pigeon"]))
    assert e.value.code == "bad_channel"


def test_a_big_send_waits_for_a_higher_position(cast, settings):
    settings.SANGATHAN_APPROVAL_THRESHOLD = 1
    b = do_create_broadcast(cast.convenor, draft(cast.lucknow))
    assert b.status == "pending" and b.needs_approval
    assert feed_titles(cast.volunteer_person) == []
    for not_higher in (cast.convenor, cast.volunteer, cast.outsider):
        with pytest.raises(ActionRefused):
            do_approve_broadcast(not_higher, b)
    b = do_approve_broadcast(cast.state_admin, b)
    assert b.status == "sent" and b.approved_by == cast.state_admin
    assert feed_titles(cast.volunteer_person) == ["नई योजना"]


def test_a_rejected_send_never_reaches_anyone(cast, settings):
    settings.SANGATHAN_APPROVAL_THRESHOLD = 1
    b = do_create_broadcast(cast.convenor, draft(cast.lucknow))
    with pytest.raises(ActionRefused):
        do_reject_broadcast(cast.state_admin, b, "")
    b = do_reject_broadcast(cast.state_admin, b, "गलत आँकड़े")
    assert b.status == "rejected" and b.status_reason == "गलत आँकड़े"
    assert feed_titles(cast.volunteer_person) == []


def test_a_scheduled_send_goes_out_at_its_time(cast):
    at = timezone.now() + timedelta(hours=3)
    b = do_create_broadcast(cast.convenor, draft(cast.lucknow, scheduled_at=at))
    assert b.status == "scheduled"
    assert publish_due_broadcasts() == 0
    assert feed_titles(cast.volunteer_person) == []
    with time_machine.travel(at + timedelta(minutes=1)):
        assert publish_due_broadcasts() == 1
        b.refresh_from_db()
        assert b.status == "sent"
        assert feed_titles(cast.volunteer_person) == ["नई योजना"]


def poll_in(unit, hours):
    return PollDate.objects.create(
        unit=unit, poll_closes_at=timezone.now() + timedelta(hours=hours)
    )


def test_political_messages_are_refused_inside_the_silence_window(cast):
    poll_in(cast.ac_west, 10)
    with pytest.raises(ActionRefused) as e:
        do_create_broadcast(cast.convenor, draft(cast.ac_west, purpose="campaign"))
    assert e.value.code == "silence_window"
    assert "48" in " ".join(e.value.messages)
    # Not political: goes out.
    b = do_create_broadcast(cast.convenor, draft(cast.ac_west, purpose="organisational"))
    assert b.status == "sent"


def test_a_wider_political_message_skips_only_the_silenced_assembly(cast):
    poll_in(cast.ac_west, 10)
    other = make_person(cast.lucknow, "रीना", "+919811111111")
    b = do_create_broadcast(cast.state_admin, draft(cast.up, purpose="campaign"))
    assert b.status == "sent"
    assert b.excluded_paths == [cast.ac_west.path]
    assert list(Broadcast.objects.feed_for(cast.volunteer_person)) == []  # inside ac_west
    assert list(Broadcast.objects.feed_for(other)) == [b]


def test_silence_window_ends_when_polling_closes(cast):
    poll_in(cast.ac_west, 10)
    with time_machine.travel(timezone.now() + timedelta(hours=11)):
        b = do_create_broadcast(cast.convenor, draft(cast.ac_west, purpose="campaign"))
        assert b.status == "sent"
    with time_machine.travel(timezone.now() - timedelta(hours=40)):  # 50 h before: open
        b = do_create_broadcast(cast.convenor, draft(cast.ac_west, purpose="campaign"))
        assert b.status == "sent"


def test_a_scheduled_political_message_is_blocked_if_its_time_falls_in_silence(cast):
    poll = poll_in(cast.ac_west, 60)
    at = timezone.now() + timedelta(hours=20)  # 40 h before close: inside the window
    with pytest.raises(ActionRefused):
        do_create_broadcast(cast.convenor, draft(cast.ac_west, purpose="campaign", scheduled_at=at))
    # Scheduled before the poll date was known: held back at its time.
    poll.delete()
    b = do_create_broadcast(cast.convenor, draft(cast.ac_west, purpose="campaign", scheduled_at=at))
    poll_in(cast.ac_west, 60)
    with time_machine.travel(at + timedelta(minutes=1)):
        publish_due_broadcasts()
    b.refresh_from_db()
    assert b.status == "blocked" and "silence" in b.status_reason


def test_audience_filters_narrow_the_feed(cast):
    b = do_create_broadcast(
        cast.convenor, draft(cast.lucknow, filters={"levels": ["booth"]}, title_hi="बूथ टीम")
    )
    assert b.narrowed
    assert feed_titles(cast.volunteer_person) == ["बूथ टीम"]
    assert feed_titles(cast.convenor_person) == []
    with pytest.raises(ActionRefused):
        do_create_broadcast(cast.convenor, draft(cast.lucknow, filters={"colour": ["x"]}))


def test_receipts_are_idempotent_and_counted_once_up_the_tree(cast):
    b = do_create_broadcast(cast.convenor, draft(cast.lucknow))
    do_record_receipt(cast.volunteer_person, b)
    do_record_receipt(cast.volunteer_person, b)
    do_record_receipt(cast.volunteer_person, b, shared=True)
    do_record_receipt(cast.volunteer_person, b, shared=True)
    assert FeedRead.objects.count() == 1
    counters = {
        c.unit_path: (c.read, c.shared) for c in ReachCounter.objects.filter(channel="feed")
    }
    assert counters == {
        cast.lucknow.path: (1, 1),
        cast.ac_west.path: (1, 1),
    }


def test_in_charges_acknowledge_and_reshare_to_their_subtree(cast):
    b = do_create_broadcast(cast.state_admin, draft(cast.up))
    with pytest.raises(ActionRefused):  # not the booth's office bearer
        do_acknowledge_broadcast(cast.convenor, b, cast.booth1)
    do_acknowledge_broadcast(cast.convenor, b, cast.lucknow)
    do_acknowledge_broadcast(cast.convenor, b, cast.lucknow)  # twice: one row
    child = do_reshare_broadcast(cast.convenor, b, cast.lucknow, note="कल तक सभी बूथों में")
    assert child.parent == b and child.audience_unit == cast.lucknow
    assert child.local_note == "कल तक सभी बूथों में"
    assert child in Broadcast.objects.feed_for(cast.volunteer_person)
    assert child not in Broadcast.objects.feed_for(cast.outsider_person)
    report = reach_report(b, cast.up)
    rows = {r["unit"].code: r for r in report["children"]}
    assert rows["UP-D-162"]["acknowledged"] and rows["UP-D-162"]["reshared"]
    assert not rows["UP-D-164"]["acknowledged"] and not rows["UP-D-164"]["reshared"]
    district = next(r for r in report["rollup"] if r["level"] == "district")
    assert (district["acknowledged"], district["units"]) == (1, 2)


def test_an_in_charge_sees_broadcasts_from_above_in_the_inbox(cast):
    b = do_create_broadcast(cast.state_admin, draft(cast.up))
    mine = do_create_broadcast(cast.convenor, draft(cast.lucknow))
    assert list(Broadcast.objects.inbox_for(cast.convenor)) == [b, mine] or set(
        Broadcast.objects.inbox_for(cast.convenor)
    ) == {b, mine}
    assert set(Broadcast.objects.inbox_for(cast.outsider)) == {b}
    newbie = make_person(cast.booth2, "नया", "+919822222222")
    appoint(newbie, cast.booth_pos, cast.booth2)
    # no user account: no inbox, no error
    assert list(Broadcast.objects.inbox_for(cast.superuser).filter(pk=0)) == []
