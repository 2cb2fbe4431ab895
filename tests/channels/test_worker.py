"""The outbox worker: claims, checks, sends under the bucket, records and retries."""

import logging
import random
import threading
from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from sangathan.broadcasts.models import PollDate
from sangathan.channels import worker
from sangathan.channels.adapters.base import SendResult
from sangathan.channels.models import Delivery, Suppression
from sangathan.channels.ratelimit import TokenBucket
from sangathan.people.models import Consent
from tests.channels.conftest import counter, people_with_consent, queue, sent_broadcast

IST = ZoneInfo("Asia/Kolkata")
LONG_AGO = datetime(2020, 1, 1, tzinfo=IST)


@pytest.fixture
def outbox(tree):
    people = people_with_consent(tree.booth1, 5)
    broadcast = sent_broadcast(tree.lucknow)
    return broadcast, people, queue(broadcast, people)


def test_it_sends_queued_deliveries_and_moves_the_counters(outbox, caplog):
    broadcast, people, rows = outbox
    with caplog.at_level(logging.INFO, logger="sangathan.channels"):
        counts = worker.drain("sms")
    assert counts["sent"] == 5 and counts["claimed"] == 5
    for d in Delivery.objects.all():
        assert d.status == "sent"
        assert d.adapter == "console"
        assert d.provider_ref == f"console-{d.pk}"
        assert d.sent_at is not None and d.attempts == 1 and d.claimed_by == ""
    assert counter(broadcast).sent == 5
    assert f"sms to {people[0].phone}: बैठक की सूचना" in caplog.text


def test_a_message_is_in_the_persons_first_language(tree, fake_adapter):
    person = people_with_consent(tree.booth1, 1, languages="en,hi")[0]
    broadcast = sent_broadcast(tree.lucknow, link="https://example.org/m")
    queue(broadcast, [person])
    holder = fake_adapter(lambda m, n: SendResult.accepted(m, "x"))
    worker.drain("sms")
    message = holder["adapter"].calls[0][0]
    assert (message.title, message.language, message.link) == (
        "Meeting notice",
        "en",
        broadcast.link,
    )
    assert message.to == person.phone and message.broadcast_code == broadcast.code


def test_two_claims_never_take_the_same_rows(outbox):
    first = worker.claim("sms", 3, "worker-a")
    second = worker.claim("sms", 3, "worker-b")
    assert len(first) == 3 and len(second) == 2
    assert not set(first) & set(second)
    assert worker.claim("sms", 3, "worker-c") == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sending"}
    assert Delivery.objects.get(pk=first[0]).claimed_by == "worker-a"
    assert Delivery.objects.get(pk=first[0]).attempts == 1


def test_a_claim_takes_only_its_channel_and_what_is_due(tree):
    people = people_with_consent(tree.booth1, 3, channels=("sms", "email"))
    broadcast = sent_broadcast(tree.lucknow, channels=("sms", "email"))
    queue(broadcast, people[:2], "sms")
    queue(broadcast, people, "email")
    Delivery.objects.filter(channel="sms", person=people[1]).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    claimed = worker.claim("sms", 10, "w")
    assert [Delivery.objects.get(pk=pk).person_id for pk in claimed] == [people[0].pk]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SKIP LOCKED concurrency runs on PostgreSQL (SQLite has one writer; see test_kill)",
)
def test_concurrent_claims_on_postgresql_skip_each_others_rows(tree):
    people = people_with_consent(tree.booth1, 40)
    queue(sent_broadcast(tree.lucknow), people)
    barrier = threading.Barrier(4)
    claimed: dict[str, list[int]] = {}

    def claim(name):
        from django.db import connection as conn
        from django.db import transaction

        try:
            barrier.wait()
            with transaction.atomic():
                # Hold the row locks a moment, so the others meet them.
                claimed[name] = worker.claim("sms", 15, name)
                barrier.wait(timeout=5)
        finally:
            conn.close()

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_ids = [pk for ids in claimed.values() for pk in ids]
    assert len(all_ids) == len(set(all_ids)) == 40
    assert all(len(ids) <= 15 for ids in claimed.values())
    for name, ids in claimed.items():
        assert set(Delivery.objects.filter(pk__in=ids).values_list("claimed_by", flat=True)) <= {
            name
        }


def test_it_retries_after_429_honouring_retry_after(outbox, fake_adapter):
    broadcast, _people, _rows = outbox
    fake_adapter(lambda m, n: SendResult.transient(m, "HTTP 429", retry_after=120))
    before = timezone.now()
    counts = worker.drain("sms")
    assert counts["retried"] == 5
    for d in Delivery.objects.all():
        assert d.status == "queued" and d.attempts == 1 and d.error == "HTTP 429"
        assert d.next_attempt_at >= before + timedelta(seconds=120)
        assert d.next_attempt_at <= timezone.now() + timedelta(seconds=121)
    assert counter(broadcast).sent == 0
    # Nothing is due: a second drain claims nothing.
    assert worker.drain("sms").get("claimed", 0) == 0


def test_a_429_slows_the_bucket_and_gives_back_the_rest_of_the_claim(
    outbox, fake_adapter, settings
):
    from sangathan.channels.ratelimit import bucket_for

    settings.SANGATHAN_SEND_RATES = {"sms": 20}  # slices of two
    holder = fake_adapter(lambda m, n: SendResult.transient(m, "HTTP 429", retry_after=30))
    counts = worker.drain("sms")
    assert bucket_for("sms").rate == 10
    assert len(holder["adapter"].calls) == 1 and counts["released"] == 3
    soonest = timezone.now() + timedelta(seconds=29)
    assert all(d.next_attempt_at > soonest for d in Delivery.objects.all())
    assert sorted(Delivery.objects.values_list("attempts", flat=True)) == [0, 0, 0, 1, 1]


def test_backoff_has_full_jitter_below_an_exponential_ceiling():
    rng = random.Random(7)
    for attempts in range(1, 14):
        ceiling = min(worker.BACKOFF_CAP, worker.BACKOFF_BASE * 2 ** (attempts - 1))
        delays = [worker.backoff_delay(attempts, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread out
    assert max(worker.backoff_delay(20, rng=rng) for _ in range(100)) <= 15 * 60
    # Retry-After wins when it is later than the draw, never when it is earlier.
    assert worker.backoff_delay(1, retry_after=30, rng=rng) == 30
    assert 0 <= worker.backoff_delay(12, retry_after=0.001, rng=random.Random(1)) <= 900


def test_a_permanent_error_fails_without_retrying(outbox, fake_adapter):
    broadcast, _people, _rows = outbox
    fake_adapter(lambda m, n: SendResult.rejected(m, "invalid number"))
    counts = worker.drain("sms")
    assert counts["failed"] == 5
    assert set(Delivery.objects.values_list("status", "attempts", "error")) == {
        ("failed", 1, "invalid number")
    }
    assert counter(broadcast).failed == 5
    assert worker.drain("sms").get("claimed", 0) == 0


def test_it_gives_up_after_the_maximum_attempts(outbox, fake_adapter, settings):
    broadcast, _people, rows = outbox
    settings.SANGATHAN_SEND_MAX_ATTEMPTS = 3
    Delivery.objects.filter(pk=rows[0].pk).update(attempts=2)
    fake_adapter(lambda m, n: SendResult.transient(m, "HTTP 503"))
    worker.drain("sms")
    spent = Delivery.objects.get(pk=rows[0].pk)
    assert spent.status == "failed" and spent.attempts == 3
    assert spent.error == "gave up after 3 attempts: HTTP 503"
    assert Delivery.objects.filter(status="queued").count() == 4
    assert counter(broadcast).failed == 1


def test_a_stale_claim_is_requeued_and_sent(outbox, fake_adapter):
    _broadcast, _people, rows = outbox
    long_ago = timezone.now() - timedelta(minutes=10)
    Delivery.objects.filter(pk=rows[0].pk).update(
        status="sending", claimed_by="dead-worker", claimed_at=long_ago, attempts=1
    )
    Delivery.objects.filter(pk=rows[1].pk).update(
        status="sending", claimed_by="live-worker", claimed_at=timezone.now(), attempts=1
    )
    fake_adapter(lambda m, n: SendResult.accepted(m, f"ref-{m.delivery_id}"))
    counts = worker.drain("sms")
    assert counts["requeued"] == 1
    dead = Delivery.objects.get(pk=rows[0].pk)
    assert (dead.status, dead.attempts, dead.provider_ref) == ("sent", 2, f"ref-{dead.pk}")
    live = Delivery.objects.get(pk=rows[1].pk)
    assert (live.status, live.claimed_by) == ("sending", "live-worker")


def test_a_stale_claim_past_the_attempt_limit_fails(outbox, settings):
    broadcast, _people, rows = outbox
    settings.SANGATHAN_SEND_MAX_ATTEMPTS = 2
    Delivery.objects.filter(pk=rows[0].pk).update(
        status="sending",
        claimed_by="dead",
        claimed_at=timezone.now() - timedelta(hours=1),
        attempts=2,
    )
    assert worker.requeue_stale() == 1
    assert Delivery.objects.get(pk=rows[0].pk).status == "failed"
    assert counter(broadcast).failed == 1


def test_a_worker_that_lost_its_claim_records_nothing(outbox):
    broadcast, _people, _rows = outbox
    ids = worker.claim("sms", 5, "slow-worker")
    # The lease ran out and another worker took the rows over.
    Delivery.objects.filter(pk__in=ids).update(claimed_by="new-worker")
    rows = worker.load(ids)
    written = worker.record_outcomes(
        "slow-worker", [worker.Outcome(r, "sent", provider_ref="late") for r in rows]
    )
    assert written == []
    assert set(Delivery.objects.values_list("status", "claimed_by")) == {("sending", "new-worker")}
    assert counter(broadcast).sent == 0


def test_consent_withdrawn_after_the_fan_out_suppresses(outbox, fake_adapter):
    broadcast, people, rows = outbox
    Consent.objects.filter(person=people[0]).update(withdrawn_at=timezone.now())
    holder = fake_adapter(lambda m, n: SendResult.accepted(m, "ok"))
    counts = worker.drain("sms")
    assert counts == {"claimed": 5, "suppressed": 1, "sent": 4}
    d = Delivery.objects.get(pk=rows[0].pk)
    assert (d.status, d.error) == ("suppressed", "no consent for sms/organisational")
    assert rows[0].pk not in [m.delivery_id for m in holder["adapter"].calls[0]]
    assert (counter(broadcast).suppressed, counter(broadcast).sent) == (1, 4)


def test_consent_for_another_purpose_does_not_count(tree, fake_adapter):
    people = people_with_consent(tree.booth1, 2, purposes=("organisational",))
    broadcast = sent_broadcast(tree.lucknow, purpose="schemes")
    queue(broadcast, people)
    Delivery.objects.update(next_attempt_at=LONG_AGO)
    fake_adapter(lambda m, n: SendResult.accepted(m, "ok"))
    with time_machine.travel(datetime(2026, 3, 2, 12, 0, tzinfo=IST), tick=False):
        worker.drain("sms")
    assert set(Delivery.objects.values_list("status", flat=True)) == {"suppressed"}


def test_a_suppressed_address_is_not_messaged(outbox, fake_adapter):
    broadcast, people, rows = outbox
    Suppression.objects.create(channel="sms", address=people[2].phone, reason="STOP")
    Suppression.objects.create(channel="email", address=people[3].phone, reason="other channel")
    fake_adapter(lambda m, n: SendResult.accepted(m, "ok"))
    worker.drain("sms")
    assert Delivery.objects.get(pk=rows[2].pk).status == "suppressed"
    assert Delivery.objects.get(pk=rows[2].pk).error == "the address opted out"
    assert Delivery.objects.get(pk=rows[3].pk).status == "sent"


def test_a_suppressed_email_address_is_not_emailed(tree, fake_adapter):
    people = people_with_consent(tree.booth1, 2, channels=("email",))
    broadcast = sent_broadcast(tree.lucknow, channels=("email",))
    rows = queue(broadcast, people, "email")
    Suppression.objects.create(channel="email", address=people[0].email, reason="unsubscribed")
    fake_adapter(lambda m, n: SendResult.accepted(m, "ok"))
    worker.drain("email")
    assert [Delivery.objects.get(pk=r.pk).status for r in rows] == ["suppressed", "sent"]


def test_the_silence_window_suppresses_campaign_messages_only(tree, fake_adapter):
    lucknow_people = people_with_consent(tree.booth1, 2, purposes=("campaign", "organisational"))
    kanpur_people = people_with_consent(
        tree.kanpur_booth, 1, purposes=("campaign", "organisational")
    )
    # Noon IST (inside SMS hours) after now, so the queued rows are due when it is read.
    noon = timezone.now().astimezone(IST).replace(hour=12, minute=0, second=0, microsecond=0)
    if noon <= timezone.now():
        noon += timedelta(days=1)
    PollDate.objects.create(unit=tree.ac_west, poll_closes_at=noon + timedelta(hours=20))
    campaign = sent_broadcast(tree.up, purpose="campaign")
    notice = sent_broadcast(tree.up, purpose="organisational")
    queue(campaign, lucknow_people + kanpur_people)
    queue(notice, lucknow_people)
    fake_adapter(lambda m, n: SendResult.accepted(m, "ok"))
    with time_machine.travel(noon, tick=True):
        worker.drain("sms")
    statuses = dict(Delivery.objects.filter(broadcast=campaign).values_list("person_id", "status"))
    assert [statuses[p.pk] for p in lucknow_people] == ["suppressed", "suppressed"]
    assert statuses[kanpur_people[0].pk] == "sent"
    assert Delivery.objects.filter(broadcast=campaign, status="suppressed").first().error == (
        "campaign silence window before polling"
    )
    assert set(Delivery.objects.filter(broadcast=notice).values_list("status", flat=True)) == {
        "sent"
    }
    assert counter(campaign).suppressed == 2


def test_promotional_sms_waits_for_ten_in_the_morning_ist(tree, fake_adapter):
    people = people_with_consent(tree.booth1, 2, purposes=("schemes", "organisational"))
    scheme = sent_broadcast(tree.lucknow, purpose="schemes")
    notice = sent_broadcast(tree.lucknow, purpose="organisational")
    queue(scheme, people)
    queue(notice, people)
    Delivery.objects.update(next_attempt_at=LONG_AGO)
    fake_adapter(lambda m, n: SendResult.accepted(m, "ok"))
    with time_machine.travel(datetime(2026, 3, 2, 22, 30, tzinfo=IST), tick=False):
        counts = worker.drain("sms")
        assert counts["deferred"] == 2 and counts["sent"] == 2
    for d in Delivery.objects.filter(broadcast=scheme):
        assert d.status == "queued" and d.attempts == 0 and d.claimed_by == ""
        assert d.next_attempt_at == datetime(2026, 3, 3, 10, 0, tzinfo=IST)
    assert set(Delivery.objects.filter(broadcast=notice).values_list("status", flat=True)) == {
        "sent"
    }
    with time_machine.travel(datetime(2026, 3, 3, 9, 59, tzinfo=IST), tick=False):
        assert worker.drain("sms").get("claimed", 0) == 0
    with time_machine.travel(datetime(2026, 3, 3, 10, 0, 5, tzinfo=IST), tick=False):
        assert worker.drain("sms")["sent"] == 2


def test_promotional_hours_open_at_ten_and_close_at_nine_ist():
    at = lambda h, m=0: datetime(2026, 3, 2, h, m, tzinfo=IST)  # noqa: E731
    assert worker.promotional_sms_opens(at(10)) is None
    assert worker.promotional_sms_opens(at(20, 59)) is None
    assert worker.promotional_sms_opens(at(9, 59)) == at(10)
    assert worker.promotional_sms_opens(at(21)) == datetime(2026, 3, 3, 10, tzinfo=IST)
    assert worker.promotional_sms_opens(at(2)) == at(10)


def test_the_token_bucket_paces_and_slows_down():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(100, clock=lambda: now[0], sleep=sleep)
    assert bucket.capacity == 10
    for _ in range(50):
        bucket.acquire(10)
    # 500 messages at 100/s: the first 10 were in the bucket, the other 490 take 4.9 s.
    assert now[0] == pytest.approx(4.9)
    bucket.slow_down(retry_after=2)
    assert bucket.rate == 50
    start = now[0]
    bucket.acquire(10)
    assert now[0] - start >= 2
    for _ in range(40):
        bucket.speed_up()
    assert bucket.rate == 100
    assert bucket.acquire(10, deadline=now[0]) is False or bucket.tokens >= 0


def test_it_releases_the_batch_when_the_provider_is_down(tree, fake_adapter, settings, monkeypatch):
    settings.SANGATHAN_SEND_RATES = {"sms": 10}  # one message per slice
    monkeypatch.setattr(worker, "backoff_delay", lambda *a, **kw: 60)
    people = people_with_consent(tree.booth1, 6)
    queue(sent_broadcast(tree.lucknow), people)
    holder = fake_adapter(lambda m, n: SendResult.transient(m, "timed out"))
    counts = worker.drain("sms")
    assert len(holder["adapter"].calls) == 2  # two slices tried, then the rest given back
    assert counts["released"] == 4
    released = Delivery.objects.filter(attempts=0)
    assert released.count() == 4 and set(released.values_list("status", flat=True)) == {"queued"}


def test_drain_outbox_task_sends_under_the_immediate_backend(outbox):
    from sangathan.channels.tasks import drain_outbox

    result = drain_outbox.enqueue("sms")
    assert result.return_value["sent"] == 5
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_drain_outbox_schedules_itself_for_the_next_retry(outbox, fake_adapter, settings):
    from django_tasks_db.models import DBTaskResult

    from sangathan.channels.tasks import drain_outbox, schedule_wakeup

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    fake_adapter(lambda m, n: SendResult.transient(m, "HTTP 429", retry_after=60))
    drain_outbox.call("sms")
    wakeups = DBTaskResult.objects.filter(task_path=drain_outbox.module_path)
    assert wakeups.count() == 1
    earliest = Delivery.objects.order_by("next_attempt_at").first().next_attempt_at
    # The retries' time (which is also when the 429-paused sender resumes).
    assert abs((wakeups.get().run_after - earliest).total_seconds()) < 1
    assert wakeups.get().args_kwargs["args"] == ["sms"]
    assert schedule_wakeup("sms") is False  # one wake-up is enough
    assert wakeups.count() == 1


def test_worker_until_idle_runs_tasks_and_waits_for_due_retries(outbox, settings, monkeypatch):
    from sangathan.channels.tasks import drain_outbox

    broadcast, _people, rows = outbox
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(worker, "BACKOFF_BASE", 0.05)
    calls = []

    def answer(m, n):
        calls.append(m.delivery_id)
        if m.delivery_id == rows[0].pk and calls.count(m.delivery_id) == 1:
            return SendResult.transient(m, "HTTP 503", retry_after=0.3)
        return SendResult.accepted(m, "ok")

    from tests.channels.conftest import FakeAdapter

    monkeypatch.setattr(worker, "get_adapter", lambda ch: FakeAdapter(ch, answer))
    drain_outbox.enqueue("sms")
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("worker", "--until-idle", verbosity=0)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert calls.count(rows[0].pk) == 2
    assert counter(broadcast).sent == 5


def test_worker_until_idle_stops_when_what_is_left_waits_too_long(outbox, capsys):
    Delivery.objects.update(next_attempt_at=timezone.now() + timedelta(hours=5))
    call_command("worker", "--until-idle", "--max-wait", "60", verbosity=1)
    assert "5 deliveries wait until" in capsys.readouterr().out


def _redis():
    try:
        import redis
        from django.conf import settings

        conn = redis.Redis.from_url(settings.SANGATHAN_REDIS_URL, socket_connect_timeout=1)
        conn.ping()
        return conn
    except Exception as exc:  # not installed, or not answering
        print(f"RQ drain test skipped: Redis does not answer ({exc})")
        return None


def test_the_drain_task_runs_on_an_rq_worker(outbox, settings):
    pytest.importorskip("django_tasks_rq", reason="django-tasks-rq is not installed")
    conn = _redis()
    if conn is None:
        pytest.skip(f"Redis at {settings.SANGATHAN_REDIS_URL} does not answer")
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    from sangathan.channels.tasks import drain_outbox

    broadcast, _people, _rows = outbox
    conn.flushdb()  # database 15 is the tests' own (settings_test)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    try:
        drain_outbox.enqueue("sms")
        assert conn.llen("rq:queue:default") == 1  # one job for the whole outbox
        assert Delivery.objects.filter(status="queued").count() == 5
        # SimpleWorker runs the job in this process, inside the test's transaction.
        worker_ = django_rq.get_worker("default", job_class=Job, worker_class=SimpleWorker)
        worker_.work(burst=True)
        assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
        assert counter(broadcast).sent == 5
    finally:
        conn.flushdb()


def test_an_adapter_that_raises_costs_an_attempt_not_the_worker(outbox, fake_adapter, caplog):
    def explode(m, n):
        raise RuntimeError("bug in the adapter")

    fake_adapter(explode)
    counts = worker.drain("sms")
    assert counts["retried"] == 5
    assert set(Delivery.objects.values_list("status", "attempts", "error")) == {
        ("queued", 1, "RuntimeError: bug in the adapter")
    }
    assert "the fake adapter failed on a slice" in caplog.text


def test_push_without_a_subscription_fails_before_sending(tree, fake_adapter):
    people = people_with_consent(tree.booth1, 1, channels=("push",))
    broadcast = sent_broadcast(tree.lucknow, channels=("push",))
    queue(broadcast, people, "push")
    holder = fake_adapter(lambda m, n: SendResult.accepted(m, "ok"))
    worker.drain("push")
    d = Delivery.objects.get()
    assert (d.status, d.error) == ("failed", "no push subscription")
    assert holder["adapter"] is None or holder["adapter"].calls == []
