"""Staff pages for drives: the list, create and edit, a drive's funnel, leaderboards, codes and
posters, its suspicious queue, and institutions (list and CSV import). Every lookup goes
through the user's jurisdiction (``sangathan.org.scoping``): a drive owned outside it is a 404.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sangathan.drives import reports
from sangathan.drives.actions import (
    FLAG_LABELS,
    DriveActionRefused,
    InstitutionsFileError,
    do_add_location,
    do_add_recruiter,
    do_review_sign_up,
    do_save_drive,
    do_set_recruiter_active,
    do_set_target,
    import_institutions,
    read_institutions_file,
)
from sangathan.drives.forms import (
    DriveForm,
    InstitutionsFileForm,
    LocationForm,
    RecruiterForm,
    TargetForm,
)
from sangathan.drives.models import Drive, Institution, Recruiter, SignUp, SignUpStatus
from sangathan.drives.printing import join_url, poster_specs
from sangathan.org.scoping import jurisdiction_for
from sangathan.people.models import Person

PREVIEW_LIMIT = 500


def get_drive_for_user(user, code: str) -> Drive:
    """The drive ``code`` if its owner unit lies in the user's jurisdiction, else 404."""
    qs = Drive.objects.visible_to(user).select_related("unit", "unit__level", "created_by")
    try:
        return qs.get(code=code)
    except Drive.DoesNotExist:
        raise Http404("No such drive") from None


@require_GET
def drive_list(request):
    drives = (
        Drive.objects.visible_to(request.user)
        .select_related("unit")
        .annotate(
            counted=Count("sign_ups", filter=Q(sign_ups__counted=True)),
            waiting=Count("sign_ups", filter=Q(sign_ups__status=SignUpStatus.SUSPICIOUS)),
        )
        .order_by("-starts", "-pk")[:200]
    )
    can_create = not jurisdiction_for(request.user).is_empty
    return render(request, "drives/list.html", {"drives": drives, "can_create": can_create})


@require_http_methods(["GET", "POST"])
def drive_new(request):
    if jurisdiction_for(request.user).is_empty:
        raise Http404("No area")
    return _drive_form(request, None)


@require_http_methods(["GET", "POST"])
def drive_edit(request, code):
    return _drive_form(request, get_drive_for_user(request.user, code))


def _drive_form(request, drive: Drive | None):
    form = DriveForm(request.POST or None, instance=drive, user=request.user)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        values["unit"] = values.pop("unit_code")
        institutions = values.pop("institutions", None)
        try:
            saved = do_save_drive(
                request.user, values, drive=drive, institutions=list(institutions or [])
            )
        except DriveActionRefused as e:
            form.add_error(None, str(e.message))
        else:
            messages.success(request, _("The drive is saved."))
            return redirect("drives:detail", code=saved.code)
    status = 400 if form.is_bound else 200
    return render(request, "drives/form.html", {"form": form, "drive": drive}, status=status)


@require_GET
def drive_detail(request, code):
    drive = get_drive_for_user(request.user, code)
    base = request.build_absolute_uri("/")
    codes = reports.funnel_by_code(drive)
    for row in codes:
        row["url"] = join_url(base, row["code"])
    context = {
        "drive": drive,
        "funnel": reports.funnel(drive),
        "codes": codes,
        "recruiters": reports.leaderboard_recruiters(drive),
        "institutions": reports.leaderboard_institutions(drive),
        "districts": reports.leaderboard_districts(drive),
        "targets": reports.target_progress(drive),
        "all_recruiters": drive.recruiters.select_related("person"),
        "recruiter_form": RecruiterForm(),
        "location_form": LocationForm(drive=drive),
        "target_form": TargetForm(drive=drive, user=request.user),
        "join_url": join_url(base, drive.code),
    }
    return render(request, "drives/detail.html", context)


def _refused(request, drive, e):
    messages.error(request, str(e.message))
    return redirect("drives:detail", code=drive.code)


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for e in errors:
            messages.error(request, e)


@require_POST
def add_recruiter(request, code):
    drive = get_drive_for_user(request.user, code)
    form = RecruiterForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("drives:detail", code=drive.code)
    person = (
        Person.objects.visible_to(request.user).filter(phone=form.cleaned_data["phone"]).first()
    )
    if person is None:
        messages.error(request, _("Nobody with this number is on the rolls in your area."))
        return redirect("drives:detail", code=drive.code)
    try:
        rec = do_add_recruiter(request.user, drive, person)
    except DriveActionRefused as e:
        return _refused(request, drive, e)
    messages.success(
        request,
        _("%(name)s recruits for this drive with code %(code)s.")
        % {"name": person.display_name, "code": rec.code},
    )
    return redirect("drives:detail", code=drive.code)


@require_POST
def recruiter_active(request, code, rcode):
    drive = get_drive_for_user(request.user, code)
    rec = get_object_or_404(Recruiter, drive=drive, code=rcode)
    try:
        do_set_recruiter_active(request.user, rec, request.POST.get("active") == "1")
    except DriveActionRefused as e:
        return _refused(request, drive, e)
    return redirect("drives:detail", code=drive.code)


@require_POST
def add_location(request, code):
    drive = get_drive_for_user(request.user, code)
    form = LocationForm(request.POST, drive=drive)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("drives:detail", code=drive.code)
    try:
        loc = do_add_location(
            request.user, drive, form.cleaned_data["name"], form.cleaned_data["institution"]
        )
    except DriveActionRefused as e:
        return _refused(request, drive, e)
    messages.success(
        request, _("%(place)s has code %(code)s.") % {"place": loc.name, "code": loc.code}
    )
    return redirect("drives:detail", code=drive.code)


@require_POST
def add_target(request, code):
    drive = get_drive_for_user(request.user, code)
    form = TargetForm(request.POST, drive=drive, user=request.user)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("drives:detail", code=drive.code)
    d = form.cleaned_data
    try:
        do_set_target(
            request.user, drive, d["target"], unit=d["unit"], institution=d.get("institution")
        )
    except DriveActionRefused as e:
        return _refused(request, drive, e)
    messages.success(request, _("The target is saved."))
    return redirect("drives:detail", code=drive.code)


@require_GET
def poster(request, code, poster_code, fmt):
    """The poster of one code of the drive (the drive's own, a location's or a recruiter's)."""
    from sangathan.drives import posters

    drive = get_drive_for_user(request.user, code)
    specs = poster_specs(drive, request.build_absolute_uri("/"), codes=[poster_code])
    if not specs:
        raise Http404("No such code in this drive")
    if fmt == "pdf":
        body, content_type = posters.poster_pdf(specs[0]), "application/pdf"
    else:
        body, content_type = posters.poster_png(specs[0]), "image/png"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="poster-{poster_code}.{fmt}"'
    return response


@require_GET
def posters_all(request, code):
    """Every poster of the drive, one per A4 page."""
    from sangathan.drives import posters

    drive = get_drive_for_user(request.user, code)
    body = posters.posters_pdf(poster_specs(drive, request.build_absolute_uri("/")))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="posters-{drive.code}.pdf"'
    return response


@require_GET
def suspicious(request, code):
    drive = get_drive_for_user(request.user, code)
    rows = list(reports.suspicious_queue(drive)[:200])
    for row in rows:
        row.flag_labels = [FLAG_LABELS.get(f, f) for f in row.flags]
    return render(request, "drives/suspicious.html", {"drive": drive, "rows": rows})


@require_POST
def review(request, code, pk):
    drive = get_drive_for_user(request.user, code)
    sign_up = get_object_or_404(SignUp, drive=drive, pk=pk)
    accept = request.POST.get("decision") == "accept"
    try:
        do_review_sign_up(sign_up, accept=accept, actor=request.user)
    except DriveActionRefused as e:
        messages.error(request, str(e.message))
    else:
        messages.success(
            request, _("The sign-up is counted.") if accept else _("The sign-up is rejected.")
        )
    return redirect("drives:suspicious", code=drive.code)


@require_GET
def institutions(request):
    rows = (
        Institution.objects.visible_to(request.user)
        .select_related("district", "unit")
        .order_by("name")[:500]
    )
    return render(request, "drives/institutions.html", {"institutions": rows})


SESSION_KEY = "drives:import_institutions"


@require_http_methods(["GET", "POST"])
def institutions_import(request):
    """Upload → preview (nothing written; the rows wait in the session) → confirm."""
    if jurisdiction_for(request.user).is_empty:
        raise Http404("No area")
    if request.method == "POST" and request.POST.get("confirm"):
        pending = request.session.get(SESSION_KEY)
        if not pending or pending.get("token") != request.POST.get("token"):
            messages.error(
                request,
                _("There is no checked file waiting to be imported here; upload it again."),
            )
            return redirect("drives:institutions_import")
        del request.session[SESSION_KEY]
        result = import_institutions(pending["rows"], commit=True, actor=request.user)
        messages.success(
            request,
            _(
                "%(created)s institutions added and %(updated)s updated from %(file)s; "
                "%(skipped)s rows with problems skipped."
            )
            % {
                "created": result["created"],
                "updated": result["updated"],
                "file": pending["filename"],
                "skipped": len(result["invalid"]),
            },
        )
        return redirect("drives:institutions")
    bound = request.method == "POST"
    form = InstitutionsFileForm(request.POST if bound else None, request.FILES if bound else None)
    if bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = read_institutions_file(upload.read())
        except InstitutionsFileError as e:
            form.add_error("file", _("The file cannot be read: %(reason)s") % {"reason": e})
        else:
            result = import_institutions(rows, actor=request.user)
            token = secrets.token_urlsafe(12)
            if result["created"] or result["updated"]:
                request.session[SESSION_KEY] = {
                    "token": token,
                    "filename": upload.name[:255],
                    "rows": rows,
                }
            else:
                request.session.pop(SESSION_KEY, None)
            context = {
                "result": result,
                "invalid": result["invalid"][:PREVIEW_LIMIT],
                "good": result["created"] + result["updated"],
                "filename": upload.name,
                "token": token,
            }
            return render(request, "drives/institutions_preview.html", context)
    status = 400 if bound else 200
    return render(request, "drives/institutions_import.html", {"form": form}, status=status)
