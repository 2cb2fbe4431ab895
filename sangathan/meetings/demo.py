"""The demo's meetings: a state IT meeting held three days ago with all of its parts (agenda
with presenters, invitees by rule, RSVPs, attendance, minutes, action items of which one is
overdue), and its follow-up in eleven days, which starts from the open action items and whose
invitations wait for answers (the convenor sees it in the member app)."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from sangathan.meetings import actions
from sangathan.meetings.models import Invitation, Meeting
from sangathan.org.models import OrgUnit
from sangathan.people.models import Appointment, Person, Position

TITLE = (
    "State IT meeting with all regions — WhatsApp expansion; reorganisation of district IT teams"
)
TITLE_HI = "सभी क्षेत्रों के साथ प्रदेश आईटी बैठक — व्हाट्सऐप विस्तार; जिला आईटी टीमों का पुनर्गठन"
WING = "IT cell"


def _at(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=timezone.get_current_timezone())


def _position(level: str, title: str) -> Position | None:
    return Position.objects.filter(wing=WING, level__slug=level, title_en=title).first()


def _holder(position, unit) -> Person | None:
    if position is None:
        return None
    a = Appointment.objects.current().filter(position=position, unit=unit).first()
    return a.person if a else None


def ensure_demo_meetings(admin, convenor, lucknow: OrgUnit) -> bool:
    """Create the demo meetings once; True if it made them."""
    if Meeting.objects.filter(title=TITLE).exists():
        return False
    state = (
        OrgUnit.objects.filter(path__in=lucknow.ancestor_paths(), level__slug="state")
        .select_related("level")
        .first()
    )
    district_convenor = _position("district", "District convenor")
    if state is None or district_convenor is None:
        return False
    rng = random.Random(11)
    co_convenor = _position("district", "District co-convenor")
    assembly = _position("assembly", "Assembly in-charge")
    mandal = _position("mandal", "Mandal in-charge")
    lucknow_convenor = _holder(district_convenor, lucknow)
    chair = _holder(_position("state", "State in-charge"), state) or lucknow_convenor
    today = timezone.localdate()
    held_on = today - timedelta(days=3)

    meeting = actions.do_create_meeting(
        admin,
        host_unit=state,
        title=TITLE,
        title_hi=TITLE_HI,
        kind="state",
        chair=chair,
        starts_at=_at(held_on, 11),
        ends_at=_at(held_on, 13),
        venue="प्रदेश कार्यालय, लखनऊ (State office, Lucknow)",
        online_link="https://meet.example.org/up-it-state",
    )
    a1 = actions.do_add_agenda_item(
        admin,
        meeting,
        title="WhatsApp expansion: a workers' group in every booth",
        presenter=lucknow_convenor,
        minutes=40,
    )
    a2 = actions.do_add_agenda_item(
        admin, meeting, title="Reorganisation of district IT teams", presenter=chair, minutes=40
    )
    a3 = actions.do_add_agenda_item(
        admin, meeting, title="Member app: onboarding in colleges", minutes=20
    )
    # Invitees by rule: every district IT convenor and co-convenor of the state, and the
    # assembly in-charges of Lucknow; two mandal in-charges by name.
    for position, scope in ((district_convenor, state), (co_convenor, state), (assembly, lucknow)):
        if position is not None:
            actions.do_add_invite_rule(admin, meeting, position=position, scope_unit=scope)
    if mandal is not None:
        for a in (
            Appointment.objects.current()
            .filter(position=mandal, unit__path__startswith=lucknow.path)
            .select_related("person", "person__unit")
            .order_by("unit__path")[:2]
        ):
            actions.do_add_extra_invitee(admin, meeting, a.person)
    actions.do_send_invitations(admin, meeting)
    invited_at = _at(held_on - timedelta(days=7), 10)
    Invitation.objects.filter(meeting=meeting).update(invited_at=invited_at)
    Meeting.objects.filter(pk=meeting.pk).update(invitations_sent_at=invited_at)

    invitations = list(Invitation.objects.filter(meeting=meeting).order_by("pk"))
    present = []
    for inv in invitations:
        inv.rsvp = rng.choices(["yes", "maybe", "no", ""], weights=[70, 10, 10, 10])[0]
        inv.rsvp_at = invited_at + timedelta(hours=rng.randint(1, 96)) if inv.rsvp else None
        if inv.rsvp == "yes" and rng.random() < 0.85 or inv.rsvp == "maybe" and rng.random() < 0.5:
            present.append(inv.person_id)
    Invitation.objects.bulk_update(invitations, ["rsvp", "rsvp_at"])
    actions.do_mark_present(admin, meeting, present)
    Invitation.objects.filter(meeting=meeting, attended_at__isnull=False).update(
        attended_at=_at(held_on, 11), checkin_method="code"
    )
    # About half checked in with the code, the rest were marked by the organiser.
    marked = [i.pk for i in invitations if i.person_id in present][::2]
    Invitation.objects.filter(pk__in=marked).update(checkin_method="organiser")

    actions.do_record_minutes(
        admin,
        a1,
        notes="Lucknow has groups in about 60% of booths. Other districts start with the "
        "WhatsApp pramukh post at every booth.",
        decisions="One workers' group per booth in every district by the end of next month.",
    )
    actions.do_record_minutes(
        admin,
        a2,
        notes="District IT teams get a convenor, two co-convenors and a social-media in-charge.",
        decisions="Vacant assembly in-charge posts are filled within two weeks.",
    )
    actions.do_record_minutes(
        admin,
        a3,
        notes="Campus drive at the University of Lucknow went well.",
        decisions="Every district names a college coordinator.",
    )
    actions.do_add_action_item(
        admin,
        meeting,
        title="Register a workers' WhatsApp group in every booth of Lucknow",
        position=district_convenor,
        unit=lucknow,
        due=today + timedelta(days=14),
        agenda_item=a1,
    )
    first_ac = (
        OrgUnit.objects.filter(path__startswith=lucknow.path, level__slug="assembly")
        .order_by("path")
        .first()
    )
    if assembly is not None and first_ac is not None:
        # due yesterday: overdue, so the worker's sweep escalates it to the district
        actions.do_add_action_item(
            admin,
            meeting,
            title="Fill the vacant booth IT volunteer posts",
            position=assembly,
            unit=first_ac,
            due=today - timedelta(days=1),
            agenda_item=a2,
        )
    if lucknow_convenor is not None:
        done = actions.do_add_action_item(
            admin,
            meeting,
            title="Send the list of college coordinators",
            person=lucknow_convenor,
            due=today + timedelta(days=7),
            agenda_item=a3,
        )
        actions.do_set_action_item_done(admin, done, True)
    actions.do_set_meeting_status(admin, meeting, "held")

    # The next meeting starts from the open action items; its invitations await answers.
    starts = _at(today + timedelta(days=11), 11)
    follow = actions.do_create_follow_up(
        admin, meeting, starts_at=starts, ends_at=starts + timedelta(hours=2)
    )
    actions.do_add_agenda_item(
        admin, follow, title="WhatsApp group coverage by district", presenter=lucknow_convenor
    )
    actions.do_send_invitations(admin, follow)
    answers = list(Invitation.objects.filter(meeting=follow).order_by("pk"))
    for inv in answers[1::2]:
        inv.rsvp, inv.rsvp_at = rng.choice(["yes", "yes", "maybe", "no"]), timezone.now()
    Invitation.objects.bulk_update(answers, ["rsvp", "rsvp_at"])
    return True
