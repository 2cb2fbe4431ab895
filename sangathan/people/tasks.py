"""Background work for people imports: checking a file and saving it.

One task per file (never per row), taking only the batch id. Each task first moves the batch
to its working status with a conditional UPDATE, so a task that runs twice (a retry, a second
worker) finds nothing to do; the commit marks the batch committed inside the transaction that
writes the people, so the rows are written exactly once. Failures are stored on the batch as an
untranslated reason the preview page shows in the reader's language.
"""

from __future__ import annotations

import logging

from django.utils import timezone
from django.utils.translation import gettext_noop
from django_tasks import task

from sangathan.people.importing import ImportFileError, do_import_people, plan_import
from sangathan.people.models import ImportBatch, ImportStatus
from sangathan.people.phones import Reason

logger = logging.getLogger(__name__)


class _AlreadyCommitted(Exception):
    """Someone else marked the batch while we were writing: roll our writes back."""


def _claim(batch_id: int, before: str, during: str) -> bool:
    return bool(
        ImportBatch.objects.filter(pk=batch_id, status=before).update(
            status=during, error={}, status_changed_at=timezone.now()
        )
    )


def _fail(batch_id: int, reason: Reason) -> None:
    ImportBatch.objects.filter(pk=batch_id).exclude(status=ImportStatus.COMMITTED).update(
        status=ImportStatus.FAILED, error=reason.to_dict(), status_changed_at=timezone.now()
    )


def _unexpected(exc: BaseException) -> Reason:
    return Reason(
        gettext_noop(
            "an unexpected error stopped the work (%(error)s); nothing was saved. Try again, "
            "and tell your administrator if it happens again"
        ),
        error=type(exc).__name__,
    )


def _load(batch_id: int) -> ImportBatch:
    return ImportBatch.objects.select_related("user").get(pk=batch_id)


@task()
def preview_import(batch_id: int) -> str:
    """Read and validate the stored file as its uploader (their jurisdiction); store the
    counts and bad rows. Writes no people."""
    if not _claim(batch_id, ImportStatus.QUEUED, ImportStatus.CHECKING):
        return "skipped"
    try:
        batch = _load(batch_id)
        plan = plan_import(bytes(batch.content), batch.filename, batch.user)
    except ImportFileError as exc:
        _fail(batch_id, exc.reason)
        return ImportStatus.FAILED.value
    except Exception as exc:
        logger.exception("checking import batch %s failed", batch_id)
        _fail(batch_id, _unexpected(exc))
        raise
    ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.CHECKING).update(
        status=ImportStatus.CHECKED, result=plan.result.to_store(), status_changed_at=timezone.now()
    )
    return ImportStatus.CHECKED.value


@task()
def commit_import(batch_id: int) -> str:
    """Save every good row of a confirmed batch (status ``committing``) in one transaction,
    audited as its uploader's import."""
    batch = _load(batch_id)
    if batch.status != ImportStatus.COMMITTING:
        return "skipped"

    def mark_committed(result):
        done = ImportBatch.objects.filter(
            pk=batch_id, status=ImportStatus.COMMITTING, committed_at=None
        ).update(
            status=ImportStatus.COMMITTED,
            committed_at=timezone.now(),
            status_changed_at=timezone.now(),
            result=result.to_store(),
        )
        if not done:
            raise _AlreadyCommitted

    try:
        do_import_people(
            bytes(batch.content), batch.filename, user=batch.user, on_written=mark_committed
        )
    except _AlreadyCommitted:
        return "skipped"
    except ImportFileError as exc:
        _fail(batch_id, exc.reason)
        return ImportStatus.FAILED.value
    except Exception as exc:
        logger.exception("saving import batch %s failed", batch_id)
        _fail(batch_id, _unexpected(exc))
        raise
    return ImportStatus.COMMITTED.value
