"""Staff pages for team reorganisation: committee templates, appointing / relieving /
transferring from a person's page, the history of a seat and of a person, the vacancy and
coverage report (with CSV and XLSX), and bulk reorganisation files (preview, apply, undo).

Every page is scoped through ``sangathan.org.scoping``: units and people outside the user's
jurisdiction answer 404; editing committee templates needs state level (403 page otherwise).
"""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sangathan.accounts.audit import audit
from sangathan.org.models import Level, OrgUnit
from sangathan.org.scoping import get_person_for_user, get_unit_for_user, jurisdiction_for
from sangathan.org.views import paginate, render_page, unit_crumbs
from sangathan.people.actions import ActionRefused, do_appoint, do_end_appointment, do_transfer
from sangathan.people.committees import (
    can_edit_templates,
    do_apply_template,
    do_remove_template,
    do_save_template,
)
from sangathan.people.coverage import coverage_report, report_rows
from sangathan.people.exporting import escape_cell
from sangathan.people.models import (
    AppliedCommittee,
    Appointment,
    CommitteeSeat,
    CommitteeTemplate,
    Position,
    ReorgBatch,
)
from sangathan.people.reorganise import (
    ReorganisationFileError,
    ReorganisationRefused,
    do_apply_reorganisation,
    do_preview_reorganisation,
    do_undo_reorganisation,
    plan_reorganisation,
)

MAX_UPLOAD = 5 * 1024 * 1024


def _require_area(user):
    j = jurisdiction_for(user)
    if j.is_empty:
        raise Http404("No jurisdiction")
    return j


def _visible_unit(user, code: str) -> OrgUnit | None:
    return (
        OrgUnit.objects.visible_to(user).select_related("level").filter(code=code.strip()).first()
    )


def _errors(exc: ActionRefused) -> str:
    return " ".join(exc.messages)


# --- committee templates ---------------------------------------------------------------------


@require_GET
def committee_list(request):
    j = _require_area(request.user)
    templates = list(
        CommitteeTemplate.objects.select_related("level").prefetch_related(
            "seats__position", "seats__position__level"
        )
    )
    applications = j.filter(
        AppliedCommittee.objects.select_related("scope", "scope__level", "template"),
        "scope__path",
    ).order_by("template", "scope__path")
    by_template: dict[int, list] = {}
    for a in applications:
        by_template.setdefault(a.template_id, []).append(a)
    for t in templates:
        t.areas = by_template.get(t.pk, [])
    context = {"templates": templates, "can_edit": can_edit_templates(request.user)}
    return render(request, "people/committee_list.html", context)


def _refuse_editor(request):
    return render(request, "people/committee_refused.html", status=403)


@require_http_methods(["GET", "POST"])
def committee_edit(request, pk=None):
    _require_area(request.user)
    if not can_edit_templates(request.user):
        return _refuse_editor(request)
    template = None
    if pk is not None:
        template = (
            CommitteeTemplate.objects.select_related("level").filter(pk=pk).first() or _not_found()
        )
    levels = list(Level.objects.order_by("depth"))
    slug = request.POST.get("level") or request.GET.get("level")
    level = next((lv for lv in levels if lv.slug == slug), None)
    if level is None:
        level = (
            template.level
            if template
            else next((lv for lv in levels if lv.slug == "booth"), levels[-1])
        )
    # Posts already in another committee cannot join this one (a post has one committee).
    positions = Position.objects.filter(level=level).select_related("level")
    others = CommitteeSeat.objects.exclude(template=template) if template else CommitteeSeat.objects
    positions = list(positions.exclude(pk__in=others.values("position")))
    current = {s.position_id: s.seats for s in template.seats.all()} if template else {}
    error = None
    if request.method == "POST":
        seats = []
        for p in positions:
            raw = request.POST.get(f"seats_{p.pk}", "").strip() or "0"
            try:
                n = int(raw)
            except ValueError:
                n = -1
            if n:
                seats.append((p, n))
            current[p.pk] = n
        try:
            template = do_save_template(
                actor=request.user,
                name_en=request.POST.get("name_en", ""),
                name_hi=request.POST.get("name_hi", ""),
                level=level,
                seats=seats,
                template=template,
                request=request,
            )
        except ActionRefused as e:
            error = _errors(e)
        else:
            messages.success(
                request, _("Committee “%(name)s” saved.") % {"name": template.display_name}
            )
            return redirect("people:committees")
    rows = [{"position": p, "seats": current.get(p.pk, 0)} for p in positions]
    context = {
        "template": template,
        "levels": levels,
        "level": level,
        "rows": rows,
        "error": error,
        "name_en": request.POST.get("name_en", template.name_en if template else ""),
        "name_hi": request.POST.get("name_hi", template.name_hi if template else ""),
    }
    return render_page(
        request,
        "people/committee_edit.html",
        context,
        partial="seats",
        status=400 if error else 200,
    )


def _not_found():
    raise Http404("Not found")


@require_POST
def committee_apply(request, pk):
    _require_area(request.user)
    template = CommitteeTemplate.objects.select_related("level").filter(pk=pk).first()
    if template is None:
        raise Http404("No such committee")
    code = request.POST.get("unit_code", "")
    unit = _visible_unit(request.user, code)
    if unit is None:
        messages.error(request, _("No unit with code %(code)s in your area.") % {"code": code})
        return redirect("people:committees")
    try:
        do_apply_template(template, unit, actor=request.user, request=request)
    except ActionRefused as e:
        messages.error(request, _errors(e))
    else:
        messages.success(
            request,
            _("“%(template)s” now applies in %(unit)s.")
            % {"template": template.display_name, "unit": unit.display_name},
        )
    return redirect("people:committees")


@require_POST
def committee_remove(request, pk):
    j = _require_area(request.user)
    application = (
        j.filter(
            AppliedCommittee.objects.select_related("scope", "scope__level", "template"),
            "scope__path",
        )
        .filter(pk=pk)
        .first()
    )
    if application is None:
        raise Http404("No such committee area")
    try:
        do_remove_template(application, actor=request.user, request=request)
    except ActionRefused as e:
        messages.error(request, _errors(e))
    else:
        messages.success(request, _("The committee no longer applies there."))
    return redirect("people:committees")


# --- appoint / relieve / transfer from a person's page ---------------------------------------


class PersonAppointForm(forms.Form):
    position = forms.ModelChoiceField(
        label=_lazy("Post"), queryset=Position.objects.select_related("level")
    )
    unit_code = forms.CharField(label=_lazy("Unit code"), max_length=64)
    starts = forms.DateField(
        label=_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_lazy("Note"), required=False, max_length=255)


def _date(raw: str):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return forms.DateField().clean(raw)
    except forms.ValidationError:
        raise ActionRefused(
            _("“%(date)s” is not a date.") % {"date": raw}, code="bad_date"
        ) from None


def posts_context(request, person, form=None, error=None) -> dict:
    """What the person page's "Posts" block shows (also its htmx partial)."""
    today = timezone.localdate()
    appointments = list(
        person.appointments.visible_to(request.user)
        .select_related("position", "unit", "unit__level")
        .order_by("-starts", "-pk")
    )
    return {
        "person": person,
        "current": [a for a in appointments if a.is_current(today)],
        "past": [a for a in appointments if not a.is_current(today)],
        "appoint_form": form or PersonAppointForm(),
        "posts_error": error,
        "today": today,
    }


def _posts_response(request, person, form=None, error=None, status=200):
    if getattr(request, "htmx", False):
        context = posts_context(request, person, form, error)
        return render(request, "people/history_posts.html", context, status=status)
    if error:
        messages.error(request, error)
    return redirect("people:detail", pk=person.pk)


@require_POST
def person_appoint(request, pk):
    person = get_person_for_user(request.user, pk)
    form = PersonAppointForm(request.POST)
    error = None
    if form.is_valid():
        d = form.cleaned_data
        unit = _visible_unit(request.user, d["unit_code"])
        if unit is None:
            error = _("No unit with code %(code)s in your area.") % {"code": d["unit_code"]}
        else:
            try:
                do_appoint(
                    person,
                    d["position"],
                    unit,
                    actor=request.user,
                    starts=d["starts"],
                    note=d["note"],
                )
            except ActionRefused as e:
                error = _errors(e)
            else:
                messages.success(
                    request,
                    _("%(person)s is now %(position)s.")
                    % {"person": person.display_name, "position": d["position"].display_name},
                )
                return _posts_response(request, person)
    else:
        error = " ".join(str(e) for errs in form.errors.values() for e in errs)
    return _posts_response(request, person, form=form, error=error, status=400)


def _person_appointment(request, person, appointment_pk) -> Appointment:
    appointment = (
        Appointment.objects.visible_to(request.user)
        .select_related("person", "position", "unit", "unit__level")
        .filter(person=person, pk=appointment_pk)
        .first()
    )
    if appointment is None:
        raise Http404("No such appointment")
    return appointment


@require_POST
def person_relieve(request, pk, appointment):
    person = get_person_for_user(request.user, pk)
    a = _person_appointment(request, person, appointment)
    try:
        do_end_appointment(a, actor=request.user, ends=_date(request.POST.get("date")))
    except ActionRefused as e:
        return _posts_response(request, person, error=_errors(e), status=400)
    messages.success(
        request,
        _("%(person)s is no longer %(position)s.")
        % {"person": person.display_name, "position": a.position.display_name},
    )
    return _posts_response(request, person)


@require_POST
def person_transfer(request, pk, appointment):
    person = get_person_for_user(request.user, pk)
    a = _person_appointment(request, person, appointment)
    code = request.POST.get("unit_code", "")
    unit = _visible_unit(request.user, code)
    if unit is None:
        error = _("No unit with code %(code)s in your area.") % {"code": code}
        return _posts_response(request, person, error=error, status=400)
    try:
        do_transfer(a, unit, actor=request.user, on=_date(request.POST.get("date")))
    except ActionRefused as e:
        return _posts_response(request, person, error=_errors(e), status=400)
    messages.success(
        request,
        _("%(person)s moved to %(unit)s.")
        % {"person": person.display_name, "unit": unit.display_name},
    )
    return _posts_response(request, person)


# --- history ---------------------------------------------------------------------------------


@require_GET
def seat_history(request, code, position):
    unit = get_unit_for_user(request.user, code)
    position = Position.objects.filter(pk=position, level_id=unit.level_id).first()
    if position is None:
        raise Http404("No such post here")
    j = jurisdiction_for(request.user)
    rows = (
        Appointment.objects.filter(unit=unit, position=position)
        .select_related("person", "person__unit", "appointed_by", "ended_by")
        .order_by("-starts", "-pk")
    )
    page = paginate(request, rows)
    for a in page.object_list:
        a.person_visible = j.contains(a.person.unit)
    from sangathan.people.committees import seats_at

    context = {
        "unit": unit,
        "position": position,
        "seats": seats_at(position, unit),
        "crumbs": unit_crumbs(request.user, unit, include_self=True),
        "page": page,
        "today": timezone.localdate(),
    }
    return render(request, "people/history_seat.html", context)


@require_GET
def person_history(request, pk):
    person = get_person_for_user(request.user, pk)
    rows = (
        person.appointments.visible_to(request.user)
        .select_related("position", "unit", "unit__level", "appointed_by", "ended_by")
        .order_by("-starts", "-pk")
    )
    context = {
        "person": person,
        "crumbs": unit_crumbs(request.user, person.unit, include_self=True),
        "page": paginate(request, rows),
        "today": timezone.localdate(),
    }
    return render(request, "people/history_person.html", context)


# --- the vacancy and coverage report ---------------------------------------------------------


@require_GET
def report(request, code):
    unit = get_unit_for_user(request.user, code)
    fmt = request.GET.get("format", "")
    data = coverage_report(unit, request=request, all_children=fmt in ("csv", "xlsx"))
    if fmt in ("csv", "xlsx"):
        audit("export_coverage", request=request, unit=unit.code, format=fmt)
        rows = report_rows(data)
        name = f"coverage-{unit.code}"
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in rows:
                writer.writerow([escape_cell(v) for v in row])
            response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        else:
            import openpyxl

            workbook = openpyxl.Workbook(write_only=True)
            sheet = workbook.create_sheet("coverage")
            for row in rows:
                sheet.append([v if isinstance(v, int) else escape_cell(v) for v in row])
            out = io.BytesIO()
            workbook.save(out)
            response = HttpResponse(
                out.getvalue(),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        return response
    context = {
        **data,
        "unit": unit,
        "crumbs": unit_crumbs(request.user, unit),
    }
    return render_page(request, "people/committee_report.html", context, partial="table")


# --- bulk reorganisation ---------------------------------------------------------------------


class ReorganiseForm(forms.Form):
    file = forms.FileField(label=_lazy("CSV file"))


@require_http_methods(["GET", "POST"])
def reorganise_upload(request):
    _require_area(request.user)
    form = ReorganiseForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_UPLOAD:
                form.add_error("file", _("The file is larger than 5 MB; split it by district."))
            else:
                try:
                    batch, _plan = do_preview_reorganisation(
                        upload.read(), upload.name, actor=request.user
                    )
                except ReorganisationFileError as e:
                    form.add_error("file", str(e))
                else:
                    return redirect("people:reorganise_batch", token=batch.token)
    batches = ReorgBatch.objects.filter(user=request.user).exclude(status="previewed")[:20]
    context = {"form": form, "batches": batches}
    return render(request, "people/reorganise_upload.html", context, status=status)


def _batch_for(request, token) -> ReorgBatch:
    batch = ReorgBatch.objects.filter(token=token).first()
    if batch is None or not (request.user.is_superuser or batch.user_id == request.user.pk):
        raise Http404("No such file")
    return batch


@require_http_methods(["GET", "POST"])
def reorganise_batch(request, token):
    batch = _batch_for(request, token)
    refused = None
    if request.method == "POST":
        try:
            plan = do_apply_reorganisation(batch, actor=request.user, request=request)
        except ReorganisationRefused as e:
            refused = e
            batch.refresh_from_db()
        else:
            messages.success(
                request,
                _("Applied: %(appoint)d appointed, %(relieve)d relieved, %(transfer)d transferred.")
                % plan.counts,
            )
            return redirect("people:reorganise_batch", token=batch.token)
    plan = None
    changes = []
    if batch.status == ReorgBatch.Status.PREVIEWED:
        try:
            plan = plan_reorganisation(bytes(batch.content), request.user)
        except ReorganisationFileError as e:
            refused = ReorganisationRefused(str(e), [])
        else:
            changes = plan.changes
    else:
        changes = list(
            batch.changes.select_related(
                "started__person",
                "started__position",
                "started__unit",
                "ended__person",
                "ended__position",
                "ended__unit",
            )
        )
    context = {
        "batch": batch,
        "plan": plan,
        "changes": changes,
        "conflicts": (refused.conflicts if refused and refused.conflicts else None)
        or (plan.conflicts if plan else []),
        "refused": refused,
        "counts": plan.counts if plan else batch.summary,
    }
    return render(
        request, "people/reorganise_preview.html", context, status=400 if refused else 200
    )


@require_POST
def reorganise_undo(request, token):
    batch = _batch_for(request, token)
    try:
        result = do_undo_reorganisation(batch, actor=request.user, request=request)
    except ReorganisationRefused as e:
        context = {
            "batch": batch,
            "plan": None,
            "changes": [],
            "conflicts": e.conflicts,
            "refused": e,
            "counts": batch.summary,
        }
        return render(request, "people/reorganise_preview.html", context, status=409)
    messages.success(
        request,
        _("Undone: %(removed)d appointments removed, %(reopened)d reopened.") % result,
    )
    return redirect("people:reorganise_batch", token=batch.token)
