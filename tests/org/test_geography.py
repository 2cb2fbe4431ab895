import csv
import gzip
from collections import Counter

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from sangathan.org.geography import (
    GeographyError,
    find_state,
    group_booths,
    import_geography,
    plan_sectors,
)
from sangathan.org.models import OrgUnit, PollingLocation

NO_PROBLEMS = ([], [], [], [], [])


def stations_in_data(ac_no: int) -> list[dict]:
    path = settings.SANGATHAN_DATA_DIR / "up_polling_stations.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["ac_no"] == str(ac_no)]


def level_counts(prefix: str = "") -> Counter:
    qs = OrgUnit.objects.all()
    if prefix:
        qs = qs.filter(code__startswith=prefix)
    return Counter(qs.values_list("level__slug", flat=True))


@pytest.fixture
def up(db):
    import_geography("UP")


def test_it_imports_uttar_pradesh_with_real_names(up):
    counts = level_counts()
    assert (counts["national"], counts["state"], counts["district"], counts["assembly"]) == (
        1,
        1,
        75,
        403,
    )
    state = OrgUnit.objects.get(code="UP")
    assert (state.name, state.name_en, state.lgd_code) == ("उत्तर प्रदेश", "Uttar Pradesh", "9")
    assert OrgUnit.objects.get_parent(state).code == "IN"
    ac = OrgUnit.objects.get(code="UP-AC-173")
    assert (ac.name, ac.name_en, ac.name_hi) == ("लखनऊ पूर्व", "Lucknow East", "लखनऊ पूर्व")
    assert (ac.ac_no, ac.pc_no, ac.pc_name, ac.reserved) == (173, 35, "Lucknow", "GEN")
    assert OrgUnit.objects.get_parent(ac).code == "UP-D-162"
    assert OrgUnit.objects.get(code="UP-D-162").name == "लखनऊ"
    assert OrgUnit.objects.get(code="UP-AC-176").reserved == "SC"
    assert OrgUnit.objects.get(code="UP-AC-403").reserved == "ST"
    # No Hindi name in the data: the English one stands in, name_hi stays empty.
    kanpur = OrgUnit.objects.get(name_en="Kanpur Nagar", level__slug="district")
    assert (kanpur.name, kanpur.name_hi) == ("Kanpur Nagar", "")
    # Every AC sits directly under a district of UP.
    lucknow = OrgUnit.objects.get(code="UP-D-162")
    assert OrgUnit.objects.get_children(lucknow).count() == 9
    assert OrgUnit.objects.find_problems() == NO_PROBLEMS


def test_a_second_run_creates_nothing_and_restores_changed_names(up):
    OrgUnit.objects.filter(code="UP-AC-173").update(name="गलत", pc_no=99)
    before = OrgUnit.objects.count()
    result = import_geography("UP")
    assert result["created"] == {}
    assert result["updated"] == 1
    assert OrgUnit.objects.count() == before
    ac = OrgUnit.objects.get(code="UP-AC-173")
    assert (ac.name, ac.pc_no) == ("लखनऊ पूर्व", 35)


def test_it_imports_one_acs_booths_apart_from_their_buildings(up):
    rows = stations_in_data(173)
    result = import_geography("UP", booths=True, acs=[173])
    booths = OrgUnit.objects.filter(level__slug="booth")
    assert booths.count() == len(rows) == result["created"]["booth"]
    ac = OrgUnit.objects.get(code="UP-AC-173")
    assert OrgUnit.objects.get_children(ac).count() == len(rows)
    first = OrgUnit.objects.get(code="UP-AC-173-PS-001")
    assert first.name_en == "Eram I.College Phool Bag Colony Near Thana Gudamba Room No -1"
    assert (first.ps_no, first.ac_no, first.electors) == ("1", 173, 1344)
    assert first.polling_location.name == "Eram I.College Phool Bag Colony Near Thana Gudamba"
    assert first.polling_location.assembly == ac
    # Several stations share one building; stations with neither part get no location.
    buildings = {(r["polling_location"], r["locality"]) for r in rows}
    buildings.discard(("", ""))
    assert PollingLocation.objects.filter(assembly=ac).count() == len(buildings)
    without = sum(1 for r in rows if not r["polling_location"] and not r["locality"])
    assert booths.filter(polling_location__isnull=True).count() == without
    assert OrgUnit.objects.find_problems() == NO_PROBLEMS

    again = import_geography("UP", booths=True, acs=[173])
    assert again["created"] == {} and again["updated"] == 0
    assert booths.count() == len(rows)


def test_auxiliary_stations_keep_their_suffix_and_hindi_names(up):
    import_geography("UP", booths=True, acs=[175])
    booth = OrgUnit.objects.get(code="UP-AC-175-PS-081A")
    assert booth.ps_no == "81A"
    assert booth.name == booth.name_hi and booth.name_hi.startswith("स्वामी विवेकानन्द")


def test_grouping_puts_every_booth_in_one_sector_in_number_order(up):
    rows = stations_in_data(173)
    result = import_geography("UP", booths=True, acs=[173], group=True, booths_per_sector=10)
    assert result["created"]["booth"] == len(rows)
    assert OrgUnit.objects.find_problems() == NO_PROBLEMS
    ac = OrgUnit.objects.get(code="UP-AC-173")
    assert {u.level.slug for u in OrgUnit.objects.get_children(ac)} == {"mandal"}
    assert OrgUnit.objects.get(code="UP-AC-173-M-01").name_en == "Mandal 1"
    order = []
    for sector in OrgUnit.objects.filter(level__slug="sector").order_by("path"):
        assert OrgUnit.objects.get_parent(sector).level.slug == "mandal"
        children = list(OrgUnit.objects.get_children(sector))
        assert children and {c.level.slug for c in children} == {"booth"}
        assert len(children) <= 15
        order += [int(c.ps_no) for c in children]
    assert order == sorted(order) and len(order) == len(rows)
    assert OrgUnit.objects.within(ac).filter(level__slug="booth").count() == len(rows)


def test_group_booths_moves_booths_imported_flat_and_a_rerun_keeps_them(up):
    import_geography("UP", booths=True, acs=[176])
    ac = OrgUnit.objects.get(code="UP-AC-176")
    n = OrgUnit.objects.filter(level__slug="booth").count()
    result = group_booths(ac, booths_per_sector=8, sectors_per_mandal=5)
    assert result["moved"] == n and result["sector"] >= n // 12
    assert OrgUnit.objects.find_problems() == NO_PROBLEMS
    ac.refresh_from_db()
    assert ac.numchild == result["mandal"]
    assert not OrgUnit.objects.get_children(ac).filter(level__slug="booth").exists()
    assert OrgUnit.objects.filter(level__slug="booth", depth=ac.depth + 3).count() == n
    again = import_geography("UP", booths=True, acs=[176], group=True)
    assert again["created"] == {} and again["moved"] == 0


def test_plan_keeps_a_building_together_when_it_fits():
    booths = [(f"b{i}", "school" if 8 <= i < 13 else f"x{i}") for i in range(30)]
    plan = plan_sectors(booths, booths_per_sector=10, sectors_per_mandal=2)
    assert len({plan[f"b{i}"] for i in range(8, 13)}) == 1
    assert plan["b0"] == (1, 1) and plan["b29"][0] == 2


def test_other_states_load_the_same_way(db):
    result = import_geography("GA")
    assert result["created"] == {"national": 1, "state": 1, "district": 2, "assembly": 40}
    goa = OrgUnit.objects.get(code="GA")
    assert (goa.name, goa.name_en) == ("गोवा", "Goa")
    assert OrgUnit.objects.get(code="GA-AC-001").level.slug == "assembly"
    import_geography("Delhi")
    unassigned = OrgUnit.objects.get(code="DL-D-NA")
    assert (unassigned.name, unassigned.name_en) == ("अनिर्दिष्ट", "Unassigned")
    assert OrgUnit.objects.get_children(unassigned).count() == 70
    assert OrgUnit.objects.filter(code="IN").count() == 1
    assert OrgUnit.objects.find_problems() == NO_PROBLEMS


def test_superseded_constituencies_are_left_out_unless_asked_for(db):
    result = import_geography("AS")
    assert result["skipped_superseded"] == 126
    assert not OrgUnit.objects.filter(level__slug="assembly").exists()
    import_geography("AS", include_superseded=True)
    assert OrgUnit.objects.filter(level__slug="assembly").count() == 126


def test_state_is_found_by_code_lgd_code_or_name():
    assert find_state("up").short == find_state("9").short == find_state("Uttar Pradesh").short
    assert find_state("IN-MH").name_en == "Maharashtra"


def test_it_refuses_bad_input_with_a_clear_error(db):
    with pytest.raises(CommandError, match="Unknown state “Atlantis”"):
        call_command("import-geography", "--state", "Atlantis")
    with pytest.raises(GeographyError, match="Bihar has none"):
        import_geography("BR", booths=True)
    with pytest.raises(GeographyError, match="no assembly constituency number 999"):
        import_geography("UP", booths=True, acs=[999])
    with pytest.raises(GeographyError, match="no district “Gotham”"):
        import_geography("UP", booths=True, districts=["Gotham"])
    assert not OrgUnit.objects.exists()


def test_the_command_imports_a_district_s_booths(up, capsys):
    call_command(
        "import-geography", "--state", "UP", "--booths", "--district", "Lucknow", "--ac", "1"
    )
    out = capsys.readouterr().out
    assert "UP: created" in out
    lucknow_acs = OrgUnit.objects.filter(level__slug="booth").values_list("ac_no", flat=True)
    assert set(lucknow_acs) == {1, 168, 169, 170, 171, 172, 173, 174, 175, 176}


def test_importing_under_an_existing_tree_reuses_units_and_recounts_seats(tree):
    # The cast's tree already holds IN, UP, Lucknow (UP-D-162) and AC 172 with two booths,
    # and a booth-level position of one seat.
    import_geography("UP", booths=True, acs=[172])
    assert OrgUnit.objects.filter(code="UP").count() == 1
    assert OrgUnit.objects.get(code="UP-AC-172").name == "लखनऊ उत्तर"
    n = len(stations_in_data(172))
    # UP-AC-172-PS-001/002 existed under the cast's sector: refreshed, not duplicated or moved.
    assert OrgUnit.objects.filter(level__slug="booth", ac_no=172).count() == n
    assert OrgUnit.objects.get(code="UP-AC-172-PS-001").is_within(tree.sector)
    lucknow = OrgUnit.objects.get(code="UP-D-162")
    # One booth-volunteer seat per booth in Lucknow, plus the district convenor's seat.
    assert lucknow.seats_total == n + 1
    assert OrgUnit.objects.find_problems() == NO_PROBLEMS
