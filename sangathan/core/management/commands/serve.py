"""``sangathan serve [--addr HOST:PORT]``: serve the site with gunicorn.

Static files are collected into ``STATIC_ROOT`` and served by WhiteNoise wrapping the WSGI
application, so the same command works with ``DEBUG`` on or off and needs no web server in
front for a small deployment (put one in front for TLS). gunicorn rather than ``runserver``:
several worker processes, and nothing in the code assumes a single process (DESIGN.md §6).
"""

import argparse
import multiprocessing

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def application():
    """The WSGI application with static files served in front of it."""
    from django.core.wsgi import get_wsgi_application
    from whitenoise import WhiteNoise

    return WhiteNoise(
        get_wsgi_application(), root=str(settings.STATIC_ROOT), prefix=settings.STATIC_URL
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
        # Text printed once the server listens (the demo's login details).
        parser.add_argument("--banner", default="", help=argparse.SUPPRESS)

    def handle(self, *args, addr, workers, banner, **options):
        host, sep, port = addr.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise CommandError(f"--addr {addr!r} must look like 127.0.0.1:8000.")
        call_command("collectstatic", interactive=False, verbosity=0)
        workers = workers or max(2, multiprocessing.cpu_count())
        ready = f"{banner}\nServing at http://{addr}/ with {workers} workers (Ctrl-C stops)."

        def when_ready(server):
            # Printed once gunicorn listens, so the login is the last thing on the screen.
            print(ready.strip(), flush=True)

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
