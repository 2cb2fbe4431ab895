import datetime

import pytest
import time_machine
from django.utils import timezone

from sangathan.meetings import actions
from sangathan.meetings.ics import parse
from sangathan.meetings.models import ActionItem, Invitation, Meeting
from sangathan.people.models import Task
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _routes(m, item=None, agenda=None, person=None):
    code = m.code
    gets = [
        f"/meetings/{code}/",
        f"/meetings/{code}/edit/",
        f"/meetings/{code}/meeting.ics",
        f"/meetings/{code}/checkin/",
        f"/meetings/{code}/rules/preview/",
    ]
    posts = [
        f"/meetings/{code}/edit/",
        f"/meetings/{code}/status/",
        f"/meetings/{code}/agenda/",
        f"/meetings/{code}/agenda/order/",
        f"/meetings/{code}/rules/",
        f"/meetings/{code}/extras/",
        f"/meetings/{code}/send/",
        f"/meetings/{code}/attendance/",
        f"/meetings/{code}/actions/",
        f"/meetings/{code}/follow-up/",
    ]
    if agenda:
        posts += [
            f"/meetings/{code}/agenda/{agenda.pk}/move/",
            f"/meetings/{code}/agenda/{agenda.pk}/remove/",
            f"/meetings/{code}/agenda/{agenda.pk}/minutes/",
        ]
    if item:
        posts.append(f"/meetings/{code}/actions/{item.pk}/done/")
    if person:
        posts.append(f"/meetings/{code}/extras/{person.pk}/remove/")
    return gets, posts


def test_every_route_is_404_for_another_district(meetings, as_outsider):
    t = meetings
    m = t.district_meeting
    agenda = actions.do_add_agenda_item(t.convenor, m, title="Point")
    item = actions.do_add_action_item(t.convenor, m, title="Do", person=t.volunteer_person)
    gets, posts = _routes(m, item, agenda, t.volunteer_person)
    for url in gets:
        assert as_outsider.get(url).status_code == 404, url
    for url in posts:
        assert as_outsider.post(url, {"status": "held", "done": "1"}).status_code == 404, url
    m.refresh_from_db()
    assert m.status == "draft" and m.agenda.count() == 1
    assert ActionItem.objects.get(pk=item.pk).status == "open"
    # the state meeting is hosted at UP: a district convenor sees it neither
    assert client_for(t.convenor).get(f"/meetings/{t.state_meeting.code}/").status_code == 404
    # lists show only meetings in the area
    page = as_outsider.get("/meetings/").content.decode()
    assert "Lucknow IT team" not in page and "State IT meeting" not in page


def test_host_sees_every_page(meetings, as_convenor):
    t = meetings
    m = t.district_meeting
    agenda = actions.do_add_agenda_item(t.convenor, m, title="Point")
    gets, _posts = _routes(m, agenda=agenda)
    for url in gets:
        assert as_convenor.get(url).status_code == 200, url
    assert "Lucknow IT team" in as_convenor.get("/meetings/").content.decode()
    month = timezone.localtime(m.starts_at).strftime("%Y-%m")
    assert (
        "Lucknow IT team"
        in as_convenor.get(f"/meetings/?view=month&month={month}").content.decode()
    )


def test_create_a_meeting_with_invitees_by_rule(cast):
    t = cast
    c = client_for(t.state_admin)
    r = c.post(
        "/meetings/new/",
        {
            "host_unit": "UP",
            "title": "State IT meeting",
            "kind": "state",
            "chair": "9810000001",
            "starts_at": "2026-12-05T11:00",
            "ends_at": "2026-12-05T13:00",
            "venue": "Party office",
        },
    )
    assert r.status_code == 302
    m = Meeting.objects.get(title="State IT meeting")
    # typed in India time, stored in UTC
    assert m.starts_at == datetime.datetime(2026, 12, 5, 5, 30, tzinfo=datetime.UTC)
    assert m.chair == t.state_admin_person
    preview = c.get(
        f"/meetings/{m.code}/rules/preview/",
        {"position": t.district_pos.pk, "scope": "UP"},
        HTTP_HX_REQUEST="true",
    )
    assert "2 people will be invited" in preview.content.decode()
    c.post(f"/meetings/{m.code}/rules/", {"position": t.district_pos.pk, "scope": "UP"})
    c.post(f"/meetings/{m.code}/extras/", {"phone": "9810000003"})
    page = c.get(f"/meetings/{m.code}/").content.decode()
    assert "3 people will be invited" in page
    c.post(f"/meetings/{m.code}/send/")
    assert Invitation.objects.filter(meeting=m).count() == 3
    # a convenor cannot host at the state
    r = client_for(t.convenor).post(
        "/meetings/new/",
        {
            "host_unit": "UP",
            "title": "x",
            "kind": "state",
            "starts_at": "2026-12-05T11:00",
            "ends_at": "2026-12-05T13:00",
            "venue": "x",
        },
    )
    assert r.status_code == 200 and "No unit with code UP in your area" in r.content.decode()


def test_agenda_reorders_with_htmx(meetings):
    t = meetings
    c = client_for(t.state_admin)
    m = t.state_meeting
    r = c.post(
        f"/meetings/{m.code}/agenda/{t.agenda2.pk}/move/",
        {"direction": "up"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert html.strip().startswith('<div class="card" id="agenda">')
    assert html.index("Reorganisation") < html.index("WhatsApp expansion")
    assert list(m.agenda.values_list("pk", flat=True)) == [t.agenda2.pk, t.agenda1.pk]


def test_minutes_action_items_and_attendance_from_the_page(meetings):
    t = meetings
    c = client_for(t.state_admin)
    m = t.state_meeting
    actions.do_send_invitations(t.state_admin, m)
    c.post(
        f"/meetings/{m.code}/agenda/{t.agenda1.pk}/minutes/",
        {"notes": "Talked", "decisions": "One group per booth"},
    )
    t.agenda1.refresh_from_db()
    assert t.agenda1.decisions == "One group per booth"
    c.post(
        f"/meetings/{m.code}/actions/",
        {
            "title": "Groups in every booth",
            "position": t.district_pos.pk,
            "unit": "UP-D-162",
            "due": "2026-12-31",
            "agenda_item": t.agenda1.pk,
        },
    )
    item = ActionItem.objects.get(title="Groups in every booth")
    assert item.unit == t.lucknow and item.agenda_item == t.agenda1
    assert Task.objects.for_person(t.convenor_person).filter(pk=item.task_id).exists()
    c.post(f"/meetings/{m.code}/actions/{item.pk}/done/", {"done": "1"})
    item.refresh_from_db()
    assert item.status == "done"
    c.post(f"/meetings/{m.code}/attendance/", {"person": [t.convenor_person.pk], "present": "1"})
    assert m.invitations.counts()["attended"] == 1
    page = c.get(f"/meetings/{m.code}/").content.decode()
    assert "Attendance by unit" in page and "50%" in page  # Lucknow: 1 of 2


def test_checkin_screen_shows_the_current_code_and_a_qr(meetings):
    t = meetings
    m = t.state_meeting
    c = client_for(t.state_admin)
    with time_machine.travel(m.starts_at, tick=False):
        page = c.get(f"/meetings/{m.code}/checkin/").content.decode()
        assert m.checkin_code() in page.replace(" ", "") and "<svg" in page
    with time_machine.travel(m.starts_at - datetime.timedelta(days=1), tick=False):
        page = c.get(f"/meetings/{m.code}/checkin/").content.decode()
        assert 'id="checkin-closed"' in page


def test_meeting_ics_parses_back(meetings):
    t = meetings
    m = t.state_meeting
    r = client_for(t.state_admin).get(f"/meetings/{m.code}/meeting.ics", HTTP_ACCEPT_LANGUAGE="en")
    assert r["Content-Type"].startswith("text/calendar")
    text = r.content.decode()
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    (event,) = parse(text)
    assert event["UID"].startswith(f"meeting-{m.code}@")
    assert event["DTSTART"] == m.starts_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert event["LOCATION"] == "Party office, Lucknow"
    assert "WhatsApp expansion" in event["DESCRIPTION"]
    assert event["ORGANIZER"] == "tel:+919810000001"


def test_ical_feed_by_token_lists_my_meetings_and_can_be_revoked(meetings, client):
    t = meetings
    actions.do_send_invitations(t.state_admin, t.state_meeting)
    c = client_for(t.convenor)
    c.post("/meetings/ical/")
    feed = t.convenor.meeting_feeds.get(revoked_at=None)
    r = client.get(f"/meetings/ical/{feed.token}.ics")  # no login: calendar apps
    assert r.status_code == 200
    uids = {e["UID"].split("@")[0] for e in parse(r.content.decode())}
    # invited to the state meeting, created the district one
    assert uids == {f"meeting-{t.state_meeting.code}", f"meeting-{t.district_meeting.code}"}
    c.post("/meetings/ical/", {"revoke": "1"})
    assert client.get(f"/meetings/ical/{feed.token}.ics").status_code == 404
    assert client.get("/meetings/ical/not-a-token.ics").status_code == 404
    # a new address replaces the old
    c.post("/meetings/ical/")
    c.post("/meetings/ical/")
    assert t.convenor.meeting_feeds.filter(revoked_at=None).count() == 1


def test_pages_need_login(meetings, client):
    r = client.get(f"/meetings/{meetings.district_meeting.code}/")
    assert r.status_code in (302, 404)
    assert client.get("/meetings/").status_code == 302
