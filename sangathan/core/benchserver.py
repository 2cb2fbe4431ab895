"""The processes a benchmark starts beside itself: gunicorn serving the scratch database, and
the environment every such child gets (production settings, DEBUG off, tasks queued in the
database and never run, the same database as the benchmark).

Imported by gunicorn before Django is set up (through the bench server apps), so Django is
imported inside the functions only.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

DB_TASKS = "django_tasks_db.DatabaseBackend"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database this process uses, for the child processes: they must see the
    same rows, so an in-memory SQLite database will not do."""
    from django.conf import settings

    url = os.environ.get("DATABASE_URL") or getattr(settings, "DATABASE_URL", "")
    if not url or ":memory:" in url or url.rstrip("/").endswith("sqlite:"):
        raise RuntimeError(
            "The benchmarks start worker and server processes: run them on a file or server "
            "database (sangathan bench, or DATABASE_URL=sqlite:////tmp/x.sqlite3)."
        )
    return url


def child_env(**extra: str) -> dict:
    """Environment for a worker or server process: production settings, DEBUG off, tasks in
    the database (queued, never run here), this process's database; ``extra`` on top."""
    env = dict(
        os.environ,
        # Another settings module for the children only to try a configuration change.
        DJANGO_SETTINGS_MODULE=os.environ.get("SANGATHAN_BENCH_CHILD_SETTINGS")
        or "sangathan.settings",
        DATABASE_URL=database_url(),
        SANGATHAN_DEBUG="0",
        SANGATHAN_SECRET_KEY=os.environ.get("SANGATHAN_SECRET_KEY") or secrets.token_hex(32),
        SANGATHAN_TASKS_BACKEND=DB_TASKS,
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    )
    env.update(extra)
    return env


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def get(port: int, path: str, headers=None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextmanager
def gunicorn(app: str, workers: int, threads: int, *, ready: str, stdout=None, **env: str):
    """gunicorn (gthread, as ``sangathan serve`` runs it) serving ``app`` on a free 127.0.0.1
    port with :func:`child_env` plus ``env``; up once ``GET ready`` answers at all. Yields
    ``(port, process)``."""
    from django.db import connection

    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--threads", str(threads)]
    command += ["--worker-class", "gthread", "--log-level", "warning", "--timeout", "120", app]
    connection.close()  # nothing of ours held open while the server starts
    server = subprocess.Popen(command, cwd=ROOT, env=child_env(**env), stdout=stdout)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(port, ready)
                break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The bench server ({app}) did not start.")
            time.sleep(0.2)
        yield port, server
    finally:
        stop(server, grace=30)
