"""The channel benchmarks at toy sizes, each through its own scratch database, a real worker
or web server process and the provider emulator: one JSON object of the promised shape with
figures that hang together. Not timed: the figures themselves are for the issue note."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sangathan.channels.bench import (
    WEBHOOK_STATUSES,
    covering_unit,
    make_outbox,
    signed_posts,
    status_stream,
)
from sangathan.channels.webhooks import signature_ok

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_outbox_is_made_in_the_smallest_unit_that_holds_its_rows():
    from sangathan.channels.models import Delivery
    from sangathan.core import seeding
    from sangathan.people.models import Consent
    from tests.factories import add_unit, make_person

    india = seeding.national_root()
    up = add_unit(india, "state", "S09", "उत्तर प्रदेश")
    bihar = add_unit(india, "state", "S04", "बिहार")
    lucknow = add_unit(up, "district", "D1", "लखनऊ")
    kanpur = add_unit(up, "district", "D2", "कानपुर")
    people = [make_person(u) for u in [lucknow] * 3 + [kanpur] * 5 + [bihar] * 2]
    assert covering_unit(3) == lucknow  # the fewest people that still hold 3
    assert covering_unit(4) == kanpur
    assert covering_unit(6) == up
    assert covering_unit(9) == india
    assert covering_unit(20) == india  # nobody holds them all: the top, broadcast repeatedly
    for p in people:
        Consent.objects.create(person=p, channel="sms", purpose="organisational", evidence="test")
    broadcasts, rows = make_outbox("sms", 4)
    assert rows == 4 and len(broadcasts) == 1
    made = Delivery.objects.filter(broadcast_id__in=broadcasts, channel="sms")
    assert made.count() == 4
    assert {d.person.unit_id for d in made} == {kanpur.pk}
    # Never below the assembly: the deepest units with counters.
    ac = add_unit(bihar, "assembly", "AC1", "पटना साहिब")
    booth = add_unit(ac, "booth", "B1", "बूथ 1")
    for _ in range(4):
        make_person(booth)
    assert covering_unit(4) == ac  # not its booth, which holds them too


def bench(*args) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "sangathan.channels.bench", *args, "--json"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = done.stdout.strip()
    assert text.count("\n") == 0, "one JSON object on one line"
    return json.loads(text)


def test_status_stream_reports_every_status_of_every_message_in_order():
    stream = status_stream(["a", "b", "c"], ("sent", "delivered", "read"), lag=2)
    assert sorted(stream) == sorted((i, s) for i in range(3) for s in ("sent", "delivered", "read"))
    for i in range(3):  # each message's statuses come in their own order, the lag apart
        at = [stream.index((i, s)) for s in ("sent", "delivered", "read")]
        assert at == sorted(at)
    assert stream[:3] == [(0, "sent"), (1, "sent"), (2, "sent")]


@pytest.mark.parametrize("provider", sorted(WEBHOOK_STATUSES))
def test_signed_posts_carry_per_post_statuses_the_webhook_accepts(provider):
    refs = [f"ref-{i}" for i in range(7)]
    posts = signed_posts(provider, refs, per_post=4, secret="s3cret", lag=2)
    assert [n for *_rest, n in posts] == [4] * (len(posts) - 1) + [posts[-1][3]]
    assert sum(n for *_rest, n in posts) == 7 * len(WEBHOOK_STATUSES[provider])
    header = "X-Hub-Signature-256" if provider == "whatsapp" else "X-Sangathan-Signature"
    for path, raw, headers, _n in posts:
        assert path == f"/hooks/{provider}"
        assert signature_ok("s3cret", raw, headers[header])
        assert not signature_ok("other", raw, headers[header])


def test_bench_send_drains_through_a_real_worker_at_the_emulators_rate():
    result = bench("send", "--rates", "40", "--seconds", "2", "--people", "200", "--booths", "20")
    assert result["bench"] == "send" and len(result["rates"]) == 1
    run = result["rates"][0]
    assert run["outbox_rows"] == 88  # R × seconds × 1.1
    assert run["worker_finished"] is True  # --until-idle sent the whole outbox and stopped
    # The emulator never accepts more than R a second plus its one-second burst.
    assert 0 < run["accepted_in_window"] <= 40 * 3
    assert run["achieved_per_s"] == pytest.approx(run["accepted_in_window"] / 2, abs=0.1)
    assert run["ratio"] == pytest.approx(run["achieved_per_s"] / 40, abs=0.002)
    assert 0 <= run["share_429"] <= 1
    assert run["worker_cores"] is None or 0 < run["worker_cores"] < 4
    assert result["ratio"] == run["ratio"]


def test_bench_webhooks_stores_every_status_and_applies_them():
    result = bench(
        "webhooks",
        *("--rates", "20", "--seconds", "2", "--people", "200", "--booths", "20"),
        *("--runs", "1", "--per-post", "10", "--clients", "4"),
    )
    assert result["bench"] == "webhooks" and result["provider"] == "whatsapp"
    run = result["rates"][0]
    assert run["messages"] == 40 and run["statuses"] == 120 == run["stored_events"]
    assert run["posts"] == 12 and run["errors"] == {}
    assert 0 < run["latency_p50_ms"] <= run["latency_p99_ms"] <= run["latency_max_ms"]
    assert run["events_applied"] == [120]
    assert run["verified"] is True  # every delivery read, the reach counters agree
    assert run["ratio"] == pytest.approx(
        run["applied_rows_per_s"] / run["raw_update_rows_per_s"], rel=0.05
    )
