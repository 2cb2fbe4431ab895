import pytest

from sangathan.accounts.models import AuditLog
from sangathan.org.actions import ReorganisationError, do_move_unit, do_rename_unit
from sangathan.org.counts import recount
from sangathan.org.models import OrgUnit, UnitMove

COUNTS = ("people_count", "seats_total", "seats_filled")


def counts_of(*units):
    return {u.code: tuple(getattr(u, c) for c in COUNTS) for u in units}


def snapshot():
    return {u.code: tuple(getattr(u, c) for c in COUNTS) for u in OrgUnit.objects.all()}


def test_it_moves_a_whole_subtree_and_keeps_history(cast):
    t = cast
    subtree = set(OrgUnit.objects.within(t.ac_west).values_list("code", flat=True))
    move = do_move_unit(t.ac_west, t.kanpur, actor=t.state_admin, reason="delimitation")

    t.kanpur.refresh_from_db()
    moved = OrgUnit.objects.within(OrgUnit.objects.get(code="UP-AC-172"))
    assert set(moved.values_list("code", flat=True)) == subtree
    assert all(u.path.startswith(t.kanpur.path) for u in moved)
    booth = OrgUnit.objects.get(code="UP-AC-172-PS-001")
    assert [a.code for a in OrgUnit.objects.get_ancestors(booth)][:4] == [
        "IN",
        "UP",
        "UP-D-164",
        "UP-AC-172",
    ]
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])

    assert (move.old_parent, move.new_parent, move.moved_by) == (t.lucknow, t.kanpur, t.state_admin)
    assert move.old_path == t.ac_west.path and move.new_path.startswith(t.kanpur.path)
    assert UnitMove.objects.filter(unit__code="UP-AC-172").count() == 1
    entry = AuditLog.objects.get(action="move_unit")
    assert entry.actor == t.state_admin
    assert entry.detail["old_parent"] == "UP-D-162" and entry.detail["new_parent"] == "UP-D-164"
    assert entry.detail["reason"] == "delimitation"


def test_moving_carries_the_maintained_counts_to_the_new_ancestors(cast):
    t = cast
    lucknow_before = counts_of(OrgUnit.objects.get(code="UP-D-162"))["UP-D-162"]
    t.ac_west.refresh_from_db()
    ac_counts = counts_of(t.ac_west)["UP-AC-172"]
    assert ac_counts[0] > 0  # the booth volunteer lives there

    do_move_unit(t.ac_west, t.kanpur)

    after = snapshot()
    assert after["UP-D-162"] == tuple(b - a for b, a in zip(lucknow_before, ac_counts, strict=True))
    # The maintained counts after the move are exactly what a full recount gives.
    recount()
    assert snapshot() == after


def test_it_refuses_moves_that_would_break_the_tree(cast):
    t = cast
    before = dict(OrgUnit.objects.values_list("code", "path"))
    cases = [
        (t.lucknow, t.lucknow, "under itself"),
        (t.lucknow, t.booth1, "under itself or a unit below it"),
        (t.sector, t.kanpur_sector, "higher level"),
        (t.mandal, t.kanpur_booth, "higher level"),
        (t.ac_west, t.lucknow, "already under"),
    ]
    for unit, parent, message in cases:
        with pytest.raises(ReorganisationError, match=message):
            do_move_unit(unit, parent)
    assert dict(OrgUnit.objects.values_list("code", "path")) == before
    assert not UnitMove.objects.exists()
    assert not AuditLog.objects.filter(action="move_unit").exists()


def test_a_sector_can_move_to_another_mandal(cast):
    t = cast
    do_move_unit(t.sector, t.kanpur_mandal)
    t.kanpur_mandal.refresh_from_db()
    assert t.kanpur_mandal.numchild == 2
    assert OrgUnit.objects.get(code="UP-AC-172-PS-002").is_within(t.kanpur_mandal)
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])


def test_rename_is_audited(cast):
    do_rename_unit(cast.mandal, name="गोमती मंडल", name_en="Gomti Mandal", actor=cast.convenor)
    cast.mandal.refresh_from_db()
    assert (cast.mandal.name, cast.mandal.name_en) == ("गोमती मंडल", "Gomti Mandal")
    entry = AuditLog.objects.get(action="rename_unit")
    assert entry.detail["before"]["name"] == "मंडल 1"
    with pytest.raises(ReorganisationError):
        do_rename_unit(cast.mandal, name="  ")
