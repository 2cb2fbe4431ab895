"""Forward tasks end to end: a broadcast on the WhatsApp-groups channel → a task for each
admin of each active group in the audience → the admin taps done in the app → confirmed →
the reach estimate; staff marks; reminders once."""

import json
from datetime import timedelta
from urllib.parse import unquote

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from sangathan.accounts.actions import do_issue_api_token
from sangathan.accounts.models import User
from sangathan.broadcasts.actions import Draft, do_create_broadcast
from sangathan.broadcasts.audience import preview_counts
from sangathan.groups.actions import do_add_group_admin, do_confirm_forward, do_create_group
from sangathan.groups.forwards import create_forward_tasks, reach_estimate, send_reminders, wa_link
from sangathan.groups.models import ForwardTask, GroupForward
from sangathan.people.actions import ActionRefused
from sangathan.people.models import Task
from tests.conftest import client_for


@pytest.fixture(autouse=True)
def _commits(on_commit_after_action):
    """The publish task runs when the broadcast's transaction commits, as in production."""


def send(actor, unit, channels=("feed", "groups"), **kw):
    draft = Draft(
        audience_unit=unit,
        title_hi="आयुष्मान शिविर",
        body_hi="रविवार को हर बूथ पर शिविर।",
        link="https://example.org/camp",
        channels=list(channels),
        **kw,
    )
    return do_create_broadcast(actor, draft)


def bearer(user) -> dict:
    raw, _token = do_issue_api_token(user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": "en"}


def test_the_groups_channel_makes_a_forward_task_per_admin(groups):
    second = do_create_group(groups.convenor, unit=groups.booth2, name="युवा", admins=[])
    do_add_group_admin(groups.convenor, second, groups.pramukh)
    do_add_group_admin(groups.convenor, second, groups.volunteer_person)
    b = send(groups.state_admin, groups.up)
    assert b.status == "sent"
    forwards = GroupForward.objects.filter(broadcast=b)
    assert {f.group_id for f in forwards} == {groups.group.pk, second.pk, groups.kanpur_group.pk}
    tasks = Task.objects.filter(group_forward__forward__broadcast=b)
    assert tasks.count() == 4  # pramukh ×2, volunteer, Kanpur's admin
    task = tasks.get(group_forward__forward__group=groups.group)
    assert task.kind == "forward" and task.person == groups.pramukh
    assert "आयुष्मान शिविर" in task.share_text and "https://example.org/camp" in task.share_text
    assert task.link.startswith("https://wa.me/?text=")
    assert unquote(task.link.removeprefix("https://wa.me/?text=")) == task.share_text
    # Reach counters and the reach table know nothing of a "groups" channel.
    assert not b.counters.filter(channel="groups").exists()
    # Running the publish step again makes nothing twice.
    assert create_forward_tasks(b) == 0
    assert Task.objects.filter(group_forward__forward__broadcast=b).count() == 4


def test_archived_groups_and_other_subtrees_get_nothing(groups):
    from sangathan.groups.actions import do_set_group_status

    do_set_group_status(groups.convenor, groups.group, "archived")
    b = send(groups.convenor, groups.lucknow)
    assert not GroupForward.objects.filter(broadcast=b).exists()
    b2 = send(groups.state_admin, groups.lucknow, channels=("feed",))
    assert not GroupForward.objects.filter(broadcast=b2).exists()


def test_admin_marks_done_in_the_app_and_the_reach_estimate_counts_the_group(groups):
    User.objects.create_user(groups.pramukh.phone, person=groups.pramukh, name="Deepak")
    admin_user = User.objects.get(phone=groups.pramukh.phone)
    b = send(groups.convenor, groups.lucknow)
    assert reach_estimate(b) == {"groups": 1, "confirmed": 0, "members": 0, "asked_members": 120}

    c = Client()
    headers = bearer(admin_user)
    items = c.get("/api/v1/me/tasks", **headers).json()["items"]
    (item,) = [i for i in items if i["kind"] == "forward"]
    assert item["share_text"].startswith("आयुष्मान शिविर") and item["link"].startswith(
        "https://wa.me/"
    )
    r = c.post(
        f"/api/v1/me/tasks/{item['id']}/done", "{}", content_type="application/json", **headers
    )
    assert r.status_code == 200, r.content
    assert reach_estimate(b)["confirmed"] == 1 and reach_estimate(b)["members"] == 120
    assert reach_estimate(b, groups.kanpur)["groups"] == 0

    # The staff pages show it: the groups page per broadcast and the broadcast's reach page.
    page = client_for(groups.convenor).get(f"/groups/broadcasts/{b.code}/").content.decode()
    assert "confirmed by the admin" in page and 'id="group-reach-members">120<' in page
    reach = client_for(groups.convenor).get(f"/broadcasts/{b.code}/reach/").content.decode()
    assert 'id="whatsapp-groups-reach"' in reach and 'id="group-reach-members">120<' in reach

    # Undone in the app: no longer counted.
    c.post(
        f"/api/v1/me/tasks/{item['id']}/undone", "{}", content_type="application/json", **headers
    )
    assert reach_estimate(b)["confirmed"] == 0


def test_staff_can_mark_a_forward_and_undo_it(groups):
    b = send(groups.convenor, groups.lucknow)
    c = client_for(groups.convenor)
    url = f"/groups/broadcasts/{b.code}/{groups.group.code}/confirm/"
    assert c.post(url, {"confirmed": "1"}).status_code == 302
    assert reach_estimate(b)["members"] == 120
    assert c.post(url, {"confirmed": "0"}).status_code == 302
    assert reach_estimate(b)["members"] == 0


def test_outsiders_cannot_see_or_mark_forwards(groups):
    b = send(groups.state_admin, groups.up)
    out = client_for(groups.outsider)
    # Kanpur's convenor sees the state broadcast in the inbox but only Kanpur's group.
    page = out.get(f"/groups/broadcasts/{b.code}/").content.decode()
    assert groups.kanpur_group.name in page and groups.group.name not in page
    url = f"/groups/broadcasts/{b.code}/{groups.group.code}/confirm/"
    assert out.post(url, {"confirmed": "1"}).status_code == 404
    lucknow_only = send(groups.convenor, groups.lucknow)
    assert out.get(f"/groups/broadcasts/{lucknow_only.code}/").status_code == 404
    assert GroupForward.objects.filter(staff_confirmed_at__isnull=False).count() == 0
    with pytest.raises(ActionRefused):
        do_confirm_forward(groups.outsider, GroupForward.objects.get(broadcast=lucknow_only))


def test_the_preview_counts_group_members_for_the_groups_channel(groups):
    counts = preview_counts(groups.up, ["feed", "groups"], "organisational")
    assert counts["groups"] == 200
    assert preview_counts(groups.lucknow, ["groups"], "organisational")["groups"] == 120


def test_a_long_text_is_cut_in_the_link_only():
    text = "नमस्ते " * 200
    link = wa_link(text)
    assert len(link) <= 500 and unquote(link).endswith("…")


def test_reminders_go_once_per_admin_after_the_delay(groups, settings, caplog):
    from sangathan.people.models import Consent

    settings.SANGATHAN_GROUP_REMINDER_HOURS = 6
    Consent.objects.create(
        person=groups.pramukh, channel="sms", purpose="organisational", evidence="form"
    )
    second = do_create_group(
        groups.convenor, unit=groups.booth2, name="दूसरा", admins=[groups.pramukh]
    )
    b = send(groups.state_admin, groups.up)
    assert ForwardTask.objects.filter(forward__broadcast=b).count() == 3
    assert send_reminders() == 0  # not yet due
    with time_machine.travel(timezone.now() + timedelta(hours=7)):
        with caplog.at_level("INFO", logger="sangathan.channels"):
            assert send_reminders() == 2  # the pramukh (two groups, one message) and Kanpur's
        sms = [r for r in caplog.records if r.getMessage().startswith("sms to")]
        assert len(sms) == 1 and groups.pramukh.phone in sms[0].getMessage()
        assert send_reminders() == 0  # at most once per task
    rows = ForwardTask.objects.filter(forward__broadcast=b)
    assert all(r.reminded_at for r in rows)
    assert set(rows.values_list("reminded_via", flat=True)) == {"sms", "app"}
    assert second.pk in rows.values_list("forward__group", flat=True)


def test_a_confirmed_forward_is_not_reminded(groups, settings):
    b = send(groups.convenor, groups.lucknow)
    do_confirm_forward(groups.convenor, GroupForward.objects.get(broadcast=b))
    with time_machine.travel(timezone.now() + timedelta(hours=7)):
        assert send_reminders() == 0


def test_the_worker_sweep_sends_reminders(groups):
    from sangathan.core.management.commands import worker
    from sangathan.groups import tasks

    b = send(groups.convenor, groups.lucknow)
    tasks._last_run = 0.0
    with time_machine.travel(timezone.now() + timedelta(hours=7)):
        worker._publish_due()
    assert ForwardTask.objects.get(forward__broadcast=b).reminded_at is not None


def test_the_api_lists_forwards_and_lets_staff_confirm(groups):
    b = send(groups.convenor, groups.lucknow)
    headers = bearer(groups.convenor)
    c = Client()
    data = c.get(f"/api/v1/groups/forwards/{b.code}", **headers).json()
    assert data["groups"] == 1 and data["items"][0]["confirmed"] is False
    r = c.post(
        f"/api/v1/groups/forwards/{b.code}/{groups.group.code}/confirm",
        json.dumps({"confirmed": True}),
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 200
    assert c.get(f"/api/v1/groups/forwards/{b.code}", **headers).json()["members"] == 120
    out = bearer(groups.outsider)
    assert c.get(f"/api/v1/groups/forwards/{b.code}", **out).status_code == 404


def test_a_forward_settled_by_another_admin_or_by_staff_shows_as_settled(groups):
    """Two admins of one group each get the task; once one marks it done (or staff confirm
    the forward), the other's app shows it settled ("the group already has it"), listed with
    the done ones, so nobody forwards the message twice."""
    do_add_group_admin(groups.convenor, groups.group, groups.volunteer_person)
    for person in (groups.pramukh, groups.volunteer_person):
        if not User.objects.filter(person=person).exists():
            User.objects.create_user(person.phone, person=person, name=person.name)
    first = bearer(User.objects.get(person=groups.pramukh))
    second = bearer(User.objects.get(person=groups.volunteer_person))
    b = send(groups.convenor, groups.lucknow)
    c = Client()

    def forward_item(headers):
        items = c.get("/api/v1/me/tasks", **headers).json()["items"]
        return next(i for i in items if i["kind"] == "forward")

    assert forward_item(second)["settled"] is False
    item = forward_item(first)
    c.post(f"/api/v1/me/tasks/{item['id']}/done", "{}", content_type="application/json", **first)
    theirs = forward_item(second)
    assert theirs["settled"] is True and theirs["done"] is False
    assert forward_item(first)["settled"] is False  # one's own "done" is not "settled"
    # Taken back: open again for the other admin.
    c.post(f"/api/v1/me/tasks/{item['id']}/undone", "{}", content_type="application/json", **first)
    assert forward_item(second)["settled"] is False
    # Staff confirm the forward: settled for both.
    forward = GroupForward.objects.get(broadcast=b, group=groups.group)
    do_confirm_forward(groups.convenor, forward)
    assert forward_item(first)["settled"] is True and forward_item(second)["settled"] is True
    # A settled task sorts with the done ones, after an open one.
    open_task = Task.objects.create(
        title="बूथ में 10 नए सदस्य जोड़ें",
        kind="other",
        person=groups.volunteer_person,
        scope_unit=groups.booth1,
    )
    ids = [i["id"] for i in c.get("/api/v1/me/tasks", **second).json()["items"]]
    assert ids.index(open_task.pk) < ids.index(theirs["id"])
