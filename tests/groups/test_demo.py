"""The demo's groups: part of Lucknow's booths (coverage short of 100%), admins, counts over
weeks, a target and a trend; a second run changes nothing."""

from sangathan.groups.coverage import coverage_report, default_target
from sangathan.groups.demo import ensure_demo_groups
from sangathan.groups.models import CoverageSnapshot, ExpansionTarget, Group, MemberCount
from tests.factories import add_unit, make_person


def test_demo_groups_cover_part_of_lucknow(cast):
    for i in range(3, 30):
        booth = add_unit(cast.sector, "booth", f"UP-AC-172-PS-{i:03}", f"बूथ {i}")
        make_person(booth, f"सदस्य {i}")
    assert ensure_demo_groups(cast.superuser, cast.convenor, cast.lucknow) is True
    f = coverage_report(default_target(), cast.lucknow)["figures"]
    assert 0 < f.units_covered < f.units_total
    assert Group.objects.filter(admin_links__isnull=False).exists()
    assert MemberCount.objects.values("counted_on").distinct().count() >= 3
    assert ExpansionTarget.objects.filter(scope_unit=cast.lucknow).exists()
    trend = list(
        CoverageSnapshot.objects.filter(unit=cast.lucknow, target=None)
        .order_by("taken_on")
        .values_list("units_covered", flat=True)
    )
    assert len(trend) >= 3 and trend == sorted(trend) and trend[0] < trend[-1]
    assert not Group.objects.filter(unit=cast.kanpur_booth).exists()
    n = Group.objects.count()
    assert ensure_demo_groups(cast.superuser, cast.convenor, cast.lucknow) is False
    assert Group.objects.count() == n
