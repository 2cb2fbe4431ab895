"""People imports through the real task queue: the database backend and its worker."""

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sangathan.accounts.models import AuditLog
from sangathan.people.models import ImportBatch, ImportStatus, Person
from sangathan.people.tasks import commit_import, preview_import
from tests.conftest import client_for
from tests.factories import run_worker_in_test_transaction
from tests.people.test_import_views import B1, upload

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
FILE = (f"name,phone,unit_code\nराम कुमार,9876543210,{B1}\nसीता देवी,9.18765E+11,{B1}\n").encode()


@pytest.fixture
def queued(settings):
    """Tasks wait in the database until a worker runs them."""
    settings.TASKS = DB_TASKS


def run_worker():
    run_worker_in_test_transaction("--no-reload")


def test_upload_queues_the_check_and_the_worker_does_it(queued, as_convenor, cast):
    location = upload(as_convenor, FILE)["Location"]
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.QUEUED and batch.result == {}

    page = as_convenor.get(location)
    text = page.content.decode()
    assert "Checking your file…" in text
    assert 'hx-trigger="every 2s"' in text
    assert '<meta http-equiv="refresh" content="3">' in text
    assert "Confirm import" not in text

    partial = as_convenor.get(location + "?part=status", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert "Checking your file…" in partial.content.decode()
    assert "<html" not in partial.content.decode()

    run_worker()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CHECKED
    done = as_convenor.get(location + "?part=status", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    page = as_convenor.get(location)
    assert page.context["result"].created == 1
    assert "scientific notation" in page.content.decode()
    assert "Confirm import" in page.content.decode()
    assert not Person.objects.filter(phone="+919876543210").exists()

    as_convenor.post(location, {"confirm": "1"})
    assert "Saving…" in as_convenor.get(location).content.decode()
    assert not Person.objects.filter(phone="+919876543210").exists()

    run_worker()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.COMMITTED and batch.committed_at is not None
    assert Person.objects.get(phone="+919876543210").name == "राम कुमार"
    page = as_convenor.get(location).content.decode()
    assert "Import done" in page and "1 people added and 0 updated." in page
    log = AuditLog.objects.get(action="import")
    assert log.actor == cast.convenor and log.detail["created"] == 1


def test_double_confirm_commits_once(queued, as_convenor):
    location = upload(as_convenor, FILE)["Location"]
    run_worker()
    as_convenor.post(location, {"confirm": "1"})
    as_convenor.post(location, {"confirm": "1"})
    run_worker()
    assert DBTaskResult.objects.filter(task_path__endswith="commit_import").count() == 1
    assert AuditLog.objects.filter(action="import").count() == 1
    assert Person.objects.filter(phone="+919876543210").count() == 1


def test_a_commit_run_twice_writes_once(as_convenor):
    location = upload(as_convenor, FILE)["Location"]  # immediate backend: checked at once
    batch = ImportBatch.objects.get()
    as_convenor.post(location, {"confirm": "1"})
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.COMMITTING)
    commit_import.call(batch.pk)  # a retry of a commit that had already finished
    preview_import.call(batch.pk)
    assert AuditLog.objects.filter(action="import").count() == 1
    assert ImportBatch.objects.get().result["created"] == 1
    assert Person.objects.filter(phone="+919876543210").count() == 1


def test_a_corrupted_file_fails_with_a_readable_reason(queued, as_convenor):
    location = upload(as_convenor, FILE)["Location"]
    ImportBatch.objects.update(content=b"\x00\x01\x02garbage\xff" * 50)
    run_worker()
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    page = as_convenor.get(location)
    text = page.content.decode()
    assert "The file could not be imported" in text
    assert "could not be read" in text
    assert "Confirm import" not in text
    assert as_convenor.post(location, {"confirm": "1"}).status_code == 302
    assert ImportBatch.objects.get().status == ImportStatus.FAILED
    recent = as_convenor.get(reverse("people:import")).content.decode()
    assert "failed" in recent


def test_an_unexpected_error_fails_the_batch_and_the_task(queued, as_convenor, monkeypatch):
    location = upload(as_convenor, FILE)["Location"]

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("sangathan.people.tasks.plan_import", broken)
    run_worker()
    assert ImportBatch.objects.get().status == ImportStatus.FAILED
    text = as_convenor.get(location).content.decode()
    assert "unexpected error" in text and "RuntimeError" in text
    assert DBTaskResult.objects.get().status == "FAILED"


def test_outsider_gets_404_on_a_queued_batch(queued, as_convenor, cast):
    location = upload(as_convenor, FILE)["Location"]
    outsider = client_for(cast.outsider)
    assert outsider.get(location).status_code == 404
    assert outsider.get(location + "?part=status", HTTP_HX_REQUEST="true").status_code == 404
    run_worker()
    assert outsider.post(location, {"confirm": "1"}).status_code == 404
    assert ImportBatch.objects.get().status == ImportStatus.CHECKED


def test_a_save_whose_worker_died_can_be_started_again_once(queued, as_convenor):
    location = upload(as_convenor, FILE)["Location"]
    run_worker()
    as_convenor.post(location, {"confirm": "1"})
    DBTaskResult.objects.filter(task_path__endswith="commit_import").delete()  # the worker died
    # Not yet stalled: no button, and a restart does nothing.
    assert "Start again" not in as_convenor.get(location).content.decode()
    as_convenor.post(location, {"action": "restart"})
    assert not DBTaskResult.objects.filter(task_path__endswith="commit_import").exists()

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=31)):
        assert ImportBatch.objects.get().stalled
        page = as_convenor.get(location).content.decode()
        assert "background worker may have stopped" in page and "Start again" in page
        as_convenor.post(location, {"action": "restart"})
        as_convenor.post(location, {"action": "restart"})  # a double click restarts once
        assert DBTaskResult.objects.filter(task_path__endswith="commit_import").count() == 1
        run_worker()
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.COMMITTED
    assert Person.objects.filter(phone="+919876543210").count() == 1
    assert AuditLog.objects.filter(action="import").count() == 1


def test_a_check_whose_worker_died_is_checked_again(queued, as_convenor):
    location = upload(as_convenor, FILE)["Location"]
    ImportBatch.objects.update(status=ImportStatus.CHECKING)  # claimed, then the worker died
    DBTaskResult.objects.all().delete()
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2)):
        as_convenor.post(location, {"action": "restart"})
        run_worker()
    assert ImportBatch.objects.get().status == ImportStatus.CHECKED
