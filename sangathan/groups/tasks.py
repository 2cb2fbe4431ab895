"""Background work for groups: reminders for open forward tasks and the daily coverage
snapshot. Both are sweeps (idempotent, whatever is due): ``sangathan worker --until-idle``
runs ``periodic`` on each pass (at most once a minute), ``sangathan groups-sweep`` runs it
from cron, and each broadcast's reminder task is also deferred to when its tasks fall due
where the task backend can defer."""

from __future__ import annotations

import time

from django_tasks import task

EVERY_SECONDS = 60
_last_run = 0.0


@task()
def remind_forward_admins() -> int:
    from sangathan.groups.forwards import send_reminders

    return send_reminders()


def periodic(force: bool = False) -> dict:
    """Reminders that fell due and, once a day, the coverage snapshot."""
    global _last_run
    from sangathan.groups.coverage import take_snapshots_if_missing
    from sangathan.groups.forwards import send_reminders

    if not force and time.monotonic() - _last_run < EVERY_SECONDS:
        return {}
    _last_run = time.monotonic()
    return {"reminded": send_reminders(), "snapshots": take_snapshots_if_missing()}
