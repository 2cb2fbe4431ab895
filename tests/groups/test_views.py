"""Staff pages: Lucknow sees and manages Lucknow's groups; everything of Kanpur is a 404, and
an invite link never shows outside its jurisdiction."""

import pytest

from sangathan.groups.models import Group, InviteLink
from tests.conftest import client_for
from tests.groups.conftest import KANPUR_LINK, LINK, LINK2

ROUTES = [
    ("get", "/groups/{code}/", None),
    ("post", "/groups/{code}/edit/", {"name": "x", "purpose": "workers"}),
    ("post", "/groups/{code}/link/", {"invite_link": LINK2}),
    ("post", "/groups/{code}/count/", {"members": "5"}),
    ("post", "/groups/{code}/admins/", {"phone": "+919810000002"}),
    ("post", "/groups/{code}/admins/{admin}/remove/", None),
    ("post", "/groups/{code}/status/", {"status": "archived"}),
]


@pytest.mark.parametrize(("method", "url", "data"), ROUTES)
def test_every_group_route_is_404_for_another_districts_group(groups, method, url, data):
    c = client_for(groups.convenor)
    g = groups.kanpur_group
    path = url.format(code=g.code, admin=groups.kanpur_admin.pk)
    r = getattr(c, method)(path, data or {})
    assert r.status_code == 404
    g.refresh_from_db()
    assert g.name == "कन्या विद्यालय समूह" and g.invite_link == KANPUR_LINK
    assert g.member_count == 80 and g.status == "active" and g.admins.count() == 1


def test_the_list_shows_only_the_area(groups):
    mine = client_for(groups.convenor).get("/groups/").content.decode()
    assert groups.group.name in mine and groups.kanpur_group.name not in mine
    assert client_for(groups.convenor).get("/groups/?unit=UP-D-164").status_code == 404
    assert groups.group.name in client_for(groups.state_admin).get("/groups/").content.decode()


def test_the_invite_link_shows_inside_the_area_only(groups):
    page = client_for(groups.volunteer).get(f"/groups/{groups.group.code}/")
    assert page.status_code == 200 and LINK in page.content.decode()
    assert client_for(groups.outsider).get(f"/groups/{groups.group.code}/").status_code == 404
    assert LINK not in client_for(groups.outsider).get("/groups/").content.decode()


def test_register_a_group_with_the_pramukh_as_admin_by_default(groups):
    c = client_for(groups.convenor)
    form = c.get("/groups/new/?unit=UP-AC-172-PS-001").content.decode()
    assert groups.pramukh.phone in form
    r = c.post(
        "/groups/new/",
        {
            "unit": "UP-AC-172-PS-002",
            "name": "बूथ 2 समर्थक",
            "purpose": "supporters",
            "invite_link": LINK2,
            "members": "45",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    g = Group.objects.get(name="बूथ 2 समर्थक")
    assert g.unit == groups.booth2 and g.member_count == 45 and list(g.admins.all()) == []
    r = c.post("/groups/new/", {"unit": "UP-AC-172-PS-001", "name": "नया", "purpose": "youth"})
    assert list(Group.objects.get(name="नया").admins.all()) == [groups.pramukh]


def test_register_refuses_bad_links_and_other_districts(groups):
    c = client_for(groups.convenor)
    r = c.post(
        "/groups/new/",
        {
            "unit": "UP-AC-172-PS-002",
            "name": "x",
            "purpose": "workers",
            "invite_link": "https://wa.me/123",
        },
    )
    assert r.status_code == 400 and "chat.whatsapp.com" in r.content.decode()
    r = c.post("/groups/new/", {"unit": "UP-AC-213-PS-001", "name": "x", "purpose": "workers"})
    assert r.status_code == 400 and "No unit with code UP-AC-213-PS-001 in your area" in (
        r.content.decode()
    )
    r = c.post(
        "/groups/new/",
        {
            "unit": "UP-AC-172-PS-002",
            "name": "x",
            "purpose": "workers",
            "admin_phones": groups.kanpur_admin.phone,
        },
    )
    assert r.status_code == 400 and not Group.objects.filter(name="x").exists()
    assert client_for(groups.convenor).get("/groups/new/?unit=UP-AC-213-PS-001").status_code == 404


def test_manage_a_group(groups):
    c = client_for(groups.convenor)
    code = groups.group.code
    assert c.post(f"/groups/{code}/link/", {"invite_link": LINK2}).status_code == 302
    assert InviteLink.objects.filter(group=groups.group).count() == 2
    assert c.post(f"/groups/{code}/link/", {"invite_link": "nope"}).status_code == 400
    assert c.post(f"/groups/{code}/count/", {"members": "140"}).status_code == 302
    assert c.post(f"/groups/{code}/admins/", {"phone": "9810000003"}).status_code == 302
    assert (
        c.post(f"/groups/{code}/admins/", {"phone": groups.kanpur_admin.phone}).status_code == 400
    )
    g = Group.objects.get(pk=groups.group.pk)
    assert g.member_count == 140 and g.invite_link == LINK2 and g.admins.count() == 2
    page = c.get(f"/groups/{code}/").content.decode()
    assert LINK in page and LINK2 in page  # the earlier link in the history
    r = c.post(f"/groups/{code}/admins/{groups.pramukh.pk}/remove/")
    assert r.status_code == 302 and g.admins.count() == 1
    assert c.post(f"/groups/{code}/status/", {"status": "archived"}).status_code == 302
    assert Group.objects.get(pk=g.pk).status == "archived"


def test_the_api_is_scoped(groups):
    from django.test import Client

    from tests.groups.test_forwards import bearer

    c = Client()
    mine = c.get("/api/v1/groups", **bearer(groups.convenor)).json()
    assert [g["code"] for g in mine] == [groups.group.code]
    assert mine[0]["invite_link"] == LINK and mine[0]["admins"][0]["phone"] == groups.pramukh.phone
    out = bearer(groups.outsider)
    assert c.get(f"/api/v1/groups/{groups.group.code}", **out).status_code == 404
    assert c.get("/api/v1/groups/coverage?unit=UP-D-162", **out).status_code == 404
    cov = c.get("/api/v1/groups/coverage?unit=UP-D-162", **bearer(groups.convenor)).json()
    assert cov["total"]["units_total"] == 2 and cov["total"]["units_covered"] == 1


def test_the_staff_navigation_links_the_groups(groups):
    page = client_for(groups.convenor).get("/groups/").content.decode()
    assert 'href="/groups/" aria-current="page"' in page
