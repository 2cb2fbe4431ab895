"""Import and export of people: upload → preview (nothing written) → confirm; and export.

Upload only stores the file (after checking that its header can be read) and queues
``preview_import``; confirming queues ``commit_import`` (``sangathan.people.tasks``). While
a task is queued or running the preview page says so and polls a small status fragment (htmx,
with a meta refresh when JavaScript is off), so no request waits for a large file.

Every unit lookup goes through ``sangathan.org.scoping``: an import can only place people in
the uploader's jurisdiction, an export only contains people from it, and a preview token is
visible to its uploader alone (anyone else gets 404).
"""

from __future__ import annotations

import csv

from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from sangathan.accounts.audit import audit
from sangathan.org.scoping import get_unit_for_user
from sangathan.people.exporting import export_rows, export_xlsx, people_for_export
from sangathan.people.forms import ExportForm, ImportUploadForm
from sangathan.people.importing import ImportFileError, ImportResult, check_header
from sangathan.people.models import IMPORT_STALLED_AFTER, ImportBatch, ImportStatus
from sangathan.people.phones import Reason
from sangathan.people.tasks import commit_import, preview_import

PREVIEW_LIMIT = 1000  # bad rows shown inline; the full list is one click away as CSV


@require_http_methods(["GET", "POST"])
def upload(request):
    bound = request.method == "POST"
    form = ImportUploadForm(request.POST if bound else None, request.FILES if bound else None)
    if bound and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            check_header(data, upload.name)  # refuse an unreadable file at once
        except ImportFileError as exc:
            form.add_error(
                "file", _("The file cannot be imported: %(reason)s") % {"reason": exc.reason}
            )
        else:
            batch = ImportBatch.objects.create(
                user=request.user,
                filename=upload.name[:255],
                size=len(data),
                content=data,
                status=ImportStatus.QUEUED,
            )
            # The rows are checked in the background: one task for the whole file.
            preview_import.enqueue(batch.pk)
            return redirect("people:import_preview", token=batch.token)
    recent = ImportBatch.objects.filter(user=request.user).defer("content")[:10]
    return render(request, "people/import_upload.html", {"form": form, "recent": recent})


def _batch_for_user(request, token: str) -> ImportBatch:
    """The uploader's own batch, else 404 (a token is never evidence of anyone else's file)."""
    try:
        return ImportBatch.objects.defer("content").get(token=token, user=request.user)
    except ImportBatch.DoesNotExist:
        raise Http404("No such import") from None


def _restart_stalled(batch: ImportBatch, now) -> None:
    """Queue again the work of a batch whose worker died (pending for too long). The claim is
    conditional, so two clicks restart it once; a save that did finish meanwhile is never
    repeated (``commit_import`` writes only a batch not yet committed)."""
    stalled = ImportBatch.objects.filter(
        pk=batch.pk, status_changed_at__lt=now - IMPORT_STALLED_AFTER
    )
    if stalled.filter(status=ImportStatus.COMMITTING).update(status_changed_at=now):
        commit_import.enqueue(batch.pk)
    elif stalled.filter(status__in=[ImportStatus.QUEUED, ImportStatus.CHECKING]).update(
        status=ImportStatus.QUEUED, status_changed_at=now
    ):
        preview_import.enqueue(batch.pk)


@require_http_methods(["GET", "POST"])
def preview(request, token):
    batch = _batch_for_user(request, token)
    if request.method == "POST":
        # Claim the batch first (only a checked one), so that a double-clicked Confirm
        # queues one save.
        now = timezone.now()
        if request.POST.get("action") == "restart":
            _restart_stalled(batch, now)
            return redirect("people:import_preview", token=batch.token)
        claimed = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.CHECKED).update(
            status=ImportStatus.COMMITTING, status_changed_at=now
        )
        if claimed:
            commit_import.enqueue(batch.pk)
        return redirect("people:import_preview", token=batch.token)
    if request.headers.get("HX-Request") and request.GET.get("part") == "status":
        if batch.pending:
            return render(request, "people/import_waiting.html", {"batch": batch})
        # Done (or failed): reload the whole page to show the result.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    has_result = batch.status in (
        ImportStatus.CHECKED,
        ImportStatus.COMMITTING,
        ImportStatus.COMMITTED,
    )
    if request.GET.get("format") == "csv" and has_result:
        return _errors_csv(batch)
    result = ImportResult.from_store(batch.result)
    error = ""
    if batch.status == ImportStatus.FAILED and batch.error:
        error = _("The file cannot be imported: %(reason)s") % {
            "reason": Reason.from_dict(batch.error)
        }
    return render(
        request,
        "people/import_preview.html",
        {
            "batch": batch,
            "has_result": has_result,
            "result": result,
            "invalid": result.invalid[:PREVIEW_LIMIT],
            "more_invalid": max(len(result.invalid) - PREVIEW_LIMIT, 0),
            "good": result.created + result.updated,
            "error": error,
        },
    )


def _errors_csv(batch: ImportBatch) -> HttpResponse:
    result = ImportResult.from_store(batch.result)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="import-errors.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("line"), _("reason")])
    for line, reason in result.invalid:
        writer.writerow([line, str(reason)])
    return response


class _Echo:
    def write(self, value):
        return value


@require_GET
def export(request):
    form = ExportForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            " ".join(str(e) for errors in form.errors.values() for e in errors),
            content_type="text/plain; charset=utf-8",
        )
    code = form.cleaned_data["unit"].strip()
    unit = get_unit_for_user(request.user, code) if code else None
    fmt = form.cleaned_data["format"]
    people = people_for_export(request.user, unit)
    count = people.count()
    audit(
        "export",
        request=request,
        obj=unit,
        count=count,
        unit=unit.code if unit else "",
        format=fmt,
    )
    stem = f"people-{unit.code if unit else 'all'}-{timezone.localdate():%Y%m%d}"
    if fmt == "xlsx":
        response = HttpResponse(
            export_xlsx(people),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
        return response
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # a BOM, so that Excel reads the Hindi names as UTF-8
        for row in export_rows(people):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    return response
