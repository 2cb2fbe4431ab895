"""Background work for the outbox: one task drains a channel, never one task per recipient.

``drain_outbox.enqueue(channel)`` is the wake-up a fan-out sends once its rows are in. The
task drains until nothing is ready; if retries are due later (backoff, Retry-After, the SMS
hours) or another worker's claim may expire, and the backend can defer tasks, it enqueues
itself for that time — once: a wake-up already queued for then or earlier is enough. The
outbox is the truth: ``sangathan worker --until-idle`` (or any later wake-up) finds what a lost
task left behind.
"""

from __future__ import annotations

import contextvars
import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from sangathan.channels.worker import drain, next_due

logger = logging.getLogger("sangathan.channels")

# Set while a drain task runs in this context: a backend that runs tasks at enqueue time
# must not recurse into another drain from inside this one.
_draining = contextvars.ContextVar("sangathan_draining", default=False)


@task()
def drain_outbox(channel: str | None = None) -> dict:
    """Send what is ready on ``channel`` (every external channel when None)."""
    token = _draining.set(True)
    try:
        counts = drain(channel=channel, until_idle=True)
    finally:
        _draining.reset(token)
    schedule_wakeup(channel)
    return counts


def schedule_wakeup(channel: str | None = None) -> bool:
    """Enqueue a drain at the outbox's next due time, if any and the backend can defer."""
    if _draining.get() or not drain_outbox.get_backend().supports_defer:
        return False
    due = next_due(channel)
    if due is None:
        return False
    now = timezone.now()
    # A sender paused by a long Retry-After in this process resumes no sooner than that.
    from sangathan.channels.ratelimit import bucket_for
    from sangathan.channels.worker import CHANNELS

    pause = min(bucket_for(c).wait_time(1) for c in ([channel] if channel else CHANNELS))
    due = max(due, now + timedelta(seconds=pause))
    if _already_scheduled(channel, due):
        return False
    drain_outbox.using(run_after=due).enqueue(channel)
    return True


def _already_scheduled(channel: str | None, due) -> bool:
    """A drain for ``channel`` waiting to run at or before ``due`` (database backend only;
    on other backends a duplicate wake-up costs one empty claim)."""
    try:
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.models import DBTaskResult, get_date_max
    except ImportError:  # pragma: no cover
        return False
    if not isinstance(drain_outbox.get_backend(), DatabaseBackend):
        return False
    waiting = DBTaskResult.objects.filter(
        # A second's slack: the same due time computed twice differs by microseconds.
        Q(run_after__lte=due + timedelta(seconds=1)) | Q(run_after=get_date_max()),
        status="READY",
        task_path=drain_outbox.module_path,
    ).values_list("args_kwargs", flat=True)
    for args_kwargs in waiting[:50]:
        args = list(args_kwargs.get("args") or []) + list(
            (args_kwargs.get("kwargs") or {}).values()
        )
        if (args[0] if args else None) in (channel, None):
            return True
    return False
