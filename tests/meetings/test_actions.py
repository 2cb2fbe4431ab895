import datetime

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from sangathan.meetings import actions
from sangathan.meetings.ics import parse
from sangathan.meetings.models import ActionItem, Invitation, Meeting
from sangathan.people.actions import ActionRefused, do_mark_task_done, do_mark_task_undone
from sangathan.people.models import Task, TaskDone
from tests.conftest import client_for
from tests.factories import appoint, make_person
from tests.meetings.conftest import consent

pytestmark = pytest.mark.django_db


def test_rules_resolve_to_current_holders_under_the_scope(meetings):
    t = meetings
    rules = actions._meeting_rules(t.state_meeting)
    # every district convenor under UP: Lucknow's and Kanpur's
    assert actions.invitee_count(rules) == 2
    assert actions.invitee_count(rules, [t.volunteer_person.pk]) == 3
    # an extra who is also brought by a rule counts once
    assert actions.invitee_count(rules, [t.convenor_person.pk]) == 2
    # a rule under Lucknow only
    assert actions.invitee_count([(t.district_pos.pk, t.lucknow.path)]) == 1


def test_a_relieved_holder_is_not_invited(meetings):
    t = meetings
    t.outsider_person.appointments.update(ends=timezone.localdate())
    assert actions.invitee_count(actions._meeting_rules(t.state_meeting)) == 1


def test_sending_snapshots_invitations_and_tasks(meetings):
    t = meetings
    n = actions.do_send_invitations(t.state_admin, t.state_meeting)
    assert n == 3
    invs = {i.person_id: i for i in Invitation.objects.filter(meeting=t.state_meeting)}
    assert set(invs) == {t.convenor_person.pk, t.outsider_person.pk, t.volunteer_person.pk}
    # invited for the unit of their post; the extra one for their home unit
    assert invs[t.convenor_person.pk].unit_id == t.lucknow.pk
    assert invs[t.volunteer_person.pk].via_rule is False
    tasks = Task.objects.filter(kind="attend", person=t.convenor_person)
    assert tasks.count() == 1 and "State IT meeting" in tasks.get().title
    t.state_meeting.refresh_from_db()
    assert t.state_meeting.status == "invited"
    # again: nobody new, nothing doubled
    assert actions.do_send_invitations(t.state_admin, t.state_meeting) == 0
    assert Task.objects.filter(kind="attend").count() == 3
    # a new holder appears, sending again adds just them
    newcomer = make_person(t.lucknow, "नया", "+919810000077")
    appoint(newcomer, t.district_pos, t.kanpur)
    assert actions.do_send_invitations(t.state_admin, t.state_meeting) == 1


def test_sending_needs_someone_and_jurisdiction(meetings):
    t = meetings
    with pytest.raises(ActionRefused):
        actions.do_send_invitations(t.convenor, t.district_meeting)  # no rule, nobody
    with pytest.raises(ActionRefused):
        actions.do_send_invitations(t.outsider, t.district_meeting)
    with pytest.raises(ActionRefused):
        actions.do_add_invite_rule(
            t.convenor, t.district_meeting, position=t.district_pos, scope_unit=t.kanpur
        )


def test_invitations_go_by_email_with_ics_only_with_consent(meetings, on_commit_after_action):
    t = meetings
    t.convenor_person.email = "sanjay@example.org"
    t.convenor_person.save()
    t.outsider_person.email = "amit@example.org"
    t.outsider_person.save()
    consent(t.convenor_person, "email")  # Amit has an address but no consent
    actions.do_send_invitations(t.state_admin, t.state_meeting)
    assert [m.to for m in mail.outbox] == [["sanjay@example.org"]]
    message = mail.outbox[0]
    name, content, mimetype = message.attachments[0]
    assert name.endswith(".ics") and mimetype.startswith("text/calendar")
    (event,) = parse(content)
    assert event["SUMMARY"] == "सभी क्षेत्रों के साथ प्रदेश आईटी बैठक"  # Hindi: the site language
    assert Invitation.objects.get(person=t.convenor_person).notified == "email"
    assert Invitation.objects.get(person=t.outsider_person).notified == ""
    assert Invitation.objects.filter(notified_at=None).count() == 0


def test_rsvp_and_counts(meetings):
    t = meetings
    actions.do_send_invitations(t.state_admin, t.state_meeting)
    actions.do_rsvp(t.convenor_person, t.state_meeting, "yes")
    actions.do_rsvp(t.outsider_person, t.state_meeting, "maybe")
    actions.do_rsvp(t.outsider_person, t.state_meeting, "no")
    counts = t.state_meeting.invitations.counts()
    assert (counts["yes"], counts["no"], counts["maybe"], counts["no_answer"]) == (1, 1, 0, 1)
    with pytest.raises(ActionRefused):
        actions.do_rsvp(t.kanpur_member, t.state_meeting, "yes")  # not invited
    with pytest.raises(ActionRefused):
        actions.do_rsvp(t.convenor_person, t.state_meeting, "perhaps")


def test_check_in_by_code_refuses_wrong_and_expired_codes(meetings):
    t = meetings
    m = t.state_meeting
    actions.do_send_invitations(t.state_admin, m)
    during = m.starts_at + datetime.timedelta(minutes=10)
    with time_machine.travel(during, tick=False):
        code = m.checkin_code()
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        with pytest.raises(ActionRefused) as exc:
            actions.do_check_in(t.convenor_person, m, wrong)
        assert exc.value.code == "bad_code"
    # the code of 5 minutes ago still works, of 15 minutes ago not
    with time_machine.travel(during + datetime.timedelta(minutes=15), tick=False):
        with pytest.raises(ActionRefused):
            actions.do_check_in(t.convenor_person, m, code)
    with time_machine.travel(during, tick=False):
        actions.do_check_in(t.convenor_person, m, code)
    inv = Invitation.objects.get(meeting=m, person=t.convenor_person)
    assert inv.attended_at is not None and inv.checkin_method == "code"
    # the attend task is done for them
    assert TaskDone.objects.filter(task=inv.task, person=t.convenor_person).exists()
    # long before the meeting, check-in is closed even with the right code
    with time_machine.travel(m.starts_at - datetime.timedelta(hours=3), tick=False):
        with pytest.raises(ActionRefused) as exc:
            actions.do_check_in(t.outsider_person, m, m.checkin_code())
        assert exc.value.code == "checkin_closed"


def test_attendance_rate_rolls_up_by_unit(meetings):
    t = meetings
    m = t.state_meeting
    actions.do_send_invitations(t.state_admin, m)
    actions.do_mark_present(t.state_admin, m, [t.convenor_person.pk, t.volunteer_person.pk])
    rows = {r["unit"].code: r for r in actions.attendance_by_unit(m)}
    # the booth volunteer rolls up into Lucknow, the host's child
    assert rows["UP-D-162"]["invited"] == 2 and rows["UP-D-162"]["attended"] == 2
    assert rows["UP-D-162"]["rate"] == 100
    assert rows["UP-D-164"]["invited"] == 1 and rows["UP-D-164"]["rate"] == 0
    actions.do_mark_present(t.state_admin, m, [t.volunteer_person.pk], present=False)
    assert m.invitations.counts()["attended"] == 1
    with pytest.raises(ActionRefused):
        actions.do_mark_present(t.outsider, m, [t.outsider_person.pk])


def test_minutes_and_action_items_follow_their_tasks(meetings):
    t = meetings
    m = t.state_meeting
    actions.do_record_minutes(t.state_admin, t.agenda1, notes="Discussed", decisions="Expand")
    t.agenda1.refresh_from_db()
    assert t.agenda1.decisions == "Expand"
    # to a post at a unit: whoever holds the district convenor post at Lucknow
    item = actions.do_add_action_item(
        t.state_admin,
        m,
        title="Register booth groups",
        position=t.district_pos,
        unit=t.lucknow,
        due=timezone.localdate() + datetime.timedelta(days=7),
        agenda_item=t.agenda1,
    )
    assert item.task.kind == "action"
    assert list(ActionItem.objects.for_person(t.convenor_person)) == [item]
    assert not ActionItem.objects.for_person(t.outsider_person).exists()
    # done in the app → done here
    do_mark_task_done(t.convenor_person, item.task)
    item.refresh_from_db()
    assert item.status == "done" and item.done_at
    do_mark_task_undone(t.convenor_person, item.task)
    item.refresh_from_db()
    assert item.status == "open"
    # done here → ticked in the app
    actions.do_set_action_item_done(t.state_admin, item, True)
    assert TaskDone.objects.filter(task=item.task, person=t.convenor_person).exists()
    actions.do_set_action_item_done(t.state_admin, item, False)
    assert not TaskDone.objects.filter(task=item.task).exists()
    # a post that is not at the unit's level is refused
    with pytest.raises(ActionRefused):
        actions.do_add_action_item(
            t.state_admin, m, title="x", position=t.district_pos, unit=t.booth1
        )
    # to a person
    personal = actions.do_add_action_item(t.state_admin, m, title="Call", person=t.volunteer_person)
    assert personal.task.person_id == t.volunteer_person.pk


def test_overdue_items_escalate_once(meetings):
    t = meetings
    m = t.state_meeting
    item = actions.do_add_action_item(
        t.state_admin,
        m,
        title="Fill booth volunteer posts",
        person=t.volunteer_person,
        due=timezone.localdate() - datetime.timedelta(days=1),
    )
    not_yet = actions.do_add_action_item(
        t.state_admin, m, title="Later", person=t.volunteer_person, due=timezone.localdate()
    )
    assert actions.escalate_overdue() == 1
    assert actions.escalate_overdue() == 0
    item.refresh_from_db()
    not_yet.refresh_from_db()
    assert not_yet.escalated_at is None
    task = item.escalation_task
    # the booth volunteer's post is at the booth; the next level with a holder is Lucknow
    # (sector and mandal have nobody): its district convenor
    assert task.position_id == t.district_pos.pk and task.scope_unit_id == t.lucknow.pk
    assert Task.objects.for_person(t.convenor_person).filter(pk=task.pk).exists()
    # the district convenor ticking the escalation marks the item done
    do_mark_task_done(t.convenor_person, task)
    item.refresh_from_db()
    assert item.status == "done"


def test_follow_up_starts_from_open_action_items(meetings):
    t = meetings
    m = t.state_meeting
    actions.do_add_action_item(t.state_admin, m, title="Open one", person=t.convenor_person)
    done_item = actions.do_add_action_item(
        t.state_admin, m, title="Done one", person=t.convenor_person
    )
    actions.do_set_action_item_done(t.state_admin, done_item, True)
    start = m.starts_at + datetime.timedelta(days=30)
    new = actions.do_create_follow_up(
        t.state_admin, m, starts_at=start, ends_at=start + datetime.timedelta(hours=1)
    )
    assert new.follows == m and new.host_unit == m.host_unit
    first = new.agenda.first()
    assert "Open one" in first.notes and "Done one" not in first.notes
    # the items stay with the meeting that decided them: one item, one task
    assert not new.action_items.exists()
    assert new.rules.count() == 1 and list(new.extra_invitees.all()) == [t.volunteer_person]
    page = client_for(t.state_admin).get(f"/meetings/{new.code}/").content.decode()
    assert "Open action items from the last meeting" in page and "Open one" in page


def test_cancelled_meeting_refuses_invitations(meetings):
    t = meetings
    actions.do_set_meeting_status(t.state_admin, t.state_meeting, "cancelled")
    with pytest.raises(ActionRefused):
        actions.do_send_invitations(t.state_admin, t.state_meeting)
    assert Meeting.objects.get(pk=t.state_meeting.pk).checkin_open() is False


def test_the_worker_sweep_escalates(meetings):
    from sangathan.core.management.commands.worker import _publish_due
    from sangathan.meetings import tasks

    t = meetings
    item = actions.do_add_action_item(
        t.state_admin,
        t.state_meeting,
        title="Late",
        position=t.district_pos,
        unit=t.lucknow,
        due=timezone.localdate() - datetime.timedelta(days=2),
    )
    tasks._last_run = 0.0
    _publish_due()
    item.refresh_from_db()
    # Lucknow's district convenor post: the next level up with a holder is the state
    assert item.escalation_task.position_id == t.state_admin_pos.pk
    assert item.escalation_task.scope_unit_id == t.up.pk
    assert tasks.periodic(force=True) == {"escalated": 0, "invitation_retries": 0}
