"""The demo's state IT meeting: agenda with presenters, invitees by rule, RSVPs, some
attendance, minutes, open action items (one overdue) and a follow-up; a second run changes
nothing."""

from sangathan.meetings.actions import escalate_overdue
from sangathan.meetings.demo import TITLE, ensure_demo_meetings
from sangathan.meetings.models import ActionItem, Meeting
from tests.factories import appoint, make_person, make_position


def test_demo_meeting_has_every_part(cast):
    t = cast
    assembly = make_position("assembly", "Assembly in-charge", "विधानसभा प्रभारी")
    appoint(make_person(t.ac_west, "विधानसभा प्रभारी"), assembly, t.ac_west)
    assert ensure_demo_meetings(t.superuser, t.convenor, t.lucknow) is True
    m = Meeting.objects.get(title=TITLE, follows=None)
    assert m.kind == "state" and m.host_unit == t.up and m.status == "held"
    assert (
        m.title_hi and m.agenda.count() == 3 and m.agenda.filter(presenter__isnull=False).exists()
    )
    assert m.rules.count() >= 2
    counts = m.invitations.counts()
    # Lucknow's and Kanpur's district convenors and Lucknow West's in-charge
    assert counts["invited"] == 3 and counts["yes"] >= 1
    assert m.agenda.exclude(decisions="").count() == 3
    items = m.action_items.all()
    assert items.filter(status="open").count() == 2
    assert ActionItem.objects.overdue().filter(meeting=m).count() == 1
    follow = Meeting.objects.get(follows=m)
    assert follow.starts_at > m.starts_at and "Fill the vacant" in follow.agenda.first().notes
    assert follow.invitations.count() == 3
    # the worker's sweep escalates the overdue item to Lucknow's convenor
    assert escalate_overdue() == 1
    assert ensure_demo_meetings(t.superuser, t.convenor, t.lucknow) is False
    assert Meeting.objects.count() == 2
