"""Registering groups, their invite links, counts and admins."""

import datetime

import pytest

from sangathan.groups.actions import (
    do_add_group_admin,
    do_create_group,
    do_record_member_count,
    do_rotate_invite_link,
    do_set_group_status,
)
from sangathan.groups.models import Group, InviteLink, MemberCount
from sangathan.people.actions import ActionRefused
from tests.groups.conftest import LINK, LINK2


def test_a_group_starts_its_link_and_count_histories(groups):
    g = groups.group
    assert g.member_count == 120 and g.last_verified_on == datetime.date.today()
    assert list(g.admins.all()) == [groups.pramukh]
    assert InviteLink.objects.get(group=g).url == LINK
    assert MemberCount.objects.get(group=g).members == 120


@pytest.mark.parametrize(
    "link",
    ["http://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv", "https://example.com/x", "chat.whatsapp"],
)
def test_it_refuses_a_link_that_is_not_a_whatsapp_invite(groups, link):
    with pytest.raises(ActionRefused) as e:
        do_create_group(groups.convenor, unit=groups.booth2, name="x", invite_link=link)
    assert e.value.code == "bad_link"


def test_it_refuses_a_unit_outside_the_area(groups):
    with pytest.raises(ActionRefused) as e:
        do_create_group(groups.convenor, unit=groups.kanpur_booth, name="x")
    assert e.value.code == "outside_jurisdiction"


def test_it_refuses_an_admin_outside_the_area(groups):
    with pytest.raises(ActionRefused):
        do_create_group(groups.convenor, unit=groups.booth2, name="x", admins=[groups.kanpur_admin])
    with pytest.raises(ActionRefused):
        do_add_group_admin(groups.convenor, groups.group, groups.kanpur_admin)


def test_same_name_twice_in_a_unit_is_refused(groups):
    with pytest.raises(ActionRefused) as e:
        do_create_group(groups.convenor, unit=groups.booth1, name=groups.group.name)
    assert e.value.code == "duplicate_name"


def test_rotating_the_link_keeps_the_old_one(groups):
    g = do_rotate_invite_link(groups.convenor, groups.group, LINK2)
    assert g.invite_link == LINK2
    history = list(InviteLink.objects.filter(group=g).order_by("set_at", "pk"))
    assert [h.url for h in history] == [LINK, LINK2]
    assert history[0].replaced_at is not None and history[1].replaced_at is None


def test_counts_make_snapshots_and_the_latest_is_kept_on_the_group(groups):
    g = groups.group
    earlier = datetime.date.today() - datetime.timedelta(days=7)
    do_record_member_count(groups.convenor, g, 90, on=earlier)
    g.refresh_from_db()
    assert g.member_count == 120  # an older count adds history only
    do_record_member_count(groups.convenor, g, 150)
    do_record_member_count(groups.convenor, g, 155)  # same day: replaces
    g.refresh_from_db()
    assert g.member_count == 155
    assert sorted(MemberCount.objects.filter(group=g).values_list("members", flat=True)) == [
        90,
        155,
    ]


def test_archived_groups_drop_out_of_active(groups):
    do_set_group_status(groups.convenor, groups.group, "archived")
    assert not Group.objects.active().filter(pk=groups.group.pk).exists()
