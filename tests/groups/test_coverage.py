"""Coverage: booths with and without a group, per unit, from grouped queries; targets;
daily snapshots and the trend."""

import datetime

from sangathan.groups.actions import do_create_group, do_create_target, do_set_group_status
from sangathan.groups.coverage import (
    coverage_report,
    default_target,
    take_snapshots,
    take_snapshots_if_missing,
)
from sangathan.groups.models import CoverageSnapshot
from sangathan.org.models import Level
from tests.conftest import client_for
from tests.factories import add_unit


def figures(target, unit):
    f = coverage_report(target, unit)["figures"]
    return f.units_total, f.units_covered, f.groups, f.members


def test_booths_with_and_without_a_group(groups):
    t = default_target()
    assert figures(t, groups.lucknow) == (2, 1, 1, 120)
    assert figures(t, groups.up) == (3, 2, 2, 200)
    report = coverage_report(t, groups.up)
    rows = {r["unit"].code: r["figures"] for r in report["rows"]}
    assert (rows["UP-D-162"].units_covered, rows["UP-D-162"].uncovered) == (1, 1)
    assert rows["UP-D-162"].percent == 50 and rows["UP-D-164"].percent == 100
    # a second group in the same booth covers nothing more; an archived one counts for nothing
    do_create_group(groups.convenor, unit=groups.booth1, name="युवा", purpose="youth")
    assert figures(t, groups.lucknow) == (2, 1, 2, 120)
    do_set_group_status(groups.convenor, groups.group, "archived")
    assert figures(t, groups.lucknow)[:2] == (2, 1)


def test_a_target_counts_its_purpose_and_groups_per_unit(groups):
    booth = Level.objects.get(slug="booth")
    target = do_create_target(
        groups.convenor, scope_unit=groups.lucknow, level=booth, purpose="youth", per_unit=1
    )
    assert figures(target, groups.lucknow)[:2] == (2, 0)
    do_create_group(groups.convenor, unit=groups.booth2, name="युवा", purpose="youth")
    assert figures(target, groups.lucknow)[:2] == (2, 1)
    two = do_create_target(groups.convenor, scope_unit=groups.lucknow, level=booth, per_unit=2)
    assert figures(two, groups.lucknow)[:2] == (2, 0)


def test_drill_down_uses_the_tree_levels_when_one_is_missing(groups):
    """UP has no regions: the state's children are districts, and so on down."""
    report = coverage_report(default_target(), groups.up)
    assert [r["unit"].level.slug for r in report["rows"]] == ["district", "district"]
    assert all(r["drill"] for r in report["rows"])
    sector = coverage_report(default_target(), groups.sector)
    assert [r["is_target_level"] for r in sector["rows"]] == [True, True]
    assert not any(r["drill"] for r in sector["rows"])


def test_the_page_costs_the_same_queries_with_more_booths(groups, django_assert_max_num_queries):
    c = client_for(groups.convenor)
    c.get("/groups/coverage/?unit=UP-D-162")  # warm the session
    with django_assert_max_num_queries(16) as first:
        r = c.get("/groups/coverage/?unit=UP-D-162")
    assert r.status_code == 200
    for i in range(3, 40):
        add_unit(groups.sector, "booth", f"UP-AC-172-PS-{i:03}", f"बूथ {i}")
    ac2 = add_unit(groups.lucknow, "assembly", "UP-AC-173", "लखनऊ उत्तर", "Lucknow North")
    add_unit(ac2, "booth", "UP-AC-173-PS-001", "बूथ")
    with django_assert_max_num_queries(len(first.captured_queries)):
        r = c.get("/groups/coverage/?unit=UP-D-162")
    text = r.content.decode()
    assert 'id="covered">1<' in text and 'id="uncovered">39<' in text


def test_snapshots_give_a_trend(groups):
    day1 = datetime.date.today() - datetime.timedelta(days=2)
    assert take_snapshots(day1) > 0
    do_create_group(groups.convenor, unit=groups.booth2, name="दूसरा")
    take_snapshots()
    rows = CoverageSnapshot.objects.filter(unit=groups.lucknow, target=None).order_by("taken_on")
    assert [(s.units_covered, s.units_total) for s in rows] == [(1, 2), (2, 2)]
    # one snapshot per unit down to the assembly level, none below
    assert not CoverageSnapshot.objects.filter(unit=groups.mandal).exists()
    assert CoverageSnapshot.objects.filter(unit=groups.ac_west, taken_on=day1).exists()
    assert take_snapshots_if_missing() == 0  # today's exists
    text = client_for(groups.convenor).get("/groups/coverage/?unit=UP-D-162").content.decode()
    assert "<polyline" in text


def test_outsiders_get_404_for_units_and_targets(groups):
    booth = Level.objects.get(slug="booth")
    target = do_create_target(groups.convenor, scope_unit=groups.lucknow, level=booth)
    out = client_for(groups.outsider)
    assert out.get("/groups/coverage/?unit=UP-D-162").status_code == 404
    assert out.get(f"/groups/coverage/?unit=UP-D-164&target={target.pk}").status_code == 404
    assert out.post(f"/groups/targets/{target.pk}/archive/").status_code == 404
    r = out.post("/groups/targets/", {"scope": "UP-D-162", "level": "booth", "per_unit": 1})
    assert r.status_code == 302
    assert not target.__class__.objects.filter(scope_unit=groups.lucknow).exclude(pk=target.pk)
    own = out.get("/groups/coverage/").content.decode()
    assert "Kanpur" in own and "Lucknow" not in own
