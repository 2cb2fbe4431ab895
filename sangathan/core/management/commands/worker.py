"""``sangathan worker``: run the background task worker (people imports, broadcasts, the
delivery outbox).

Without options, the database task worker of ``django_tasks_db`` under the project's name,
with all of its options (``--batch`` to run what is queued and exit, ``--queue-name``,
``--interval``, ``--max-tasks``…). ``sangathan serve`` starts one next to the web server
unless told ``--no-worker``; run more of these (on any machine sharing the database) for more
throughput.

``--until-idle`` runs what is queued and drains the outbox, waiting for retries as they fall
due, and exits when no task is ready and no delivery is queued or being sent (or when what is
left waits longer than ``--max-wait``, e.g. promotional SMS until 10:00 IST). Under the RQ
backend it drains the outbox only (RQ workers run the tasks).
"""

import time
from argparse import ArgumentTypeError

from django.core.management.base import CommandError
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker, valid_backend_name


class Command(DbWorkerCommand):
    help = (
        "Run the background task worker (people imports, broadcasts, sending…): waits for "
        "queued tasks and runs them. --batch runs what is queued and exits; --until-idle also "
        "drains the delivery outbox and exits when nothing is left to send."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        # --until-idle also works under other backends (it then only drains the outbox):
        # check that the backend is a database one only when running its tasks.
        for action in parser._actions:
            if action.dest == "backend_name":
                action.type = str
        parser.add_argument(
            "--until-idle",
            action="store_true",
            help="Run queued tasks and drain the delivery outbox, then exit when nothing is "
            "left (waiting for retries that fall due).",
        )
        parser.add_argument("--channel", help="Drain only this channel (sms, email, …).")
        parser.add_argument(
            "--send-batch", type=int, default=None, help="Deliveries claimed at a time."
        )
        parser.add_argument(
            "--lease",
            type=float,
            default=None,
            help="Seconds after which another worker's claim counts as dead "
            "(default: SANGATHAN_CLAIM_LEASE_SECONDS, 300).",
        )
        parser.add_argument(
            "--max-wait",
            type=float,
            default=900,
            help="With --until-idle, exit when the next delivery falls due later than this "
            "many seconds from now (default: %(default)s).",
        )

    def handle(self, *args, **options):
        if not options["until_idle"]:
            try:
                valid_backend_name(options["backend_name"])
            except ArgumentTypeError as exc:
                raise CommandError(str(exc)) from exc
            return super().handle(*args, **options)
        self.configure_logging(options["verbosity"])
        return self.until_idle(options)

    def until_idle(self, options) -> None:
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.compat import task_backends
        from django_tasks_db.models import DBTaskResult

        from sangathan.channels.worker import drain, next_due

        backend_name = options["backend_name"]
        run_tasks = isinstance(task_backends[backend_name], DatabaseBackend)
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        channel, lease = options["channel"], options["lease"]
        totals: dict[str, int] = {}
        from sangathan.channels.statuses import apply_status_events

        while True:
            _publish_due()
            # Status callbacks that arrived before their sends were recorded.
            apply_status_events()
            if run_tasks:
                Worker(
                    queue_names=queue_names,
                    interval=0,
                    batch=True,
                    backend_name=backend_name,
                    startup_delay=False,
                    max_tasks=None,
                    worker_id=options["worker_id"],
                    excluded_queue_names=excluded,
                ).run()
            counts = drain(
                channel=channel,
                batch_size=options["send_batch"],
                until_idle=True,
                worker_id=options["worker_id"],
                lease=lease,
            )
            for key, n in counts.items():
                totals[key] = totals.get(key, 0) + n
            tasks = DBTaskResult.objects.ready().filter(backend_name=backend_name)
            if run_tasks and tasks.exists():
                continue
            due = next_due(channel, lease)
            if due is None:
                break
            wait = (due - timezone.now()).total_seconds()
            if wait > options["max_wait"]:
                left = _left(channel)
                self.stdout.write(
                    f"{left} deliveries wait until {due:%Y-%m-%d %H:%M:%S %Z}; stopping now."
                )
                break
            if wait > 0:
                # Poll at least every second: another worker may finish the work first.
                time.sleep(min(wait, 1.0))
        if options["verbosity"]:
            summary = ", ".join(f"{k} {v}" for k, v in sorted(totals.items())) or "nothing to do"
            self.stdout.write(f"outbox: {summary}")


def _left(channel):
    from sangathan.channels.models import Delivery

    qs = Delivery.objects.filter(status__in=("queued", "sending"))
    return (qs.filter(channel=channel) if channel else qs).count()


def _publish_due() -> None:
    """Scheduled broadcasts whose time has come (a sweep that makes a lost deferred task
    lose nothing)."""
    try:
        from sangathan.broadcasts.tasks import publish_due_broadcasts
    except ImportError:
        return
    publish_due_broadcasts()
    from sangathan.groups.tasks import periodic

    periodic()  # reminders for open forward tasks, the daily coverage snapshot
    from sangathan.meetings.tasks import periodic as meetings_periodic

    meetings_periodic()  # overdue action items escalate to the next level up
