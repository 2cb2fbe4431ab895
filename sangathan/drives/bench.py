"""``sangathan bench join``: sign-ups per second through the public join page, end to end.

Each sign-up is a new phone on a new device (a fresh cookie jar): ``GET /join/<code>``, then
``POST`` the form (the server sends an OTP, which the console backend prints to its standard
output; the bench reads the server's output to learn it, as a person reads the SMS), then
``POST`` the form again with the code (verify, create the person, consents, sign-up row,
token). ``clients`` threads do this at once against gunicorn on 127.0.0.1 (the same server
``bench feed`` uses) until ``signups`` are done.

Where time goes: each step's latency (p50/p99) and its share of a sign-up's time, seen by the
clients; and one sign-up walked in-process first, with the SQL queries and milliseconds of each
step. The velocity caps and OTP limits are raised for the bench (every client shares one IP);
the suspicion flags still run, and the statuses they gave are reported.
"""

from __future__ import annotations

import http.client
import re
import statistics
import subprocess
import threading
import time
import urllib.parse
from contextlib import contextmanager

from django.db import connection

from sangathan.core import benchserver

STEPS = ("page", "otp_request", "otp_wait", "verify_join")
OTP_LINE = re.compile(r"OTP for (\+\d+): (\d{6})")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
BENCH_PHONE_BASE = 7_700_000_000  # +91 77…: valid Indian mobile numbers, not real people here


def _stats(ms: list[float]) -> dict:
    from sangathan.core.bench import _percentile

    if not ms:
        return {"n": 0, "p50_ms": None, "p99_ms": None}
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(_percentile(ms, 99), 2),
    }


class OtpInbox:
    """Reads the server's standard output and keeps the last code printed for each phone."""

    def __init__(self, stream):
        self.codes: dict[str, str] = {}
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            # Threads of one worker may print into the same line: take every code in it.
            found = OTP_LINE.findall(raw.decode(errors="replace"))
            if found:
                with self.cond:
                    self.codes.update(found)
                    self.cond.notify_all()

    def wait_for(self, phone: str, timeout: float = 30.0) -> str | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while phone not in self.codes:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.codes.pop(phone)


def join_server_app():
    """The feed bench's server application, with failed requests' tracebacks on stderr."""
    import logging

    from sangathan.broadcasts.bench import bench_server_app

    application = bench_server_app()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR)
    return application


@contextmanager
def join_server(workers: int, threads: int):
    """gunicorn serving this database with DEBUG off and the console OTP backend (its codes
    read from the server's output); yields ``(port, inbox)``."""
    with benchserver.gunicorn(
        "sangathan.drives.bench:join_server_app()",
        workers,
        threads,
        ready="/bench/ping",
        stdout=subprocess.PIPE,
        SANGATHAN_OTP_BACKEND="console",
        # Every bench client comes from 127.0.0.1: lift the per-network OTP limit.
        SANGATHAN_OTP_MAX_PER_IP=str(10**9),
        PYTHONUNBUFFERED="1",
    ) as (port, server):
        yield port, OtpInbox(server.stdout)


class Browser:
    """One phone: a keep-alive connection and a cookie jar."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        headers = {"Accept-Language": "hi"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode(errors="replace")
        for cookie in response.msg.get_all("Set-Cookie") or []:
            name, _sep, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, text

    def close(self) -> None:
        self.conn.close()


class JoinLoad:
    """``clients`` threads signing up new phones through ``codes`` until ``total`` are done."""

    def __init__(self, port, inbox, codes, booths, total, clients, first_phone):
        self.port, self.inbox, self.codes, self.booths = port, inbox, codes, booths
        self.total, self.clients = total, clients
        self.next = first_phone
        self.lock = threading.Lock()
        self.started = 0
        self.done = 0
        self.errors: dict[str, int] = {}
        self.ms = {step: [] for step in (*STEPS, "total")}

    def _take(self) -> int | None:
        with self.lock:
            if self.started >= self.total:
                return None
            self.started += 1
            self.next += 1
            return self.next

    def _error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1

    def _one(self, n: int) -> dict | None:
        code = self.codes[n % len(self.codes)]
        phone = str(n)
        browser = Browser(self.port)
        timings = {}
        try:
            t0 = t = time.perf_counter()
            status, page = browser.request("GET", f"/join/{code}")
            timings["page"] = time.perf_counter() - t
            if status != 200:
                return self._error(f"page_{status}")
            token = CSRF_INPUT.search(page)
            form = {
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "name": f"बेंच सदस्य {n}",
                "phone": phone,
                "age": "adult",
                "booth": self.booths[n % len(self.booths)],
                "consents": ["app:organisational", "push:organisational"],
            }
            t = time.perf_counter()
            status, _text = browser.request("POST", f"/join/{code}", {**form, "action": "send"})
            timings["otp_request"] = time.perf_counter() - t
            if status != 200:
                return self._error(f"send_{status}")
            t = time.perf_counter()
            otp = self.inbox.wait_for("+91" + phone)
            timings["otp_wait"] = time.perf_counter() - t
            if otp is None:
                return self._error("otp_not_printed")
            t = time.perf_counter()
            status, text = browser.request(
                "POST", f"/join/{code}", {**form, "otp": otp, "action": "verify"}
            )
            timings["verify_join"] = time.perf_counter() - t
            if status != 200 or "sangathan-handover" not in text:
                return self._error(f"verify_{status}")
            timings["total"] = time.perf_counter() - t0
            return timings
        except (OSError, http.client.HTTPException):
            return self._error("connection")
        finally:
            browser.close()

    def _client(self) -> None:
        while (n := self._take()) is not None:
            timings = self._one(n)
            if timings:
                with self.lock:
                    self.done += 1
                    for step, seconds in timings.items():
                        self.ms[step].append(seconds * 1000)

    def run(self) -> float:
        threads = [threading.Thread(target=self._client) for _ in range(self.clients)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.perf_counter() - t


def walk_in_process(code: str, booth: str, phone: str) -> dict:
    """One sign-up through Django's test client in this process: queries and ms per step."""
    from unittest import mock

    from django.db import reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    sent = {}
    client = Client(HTTP_HOST="127.0.0.1")
    steps = {}
    with mock.patch("sangathan.accounts.actions.send_code", lambda p, c: sent.__setitem__(p, c)):
        form = {
            "name": "बेंच",
            "phone": phone,
            "age": "adult",
            "booth": booth,
            "consents": ["app:organisational"],
        }
        for step, call in (
            ("page", lambda: client.get(f"/join/{code}")),
            ("otp_request", lambda: client.post(f"/join/{code}", {**form, "action": "send"})),
            (
                "verify_join",
                lambda: client.post(
                    f"/join/{code}", {**form, "otp": sent["+91" + phone], "action": "verify"}
                ),
            ),
        ):
            reset_queries()
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                response = call()
                if response.status_code != 200:
                    raise RuntimeError(f"join bench, in-process {step}: {response.status_code}")
                ms = (time.perf_counter() - t) * 1000
            steps[step] = {
                "status": response.status_code,
                "queries": len(ctx.captured_queries),
                "ms": round(ms, 1),
            }
    return steps


def setup(booths: int, people: int, seed: int, progress: bool):
    from sangathan.broadcasts.bench import setup_org
    from sangathan.drives.models import Drive, Recruiter
    from sangathan.org.models import OrgUnit
    from sangathan.people.models import Person

    seeded = setup_org(booths, people, seed=seed, progress=progress)
    district = OrgUnit.objects.filter(level__slug="district").order_by("path").first()
    drive = Drive.objects.create(
        name="Bench drive",
        name_hi="बेंच अभियान",
        kind=Drive.Kind.CAMPUS,
        unit=district,
        cap_per_code_per_hour=10**6,
        cap_per_device_per_day=10**6,
        cap_per_ip_per_hour=10**6,
    )
    recruiters = [
        Recruiter.objects.create(drive=drive, person=p)
        for p in Person.objects.filter(unit__path__startswith=district.path).order_by("pk")[:8]
    ]
    booth_codes = list(
        OrgUnit.objects.filter(path__startswith=district.path[:8], level__slug="booth")
        .order_by("path")
        .values_list("code", flat=True)[:500]
    )
    return seeded, drive, [drive.code] + [r.code for r in recruiters], booth_codes


def bench_join(
    booths: int = 2_000,
    people: int = 20_000,
    signups: int = 400,
    clients: int = 16,
    workers: int | None = None,
    threads: int = 4,
    seed: int = 42,
    progress: bool = False,
) -> dict:
    """Sign-ups per second through the join page with ``clients`` concurrent phones."""
    import multiprocessing

    from django.db.models import Count

    from sangathan.broadcasts.bench import analyze, production_like
    from sangathan.drives.models import SignUp
    from sangathan.people.models import Person

    with production_like():
        seeded, drive, codes, booth_codes = setup(booths, people, seed, progress)
        in_process = walk_in_process(codes[0], booth_codes[0], str(BENCH_PHONE_BASE))
        people_before = Person.objects.count()
        analyze()
        connection.close()  # the server's processes open their own
        workers = workers or max(2, multiprocessing.cpu_count())
        with join_server(workers, threads) as (port, inbox):
            # Warm every worker: imports, connections, templates.
            JoinLoad(port, inbox, codes, booth_codes, clients, clients, BENCH_PHONE_BASE + 10).run()
            load = JoinLoad(
                port, inbox, codes, booth_codes, signups, clients, BENCH_PHONE_BASE + 100_000
            )
            seconds = load.run()
        people_after = Person.objects.count()
        statuses = {
            row["status"]: row["n"]
            for row in SignUp.objects.filter(drive=drive).values("status").annotate(n=Count("pk"))
        }
    total_ms = sum(sum(load.ms[s]) for s in STEPS) or 1.0
    return {
        "bench": "join",
        "database": connection.vendor,
        "server": f"gunicorn gthread, {workers} workers × {threads} threads, 127.0.0.1",
        "booths": booths,
        "people": people,
        "clients": clients,
        "signups_asked": signups,
        "signups_done": load.done,
        "seconds": round(seconds, 2),
        "signups_per_s": round(load.done / seconds, 1) if seconds else 0.0,
        "errors": load.errors,
        "steps": {
            step: {**_stats(load.ms[step]), "share": round(sum(load.ms[step]) / total_ms, 3)}
            for step in STEPS
        },
        "signup_total": _stats(load.ms["total"]),
        "in_process_one_signup": in_process,
        "new_people": people_after - people_before,
        "sign_up_statuses": statuses,
        "seed_seconds": seeded,
    }
