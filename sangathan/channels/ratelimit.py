"""Per-sender token buckets: how fast one worker process may hand messages to a provider.

A bucket fills at ``rate`` tokens a second up to ``capacity`` (a tenth of a second's worth
by default, so a worker never bursts far above the rate) and each message takes one token.
When the provider answers 429 the bucket *slows*: it stops for the Retry-After and halves
its rate, then climbs back by a twentieth of the configured rate with every slice that goes
through (additive increase, multiplicative decrease), so a worker settles just under the
provider's real limit even when the configured rate is too high.

The bucket is in-process. Several worker processes share one provider limit by dividing it:
each takes ``SANGATHAN_SEND_RATES[channel] / SANGATHAN_SEND_PROCESSES`` (set the second to
the number of worker processes that send on the channel). Slowing on 429 makes a slight
overshoot self-correcting; a shared bucket in Redis would be the next step if the number of
workers changed often.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

BURST_SECONDS = 0.1
EPSILON = 1e-6  # tokens and seconds: float refills must not leave a sliver to wait for


class TokenBucket:
    def __init__(self, rate: float, capacity: float | None = None, clock=None, sleep=None):
        self.max_rate = float(rate)
        self.rate = float(rate)
        self.min_rate = max(self.max_rate / 64, 0.1)
        self.capacity = capacity or max(1.0, self.max_rate * BURST_SECONDS)
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep
        self.tokens = self.capacity
        self.updated = self.clock()
        self.paused_until = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, n: float = 1) -> float:
        """Seconds until ``n`` tokens can be taken (0 when they can be taken now)."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            wait = max(0.0, self.paused_until - now)
            missing = min(n, self.capacity) - self.tokens
            if missing > EPSILON:
                wait = max(wait, missing / self.rate)
            return wait

    def take(self, n: float = 1) -> None:
        """Take ``n`` tokens now; the bucket may go into debt for a slice larger than its
        capacity, which later takes pay back."""
        with self._lock:
            self._refill(self.clock())
            self.tokens -= n

    def try_take(self, n: float = 1) -> float:
        """Take ``n`` tokens if they are there and return 0; else take nothing and return
        the seconds until they would be (a provider's "429 Retry-After")."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            wait = max(0.0, self.paused_until - now)
            missing = min(n, self.capacity) - self.tokens
            if missing > EPSILON:
                wait = max(wait, missing / self.rate)
            if wait <= EPSILON:
                self.tokens -= n
                return 0.0
            return wait

    def acquire(self, n: float = 1, deadline: float | None = None) -> bool:
        """Wait until ``n`` tokens are there and take them; False if that would pass the
        ``deadline`` (a ``clock()`` value), taking nothing."""
        while True:
            wait = self.wait_time(n)
            if wait <= EPSILON:
                self.take(n)
                return True
            if deadline is not None and self.clock() + wait > deadline:
                return False
            self.sleep(wait)

    def slow_down(self, retry_after: float | None = None) -> None:
        """The provider said 429: pause for ``retry_after`` and halve the rate."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            self.rate = max(self.min_rate, self.rate / 2)
            self.tokens = min(self.tokens, 0.0)
            if retry_after:
                self.paused_until = max(self.paused_until, now + retry_after)

    def speed_up(self) -> None:
        """A slice went through without a 429: climb back towards the configured rate."""
        with self._lock:
            if self.rate < self.max_rate:
                self._refill(self.clock())
                self.rate = min(self.max_rate, self.rate + self.max_rate / 20)


def configured_rate(channel: str) -> float:
    rates = getattr(settings, "SANGATHAN_SEND_RATES", {})
    processes = max(1, int(getattr(settings, "SANGATHAN_SEND_PROCESSES", 1)))
    return float(rates.get(channel, 10)) / processes


_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


UNLIMITED_RATE = 10_000.0  # the console adapter: no provider limit to respect


def bucket_for(channel: str, *, unlimited: bool = False) -> TokenBucket:
    """This process's bucket for ``channel`` (one per sender: the adapter's account). A
    changed configured rate (tests, a reloaded setting) starts a new bucket."""
    rate = UNLIMITED_RATE if unlimited else configured_rate(channel)
    with _buckets_lock:
        bucket = _buckets.get(channel)
        if bucket is None or bucket.max_rate != rate:
            bucket = _buckets[channel] = TokenBucket(rate)
        return bucket
