import datetime

import pytest
import time_machine

from sangathan.meetings import actions
from sangathan.meetings.ics import parse
from sangathan.people.models import TaskDone
from tests.meetings.conftest import member_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(meetings):
    actions.do_send_invitations(meetings.state_admin, meetings.state_meeting)
    return meetings


def test_my_meetings_lists_invitations_with_agenda(sent):
    t = sent
    c = member_client(t.volunteer)
    data = c.get("/api/v1/me/meetings").json()
    (m,) = data["items"]
    assert m["code"] == t.state_meeting.code
    assert [a["title"] for a in m["agenda"]] == [
        "WhatsApp expansion",
        "Reorganisation of district IT teams",
    ]
    assert m["rsvp"] == "" and m["attended"] is False and m["venue"]
    # someone not invited sees nothing of it
    assert member_client(t.outsider).get("/api/v1/me/meetings").json()["items"][0]["code"] == (
        t.state_meeting.code
    )  # Kanpur's convenor is a district convenor under UP: invited
    kanpur = member_client(t.volunteer).get("/api/v1/me/meetings").json()
    assert t.district_meeting.code not in [i["code"] for i in kanpur["items"]]


def test_rsvp_and_refusals(sent):
    t = sent
    c = member_client(t.volunteer)
    code = t.state_meeting.code
    r = c.post(f"/api/v1/meetings/{code}/rsvp", {"answer": "yes"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["rsvp"] == "yes"
    r = c.post(f"/api/v1/meetings/{code}/rsvp", {"answer": "x"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "bad_answer"
    # not invited: as if it did not exist
    r = c.post(
        f"/api/v1/meetings/{t.district_meeting.code}/rsvp",
        {"answer": "yes"},
        content_type="application/json",
    )
    assert r.status_code == 404
    assert t.state_meeting.invitations.counts()["yes"] == 1


def test_checkin_by_code(sent):
    t = sent
    m = t.state_meeting
    c = member_client(t.volunteer)
    url = f"/api/v1/meetings/{m.code}/checkin"
    with time_machine.travel(m.starts_at + datetime.timedelta(minutes=5), tick=False):
        r = c.post(url, {"code": "000000"}, content_type="application/json")
        if m.checkin_code() == "000000":  # one in a million
            return
        assert r.status_code == 400 and r.json()["code"] == "bad_code"
        code = m.checkin_code()
        # typed with Devanagari digits and a space
        typed = code[:3].translate(str.maketrans("0123456789", "०१२३४५६७८९")) + " " + code[3:]
        r = c.post(url, {"code": typed}, content_type="application/json")
        assert r.status_code == 200 and r.json()["attended"] is True
    assert m.invitations.get(person=t.volunteer_person).checkin_method == "code"


def test_action_items_in_the_app_and_done_through_the_task(sent):
    t = sent
    item = actions.do_add_action_item(
        t.state_admin,
        t.state_meeting,
        title="Booth groups in Lucknow",
        position=t.district_pos,
        unit=t.lucknow,
        due=datetime.date(2026, 1, 1),
    )
    c = member_client(t.convenor)
    (a,) = c.get("/api/v1/me/meetings").json()["action_items"]
    assert a["title"] == "Booth groups in Lucknow" and a["overdue"] is True
    assert a["task_id"] == item.task_id
    tasks = c.get("/api/v1/me/tasks").json()["items"]
    assert any(x["id"] == item.task_id and x["kind"] == "action" for x in tasks)
    assert c.post(f"/api/v1/me/tasks/{item.task_id}/done").status_code == 200
    item.refresh_from_db()
    assert item.status == "done"
    assert TaskDone.objects.filter(task=item.task).count() == 1
    assert member_client(t.outsider).get("/api/v1/me/meetings").json()["action_items"] == []


def test_ics_for_invitees_only(sent):
    t = sent
    code = t.state_meeting.code
    r = member_client(t.volunteer).get(f"/api/v1/meetings/{code}/ics")
    assert r.status_code == 200
    (event,) = parse(r.content.decode())
    assert event["UID"].startswith(f"meeting-{code}@")
    assert (
        member_client(t.volunteer)
        .get(f"/api/v1/meetings/{t.district_meeting.code}/ics")
        .status_code
        == 404
    )


def test_api_needs_a_token(sent, client):
    assert client.get("/api/v1/me/meetings").status_code == 401


def test_my_meetings_reads_a_fixed_number_of_queries(sent):
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    t = sent
    c = member_client(t.convenor)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/api/v1/me/meetings").status_code == 200
        return len(ctx.captured_queries)

    count()  # the first request of a token also records its use
    one = count()
    for i in range(3):
        start = t.state_meeting.starts_at + dt.timedelta(days=i + 1)
        m = actions.do_create_meeting(
            t.state_admin,
            host_unit=t.up,
            title=f"Meeting {i}",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            venue="Office",
        )
        actions.do_add_agenda_item(t.state_admin, m, title="Point", presenter=t.convenor_person)
        actions.do_add_invite_rule(t.state_admin, m, position=t.district_pos, scope_unit=t.up)
        actions.do_send_invitations(t.state_admin, m)
        actions.do_add_action_item(t.state_admin, m, title="Do", person=t.convenor_person)
    assert count() == one
