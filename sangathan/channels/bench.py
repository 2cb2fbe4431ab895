"""Channel benchmarks behind ``sangathan bench send|webhooks --json``.

Like the others (``sangathan.core.bench``, ``sangathan.broadcasts.bench``) they run in a child
process on a scratch database, seed a synthetic organisation, and return one JSON-ready dict
whose ``ratio`` compares our figure with a limit measured in the same run:

- ``send`` (``bench_send``): for each rate R, the provider emulator accepts R messages a
  second and answers 429 above it; one real worker process (``sangathan worker --until-idle
  --channel sms``, the SMS adapter pointed at the emulator, ``SANGATHAN_SMS_RATE`` = R) drains
  an outbox of R × seconds × 1.1 queued SMS deliveries. Over the ``seconds`` that follow the
  first accepted message: the rate the emulator accepted, ``ratio`` = that / R (≥ 0.95), the
  share of messages answered 429 (≤ 1%), and the worker's CPU time / wall time (≤ 1 core at
  R = 1,000), read from ``/proc/<pid>/stat``.
- ``webhooks`` (``bench_webhooks``): for each R, status callbacks for R messages a second
  (WhatsApp: sent, delivered and read, so 3 R statuses a second) in the emulator's payload
  shapes, signed as the emulator signs them, ``per_post`` statuses per POST, paced open-loop
  by ``clients`` keep-alive connections against gunicorn on 127.0.0.1 (as ``sangathan serve``
  runs it) with the webhook secrets set: statuses/s received and request latency p50/p99/share
  over 1 s. Then the stored events are applied by ``apply_status_events`` and, on the same
  rows reset, by a raw ``UPDATE channels_delivery SET status = … WHERE provider_ref IN (…)``
  (chunks of the applier's batch size, one transaction), alternately ``runs`` times; ``ratio``
  = applied delivery rows/s / raw rows/s (≥ 0.25). Each row takes several statuses, so
  ``ratio_per_status`` (statuses applied/s / raw rows/s) is given beside it.

Run them on their own (scratch database made and removed, as ``sangathan bench`` does)::

    python -m sangathan.channels.bench send --rates 80,1000 --seconds 60
    python -m sangathan.channels.bench webhooks --json

The worker and the web server run with DEBUG off and ``sangathan.settings`` (not the test
settings), so a smoke test exercises the production configuration too. Machine load
(``os.getloadavg()`` and the busy share of all cores during each window) is reported beside
the figures: the benches are only as good as the quiet of the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import F

from sangathan.core import benchserver
from sangathan.core.benchserver import ROOT

DEFAULT_RATES = (80, 1000)
SMS_KEY = "bench-sms-key"
DLT = {
    "SANGATHAN_DLT_ENTITY_ID": "1101000000000001",
    "SANGATHAN_DLT_TEMPLATE_ID": "1107000000000001",
}
WEBHOOK_STATUSES = {"whatsapp": ("sent", "delivered", "read"), "sms": ("sent", "delivered")}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _log(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    from sangathan.core.bench import _percentile

    return _percentile(values, p)


# --- machine load --------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def _machine_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores (``/proc/stat``)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def _busy_cores(before, after) -> float | None:
    if not before or not after or after[1] == before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]) * (os.cpu_count() or 1), 2)


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# --- the outbox ----------------------------------------------------------------------------


def setup_people(booths: int, people: int, channels, *, seed: int, progress: bool) -> dict:
    """A synthetic organisation, everyone with consent on ``channels`` (organisational)."""
    from sangathan.broadcasts.bench import analyze, seed_consents, setup_org

    seconds = setup_org(booths, people, seed=seed, progress=progress)
    seed_consents(list(channels))
    analyze()
    return seconds


def covering_unit(rows: int):
    """The unit whose subtree just holds ``rows`` people (by the maintained
    ``people_count``): from the nation down, the child with the fewest people that still has
    ``rows``, while one has, no deeper than the assembly (the deepest units with reach
    counters, which the applier moves and the benches check). The outbox for a run then costs
    its rows, not the organisation (a national fan-out at full scale is 10,000,000 rows to
    make and then delete)."""
    from sangathan.broadcasts.reach import assembly_depth
    from sangathan.core import seeding
    from sangathan.org.models import OrgUnit

    unit, bottom = seeding.national_root(), assembly_depth()
    while unit.depth < bottom:
        child = (
            OrgUnit.objects.filter(
                path__startswith=unit.path, depth=unit.depth + 1, people_count__gte=rows
            )
            .order_by("people_count", "path")
            .first()
        )
        if child is None:
            break
        unit = child
    return unit


def make_outbox(channel: str, rows: int) -> tuple[list[int], int]:
    """Exactly ``rows`` queued deliveries on ``channel``: organisational broadcasts to the
    :func:`covering_unit` of ``rows`` fanned out for real (counters, ``INSERT … SELECT``
    chunks), as many as it takes, the rows past ``rows`` of the last one deleted. Returns
    (broadcast ids, rows)."""
    from django.utils import timezone

    from sangathan.broadcasts.fanout import fan_out
    from sangathan.broadcasts.models import Broadcast
    from sangathan.channels.models import Delivery

    audience = covering_unit(rows)
    made, total = [], 0
    while total < rows:
        b = Broadcast.objects.create(
            audience_unit=audience,
            channels=["feed", channel],
            purpose="organisational",
            status=Broadcast.Status.SENT,
            sent_at=timezone.now(),
            title_hi=f"बैठक की सूचना {len(made) + 1}",
            body_hi="सभी कार्यकर्ता रविवार सुबह 10 बजे मंडल कार्यालय पहुँचें।",
            title_en=f"Meeting notice {len(made) + 1}",
            body_en="All workers please reach the mandal office at 10 am on Sunday.",
        )
        b = Broadcast.objects.select_related("audience_unit").get(pk=b.pk)
        counts = fan_out(b)
        if not counts.get(channel):
            raise RuntimeError(f"Nobody has {channel} consent: the outbox stays empty.")
        made.append(b.pk)
        total += counts[channel]
    surplus = total - rows
    if surplus:
        ids = Delivery.objects.filter(broadcast_id=made[-1], channel=channel).order_by("-pk")
        last = list(ids.values_list("pk", flat=True)[:surplus])
        with transaction.atomic():
            for i in range(0, len(last), 5000):
                Delivery.objects.filter(pk__in=last[i : i + 5000]).delete()
    return made, rows


def empty_outbox() -> None:
    """Remove every delivery and status event (between runs at different rates)."""
    from sangathan.channels.models import Delivery, PendingStatus, StatusEvent

    q = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cur:
        for model in (PendingStatus, StatusEvent, Delivery):
            cur.execute(f"DELETE FROM {q(model._meta.db_table)}")
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:  # the dead rows gone, as autovacuum would leave them
            for model in (PendingStatus, StatusEvent, Delivery):
                cur.execute(f"VACUUM {q(model._meta.db_table)}")


# --- send ----------------------------------------------------------------------------------


def _send_once(
    rate: float, seconds: float, rows: int, batch: int | None, progress: bool, profile: str = ""
) -> dict:
    """One worker process against an emulator accepting ``rate`` a second."""
    from sangathan.channels.emulator import Emulator

    emu = Emulator(rate=rate, api_key=SMS_KEY, statuses=(), seed=1).start()
    env = benchserver.child_env(
        SANGATHAN_SMS_ADAPTER="http",
        SANGATHAN_SMS_URL=emu.url,
        SANGATHAN_SMS_API_KEY=SMS_KEY,
        SANGATHAN_SMS_RATE=str(rate),
        **DLT,
    )
    if batch:
        env["SANGATHAN_SEND_BATCH"] = str(batch)
    command = [sys.executable, "-m", "sangathan.cli", "worker", "--until-idle"]
    if profile:  # cProfile the worker into this file (finding where its time goes)
        command[1:1] = ["-m", "cProfile", "-o", f"{profile}.{rate:g}.prof"]
    command += ["--channel", "sms", "--no-startup-delay", "-v0"]
    connection.close()  # on SQLite the worker is the only writer while it runs
    load_before = _load()
    log = tempfile.TemporaryFile("w+")  # not a pipe: a chatty worker must never block on it
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log, text=True)

    def stderr() -> str:
        log.seek(0)
        return log.read()[-2000:]

    try:
        started = time.monotonic()
        while not emu.received:
            if worker.poll() is not None:
                raise RuntimeError(f"The worker stopped before sending: {stderr()}")
            if time.monotonic() - started > 120:
                raise RuntimeError("The worker sent nothing in 2 minutes.")
            time.sleep(0.005)
        # The window: ``seconds`` from the first message the emulator accepted.
        t0 = emu.received[0].at
        cpu0, machine0, stats0 = _cpu_seconds(worker.pid), _machine_ticks(), emu.stats()
        wall0 = time.time()
        _log(progress, f"send R={rate:g}: first message after {time.monotonic() - started:.1f} s")
        time.sleep(max(0.0, t0 + seconds - time.time()))
        cpu1, machine1, stats1 = _cpu_seconds(worker.pid), _machine_ticks(), emu.stats()
        wall1 = time.time()
        window = [r.at for r in list(emu.received) if t0 <= r.at < t0 + seconds]
        # Let the worker finish the outbox (--until-idle), for its exit status.
        try:
            worker.wait(timeout=max(30.0, seconds))
        except subprocess.TimeoutExpired:
            pass
        finished = worker.poll() is not None
    finally:
        benchserver.stop(worker)
        emu.stop()
    if finished and worker.returncode != 0:
        raise RuntimeError(f"The worker failed ({worker.returncode}): {stderr()}")
    log.close()
    accepted = len(window)
    achieved = accepted / seconds
    limited = stats1["rate_limited_messages"] - stats0["rate_limited_messages"]
    offered = stats1["accepted"] - stats0["accepted"] + limited
    # Accepted per tenth of the window, to show the rate is sustained rather than averaged.
    tenths = [0] * 10
    for at in window:
        tenths[min(9, int((at - t0) / seconds * 10))] += 1
    cpu = None
    if cpu0 is not None and cpu1 is not None and wall1 > wall0:
        cpu = round((cpu1 - cpu0) / (wall1 - wall0), 3)
    return {
        "rate": rate,
        "seconds": seconds,
        "outbox_rows": rows,
        "accepted_in_window": accepted,
        "achieved_per_s": round(achieved, 1),
        "ratio": round(achieved / rate, 3),
        "slowest_tenth_per_s": round(min(tenths) / (seconds / 10), 1),
        "share_429": round(limited / offered, 4) if offered else 0.0,
        "messages_429": limited,
        "requests_429": stats1["rate_limited"] - stats0["rate_limited"],
        "worker_cores": cpu,
        "machine_busy_cores": _busy_cores(machine0, machine1),
        "load_before": load_before,
        "load_after": _load(),
        "worker_finished": finished,
        "within_limits": (
            achieved >= 0.95 * rate
            and (limited / offered if offered else 0.0) <= 0.01
            and (cpu is None or rate < 1000 or cpu <= 1.0)
        ),
    }


def bench_send(
    rates=DEFAULT_RATES,
    seconds: float = 60.0,
    booths: int = 1000,
    people: int = 20_000,
    batch: int | None = None,
    seed: int = 42,
    progress: bool = False,
    profile: str = "",
) -> dict:
    """For each rate R in ``rates`` (messages a second the emulator accepts; 429 above it):
    an outbox of R × ``seconds`` × 1.1 queued SMS deliveries (national broadcasts to
    ``people`` people over ``booths`` booths, fanned out set-based), drained by one
    ``sangathan worker --until-idle --channel sms`` process at ``SANGATHAN_SMS_RATE`` = R,
    measured over ``seconds`` from its first accepted message. ``batch`` overrides
    ``SANGATHAN_SEND_BATCH`` (deliveries claimed at a time, default 200). Per rate:
    ``achieved_per_s``, ``ratio`` = achieved / R (≥ 0.95), ``share_429`` (≤ 0.01),
    ``worker_cores`` = the worker's CPU seconds / wall seconds (≤ 1 at R = 1,000). The top
    level ``ratio`` is the lowest of the rates'. About 2.5 minutes at the defaults.
    ``profile``: a path prefix; the worker runs under cProfile, writing ``<prefix>.<R>.prof``
    (it then uses more CPU than it would)."""
    from sangathan.broadcasts.bench import analyze, production_like

    with production_like():
        seed_s = setup_people(booths, people, ["sms"], seed=seed, progress=progress)
        runs = []
        for rate in rates:
            rows = math.ceil(rate * seconds * 1.1)
            t = time.perf_counter()
            _broadcasts, rows = make_outbox("sms", rows)
            # PostgreSQL: statistics that know the outbox is full, as autovacuum's analyze
            # leaves them within a minute of a fan-out (see the report on claims planned
            # against an outbox analysed while empty).
            analyze()
            outbox_s = round(time.perf_counter() - t, 1)
            _log(progress, f"send R={rate:g}: {rows} deliveries queued in {outbox_s} s")
            result = _send_once(float(rate), seconds, rows, batch, progress, profile)
            result["outbox_seconds"] = outbox_s
            _log(progress, f"send R={rate:g}: {json.dumps(result)}")
            runs.append(result)
            empty_outbox()
    worst = min(runs, key=lambda r: r["ratio"])
    return {
        "bench": "send",
        "database": connection.vendor,
        "worker": "sangathan worker --until-idle --channel sms (one process)",
        "emulator": "sangathan.channels.emulator, SMS contract, in the bench process",
        "cpus": os.cpu_count(),
        "people": people,
        "seconds_per_rate": seconds,
        "rates": runs,
        "ratio": worst["ratio"],
        "limits": {"ratio": 0.95, "share_429": 0.01, "worker_cores_at_1000": 1.0},
        "within_limits": all(r["within_limits"] for r in runs),
        "seed_seconds": seed_s,
    }


# --- webhooks ------------------------------------------------------------------------------


def _dropped(sock: socket.socket) -> bool:
    """An idle keep-alive socket that is readable has been closed by the server."""
    import select

    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


@contextmanager
def webhook_server(workers: int, threads: int, secrets_env: dict):
    """gunicorn serving the site with the webhook secrets set; yields the port."""
    # GET on a POST-only hook: its 405 says the server is up.
    with benchserver.gunicorn(
        "sangathan.wsgi:application", workers, threads, ready="/hooks/sms", **secrets_env
    ) as (port, _server):
        yield port


def make_sent(channel: str, messages: int, provider: str) -> tuple[list[int], list[str]]:
    """``messages`` deliveries on ``channel`` as the worker leaves them after the provider
    took them (status sent, a provider id each, the reach counters' sent moved); returns
    (broadcast ids, their provider ids in delivery order)."""
    from django.utils import timezone

    from sangathan.broadcasts.bench import analyze
    from sangathan.broadcasts.models import ReachCounter
    from sangathan.channels.models import Delivery

    broadcasts, _rows = make_outbox(channel, messages)
    q = connection.ops.quote_name
    table = q(Delivery._meta.db_table)
    prefix = "wamid.HBgMBENCH" if provider == "whatsapp" else "bench-sms-"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    marks = ", ".join(["%s"] * len(broadcasts))
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} SET status = 'sent', provider_ref = %s || CAST(id AS TEXT), "
            f"adapter = 'bench', sent_at = %s, status_at = %s "
            f"WHERE broadcast_id IN ({marks}) AND channel = %s",
            [prefix, now, now, *broadcasts, channel],
        )
        cur.execute(
            f"UPDATE {q(ReachCounter._meta.db_table)} SET sent = audience "
            f"WHERE broadcast_id IN ({marks}) AND channel = %s",
            [*broadcasts, channel],
        )
    analyze()
    refs = Delivery.objects.filter(broadcast_id__in=broadcasts, channel=channel).order_by("pk")
    return broadcasts, list(refs.values_list("provider_ref", flat=True))


def status_stream(refs: list[str], statuses: tuple[str, ...], lag: int) -> list[tuple]:
    """(ref index, status) in the order a provider reports them: each message's first
    status as it goes, its next one ``lag`` messages later, and so on."""
    out = []
    n = len(refs)
    for step in range(n + lag * (len(statuses) - 1)):
        for k, status in enumerate(statuses):
            i = step - k * lag
            if 0 <= i < n:
                out.append((i, status))
    return out


def signed_posts(
    provider: str, refs: list[str], per_post: int, secret: str, lag: int
) -> list[tuple[str, bytes, dict, int]]:
    """The POSTs a provider would make: (path, raw body, headers, statuses), bodies built by
    the emulator's payload functions and signed as the emulator signs them."""
    from sangathan.channels.emulator import Emulator, Received

    statuses = WEBHOOK_STATUSES[provider]
    stream = status_stream(refs, statuses, lag)
    sent_at = time.time()
    kind = "whatsapp" if provider == "whatsapp" else "sms"
    records = [
        Received(kind, "", f"+9170{i:08d}", "", ref, body={"_phone_number_id": "1234567890"})
        for i, ref in enumerate(refs)
    ]
    header = "X-Hub-Signature-256" if provider == "whatsapp" else "X-Sangathan-Signature"
    posts = []
    for start in range(0, len(stream), per_post):
        events = [(records[i], status, sent_at) for i, status in stream[start : start + per_post]]
        if provider == "whatsapp":
            body = Emulator._whatsapp_payload(events)
        else:
            body = Emulator._sms_payload("sms", events)
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", header: signature}
        posts.append((f"/hooks/{provider}", raw, headers, len(events)))
    return posts


class _Poster:
    """``clients`` threads on keep-alive connections sending ``posts`` on an open-loop
    schedule, one every ``interval`` seconds; a request that finds every client busy starts
    late (its lateness is recorded; latency counts from when it was sent)."""

    def __init__(self, port: int, posts: list, interval: float, clients: int):
        self.port, self.posts, self.interval, self.clients = port, posts, interval, clients
        self.latencies: list[float] = []
        self.late: list[float] = []
        self.statuses = 0
        self.retried = 0
        self.errors: dict[str, int] = {}
        self._next = 0
        self._lock = threading.Lock()

    def _take(self) -> int | None:
        with self._lock:
            i = self._next
            self._next += 1
        return i if i < len(self.posts) else None

    def _client(self, start: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        mine, late, statuses, errors, retried = [], [], 0, {}, 0
        while (i := self._take()) is not None:
            due = start + i * self.interval
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            path, raw, headers, n = self.posts[i]
            t = time.perf_counter()
            late.append(max(0.0, t - due))
            if conn.sock is not None and _dropped(conn.sock):
                conn.close()  # the server closed the idle keep-alive connection
            response = None
            for attempt in range(2):
                try:
                    conn.request("POST", path, body=raw, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    if response.will_close:
                        conn.close()
                    break
                except (OSError, http.client.HTTPException) as exc:
                    # A connection the server dropped meanwhile: providers retry (the
                    # webhook is idempotent), once here, on a new connection.
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    if attempt:
                        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    else:
                        retried += 1
            if response is None:
                continue
            mine.append(time.perf_counter() - t)
            if response.status == 200:
                statuses += n
            else:
                errors[str(response.status)] = errors.get(str(response.status), 0) + 1
        conn.close()
        with self._lock:
            self.latencies += mine
            self.late += late
            self.statuses += statuses
            self.retried += retried
            for key, n in errors.items():
                self.errors[key] = self.errors.get(key, 0) + n

    def run(self) -> float:
        """Seconds from the first scheduled POST to the last answer."""
        start = time.perf_counter() + 0.05
        threads = [
            threading.Thread(target=self._client, args=(start,), daemon=True)
            for _ in range(self.clients)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.perf_counter() - start


def _reset_applied(refs: list[str], channel: str, broadcasts: list[int]) -> None:
    """Put the deliveries back to sent, the events back in the queue, the counters back."""
    from sangathan.broadcasts.models import ReachCounter
    from sangathan.channels.models import Delivery, PendingStatus, StatusEvent

    q = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(broadcasts))
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"UPDATE {q(Delivery._meta.db_table)} SET status = 'sent', status_at = NULL "
            f"WHERE broadcast_id IN ({marks}) AND channel = %s AND status <> 'sent'",
            [*broadcasts, channel],
        )
        cur.execute(f"DELETE FROM {q(PendingStatus._meta.db_table)}")
        cur.execute(
            f"INSERT INTO {q(PendingStatus._meta.db_table)} (event_id) "
            f"SELECT id FROM {q(StatusEvent._meta.db_table)}"
        )
        cur.execute(
            f"UPDATE {q(ReachCounter._meta.db_table)} SET delivered = 0, {q('read')} = 0, "
            f"failed = 0 WHERE broadcast_id IN ({marks}) AND channel = %s",
            [*broadcasts, channel],
        )


def raw_update(refs: list[str], status: str, chunk: int) -> int:
    """The baseline: ``UPDATE … SET status WHERE provider_ref IN (…)``, ``chunk`` references a
    statement, in one transaction. Returns the rows updated."""
    from sangathan.channels.models import Delivery

    table = connection.ops.quote_name(Delivery._meta.db_table)
    updated = 0
    with transaction.atomic(), connection.cursor() as cur:
        for i in range(0, len(refs), chunk):
            part = refs[i : i + chunk]
            marks = ", ".join(["%s"] * len(part))
            cur.execute(
                f"UPDATE {table} SET status = %s WHERE provider_ref IN ({marks})", [status, *part]
            )
            updated += max(cur.rowcount, 0)
    return updated


def _apply_versus_raw(
    refs: list[str], channel: str, broadcasts: list[int], final: str, runs: int, limit: int
) -> dict:
    from sangathan.broadcasts.models import ReachCounter
    from sangathan.channels.models import Delivery, PendingStatus
    from sangathan.channels.statuses import apply_status_events

    ours, raw, used, verified = [], [], set(), True
    for run in range(runs):
        order = ("ours", "raw") if run % 2 == 0 else ("raw", "ours")
        for which in order:
            _reset_applied(refs, channel, broadcasts)
            t = time.perf_counter()
            if which == "ours":
                used.add(apply_status_events(limit=limit))
                ours.append(time.perf_counter() - t)
                moved = Delivery.objects.filter(provider_ref__in=refs[:1] + refs[-1:])
                verified &= set(moved.values_list("status", flat=True)) == {final}
                verified &= not PendingStatus.objects.exists()
            else:
                verified &= raw_update(refs, final, limit) == len(refs)
                raw.append(time.perf_counter() - t)
    # Leave it applied, and check it all: every delivery final, the counters agree.
    _reset_applied(refs, channel, broadcasts)
    apply_status_events(limit=limit)
    done = Delivery.objects.filter(broadcast_id__in=broadcasts, channel=channel, status=final)
    verified &= done.count() == len(refs)
    field = "read" if final == "read" else "delivered"
    # Each broadcast's counter at its audience unit (the top of its counters).
    counted = sum(
        ReachCounter.objects.filter(
            broadcast_id__in=broadcasts,
            channel=channel,
            unit_id=F("broadcast__audience_unit_id"),
        ).values_list(field, flat=True)
    )
    verified &= counted == len(refs)
    ours_s, raw_s = statistics.median(ours), statistics.median(raw)
    return {
        "events_applied": sorted(used),
        "applied_rows_per_s": round(len(refs) / ours_s),
        "applied_events_per_s": round(max(used) / ours_s) if used else 0,
        "raw_update_rows_per_s": round(len(refs) / raw_s),
        "apply_seconds": [round(s, 3) for s in ours],
        "raw_seconds": [round(s, 3) for s in raw],
        "ratio": round(raw_s / ours_s, 3),
        # Each delivery row takes several statuses: per status applied, against the same
        # raw rows/s (the looser reading of "applied at ≥ 0.25× a raw UPDATE").
        "ratio_per_status": round(max(used, default=0) / ours_s / (len(refs) / raw_s), 3),
        "verified": verified,
    }


def _webhooks_once(
    port: int,
    rate: float,
    seconds: float,
    provider: str,
    per_post: int,
    clients: int,
    runs: int,
    secret: str,
    limit: int,
    progress: bool,
) -> dict:
    from sangathan.channels.models import StatusEvent

    channel = "whatsapp" if provider == "whatsapp" else "sms"
    statuses = WEBHOOK_STATUSES[provider]
    target = 3 * rate  # statuses a second
    messages = math.ceil(target * seconds / len(statuses))
    t = time.perf_counter()
    broadcasts, refs = make_sent(channel, messages, provider)
    posts = signed_posts(provider, refs, per_post, secret, lag=max(1, round(rate)))
    total = sum(p[3] for p in posts)
    setup_s = round(time.perf_counter() - t, 1)
    _log(progress, f"webhooks R={rate:g}: {messages} messages, {len(posts)} POSTs ({setup_s} s)")
    connection.close()
    poster = _Poster(port, posts, interval=per_post / target, clients=clients)
    machine0, load_before = _machine_ticks(), _load()
    elapsed = poster.run()
    machine1 = _machine_ticks()
    stored = StatusEvent.objects.count()
    ms = [x * 1000 for x in poster.latencies]
    over = sum(1 for x in ms if x > 1000)
    p50 = round(statistics.median(ms), 1) if ms else None
    # Over the schedule's length at least: the last POST is due one interval before its end.
    elapsed = max(elapsed, len(posts) * per_post / target)
    received = poster.statuses / elapsed
    _log(progress, f"webhooks R={rate:g}: {received:.0f} statuses/s, p50 {p50} ms; applying")
    applied = _apply_versus_raw(refs, channel, broadcasts, statuses[-1], runs, limit)
    share_over = over / len(ms) if ms else 1.0
    return {
        "rate": rate,
        "messages": messages,
        "statuses": total,
        "statuses_per_message": len(statuses),
        "statuses_per_post": per_post,
        "posts": len(posts),
        "target_statuses_per_s": target,
        "statuses_per_s": round(received, 1),
        "rate_ratio": round(received / target, 3),
        "stored_events": stored,
        "errors": poster.errors,
        "retried_posts": poster.retried,
        "latency_p50_ms": p50,
        "latency_p99_ms": round(_pct(ms, 99), 1) if ms else None,
        "latency_max_ms": round(max(ms), 1) if ms else None,
        "share_over_1s": round(share_over, 4),
        "late_start_p99_ms": round(_pct(poster.late, 99) * 1000, 1) if poster.late else None,
        "machine_busy_cores": _busy_cores(machine0, machine1),
        "load_before": load_before,
        "load_after": _load(),
        "setup_seconds": setup_s,
        **applied,
        "within_limits": (
            received >= 0.95 * target
            and not poster.errors
            and stored == total
            and (p50 or 0) <= 250
            and share_over < 0.01
            and applied["ratio"] >= 0.25
            and applied["verified"]
        ),
    }


def bench_webhooks(
    rates=DEFAULT_RATES,
    seconds: float = 20.0,
    provider: str = "whatsapp",
    per_post: int = 50,
    clients: int = 16,
    runs: int = 3,
    booths: int = 1000,
    people: int = 20_000,
    workers: int = 2,
    threads: int = 4,
    apply_batch: int = 20000,
    seed: int = 42,
    progress: bool = False,
) -> dict:
    """For each rate R in ``rates``: status callbacks for the deliveries of R messages a
    second — ``provider`` "whatsapp" (sent, delivered, read: 3 R statuses a second) or "sms"
    (sent, delivered; 1.5 R messages a second, so still 3 R statuses) — for ``seconds``,
    ``per_post`` statuses per signed POST to ``/hooks/<provider>``, ``clients`` concurrent
    keep-alive connections, against gunicorn (``workers`` × ``threads``, gthread). Then the
    stored events are applied by ``apply_status_events(limit=apply_batch)`` against a raw
    ``UPDATE … WHERE provider_ref IN (…)`` of the same rows, ``runs`` times each, alternating
    (medians). Per rate: ``statuses_per_s``, ``latency_p50_ms``, ``latency_p99_ms``,
    ``share_over_1s``, ``applied_rows_per_s``, ``raw_update_rows_per_s`` and ``ratio`` =
    applied / raw (≥ 0.25). The top level ``ratio`` is the lowest of the rates'. About a
    minute at the defaults."""
    from sangathan.broadcasts.bench import production_like

    if provider not in WEBHOOK_STATUSES:
        raise ValueError(f"provider is one of {sorted(WEBHOOK_STATUSES)}, not {provider!r}")
    secret = secrets.token_hex(16)
    secrets_env = {
        "SANGATHAN_WHATSAPP_APP_SECRET": secret,
        "SANGATHAN_SMS_WEBHOOK_SECRET": secret,
    }
    channel = "whatsapp" if provider == "whatsapp" else "sms"
    with production_like():
        seed_s = setup_people(booths, people, [channel], seed=seed, progress=progress)
        results = []
        with webhook_server(workers, threads, secrets_env) as port:
            for rate in rates:
                result = _webhooks_once(
                    port,
                    float(rate),
                    seconds,
                    provider,
                    per_post,
                    clients,
                    runs,
                    secret,
                    apply_batch,
                    progress,
                )
                _log(progress, f"webhooks R={rate:g}: {json.dumps(result)}")
                results.append(result)
                empty_outbox()
    worst = min(results, key=lambda r: r["ratio"])
    return {
        "bench": "webhooks",
        "database": connection.vendor,
        "server": f"gunicorn gthread, {workers} workers × {threads} threads, 127.0.0.1",
        "provider": provider,
        "statuses_per_post": per_post,
        "clients": clients,
        "cpus": os.cpu_count(),
        "seconds_per_rate": seconds,
        "runs": runs,
        "rates": results,
        "ratio": worst["ratio"],
        "ratio_is": "applied rows/s by apply_status_events / raw UPDATE rows/s (lowest rate)",
        "limits": {
            "statuses_per_s": "3 R",
            "latency_p50_ms": 250,
            "share_over_1s": 0.01,
            "ratio": 0.25,
        },
        "within_limits": all(r["within_limits"] for r in results),
        "seed_seconds": seed_s,
    }


# --- running them on their own --------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sangathan.channels.bench",
        description="Channel benchmarks on a scratch database: send, webhooks.",
    )
    parser.add_argument("name", choices=["send", "webhooks"])
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--rates", default=None, help="comma-separated R values (80,1000)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per rate")
    parser.add_argument("--people", type=int, default=None)
    parser.add_argument("--booths", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None, help="webhooks: apply runs")
    parser.add_argument("--per-post", type=int, default=None, help="webhooks: statuses a POST")
    parser.add_argument("--clients", type=int, default=None, help="webhooks: connections")
    parser.add_argument("--provider", default=None, help="webhooks: whatsapp or sms")
    parser.add_argument("--batch", type=int, default=None, help="send: claim size")
    parser.add_argument("--profile", default="", help="send: cProfile the worker to PREFIX.R.prof")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def run(o: argparse.Namespace, progress: bool) -> dict:
    kwargs: dict = {"seed": o.seed, "progress": progress}
    if o.rates:
        kwargs["rates"] = tuple(float(r) for r in o.rates.split(",") if r)
    for name in ("seconds", "people", "booths"):
        if getattr(o, name) is not None:
            kwargs[name] = getattr(o, name)
    if o.name == "send":
        if o.batch is not None:
            kwargs["batch"] = o.batch
        if o.profile:
            kwargs["profile"] = os.path.abspath(o.profile)
        return bench_send(**kwargs)
    for name in ("runs", "per_post", "clients", "provider"):
        if getattr(o, name) is not None:
            kwargs[name] = getattr(o, name)
    return bench_webhooks(**kwargs)


def main(argv: list[str] | None = None) -> int:
    """Re-run in a child process on a scratch database (``sangathan.core.bench``), migrate it,
    run the bench and print its JSON object."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sangathan.settings")
    argv = sys.argv[1:] if argv is None else argv
    o = _arguments(argv)
    import django

    django.setup()
    from django.core.management import call_command

    from sangathan.core import bench as core_bench

    if not core_bench.is_scratch_run():
        with core_bench.scratch_database_url() as url:
            env = dict(os.environ, DATABASE_URL=url, **{core_bench.SCRATCH_ENV: url})
            done = subprocess.run(
                [sys.executable, "-m", "sangathan.channels.bench", *argv],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
        sys.stdout.write(done.stdout)
        return done.returncode
    call_command("migrate", verbosity=0, interactive=False)
    result = run(o, progress=not o.json)
    print(json.dumps(result, ensure_ascii=False, indent=None if o.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
