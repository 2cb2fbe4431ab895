"""Committee templates: who may edit them, applying them to an area (seats count there and
the maintained counters stay right), removing them, and appointing against their seats."""

import pytest

from sangathan.accounts.models import AuditLog
from sangathan.people.actions import ActionRefused, do_appoint
from sangathan.people.committees import (
    can_edit_templates,
    do_apply_template,
    do_remove_template,
    do_save_template,
    seats_at,
)
from sangathan.people.models import CommitteeTemplate
from tests.conftest import client_for
from tests.factories import level, make_person
from tests.people.committee_fixtures import (
    apply_in_lucknow,
    assert_counts_match_recount,
    make_committees,
)


@pytest.fixture
def t(cast):
    return make_committees(cast)


def test_template_posts_count_only_where_the_committee_applies(t):
    t.lucknow.refresh_from_db()
    t.kanpur.refresh_from_db()
    before = (t.lucknow.seats_total, t.kanpur.seats_total)
    assert seats_at(t.it_volunteer, t.booth1) == 0
    apply_in_lucknow(t)
    # 2 booths x 4 seats, and the district team's 3 seats at Lucknow itself
    assert t.lucknow.seats_total == before[0] + 2 * 4 + 3
    assert t.kanpur.seats_total == before[1]
    assert t.booth1.seats_total == 1 + 4  # the booth volunteer's own seat, then the committee
    assert t.sector.seats_total == 2 * (1 + 4)
    assert seats_at(t.it_volunteer, t.booth1) == 1
    assert seats_at(t.it_volunteer, t.kanpur_booth) == 0
    assert seats_at(t.co_convenor, t.lucknow) == 2
    assert_counts_match_recount()
    assert AuditLog.objects.filter(action="committee_applied").count() == 2


def test_appointing_to_a_template_post_needs_the_committee_there(t):
    apply_in_lucknow(t)
    member = make_person(t.booth2, "नीरज")
    with pytest.raises(ActionRefused) as e:
        do_appoint(member, t.it_volunteer, t.kanpur_booth, actor=None)
    assert e.value.code == "no_seat"
    do_appoint(member, t.it_volunteer, t.booth2, actor=t.convenor)
    other = make_person(t.booth2, "रवि")
    with pytest.raises(ActionRefused) as e:
        do_appoint(other, t.it_volunteer, t.booth2, actor=t.convenor)
    assert e.value.code == "seats_full"
    assert_counts_match_recount()


def test_overlapping_areas_are_refused(t):
    apply_in_lucknow(t)
    with pytest.raises(ActionRefused) as e:
        do_apply_template(t.booth_committee, t.sector, actor=t.convenor)
    assert e.value.code == "overlap"
    with pytest.raises(ActionRefused) as e:
        do_apply_template(t.booth_committee, t.up, actor=t.state_admin)
    assert e.value.code == "overlap"


def test_outsider_cannot_apply_in_lucknow_and_below_level_is_refused(t):
    with pytest.raises(ActionRefused) as e:
        do_apply_template(t.booth_committee, t.lucknow, actor=t.outsider)
    assert e.value.code == "outside_jurisdiction"
    with pytest.raises(ActionRefused) as e:
        do_apply_template(t.district_team, t.booth1, actor=t.convenor)
    assert e.value.code == "scope_below_level"


def test_removing_refuses_while_held_then_restores_the_counts(t):
    t.lucknow.refresh_from_db()
    lucknow_before = t.lucknow.seats_total
    apply_in_lucknow(t)
    member = make_person(t.booth2, "नीरज")
    a = do_appoint(member, t.whatsapp, t.booth2, actor=t.convenor)
    with pytest.raises(ActionRefused) as e:
        do_remove_template(t.booth_applied, actor=t.convenor)
    assert e.value.code == "seats_held"
    from sangathan.people.actions import do_end_appointment

    do_end_appointment(a, actor=t.convenor)
    do_remove_template(t.booth_applied, actor=t.convenor)
    t.lucknow.refresh_from_db()
    assert t.lucknow.seats_total == lucknow_before + 3  # the district team still applies
    assert_counts_match_recount()


def test_only_the_state_team_edits_templates(t):
    assert can_edit_templates(t.superuser)
    assert can_edit_templates(t.state_admin)
    assert not can_edit_templates(t.convenor)
    assert not can_edit_templates(t.outsider)
    with pytest.raises(ActionRefused) as e:
        do_save_template(
            actor=t.convenor, name_en="Mine", level=level("booth"), seats=[(t.booth_pos, 1)]
        )
    assert e.value.code == "not_template_editor"


def test_a_post_belongs_to_one_committee_and_to_the_level(t):
    with pytest.raises(ActionRefused) as e:
        do_save_template(
            actor=t.state_admin, name_en="Other", level=level("booth"), seats=[(t.whatsapp, 1)]
        )
    assert e.value.code == "seat_in_other_template"
    with pytest.raises(ActionRefused) as e:
        do_save_template(
            actor=t.state_admin, name_en="Odd", level=level("booth"), seats=[(t.social, 1)]
        )
    assert e.value.code == "wrong_level"


def test_editing_seats_of_an_applied_template_keeps_counts_right(t):
    apply_in_lucknow(t)
    do_save_template(
        actor=t.state_admin,
        template=t.booth_committee,
        name_en="Booth committee",
        level=level("booth"),
        seats=[(t.president, 1), (t.it_volunteer, 2)],
    )
    t.booth1.refresh_from_db()
    # booth volunteer 1, the committee's 1 + 2, and the two posts that left it count their
    # own seat at every booth again
    assert t.booth1.seats_total == 1 + 3 + 1 + 1
    assert seats_at(t.whatsapp, t.booth1) == 1  # left the committee: its own seats again
    assert_counts_match_recount()


# --- pages ----------------------------------------------------------------------------------


def test_committee_pages(t):
    apply_in_lucknow(t)
    c = client_for(t.convenor)
    r = c.get("/people/committees/")
    assert r.status_code == 200
    assert "Booth committee" in r.text and "UP-D-162 ·" in r.text
    # the convenor may not edit
    assert c.get(f"/people/committees/{t.booth_committee.pk}/").status_code == 403
    assert c.post("/people/committees/new/", {"name_en": "X"}).status_code == 403
    # the state in-charge may
    s = client_for(t.state_admin)
    r = s.get("/people/committees/new/?level=district")
    assert r.status_code == 200 and "Social-media in-charge" not in r.text  # in a template
    r = s.post(
        "/people/committees/new/?level=booth",
        {"name_en": "Booth youth team", "level": "booth", f"seats_{t.booth_pos.pk}": "2"},
    )
    assert r.status_code == 302
    assert CommitteeTemplate.objects.filter(name_en="Booth youth team").exists()
    r = s.post(
        "/people/committees/new/",
        {"name_en": "Dup", "level": "booth", f"seats_{t.whatsapp.pk}": "1"},
    )
    # a post of another committee is not offered, so nothing is left to save
    assert r.status_code == 400 and "at least one post" in r.text


def test_outsider_cannot_see_or_touch_lucknow_committees(t):
    apply_in_lucknow(t)
    c = client_for(t.outsider)
    r = c.get("/people/committees/")
    assert r.status_code == 200 and "UP-D-162 ·" not in r.text and "लखनऊ" not in r.text
    r = c.post(f"/people/committees/areas/{t.booth_applied.pk}/remove/")
    assert r.status_code == 404
    r = c.post(f"/people/committees/{t.booth_committee.pk}/apply/", {"unit_code": "UP-D-162"})
    assert r.status_code == 302
    from sangathan.people.models import AppliedCommittee

    assert AppliedCommittee.objects.filter(scope=t.lucknow).count() == 2
    # a user with no area at all
    from sangathan.accounts.models import User

    nobody = User.objects.create_user("+919810000099", name="Nobody")
    assert client_for(nobody).get("/people/committees/").status_code == 404


def test_apply_and_remove_through_the_page(t):
    c = client_for(t.convenor)
    r = c.post(f"/people/committees/{t.booth_committee.pk}/apply/", {"unit_code": "UP-AC-172"})
    assert r.status_code == 302
    t.ac_west.refresh_from_db()
    assert t.ac_west.seats_total >= 8
    from sangathan.people.models import AppliedCommittee

    app = AppliedCommittee.objects.get(scope=t.ac_west)
    r = c.post(f"/people/committees/areas/{app.pk}/remove/")
    assert r.status_code == 302
    assert not AppliedCommittee.objects.filter(scope=t.ac_west).exists()
    assert_counts_match_recount()


def test_demo_committees(cast):
    from sangathan.people.demo_committees import ensure_demo_committees
    from sangathan.people.models import AppliedCommittee, Appointment

    for i in range(6):
        make_person(cast.booth1 if i % 2 else cast.booth2, f"सदस्य {i}")
    assert ensure_demo_committees(cast.superuser, cast.convenor, cast.lucknow) is True
    assert ensure_demo_committees(cast.superuser, cast.convenor, cast.lucknow) is False
    names = set(CommitteeTemplate.objects.values_list("name_en", flat=True))
    assert names == {"Booth committee", "District IT team"}
    assert AppliedCommittee.objects.filter(scope=cast.lucknow).count() == 2
    cast.lucknow.refresh_from_db()
    assert 0 < cast.lucknow.seats_filled < cast.lucknow.seats_total  # some vacancies left
    assert Appointment.objects.current().filter(position__title_en="IT volunteer").exists()
    assert_counts_match_recount()
