import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sangathan.core.management.commands.serve import application
from tests.factories import run_worker_in_test_transaction


def wsgi_get(app, path: str) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    status = []
    body = b"".join(app(environ, lambda s, headers, exc=None: status.append(s)))
    return status[0], body


def test_the_served_application_answers_static_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    status, body = wsgi_get(application(), "/static/css/sangathan.css")
    assert status.startswith("200") and body


def test_serve_refuses_a_malformed_address():
    with pytest.raises(CommandError, match="127.0.0.1:8000"):
        call_command("serve", addr="localhost")


class FakeProcess:
    def __init__(self, command, env):
        self.command, self.env = command, env
        self.returncode = None
        started.append(self)

    def poll(self):
        return self.returncode

    def terminate(self):
        self.returncode = -15

    def wait(self, timeout=None):
        return self.returncode


started: list[FakeProcess] = []


@pytest.fixture
def fake_serve(settings, tmp_path, monkeypatch):
    """serve with gunicorn and the worker process replaced by recorders."""
    from sangathan.core.management.commands import serve

    settings.STATIC_ROOT = tmp_path
    started.clear()
    runs = []
    monkeypatch.setattr(serve.subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(serve._Gunicorn, "run", lambda self: runs.append(started[:]))
    return runs


def test_serve_starts_a_task_worker_beside_gunicorn_and_stops_it(settings, fake_serve):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    call_command("serve", addr="127.0.0.1:8123")
    [worker] = started
    assert fake_serve == [[worker]]  # running while gunicorn ran
    assert worker.command[-2:] == ["worker", "--no-reload"]
    assert worker.env["DJANGO_SETTINGS_MODULE"]
    assert worker.returncode is not None  # stopped when gunicorn returned


def test_serve_without_a_worker_when_asked_or_when_tasks_run_at_once(settings, fake_serve):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    call_command("serve", addr="127.0.0.1:8123", no_worker=True)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    call_command("serve", addr="127.0.0.1:8123")
    assert started == [] and fake_serve == [[], []]


def test_the_worker_command_runs_queued_tasks(settings, db):
    from django_tasks_db.models import DBTaskResult

    from sangathan.people.tasks import preview_import

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    preview_import.enqueue(12345)  # no such batch: the task finds nothing to do
    run_worker_in_test_transaction()
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_with_the_rq_backend_serve_starts_an_rq_worker(settings, monkeypatch):
    from sangathan.core.management.commands import serve

    started = []
    monkeypatch.setattr(serve.subprocess, "Popen", lambda cmd, env: started.append(cmd))
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    serve.start_task_worker()
    assert started and started[0][3:] == [
        "rqworker",
        "default",
        "--job-class",
        "django_tasks_rq.backend.Job",
    ]
