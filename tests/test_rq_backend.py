"""The scale-out backend: the same import tasks through RQ on a real local Redis.

Skipped, with the reason printed, when Redis does not answer or django-tasks-rq is not
installed. The worker is RQ's SimpleWorker (no fork), so the job runs in this process and sees
the test's database transaction."""

import pytest
from django.conf import settings

from sangathan.people.models import ImportBatch, ImportStatus, Person

rq_backend = pytest.importorskip("django_tasks_rq", reason="django-tasks-rq is not installed")


def _redis():
    import redis

    try:
        conn = redis.Redis.from_url(settings.SANGATHAN_REDIS_URL, socket_connect_timeout=1)
        conn.ping()
        return conn
    except redis.exceptions.ConnectionError:
        return None


pytestmark = pytest.mark.skipif(
    _redis() is None, reason=f"Redis at {settings.SANGATHAN_REDIS_URL} does not answer"
)


@pytest.fixture
def rq(settings):
    conn = _redis()
    conn.flushdb()  # database 15 is the tests' own (settings_test)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    yield conn
    conn.flushdb()


def run_rq_worker():
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    worker = django_rq.get_worker("default", job_class=Job, worker_class=SimpleWorker)
    worker.work(burst=True)


def test_an_import_is_checked_and_saved_by_an_rq_worker(rq, as_convenor):
    from tests.people.test_import_tasks import FILE
    from tests.people.test_import_views import upload

    location = upload(as_convenor, FILE)["Location"]
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.QUEUED
    assert rq.llen("rq:queue:default") == 1  # one job for the whole file

    run_rq_worker()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CHECKED
    assert batch.result["created"] == 1

    as_convenor.post(location, {"confirm": "1"})
    assert not Person.objects.filter(phone="+919876543210").exists()
    run_rq_worker()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.COMMITTED
    assert Person.objects.get(phone="+919876543210").name == "राम कुमार"
