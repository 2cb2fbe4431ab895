"""Meetings' fixtures: a state IT meeting at UP (host: the state admin) inviting every
district convenor under UP plus the Lucknow booth volunteer, and a Lucknow district meeting
(host: the convenor) that Kanpur's convenor must never see."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from sangathan.accounts.actions import do_issue_api_token
from sangathan.meetings import actions
from sangathan.people.models import Consent

NOW = datetime.datetime(2026, 11, 20, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def meetings(cast):
    t = cast
    start = timezone.now() + datetime.timedelta(days=2)
    t.state_meeting = actions.do_create_meeting(
        t.state_admin,
        host_unit=t.up,
        title="State IT meeting with all regions",
        title_hi="सभी क्षेत्रों के साथ प्रदेश आईटी बैठक",
        kind="state",
        chair=t.state_admin_person,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        venue="Party office, Lucknow",
    )
    t.agenda1 = actions.do_add_agenda_item(
        t.state_admin, t.state_meeting, title="WhatsApp expansion", presenter=t.convenor_person
    )
    t.agenda2 = actions.do_add_agenda_item(
        t.state_admin, t.state_meeting, title="Reorganisation of district IT teams", minutes=30
    )
    actions.do_add_invite_rule(
        t.state_admin, t.state_meeting, position=t.district_pos, scope_unit=t.up
    )
    actions.do_add_extra_invitee(t.state_admin, t.state_meeting, t.volunteer_person)
    t.district_meeting = actions.do_create_meeting(
        t.convenor,
        host_unit=t.lucknow,
        title="Lucknow IT team",
        kind="district",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        online_link="https://meet.example.org/lko",
    )
    return t


def member_client(user) -> Client:
    raw, _token = do_issue_api_token(user, "127.0.0.1")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")


def consent(person, channel):
    Consent.objects.create(
        person=person, channel=channel, purpose="organisational", evidence="test"
    )
