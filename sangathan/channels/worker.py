"""The sender: drains the delivery outbox through the channel adapters.

One call of ``drain()`` repeats, per channel:

1. **Claim** a batch atomically: one ``UPDATE … SET status='sending', claimed_by, claimed_at,
   attempts=attempts+1 WHERE id IN (SELECT id … WHERE status='queued' AND next_attempt_at <=
   now ORDER BY next_attempt_at LIMIT n) RETURNING id``; on PostgreSQL the selection is a CTE
   with ``FOR UPDATE SKIP LOCKED`` so concurrent workers take disjoint rows without waiting,
   on SQLite the statement holds the database's one write lock. Claims older than the lease
   (``SANGATHAN_CLAIM_LEASE_SECONDS``, 5 minutes) belong to a worker that died: they are put
   back in the queue (or failed, past the attempt limit) by whichever worker sweeps next.
2. **Check** the batch again in one query, because time has passed since the fan-out: a
   delivery whose person withdrew consent for the channel and the broadcast's purpose, whose
   address was suppressed (STOP, unsubscribe), or — for a campaign broadcast — whose unit is
   now inside a campaign-silence window is marked ``suppressed`` with the reason. Promotional
   SMS (any purpose but ``organisational``) goes only 10:00–21:00 IST: outside those hours it
   is put back with ``next_attempt_at`` at the next 10:00 IST, without counting an attempt.
3. **Send** in slices under the channel's token bucket (``ratelimit.py``); a slice answered
   with 429 slows the bucket.
4. **Record** results in bulk (a few UPDATEs per slice, never one save per row), together with
   the reach counters (``record_status_changes``) in the same transaction: accepted →
   ``sent``; transient (429, 5xx, timeouts) → back to ``queued`` with exponential backoff and
   full jitter (base 2 s, cap 15 min), or the provider's Retry-After when that is later, and
   ``failed`` after ``SANGATHAN_SEND_MAX_ATTEMPTS`` (8) attempts; permanent → ``failed``.
   A write only touches rows still claimed by this worker, so a worker that lost its claim
   to the lease records nothing over the worker that took over.

Delivery is **at least once**. The window: the provider accepted a message and the worker
died (or lost its connection, or timed out waiting for the answer) before recording it. The
claim then expires, the row is re-queued and the message is sent again. The window is at most
one slice per worker (a tenth of a second's worth of messages at the channel's rate), plus
any request that timed out after the provider had taken it; a provider that deduplicates on
the delivery id (the SMS contract's ``ref``) closes it. Nothing is ever sent twice outside
that window: a row is sent only while claimed, and a claim is given up only by recording.

Tasks (``tasks.drain_outbox``) only wake workers up; the outbox rows are the truth, so a
lost task loses nothing and a duplicate task costs one empty claim. One task drains until
nothing is ready: never one task per recipient.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, DateTimeField, Exists, F, OuterRef, Value, When
from django.utils import timezone

from sangathan.channels.adapters import get_adapter
from sangathan.channels.adapters.base import OutgoingMessage, SendResult
from sangathan.channels.models import Delivery, PushSubscription, Suppression
from sangathan.channels.ratelimit import TokenBucket, bucket_for

logger = logging.getLogger("sangathan.channels")

CHANNELS = ("push", "sms", "email", "whatsapp")
BACKOFF_BASE = 2.0
BACKOFF_CAP = 15 * 60.0
BATCH_SECONDS = 5.0  # a claim holds at most this long's worth of messages at the full rate
SWEEP_EVERY = 30.0  # seconds between sweeps for stale claims
IDLE_POLL = 1.0
MAX_PAUSE_SLEEP = 5.0  # a drain sleeps through a shorter Retry-After, returns on a longer one
IST = ZoneInfo("Asia/Kolkata")


def lease_seconds() -> float:
    return float(getattr(settings, "SANGATHAN_CLAIM_LEASE_SECONDS", 300))


def max_attempts() -> int:
    return int(getattr(settings, "SANGATHAN_SEND_MAX_ATTEMPTS", 8))


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def backoff_delay(attempts: int, retry_after: float | None = None, rng=None) -> float:
    """Seconds before the next try after ``attempts`` tries: "full jitter" (a uniform draw
    below an exponentially growing ceiling, so retries of a burst spread out), never sooner
    than the provider's Retry-After."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    delay = (rng or random).uniform(0, ceiling)
    if retry_after is not None and retry_after > delay:
        delay = float(retry_after)
    return delay


def promotional_sms_opens(now: datetime) -> datetime | None:
    """None inside the promotional SMS hours (10:00–21:00 IST), else when they next open."""
    start, end = getattr(settings, "SANGATHAN_SMS_PROMOTIONAL_HOURS", (10, 21))
    local = now.astimezone(IST)
    if start <= local.hour < end:
        return None
    opens = local.replace(hour=start, minute=0, second=0, microsecond=0)
    if local.hour >= end:
        opens += timedelta(days=1)
    return opens


# --- claiming ------------------------------------------------------------------------------


def _db_now(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def claim(channel: str, limit: int, worker_id: str, now: datetime | None = None) -> list[int]:
    """Atomically take up to ``limit`` ready deliveries of ``channel`` for ``worker_id``."""
    now = now or timezone.now()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    ready = (
        f"SELECT id FROM {table} WHERE status = 'queued' AND channel = %s "
        f"AND next_attempt_at <= %s ORDER BY next_attempt_at LIMIT %s"
    )
    claim_set = "SET status = 'sending', claimed_by = %s, claimed_at = %s, attempts = attempts + 1"
    if connection.features.has_select_for_update_skip_locked:
        # ``id = ANY(ARRAY(subquery))``: the locking subquery runs exactly once (an ``IN``
        # subquery may run more than once and claim more than ``limit`` rows), and the update
        # is a primary-key lookup whatever the statistics say (a join against a CTE was
        # planned as a nested loop over every queued row when the outbox had been analysed
        # empty: 0.6 s a claim at 11,000 queued). The rows are locked, so no status re-check.
        sql = (
            f"UPDATE {table} {claim_set} "
            f"WHERE id = ANY(ARRAY({ready} FOR UPDATE SKIP LOCKED)) RETURNING id"
        )
        params = [worker_id, _db_now(now), channel, _db_now(now), int(limit)]
    else:
        sql = f"UPDATE {table} {claim_set} WHERE status = 'queued' AND id IN ({ready}) RETURNING id"
        params = [worker_id, _db_now(now), channel, _db_now(now), int(limit)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def requeue_stale(lease: float | None = None, now: datetime | None = None) -> int:
    """Put back claims older than the lease (their worker died); fail those that used up
    their attempts. Returns how many rows were touched."""
    from sangathan.broadcasts.reach import record_status_changes

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=lease if lease is not None else lease_seconds())
    with transaction.atomic():
        stale = Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=cutoff)
        if connection.features.has_select_for_update_skip_locked:
            stale = stale.select_for_update(skip_locked=True)
        rows = list(stale.values_list("pk", "attempts", "broadcast_id", "channel", "unit_path"))
        if not rows:
            return 0
        limit = max_attempts()
        spent = [r for r in rows if r[1] >= limit]
        again = [r[0] for r in rows if r[1] < limit]
        if again:
            Delivery.objects.filter(pk__in=again, status=Delivery.Status.SENDING).update(
                status=Delivery.Status.QUEUED, claimed_by="", claimed_at=None, next_attempt_at=now
            )
        if spent:
            Delivery.objects.filter(
                pk__in=[r[0] for r in spent], status=Delivery.Status.SENDING
            ).update(
                status=Delivery.Status.FAILED,
                claimed_by="",
                status_at=now,
                error=f"gave up: the worker sending it stopped {limit} times",
            )
            record_status_changes((b, ch, p, "queued", "failed") for _, _, b, ch, p in spent)
    if rows:
        logger.warning("re-queued %d and failed %d stale claims", len(again), len(spent))
    return len(rows)


# --- the batch -----------------------------------------------------------------------------


@dataclass
class Row:
    id: int
    broadcast_id: int
    person_id: int
    channel: str
    unit_path: str
    attempts: int
    address: str
    languages: str
    consented: bool
    opted_out: bool


@dataclass
class Outcome:
    row: Row
    status: str  # sent | queued | failed | suppressed
    error: str = ""
    provider_ref: str = ""
    next_attempt_at: datetime | None = None
    refund: bool = False  # not a real attempt: give back the claim's increment


def load(ids: list[int]) -> list[Row]:
    """The claimed rows with what the checks and the messages need, in one query."""
    from sangathan.people.models import Consent

    address = Case(
        When(channel="email", then=F("person__email")),
        default=F("person__phone"),
        output_field=CharField(),
    )
    rows = (
        Delivery.objects.filter(pk__in=ids)
        .annotate(address=address)
        .annotate(
            # Consent channels carry the delivery channels' names (broadcasts.CONSENT_CHANNEL).
            consented=Exists(
                Consent.objects.filter(
                    person=OuterRef("person_id"),
                    channel=OuterRef("channel"),
                    purpose=OuterRef("broadcast__purpose"),
                    withdrawn_at=None,
                )
            ),
            opted_out=Exists(
                Suppression.objects.filter(channel=OuterRef("channel"), address=OuterRef("address"))
            ),
        )
        .order_by("pk")
        .values_list(
            "pk",
            "broadcast_id",
            "person_id",
            "channel",
            "unit_path",
            "attempts",
            "address",
            "person__languages",
            "consented",
            "opted_out",
        )
    )
    return [Row(*r) for r in rows]


class Drainer:
    """State kept across batches of one ``drain()``: adapters, broadcasts, counts."""

    def __init__(self, worker_id: str, batch_size: int, deadline: float | None, lease: float):
        self.worker_id = worker_id
        self.lease = lease
        self.batch_size = batch_size
        self.deadline = deadline
        self.adapters: dict = {}
        self.broadcasts: dict = {}
        self.counts: Counter = Counter()
        self._silenced: tuple[float, list[str]] | None = None

    def close(self) -> None:
        for adapter in self.adapters.values():
            try:
                adapter.close()
            except Exception:
                logger.exception("closing the %s adapter failed", adapter.name)

    # --- what the checks need ---

    def broadcast(self, pk: int):
        if pk not in self.broadcasts:
            from sangathan.broadcasts.models import Broadcast

            self.broadcasts[pk] = Broadcast.objects.only(
                "code", "purpose", "status", "link", "title_hi", "body_hi", "title_en", "body_en"
            ).get(pk=pk)
        return self.broadcasts[pk]

    def silenced(self) -> list[str]:
        """Unit paths inside a silence window, re-read at most every ten seconds."""
        now = time.monotonic()
        if self._silenced is None or now - self._silenced[0] > 10:
            from sangathan.broadcasts.silence import silenced_paths

            self._silenced = (now, silenced_paths(timezone.now()))
        return self._silenced[1]

    def adapter(self, channel: str):
        if channel not in self.adapters:
            self.adapters[channel] = get_adapter(channel)
        return self.adapters[channel]

    # --- one batch ---

    def batch(self, channel: str) -> int:
        # The console adapter (the demo's) talks to no provider: no rate to keep to.
        bucket = bucket_for(channel, unlimited=self.adapter(channel).name == "console")
        pause = bucket.wait_time(1)  # after a 429: wait before claiming, not while holding
        if pause > 0:
            late = self.deadline is not None and time.monotonic() + pause > self.deadline
            if pause > MAX_PAUSE_SLEEP or late:
                return 0  # a long Retry-After: come back later (tasks.schedule_wakeup)
            time.sleep(pause)
        limit = min(self.batch_size, max(1, int(bucket.max_rate * BATCH_SECONDS)))
        ids = claim(channel, limit, self.worker_id)
        if not ids:
            return 0
        claimed_at = time.monotonic()
        self.counts["claimed"] += len(ids)
        rows = load(ids)
        now = timezone.now()
        ready, early = self.check(rows, now)
        if early:
            self.record(early)
        if not ready:
            return len(ids)
        try:
            adapter = self.adapter(channel)
        except Exception:
            self.record([Outcome(r, "queued", next_attempt_at=now, refund=True) for r in ready])
            raise
        messages = self.messages(channel, ready)
        if channel == "push":  # the subscriptions may have gone since the fan-out
            gone = [r for r in ready if not messages[r.id].to]
            if gone:
                self.record([Outcome(r, "failed", error="no push subscription") for r in gone])
                ready = [r for r in ready if messages[r.id].to]
        self.send(adapter, bucket, ready, messages, claimed_at)
        return len(ids)

    def check(self, rows: list[Row], now: datetime) -> tuple[list[Row], list[Outcome]]:
        ready, early = [], []
        window = None
        for row in rows:
            b = self.broadcast(row.broadcast_id)
            if b.status == "cancelled":
                early.append(Outcome(row, "suppressed", error="the broadcast was cancelled"))
            elif not row.consented:
                early.append(
                    Outcome(row, "suppressed", error=f"no consent for {row.channel}/{b.purpose}")
                )
            elif row.opted_out:
                early.append(Outcome(row, "suppressed", error="the address opted out"))
            elif b.purpose == "campaign" and any(
                row.unit_path.startswith(p) for p in self.silenced()
            ):
                early.append(
                    Outcome(row, "suppressed", error="campaign silence window before polling")
                )
            elif (
                row.channel == "sms"
                and b.purpose != "organisational"
                and (window := window or promotional_sms_opens(now))
            ):
                early.append(Outcome(row, "queued", next_attempt_at=window, refund=True))
            elif not row.address and row.channel != "push":
                early.append(Outcome(row, "failed", error=f"no address for {row.channel}"))
            else:
                ready.append(row)
        return ready, early

    def messages(self, channel: str, rows: list[Row]) -> dict[int, OutgoingMessage]:
        subscriptions: dict[int, list] = defaultdict(list)
        if channel == "push":
            for sub in PushSubscription.objects.filter(
                person_id__in={r.person_id for r in rows}
            ).values("pk", "person_id", "endpoint", "p256dh", "auth"):
                subscriptions[sub["person_id"]].append(
                    {
                        "id": sub["pk"],
                        "endpoint": sub["endpoint"],
                        "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]},
                    }
                )
        out = {}
        for row in rows:
            b = self.broadcast(row.broadcast_id)
            first = (row.languages or "").split(",")[0].strip().lower()
            language = "en" if first.startswith("en") else "hi"
            title, body = b.text_for(language)
            out[row.id] = OutgoingMessage(
                delivery_id=row.id,
                to=subscriptions.get(row.person_id, []) if channel == "push" else row.address,
                title=title,
                body=body,
                link=b.link,
                language=language,
                broadcast_code=b.code,
                purpose=b.purpose,
                person_id=row.person_id,
                channel=channel,
            )
        return out

    def send(self, adapter, bucket: TokenBucket, rows, messages, claimed_at: float) -> None:
        step = max(1, int(bucket.capacity))
        pending: list[Outcome] = []
        limit = max_attempts()
        i = down_slices = 0
        while i < len(rows):
            part = rows[i : i + step]
            late = time.monotonic() - claimed_at > self.lease / 2
            if late or not bucket.acquire(len(part), deadline=self.deadline):
                # Out of time (the drain's, or half the lease): give the rest back unsent.
                now = timezone.now()
                pending += [
                    Outcome(r, "queued", next_attempt_at=now, refund=True) for r in rows[i:]
                ]
                self.counts["released"] += len(rows) - i
                break
            try:
                results = _by_id(adapter.send([messages[r.id] for r in part]))
            except Exception as exc:
                # An adapter bug must not kill the worker or strand the claim: log it and
                # count the slice as a failed attempt (it fails for good after the limit).
                logger.exception("the %s adapter failed on a slice", adapter.name)
                results = {
                    r.id: SendResult(r.id, False, error=f"{type(exc).__name__}: {exc}"[:300])
                    for r in part
                }
            now = timezone.now()
            throttled, accepted, down = [], 0, True
            for row in part:
                result = results.get(row.id) or SendResult(row.id, False, error="no result")
                pending.append(self.outcome(row, result, now, limit, adapter.name))
                if result.ok:
                    accepted += 1
                    down = False
                elif result.permanent:
                    down = False
                elif result.retry_after is not None:
                    throttled.append(result.retry_after)
            if throttled:
                bucket.slow_down(max(throttled))
            elif accepted:
                bucket.speed_up()
            i += len(part)
            down_slices = down_slices + 1 if down else 0
            if (throttled or down_slices >= 2) and i < len(rows):
                # The provider said "slow down", or nothing got through twice running (it is
                # down or hangs): don't hold the rest of the claim while waiting, or spend a
                # timeout on every slice; give it back for when the provider should be ready.
                later = now + timedelta(seconds=max(throttled, default=BACKOFF_BASE))
                pending += [
                    Outcome(r, "queued", next_attempt_at=later, refund=True) for r in rows[i:]
                ]
                self.counts["released"] += len(rows) - i
                break
            # Record every slice: what a killed worker leaves sent but unrecorded (the
            # at-least-once window) is then at most one slice.
            self.record(pending)
            pending = []
        self.record(pending)

    def outcome(self, row: Row, result: SendResult, now, limit: int, adapter: str) -> Outcome:
        if result.ok:
            return Outcome(row, "sent", provider_ref=result.provider_ref)
        if result.permanent:
            return Outcome(row, "failed", error=result.error)
        if row.attempts >= limit:
            return Outcome(
                row, "failed", error=f"gave up after {row.attempts} attempts: {result.error}"
            )
        delay = backoff_delay(row.attempts, result.retry_after)
        return Outcome(
            row, "queued", error=result.error, next_attempt_at=now + timedelta(seconds=delay)
        )

    # --- recording ---

    def record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        adapter = ""
        if outcomes and outcomes[0].row.channel in self.adapters:
            adapter = self.adapters[outcomes[0].row.channel].name
        recorded = record_outcomes(self.worker_id, outcomes, adapter)
        for o in recorded:
            if o.status == "queued":
                self.counts["deferred" if o.refund else "retried"] += 1
            else:
                self.counts[o.status] += 1
        lost = len(outcomes) - len(recorded)
        if lost:
            self.counts["lost_claims"] += lost


def _by_id(results: list[SendResult]) -> dict[int, SendResult]:
    return {r.delivery_id: r for r in results}


def _per_row(outcomes: list[Outcome], attr: str, output_field):
    values = {o.row.id: getattr(o, attr) for o in outcomes}
    distinct = set(values.values())
    if len(distinct) == 1:
        return Value(distinct.pop(), output_field=output_field)
    return Case(
        *[When(pk=pk, then=Value(v, output_field=output_field)) for pk, v in values.items()],
        output_field=output_field,
    )


def record_outcomes(worker_id: str, outcomes: list[Outcome], adapter: str = "") -> list[Outcome]:
    """Write outcomes of rows still claimed by ``worker_id``, a few UPDATEs in all, and move
    the reach counters in the same transaction. Returns the outcomes written."""
    from sangathan.broadcasts.reach import record_status_changes

    now = timezone.now()
    ids = [o.row.id for o in outcomes]
    with transaction.atomic():
        mine = Delivery.objects.filter(pk__in=ids, status="sending", claimed_by=worker_id)
        held = set(mine.select_for_update().values_list("pk", flat=True))
        outcomes = [o for o in outcomes if o.row.id in held]
        groups: dict[tuple[str, bool], list[Outcome]] = defaultdict(list)
        for o in outcomes:
            groups[(o.status, o.refund)].append(o)
        char, when = CharField(), DateTimeField()
        for (status, refund), group in groups.items():
            fields = {
                "status": status,
                "claimed_by": "",
                "error": _per_row(group, "error", char),
            }
            if status == "queued":
                fields["claimed_at"] = None
                fields["next_attempt_at"] = _per_row(group, "next_attempt_at", when)
                if refund:
                    fields["attempts"] = F("attempts") - 1
            else:
                fields["status_at"] = now
            if status == "sent":
                fields["provider_ref"] = _per_row(group, "provider_ref", char)
                fields["sent_at"] = now
                fields["adapter"] = adapter
            Delivery.objects.filter(pk__in=[o.row.id for o in group]).update(**fields)
        record_status_changes(
            (o.row.broadcast_id, o.row.channel, o.row.unit_path, "queued", o.status)
            for o in outcomes
            if o.status != "queued"
        )
    return outcomes


# --- the loop ------------------------------------------------------------------------------


def drain(
    channel: str | None = None,
    batch_size: int | None = None,
    until_idle: bool = True,
    worker_id: str | None = None,
    max_seconds: float | None = None,
    lease: float | None = None,
) -> dict:
    """Send what the outbox holds for ``channel`` (every external channel when None).

    With ``until_idle`` it returns once nothing is ready (retries due later stay queued for
    a later drain); without, it waits for work until ``max_seconds`` have passed. Channels
    take turns batch by batch in one process; run one task or worker per channel for
    parallel channels. Returns counts: claimed, sent, failed, suppressed, retried (back in
    the queue after a transient error), deferred (back without an attempt: outside the SMS
    hours or given back unsent), released, requeued (stale claims put back), lost_claims.
    ``lease`` overrides ``SANGATHAN_CLAIM_LEASE_SECONDS``."""
    worker_id = worker_id or new_worker_id()
    batch_size = batch_size or int(getattr(settings, "SANGATHAN_SEND_BATCH", 200))
    channels = [channel] if channel else list(CHANNELS)
    started = time.monotonic()
    deadline = started + max_seconds if max_seconds is not None else None
    lease = lease if lease is not None else lease_seconds()
    drainer = Drainer(worker_id, batch_size, deadline, lease)
    last_sweep = None
    try:
        while True:
            if last_sweep is None or time.monotonic() - last_sweep >= SWEEP_EVERY:
                drainer.counts["requeued"] += requeue_stale(lease)
                last_sweep = time.monotonic()
            worked = False
            for ch in channels:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                worked = drainer.batch(ch) > 0 or worked
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not worked:
                if until_idle:
                    break
                time.sleep(IDLE_POLL)
    finally:
        drainer.close()
    counts = {k: v for k, v in drainer.counts.items() if v}
    if counts.get("claimed"):
        logger.info("drained %s: %s", channel or "all channels", counts)
    return counts


def next_due(channel: str | None = None, lease: float | None = None) -> datetime | None:
    """When the outbox next has work: the earliest queued ``next_attempt_at``, or the time
    a live claim's lease runs out. None when nothing is queued or being sent."""
    qs = Delivery.objects.all()
    if channel:
        qs = qs.filter(channel=channel)
    queued = (
        qs.filter(status="queued")
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    claimed = (
        qs.filter(status="sending")
        .order_by("claimed_at")
        .values_list("claimed_at", flat=True)
        .first()
    )
    if claimed is not None:
        claimed += timedelta(seconds=lease if lease is not None else lease_seconds())
    times = [t for t in (queued, claimed) if t is not None]
    return min(times) if times else None
