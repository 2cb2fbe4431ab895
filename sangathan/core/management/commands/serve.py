"""``sangathan serve [--addr HOST:PORT] [--no-worker]``: serve the site with gunicorn.

Static files are collected into ``STATIC_ROOT`` and served by WhiteNoise wrapping the WSGI
application, so the same command works with ``DEBUG`` on or off and needs no web server in
front for a small deployment (put one in front for TLS). gunicorn rather than ``runserver``:
several worker processes, and nothing in the code assumes a single process (DESIGN.md §6).

Background tasks (people imports are checked and saved in the background) need a task worker:
``serve`` starts one ``sangathan worker`` child process next to gunicorn and stops it when
gunicorn exits, so ``make run`` needs nothing else. ``--no-worker`` leaves that to you (run
``sangathan worker`` yourself, e.g. as its own service); no worker is started when tasks run
immediately in the request (the ``ImmediateBackend``).
"""

import argparse
import multiprocessing
import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def application():
    """The WSGI application with static files served in front of it."""
    from whitenoise import WhiteNoise

    from sangathan.broadcasts.feedroute import site_application

    return WhiteNoise(
        site_application(), root=str(settings.STATIC_ROOT), prefix=settings.STATIC_URL
    )


class Command(BaseCommand):
    help = "Serve the site (gunicorn, static files included). Ctrl-C stops it."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="HOST:PORT to listen on")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="worker processes (default: number of CPUs, at least 2)",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not start a background task worker (run `sangathan worker` yourself)",
        )
        # Text printed once the server listens (the demo's login details).
        parser.add_argument("--banner", default="", help=argparse.SUPPRESS)

    def handle(self, *args, addr, workers, banner, no_worker=False, **options):
        host, sep, port = addr.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise CommandError(f"--addr {addr!r} must look like 127.0.0.1:8000.")
        call_command("collectstatic", interactive=False, verbosity=0)
        workers = workers or max(2, multiprocessing.cpu_count())
        ready = f"{banner}\nServing at http://{addr}/ with {workers} workers (Ctrl-C stops)."

        def when_ready(server):
            # Printed once gunicorn listens, so the login is the last thing on the screen.
            print(ready.strip(), flush=True)

        task_worker = None if no_worker else start_task_worker()
        if task_worker is not None:
            ready += "\nA background task worker runs next to it."
        owner = os.getpid()
        try:
            _Gunicorn(
                {
                    "bind": addr,
                    "workers": workers,
                    "threads": 4,
                    "worker_class": "gthread",
                    "accesslog": "-",
                    "timeout": 120,
                    "when_ready": when_ready,
                }
            ).run()
        finally:
            # gunicorn's forked web workers leave through here too; only the master that
            # started the task worker stops it.
            if os.getpid() == owner:
                stop_task_worker(task_worker)


def needs_task_worker() -> bool:
    """False when tasks run in the request that enqueues them (nothing to wait for)."""
    backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    return not backend.endswith(("ImmediateBackend", "DummyBackend"))


def start_task_worker() -> subprocess.Popen | None:
    """One ``sangathan worker`` child process, with this process's settings; None when the
    task backend needs no worker."""
    if not needs_task_worker():
        return None
    command = [sys.executable, "-m", "sangathan.cli", "worker", "--no-reload"]
    if settings.TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend":
        # Tasks wait in Redis: django-rq's worker, with the job class that runs a Task.
        command = [
            *command[:3],
            "rqworker",
            "default",
            "--job-class",
            "django_tasks_rq.backend.Job",
        ]
    env = {**os.environ}
    env.setdefault("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE)
    return subprocess.Popen(command, env=env)


def stop_task_worker(process: subprocess.Popen | None, timeout: float = 30) -> None:
    """Ask the worker to finish its current task and exit; kill it if it will not."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _gunicorn_base():
    from gunicorn.app.base import BaseApplication

    return BaseApplication


class _Gunicorn(_gunicorn_base()):
    """gunicorn run from Python with our application and options (no config file)."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return application()
