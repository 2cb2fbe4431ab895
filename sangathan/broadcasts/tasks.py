"""Background work for broadcasts: one task per broadcast (never per recipient).

``publish_broadcast`` publishes a scheduled broadcast when its time comes and fans a sent one
out: reach counters, then outbox rows for each external channel, then a wake-up for the
senders. Running it twice is harmless (the fan-out inserts skip existing rows and stop once
``fanout_done_at`` is set).
"""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import default_task_backend, task

log = logging.getLogger("sangathan.broadcasts")


@task()
def publish_broadcast(broadcast_id: int) -> dict:
    from sangathan.broadcasts.actions import publish_due
    from sangathan.broadcasts.fanout import fan_out
    from sangathan.broadcasts.models import Broadcast

    publish_due(broadcast_id)
    broadcast = Broadcast.objects.select_related("audience_unit").filter(pk=broadcast_id).first()
    if broadcast is None or broadcast.status != Broadcast.Status.SENT:
        return {}
    totals = fan_out(broadcast)
    if "groups" in broadcast.channels:
        from sangathan.groups.forwards import create_forward_tasks

        create_forward_tasks(broadcast)
    if broadcast.external_channels:
        from sangathan.channels.tasks import drain_outbox

        for channel in broadcast.external_channels:
            drain_outbox.enqueue(channel)
    return totals


def enqueue_publish(broadcast_id: int, when=None) -> None:
    """Queue the publish task, at ``when`` if the backend can defer tasks. Backends that
    cannot (the immediate one in tests) leave scheduled broadcasts to
    ``publish_due_broadcasts``, which ``sangathan worker`` runs."""
    if when is not None and when > timezone.now():
        if not default_task_backend.supports_defer:
            return
        publish_broadcast.using(run_after=when).enqueue(broadcast_id)
        return
    publish_broadcast.enqueue(broadcast_id)


def publish_due_broadcasts() -> int:
    """Publish every scheduled broadcast whose time has passed; returns how many. A sweep
    that makes a lost deferred task lose nothing."""
    from sangathan.broadcasts.models import Broadcast

    due = list(
        Broadcast.objects.filter(
            status=Broadcast.Status.SCHEDULED, scheduled_at__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
    for pk in due:
        publish_broadcast.call(pk)
    # Sent broadcasts whose fan-out never finished (a worker died mid-way).
    stale = Broadcast.objects.filter(
        status=Broadcast.Status.SENT,
        fanout_done_at=None,
        sent_at__lt=timezone.now() - timezone.timedelta(minutes=10),
    ).values_list("pk", flat=True)
    for pk in list(stale):
        publish_broadcast.call(pk)
    return len(due)
