"""``sangathan bench join`` at toy size: one JSON object whose figures hang together. Not
timed: the figure itself is for the issue note."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from sangathan.drives.models import Drive


@pytest.mark.django_db
def test_bench_join_signs_people_up_through_a_real_server():
    out = StringIO()
    call_command(
        "bench",
        "join",
        "--booths",
        "20",
        "--people",
        "200",
        "--samples",
        "32",
        "--clients",
        "16",
        "--json",
        stdout=out,
    )
    text = out.getvalue().strip()
    assert text.count("\n") == 0, "one JSON object on one line"
    result = json.loads(text)
    assert result["bench"] == "join" and result["clients"] == 16
    assert result["signups_done"] == 32 and result["errors"] == {}
    assert result["signups_per_s"] > 0
    assert result["signups_per_s"] == pytest.approx(32 / result["seconds"], rel=0.05)
    assert set(result["steps"]) == {"page", "otp_request", "otp_wait", "verify_join"}
    assert sum(step["share"] for step in result["steps"].values()) == pytest.approx(1, abs=0.01)
    for step in result["steps"].values():
        assert step["n"] == 32
    # One in-process walk + 16 warm-up sign-ups + 32 timed ones, each a new person.
    assert result["new_people"] == 32 + 16
    assert sum(result["sign_up_statuses"].values()) == 1 + 16 + 32
    assert {s["status"] for s in result["in_process_one_signup"].values()} == {200}
    assert not Drive.objects.exists()  # it ran on a scratch database
