"""Reliability: real worker processes are SIGKILLed mid-broadcast, again and again.

Every recipient still gets the message, and nobody gets it twice except inside the
documented at-least-once window (the gateway accepted a message and the worker died before
recording it; ``sangathan.channels.worker``'s docstring). Worker processes run
``manage.py worker --until-idle`` against a SQLite file (WAL, several writers) and the
provider emulator in this process. Runs once, in the SQLite leg of the suite.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from sangathan.channels.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 400
BATCH = 25  # deliveries a worker claims at a time
SLICE = 10  # sent per request at 100/s (a tenth of a second's worth): the most one kill can
# leave sent but unrecorded

SEED = f"""
from django.utils import timezone
from sangathan.broadcasts.models import Broadcast, ReachCounter
from sangathan.broadcasts.reach import assembly_depth
from sangathan.channels.models import Delivery
from sangathan.people.models import Consent, Person
from tests.factories import add_unit

india = add_unit(None, "national", "IN", "भारत")
up = add_unit(india, "state", "UP", "उत्तर प्रदेश")
district = add_unit(up, "district", "UP-D-1", "लखनऊ")
ac = add_unit(district, "assembly", "UP-AC-1", "लखनऊ पश्चिम", ac_no=1)
booth = add_unit(add_unit(add_unit(ac, "mandal", "M-1", "मंडल"), "sector", "S-1", "सेक्टर"),
                 "booth", "PS-1", "बूथ 1")
people = Person.objects.bulk_create(
    Person(name=f"सदस्य {{i}}", phone=f"+9198{{i:08d}}", unit=booth) for i in range({PEOPLE})
)
people = list(Person.objects.all())
Consent.objects.bulk_create(
    Consent(person=p, channel="sms", purpose="organisational", evidence="test") for p in people
)
up.refresh_from_db()
b = Broadcast.objects.create(audience_unit=up, channels=["sms"], status="sent",
    sent_at=timezone.now(), counter_depth=assembly_depth(), title_hi="सूचना", body_hi="बैठक")
ReachCounter.objects.create(broadcast=b, unit=up, unit_path=up.path, depth=up.depth,
    channel="sms", audience={PEOPLE})
Delivery.objects.bulk_create(
    Delivery(broadcast=b, person=p, channel="sms", unit_path=booth.path) for p in people
)
"""


def run(args, env, **kw):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, **kw)


@pytest.fixture
def database(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("runs once, in the SQLite leg of the suite")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sangathan.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kill.sqlite3'}",
        "SANGATHAN_SMS_ADAPTER": "http",
        "SANGATHAN_SMS_API_KEY": "key",
        "SANGATHAN_DLT_ENTITY_ID": "1101000000000001",
        "SANGATHAN_DLT_TEMPLATE_ID": "1107000000000001",
        "SANGATHAN_SMS_RATE": "100",
        "PYTHONPATH": str(ROOT),
    }
    run(["migrate", "-v0"], env)
    run(["shell", "-c", SEED], env)
    return env, tmp_path / "kill.sqlite3"


def test_killed_workers_lose_nothing_and_repeat_only_inside_the_window(database):
    env, path = database
    with Emulator(rate=600, api_key="key", fail_rate=0.03, seed=3) as emu:
        env = {**env, "SANGATHAN_SMS_URL": emu.url}
        command = [
            sys.executable,
            "manage.py",
            "worker",
            "--until-idle",
            "--no-startup-delay",
            "--lease",
            "2",
            "--send-batch",
            str(BATCH),
            "-v0",
        ]

        def start():
            return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE)

        workers = [start(), start()]
        kills = 0
        try:
            for threshold in (60, 150, 240):
                deadline = time.monotonic() + 30
                while len(emu.received) < threshold:
                    assert time.monotonic() < deadline, "the workers stopped sending"
                    time.sleep(0.005)
                victim = workers.pop(0)
                victim.send_signal(signal.SIGKILL)  # mid-batch: it is sending right now
                victim.wait()
                kills += 1
                workers.append(start())
            for w in workers:
                w.wait(timeout=60)
                assert w.returncode == 0, w.stderr.read().decode()[-2000:]
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
                    w.wait()
        received = list(emu.received)

    db = sqlite3.connect(path)
    rows = db.execute("SELECT id, status, provider_ref, attempts FROM channels_delivery").fetchall()
    sent_counter = db.execute("SELECT sent FROM broadcasts_reachcounter").fetchone()[0]
    db.close()

    # Everyone got it: every delivery ended sent, and the gateway received every one.
    assert len(rows) == PEOPLE
    assert {status for _id, status, _ref, _n in rows} == {"sent"}
    times = Counter(m.ref for m in received)
    assert set(times) == {str(pk) for pk, *_ in rows}
    # The recorded provider id is one the gateway gave for that delivery.
    ids = {}
    for m in received:
        ids.setdefault(m.ref, set()).add(m.id)
    assert all(ref in ids[str(pk)] for pk, _status, ref, _n in rows)
    # Repeats only inside the window: at most what a killed worker held unrecorded.
    repeated = [ref for ref, n in times.items() if n > 1]
    assert len(repeated) <= kills * SLICE, (kills, len(repeated))
    assert max(times.values()) <= 1 + kills
    # The reach counter counted each delivery once, duplicates or not.
    assert sent_counter == PEOPLE
    print(f"{kills} kills, {len(received)} messages for {PEOPLE} people, {len(repeated)} repeated")
