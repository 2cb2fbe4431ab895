"""Tasks: who sees them (personal or by post under an area), done/undone, the staff page."""

import pytest
from django.test import Client
from django.urls import reverse

from sangathan.accounts.models import AuditLog, User
from sangathan.people.actions import (
    ActionRefused,
    do_create_task,
    do_end_appointment,
    do_mark_task_done,
    do_mark_task_undone,
)
from sangathan.people.demo_tasks import ensure_demo_tasks
from sangathan.people.models import Task, TaskDone
from tests.conftest import client_for
from tests.factories import appoint, make_person


@pytest.fixture
def booth_task(cast):
    return do_create_task(
        cast.convenor,
        title="Add 10 members",
        kind="add_members",
        position=cast.booth_pos,
        scope_unit=cast.lucknow,
    )


def test_a_post_task_reaches_current_holders_under_its_area_only(cast, booth_task):
    second = make_person(cast.booth2, "दूसरा स्वयंसेवक")
    appoint(second, cast.booth_pos, cast.booth2)
    kanpur_volunteer = make_person(cast.kanpur_booth, "कानपुर स्वयंसेवक")
    appoint(kanpur_volunteer, cast.booth_pos, cast.kanpur_booth)
    assert list(Task.objects.for_person(cast.volunteer_person)) == [booth_task]
    assert list(Task.objects.for_person(second)) == [booth_task]
    assert not Task.objects.for_person(kanpur_volunteer).exists()
    assert not Task.objects.for_person(cast.convenor_person).exists()  # another post
    # The via unit is the holder's own booth.
    assert Task.objects.for_person(second).get().via_unit_id == cast.booth2.pk


def test_an_ended_appointment_takes_the_task_away(cast, booth_task):
    appointment = cast.volunteer_person.appointments.get()
    do_end_appointment(appointment, actor=cast.convenor)
    assert not Task.objects.for_person(cast.volunteer_person).exists()


def test_done_and_undone_are_idempotent_audited_and_counted(cast, booth_task):
    p = cast.volunteer_person
    first = do_mark_task_done(p, booth_task)
    assert do_mark_task_done(p, booth_task).done_at == first.done_at
    assert AuditLog.objects.filter(action="task_done").count() == 1
    row = Task.objects.with_progress().get(pk=booth_task.pk)
    assert (row.done_count, row.assigned_count) == (1, 1)
    assert do_mark_task_undone(p, booth_task) is True
    assert do_mark_task_undone(p, booth_task) is False
    assert AuditLog.objects.filter(action="task_undone").count() == 1
    assert not TaskDone.objects.exists()


def test_a_task_not_yours_cannot_be_marked(cast, booth_task):
    with pytest.raises(ActionRefused) as e:
        do_mark_task_done(cast.kanpur_member, booth_task)
    assert e.value.code == "not_assigned"


def test_creating_is_refused_outside_the_area_or_with_two_assignees(cast):
    with pytest.raises(ActionRefused) as e:
        do_create_task(cast.outsider, title="x", position=cast.booth_pos, scope_unit=cast.lucknow)
    assert e.value.code == "outside_jurisdiction"
    with pytest.raises(ActionRefused) as e:
        do_create_task(cast.outsider, title="x", person=cast.volunteer_person)
    assert e.value.code == "outside_jurisdiction"
    with pytest.raises(ActionRefused) as e:
        do_create_task(
            cast.convenor, title="x", person=cast.volunteer_person, position=cast.booth_pos
        )
    assert e.value.code == "bad_assignee"
    with pytest.raises(ActionRefused) as e:
        do_create_task(
            cast.convenor, title="x", position=cast.state_admin_pos, scope_unit=cast.lucknow
        )
    assert e.value.code == "post_above_area"


def test_progress_counts_every_holder_in_sql(cast, booth_task, django_assert_num_queries):
    for i in range(3):
        p = make_person(cast.booth2, f"स्वयंसेवक {i}")
        from sangathan.people.models import Position

        extra = Position.objects.get(pk=cast.booth_pos.pk)
        extra.seats = 5
        extra.save()
        appoint(p, cast.booth_pos, cast.booth2)
        if i < 2:
            do_mark_task_done(p, booth_task)
    with django_assert_num_queries(1):
        row = Task.objects.with_progress().get(pk=booth_task.pk)
    assert (row.done_count, row.assigned_count) == (2, 4)


def test_the_staff_page_creates_a_post_task_and_shows_progress(cast):
    c = client_for(cast.convenor)
    r = c.post(
        reverse("people:tasks"),
        {
            "title": "Forward the scheme message",
            "kind": "forward",
            "assign": "position",
            "position": cast.booth_pos.pk,
            "unit": "UP-D-162",
            "share_text": "योजना का संदेश",
        },
    )
    assert r.status_code == 302
    task = Task.objects.get()
    assert task.scope_unit == cast.lucknow and task.created_by == cast.convenor
    do_mark_task_done(cast.volunteer_person, task)
    page = c.get(reverse("people:tasks")).content.decode()
    assert "Forward the scheme message" in page and "1 / 1" in page
    # htmx gets the block only.
    r = c.get(reverse("people:tasks"), HTTP_HX_REQUEST="true")
    assert "<html" not in r.content.decode() and "Forward the scheme message" in r.content.decode()


def test_the_staff_page_creates_a_personal_task_by_phone(cast):
    r = client_for(cast.convenor).post(
        reverse("people:tasks"),
        {"title": "Call me", "kind": "other", "assign": "person", "phone": "9810000003"},
    )
    assert r.status_code == 302
    assert Task.objects.get().person == cast.volunteer_person


def test_the_staff_page_refuses_outsiders(cast):
    do_create_task(
        cast.convenor, title="Lucknow only", position=cast.booth_pos, scope_unit=cast.lucknow
    )
    outsider = client_for(cast.outsider)
    assert "Lucknow only" not in outsider.get(reverse("people:tasks")).content.decode()
    r = outsider.post(
        reverse("people:tasks"),
        {
            "title": "Sneaky",
            "kind": "other",
            "assign": "position",
            "position": cast.booth_pos.pk,
            "unit": "UP-D-162",
        },
    )
    assert r.status_code == 200 and Task.objects.count() == 1
    r = outsider.post(
        reverse("people:tasks"),
        {"title": "Sneaky", "kind": "other", "assign": "person", "phone": "9810000003"},
    )
    assert r.status_code == 200 and Task.objects.count() == 1
    nobody = User.objects.create_user("+919810000099", name="No post")
    assert client_for(nobody).get(reverse("people:tasks")).status_code == 404
    assert Client().get(reverse("people:tasks")).status_code in (302, 401, 403)


def test_demo_tasks_are_made_once(cast):
    assert ensure_demo_tasks(cast.superuser, cast.convenor, cast.lucknow) is True
    titles = set(Task.objects.values_list("title", flat=True))
    assert len(titles) >= 3
    assert Task.objects.for_person(cast.volunteer_person).count() >= 2
    assert ensure_demo_tasks(cast.superuser, cast.convenor, cast.lucknow) is False
    assert len(set(Task.objects.values_list("title", flat=True))) == len(titles)
