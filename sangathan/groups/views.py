"""Staff pages for WhatsApp groups: the registry (list, register, a group's page with its
link, counts and admins), coverage with targets and trend, the import of existing lists, and
the forward tasks of a broadcast. Every lookup goes through the user's jurisdiction: a group,
unit or broadcast outside it is a 404, and an invite link is never shown outside it."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sangathan.groups import actions
from sangathan.groups.coverage import coverage_report, default_target, trend
from sangathan.groups.forms import (
    AdminForm,
    CountForm,
    EditGroupForm,
    GroupForm,
    GroupsFileForm,
    LinkForm,
    TargetForm,
)
from sangathan.groups.forwards import reach_estimate
from sangathan.groups.models import (
    ExpansionTarget,
    Group,
    GroupForward,
    GroupPurpose,
    GroupStatus,
)
from sangathan.org.models import OrgUnit
from sangathan.org.scoping import get_unit_for_user, jurisdiction_for
from sangathan.people.actions import ActionRefused
from sangathan.people.models import Person

PAGE_SIZE = 50
PREVIEW_LIMIT = 500
IMPORT_SESSION_KEY = "groups:import"


def get_group_for_user(user, code: str) -> Group:
    """The group ``code`` if its unit lies in the user's jurisdiction, else 404."""
    qs = Group.objects.visible_to(user).select_related("unit", "unit__level")
    try:
        return qs.get(code=code)
    except Group.DoesNotExist:
        raise Http404("No such group") from None


def get_target_for_user(user, pk) -> ExpansionTarget:
    qs = jurisdiction_for(user).filter(
        ExpansionTarget.objects.select_related("scope_unit", "level"), "scope_unit__path"
    )
    try:
        return qs.get(pk=pk)
    except (ExpansionTarget.DoesNotExist, ValueError, TypeError):
        raise Http404("No such target") from None


def _home_unit(user) -> OrgUnit:
    roots = list(jurisdiction_for(user).root_units()[:1])
    if not roots:
        raise Http404("No area")
    return roots[0]


def _crumbs(user, unit: OrgUnit) -> list[tuple[OrgUnit, bool]]:
    j = jurisdiction_for(user)
    return [
        (u, j.contains(u))
        for u in OrgUnit.objects.filter(path__in=unit.ancestor_paths()[:-1])
        .select_related("level")
        .order_by("depth")
    ]


@require_GET
def group_list(request):
    user = request.user
    groups = (
        Group.objects.visible_to(user)
        .select_related("unit", "unit__level")
        .prefetch_related("admins")
    )
    unit = None
    if code := request.GET.get("unit", "").strip():
        unit = get_unit_for_user(user, code)
        groups = groups.within(unit)
    purpose = request.GET.get("purpose", "")
    if purpose in GroupPurpose.values:
        groups = groups.filter(purpose=purpose)
    status = request.GET.get("status", GroupStatus.ACTIVE)
    if status in GroupStatus.values:
        groups = groups.filter(status=status)
    if q := request.GET.get("q", "").strip():
        groups = groups.filter(name__icontains=q)
    page = Paginator(groups.order_by("unit__path", "name"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "unit": unit,
        "purposes": GroupPurpose.choices,
        "purpose": purpose,
        "status": status,
        "q": q,
        "can_create": not jurisdiction_for(user).is_empty,
    }
    return render(request, "groups/list.html", context)


@require_http_methods(["GET", "POST"])
def group_new(request):
    user = request.user
    if jurisdiction_for(user).is_empty:
        raise Http404("No area")
    initial = {}
    if code := request.GET.get("unit", "").strip():
        unit = get_unit_for_user(user, code)
        initial["unit"] = unit.code
        initial["admin_phones"] = ", ".join(p.phone for p in actions.pramukh_holders(unit))
    form = GroupForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        admins = data["admin_phones"] or actions.pramukh_holders(data["unit"])
        try:
            group = actions.do_create_group(
                user,
                unit=data["unit"],
                name=data["name"],
                purpose=data["purpose"],
                invite_link=data["invite_link"],
                admins=admins,
                members=data["members"],
                request=request,
            )
        except ActionRefused as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("The group is registered."))
            return redirect("groups:detail", code=group.code)
    status = 400 if form.is_bound else 200
    return render(request, "groups/form.html", {"form": form}, status=status)


def _detail_context(request, group: Group, **forms) -> dict:
    user = request.user
    forwards = (
        GroupForward.objects.filter(group=group)
        .with_confirmation()
        .select_related("broadcast")
        .order_by("-created_at")[:20]
    )
    return {
        "group": group,
        "crumbs": _crumbs(user, group.unit) + [(group.unit, True)],
        "admins": list(
            group.admin_links.select_related("person", "person__unit").order_by("added_at")
        ),
        "counts": list(group.counts.order_by("-counted_on")[:30]),
        "links": list(group.link_history.all()[:20]),
        "forwards": list(forwards),
        "edit_form": forms.get("edit_form")
        or EditGroupForm(initial={"name": group.name, "purpose": group.purpose}),
        "link_form": forms.get("link_form") or LinkForm(),
        "count_form": forms.get("count_form") or CountForm(),
        "admin_form": forms.get("admin_form") or AdminForm(user=user),
        "pramukhs": [
            p for p in actions.pramukh_holders(group.unit) if p.pk not in group_admin_ids(group)
        ],
    }


def group_admin_ids(group: Group) -> set[int]:
    return set(group.admin_links.values_list("person_id", flat=True))


@require_GET
def group_detail(request, code):
    group = get_group_for_user(request.user, code)
    return render(request, "groups/detail.html", _detail_context(request, group))


def _post_form(request, group, form_name, form, act):
    """Validate ``form``, run ``act(cleaned_data)``; re-render the page with errors."""
    if form.is_valid():
        try:
            message = act(form.cleaned_data)
        except ActionRefused as e:
            form.add_error(None, e.message)
        else:
            if message:
                messages.success(request, message)
            return redirect("groups:detail", code=group.code)
    context = _detail_context(request, group, **{form_name: form})
    return render(request, "groups/detail.html", context, status=400)


@require_POST
def group_edit(request, code):
    group = get_group_for_user(request.user, code)

    def act(data):
        actions.do_update_group(
            request.user, group, name=data["name"], purpose=data["purpose"], request=request
        )
        return _("Saved.")

    return _post_form(request, group, "edit_form", EditGroupForm(request.POST), act)


@require_POST
def group_link(request, code):
    group = get_group_for_user(request.user, code)

    def act(data):
        actions.do_rotate_invite_link(request.user, group, data["invite_link"], request=request)
        return _("The invite link is replaced; the old one is kept in the history.")

    return _post_form(request, group, "link_form", LinkForm(request.POST), act)


@require_POST
def group_count(request, code):
    group = get_group_for_user(request.user, code)

    def act(data):
        actions.do_record_member_count(request.user, group, data["members"], request=request)
        return _("Member count recorded.")

    return _post_form(request, group, "count_form", CountForm(request.POST), act)


@require_POST
def group_admin_add(request, code):
    group = get_group_for_user(request.user, code)

    def act(data):
        actions.do_add_group_admin(request.user, group, data["phone"], request=request)
        return _("Admin added.")

    return _post_form(request, group, "admin_form", AdminForm(request.POST, user=request.user), act)


@require_POST
def group_admin_remove(request, code, person_id):
    group = get_group_for_user(request.user, code)
    person = Person.objects.filter(pk=person_id, group_admin_links__group=group).first()
    if person is None:
        raise Http404("Not an admin of this group")
    actions.do_remove_group_admin(request.user, group, person, request=request)
    messages.success(request, _("Admin removed."))
    return redirect("groups:detail", code=group.code)


@require_POST
def group_status(request, code):
    group = get_group_for_user(request.user, code)
    status = request.POST.get("status", "")
    try:
        actions.do_set_group_status(request.user, group, status, request=request)
    except ActionRefused as e:
        messages.error(request, e.message)
    return redirect("groups:detail", code=group.code)


# --- coverage -----------------------------------------------------------------------------


def _targets_for(user, unit: OrgUnit):
    """Active targets whose area contains ``unit`` or lies inside it, within the user's area."""
    qs = jurisdiction_for(user).filter(
        ExpansionTarget.objects.filter(active=True).select_related("scope_unit", "level"),
        "scope_unit__path",
    )
    return [
        t
        for t in qs.filter(scope_unit__path__in=unit.ancestor_paths())
        | qs.filter(scope_unit__path__under=unit.path)
    ]


def _sparkline(points: list[int], width=320, height=60) -> str:
    if len(points) < 2:
        return ""
    step = width / (len(points) - 1)
    return " ".join(
        f"{i * step:.1f},{height - (p / 100) * height:.1f}" for i, p in enumerate(points)
    )


@require_GET
def coverage(request):
    user = request.user
    code = request.GET.get("unit", "").strip()
    unit = get_unit_for_user(user, code) if code else _home_unit(user)
    target = default_target()
    if pk := request.GET.get("target"):
        target = get_target_for_user(user, pk)
        if not (unit.is_within(target.scope_unit) or target.scope_unit.is_within(unit)):
            raise Http404("Target outside this unit")
    if target.level is None:
        raise Http404("No levels")
    report = coverage_report(target, unit)
    history = trend(target, unit)
    context = {
        "unit": unit,
        "crumbs": _crumbs(user, unit),
        "target": target,
        "targets": _targets_for(user, unit),
        "report": report,
        "history": history,
        "spark": _sparkline(
            [s.units_covered * 100 // s.units_total if s.units_total else 0 for s in history]
        ),
        "target_form": TargetForm(user=user, initial={"scope": unit.code, "level": "booth"}),
    }
    return render(request, "groups/coverage.html", context)


@require_POST
def target_new(request):
    form = TargetForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            target = actions.do_create_target(
                request.user,
                scope_unit=data["scope"],
                level=data["level"],
                purpose=data["purpose"],
                per_unit=data["per_unit"],
                due=data["due"],
                request=request,
            )
        except ActionRefused as e:
            messages.error(request, e.message)
        else:
            messages.success(request, _("Target saved."))
            return redirect(
                f"{_url('groups:coverage')}?unit={target.scope_unit.code}&target={target.pk}"
            )
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return redirect("groups:coverage")


@require_POST
def target_archive(request, pk):
    target = get_target_for_user(request.user, pk)
    actions.do_archive_target(request.user, target, request=request)
    messages.success(request, _("Target archived."))
    return redirect(f"{_url('groups:coverage')}?unit={target.scope_unit.code}")


def _url(name, **kwargs) -> str:
    from django.urls import reverse

    return reverse(name, kwargs=kwargs or None)


# --- import ---------------------------------------------------------------------------------


def _with_reasons(invalid: list[dict]) -> list[dict]:
    return [
        {"line": r["line"], "reason": "; ".join(actions.reason_text(x) for x in r["reasons"])}
        for r in invalid
    ]


@require_http_methods(["GET", "POST"])
def import_groups(request):
    """Upload → preview (nothing written; the rows wait in the session) → confirm."""
    user = request.user
    if jurisdiction_for(user).is_empty:
        raise Http404("No area")
    if request.method == "POST" and request.POST.get("confirm"):
        pending = request.session.get(IMPORT_SESSION_KEY)
        if not pending or pending.get("token") != request.POST.get("token"):
            messages.error(
                request,
                _("There is no checked file waiting to be imported here; upload it again."),
            )
            return redirect("groups:import")
        del request.session[IMPORT_SESSION_KEY]
        result = actions.import_groups(pending["rows"], actor=user, commit=True)
        messages.success(
            request,
            _(
                "%(created)s groups added and %(updated)s updated from %(file)s; "
                "%(skipped)s rows with problems skipped."
            )
            % {
                "created": result["created"],
                "updated": result["updated"],
                "file": pending["filename"],
                "skipped": len(result["invalid"]),
            },
        )
        return redirect("groups:list")
    bound = request.method == "POST"
    form = GroupsFileForm(request.POST if bound else None, request.FILES if bound else None)
    if bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = actions.read_groups_file(upload.read())
        except actions.GroupsFileError as e:
            form.add_error("file", _("The file cannot be read: %(reason)s") % {"reason": e})
        else:
            result = actions.import_groups(rows, actor=user)
            token = secrets.token_urlsafe(12)
            if result["valid"]:
                request.session[IMPORT_SESSION_KEY] = {
                    "token": token,
                    "filename": upload.name[:255],
                    "rows": rows,
                }
            else:
                request.session.pop(IMPORT_SESSION_KEY, None)
            context = {
                "result": result,
                "invalid": _with_reasons(result["invalid"][:PREVIEW_LIMIT]),
                "more_invalid": max(len(result["invalid"]) - PREVIEW_LIMIT, 0),
                "filename": upload.name,
                "token": token,
            }
            return render(request, "groups/import_preview.html", context)
    status = 400 if bound else 200
    example_unit = _home_unit(user)
    context = {"form": form, "example_unit": example_unit}
    return render(request, "groups/import.html", context, status=status)


# --- forward tasks of a broadcast ----------------------------------------------------------


def _broadcast_for_user(user, code):
    from sangathan.broadcasts.api import get_broadcast_for_user

    return get_broadcast_for_user(user, code)


@require_GET
def broadcast_forwards(request, code):
    """The groups a broadcast was sent to for forwarding, who confirmed, and the reach
    estimate, within the user's part of the audience."""
    user = request.user
    broadcast = _broadcast_for_user(user, code)
    forwards = (
        GroupForward.objects.visible_to(user)
        .filter(broadcast=broadcast)
        .with_confirmation()
        .select_related("group", "group__unit", "staff_confirmed_by")
        .prefetch_related("group__admins")
        .order_by("group__unit__path", "group__name")
    )
    page = Paginator(forwards, PAGE_SIZE).get_page(request.GET.get("page"))
    j = jurisdiction_for(user)
    unit = broadcast.audience_unit if j.contains(broadcast.audience_unit) else None
    if unit is None:
        roots = [u for u in j.root_units() if u.is_within(broadcast.audience_unit)]
        unit = roots[0] if roots else None
    context = {
        "broadcast": broadcast,
        "page": page,
        "estimate": reach_estimate(broadcast, unit),
        "unit": unit,
    }
    return render(request, "groups/forwards.html", context)


@require_POST
def forward_confirm(request, code, group_code):
    user = request.user
    broadcast = _broadcast_for_user(user, code)
    forward = (
        GroupForward.objects.visible_to(user)
        .select_related("group", "group__unit")
        .filter(broadcast=broadcast, group__code=group_code)
        .first()
    )
    if forward is None:
        raise Http404("No such forward")
    confirmed = request.POST.get("confirmed", "1") == "1"
    actions.do_confirm_forward(user, forward, confirmed=confirmed, request=request)
    return redirect(
        f"{_url('groups:forwards', code=broadcast.code)}?page={request.POST.get('page', 1)}"
    )
