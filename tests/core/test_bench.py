import json
from io import StringIO

import pytest
from django.core.management import call_command

from sangathan.core.bench import _percentile
from sangathan.people.models import Person


def bench(*args) -> dict:
    out = StringIO()
    call_command("bench", *args, "--json", stdout=out)
    text = out.getvalue().strip()
    assert text.count("\n") == 0, "one JSON object on one line"
    return json.loads(text)


@pytest.mark.django_db
def test_bench_seed_prints_one_json_object_and_leaves_this_database_alone():
    result = bench("seed", "--people", "3000", "--booths", "20", "--runs", "1")
    assert {"rows_per_s", "baseline_rows_per_s", "ratio", "rows", "runs", "database"} <= set(result)
    assert result["rows"] == 3000 and result["runs"] == 1
    assert result["ratio"] == pytest.approx(
        result["rows_per_s"] / result["baseline_rows_per_s"], rel=0.01
    )
    assert not Person.objects.exists()  # it ran on a scratch database


@pytest.mark.django_db
def test_bench_subtree_prints_timings_per_level_and_verifies_counts():
    result = bench("subtree", "--booths", "60", "--people", "600", "--samples", "5")
    assert {"p50_ms", "p99_ms", "booths", "people", "samples", "per_level", "scan_p50_ms"} <= set(
        result
    )
    assert result["counts_verified"] is True
    assert (result["booths"], result["people"], result["samples"]) == (60, 600, 25)
    assert set(result["per_level"]) == {"national", "state", "district", "assembly", "booth"}
    assert not Person.objects.exists()


def test_percentile_picks_the_high_tail():
    values = list(range(1, 101))
    assert _percentile(values, 99) == 99
    assert _percentile(values, 50) in (50, 51)


@pytest.mark.django_db
def test_bench_search_times_every_query_for_the_nation_and_a_district():
    result = bench("search", "--booths", "300", "--people", "2000", "--samples", "2")
    assert (result["booths"], result["people"]) == (300, 2000)
    scopes = {"national", "district"}
    queries = {"first_name_latin", "surname_devanagari", "two_words", "prefix_4", "phone_tail"}
    assert set(result["cases"]) == {f"{s}/{q}" for s in scopes for q in queries}
    assert result["samples"] == 2 * len(result["cases"])
    for case in result["cases"].values():
        assert 0 < case["p50_ms"] <= case["p99_ms"]
    # The phone tail belongs to someone in the convenor's district: both find them.
    assert result["cases"]["national/phone_tail"]["found"] == 1
    assert result["cases"]["district/phone_tail"]["found"] == 1
    assert result["cases"]["national/surname_devanagari"]["found"] > 0
    assert not Person.objects.exists()
