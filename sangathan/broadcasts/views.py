"""Staff pages for broadcasts: compose (with a live audience preview), the list, the approval
queue, a unit in-charge's inbox (acknowledge, re-share), a broadcast with its reach per unit
and a CSV of it, the page of sent messages, and poll dates.

Every broadcast lookup goes through ``get_broadcast_for_user`` and every unit through
``sangathan.org.scoping``: outsiders get 404. Writes are one action each
(``sangathan.broadcasts.actions``, ``poll_actions``); refusals come back as
``ActionRefused`` messages shown beside the form, with what was typed kept.
"""

from __future__ import annotations

import csv
import mimetypes

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sangathan.accounts.audit import audit
from sangathan.broadcasts import actions
from sangathan.broadcasts.api import _default_reach_unit, get_broadcast_for_user
from sangathan.broadcasts.audience import AudienceError, clean_filters, preview_counts
from sangathan.broadcasts.forms import (
    AudienceForm,
    ComposeForm,
    PollDateForm,
    RejectForm,
    ReshareForm,
    attachment_max_bytes,
    attachment_type,
)
from sangathan.broadcasts.models import (
    Acknowledgement,
    Broadcast,
    BroadcastChannel,
    BroadcastStatus,
    PollDate,
)
from sangathan.broadcasts.poll_actions import POLL_LEVEL, do_set_poll_date
from sangathan.broadcasts.reach import reach_report
from sangathan.broadcasts.silence import silence_for_audience, silenced_units
from sangathan.channels.models import Delivery, DeliveryStatus
from sangathan.org.models import Level, OrgUnit
from sangathan.org.scoping import get_unit_for_user, jurisdiction_for
from sangathan.org.views import paginate, render_page, wants_partial
from sangathan.people.actions import ActionRefused
from sangathan.people.exporting import escape_cell
from sangathan.people.models import Appointment, Position, Purpose

PAGE_SIZE = 25
WHEN_FORMAT = "j M Y, H:i"  # as the pages show times
UNIT_CHOICES_LIMIT = 300  # units offered in the compose page's list of codes
CHANNEL_LABELS = dict(BroadcastChannel.choices)
# What each channel can tell: the feed knows reads and shares, providers report delivery.
CHANNEL_FIELDS = {"feed": ("audience", "read", "shared")}
EXTERNAL_FIELDS = ("audience", "sent", "delivered", "read", "failed")


def field_labels() -> dict[str, str]:
    return {
        "audience": _("Audience"),
        "sent": _("Sent"),
        "delivered": _("Delivered"),
        "read": _("Read"),
        "shared": _("Shared"),
        "failed": _("Failed"),
    }


STATUS_BADGE = {
    BroadcastStatus.SENT: "ok",
    BroadcastStatus.REJECTED: "bad",
    BroadcastStatus.BLOCKED: "bad",
    BroadcastStatus.CANCELLED: "bad",
    BroadcastStatus.PENDING: "warn",
}


def _with_badges(broadcasts):
    for b in broadcasts:
        b.badge = STATUS_BADGE.get(b.status, "")
        b.channel_names = [CHANNEL_LABELS.get(c, c) for c in b.channels]
        b.when = b.sent_at or b.scheduled_at or b.created_at
    return broadcasts


def _user_units(user):
    """The units where ``user`` holds a current appointment (their posts), top first."""
    if user.person_id is None:
        return []
    return list(
        OrgUnit.objects.filter(
            pk__in=Appointment.objects.current().filter(person_id=user.person_id).values("unit_id")
        )
        .select_related("level")
        .order_by("depth", "path")
    )


def approvable_by(user):
    """Pending broadcasts ``user`` may approve, as one query: the rule of
    ``actions.can_approve`` (a post strictly above the author's unit, or above the audience
    when the author held none; never one's own; superusers any)."""
    pending = Broadcast.objects.filter(status=BroadcastStatus.PENDING).exclude(author=user)
    if user.is_superuser:
        return pending
    q = Q(pk__in=[])
    for unit in _user_units(user):
        above_origin = Q(origin_unit__path__under=unit.path) & ~Q(origin_unit__path=unit.path)
        above_audience = (
            Q(origin_unit__isnull=True)
            & Q(audience_unit__path__under=unit.path)
            & ~Q(audience_unit__path=unit.path)
        )
        q |= above_origin | above_audience
    return pending.filter(q)


# --- the list -------------------------------------------------------------------------------

LIST_FILTERS = {
    "sent": [BroadcastStatus.SENT],
    "scheduled": [BroadcastStatus.SCHEDULED],
    "pending": [BroadcastStatus.PENDING],
    "rejected": [BroadcastStatus.REJECTED, BroadcastStatus.BLOCKED, BroadcastStatus.CANCELLED],
}


@require_GET
def broadcast_list(request):
    status = request.GET.get("status", "")
    qs = Broadcast.objects.visible_to(request.user).select_related(
        "audience_unit", "audience_unit__level", "author"
    )
    if status in LIST_FILTERS:
        qs = qs.filter(status__in=LIST_FILTERS[status])
    else:
        status = ""
    page = paginate(request, qs.order_by("-created_at", "-pk"), per_page=PAGE_SIZE)
    _with_badges(page.object_list)
    context = {"page": page, "status": status, "tab": "list"}
    return render_page(request, "broadcasts/list.html", context, partial="results")


# --- compose --------------------------------------------------------------------------------


def unit_choices(user) -> list[OrgUnit]:
    """Units offered in the compose page: the user's own units and those just below them."""
    j = jurisdiction_for(user)
    roots = list(j.root_units())
    if not roots:
        return []
    q = Q(pk__in=[r.pk for r in roots])
    for root in roots:
        q |= Q(path__under=root.path, depth=root.depth + 1)
    return list(
        OrgUnit.objects.filter(q).select_related("level").order_by("path")[:UNIT_CHOICES_LIMIT]
    )


def audience_preview(user, form: AudienceForm) -> dict | None:
    """The exact audience per channel (after consent and opt-outs) for the audience part of
    the compose form, whether approval will be needed, and the silence window's effect."""
    if not form.is_bound:
        return None
    if not form.is_valid():
        errors = [
            e for name in ("unit", "channels", "scheduled_at") for e in form.errors.get(name, [])
        ]
        return {"errors": errors} if errors else None
    data = form.cleaned_data
    unit = data["unit"]
    out: dict = {"unit": unit, "errors": []}
    try:
        channels = actions.clean_channels(data["channels"])
        filters = clean_filters(form.filters())
    except ActionRefused as exc:
        out["errors"] = exc.messages
        return out
    except AudienceError as exc:
        out["errors"] = [str(exc)]
        return out
    excluded: list[str] = []
    if data["purpose"] == "campaign":
        silence = silence_for_audience(unit.path, data["scheduled_at"])
        if silence and silence[0] == "all":
            closes = formats.date_format(timezone.localtime(silence[2]), WHEN_FORMAT)
            out["silenced_all"] = {"unit": silence[1], "closes": closes}
            return out
        if silence:
            excluded = silence[1]
            out["silenced_some"] = len(excluded)
    counts = preview_counts(unit, channels, data["purpose"], filters, excluded)
    out["counts"] = [(CHANNEL_LABELS[c], counts[c], c) for c in channels]
    out["estimate"] = unit.people_count
    out["narrowed"] = bool(filters)
    out["needs_approval"] = actions.needs_approval(user, unit.people_count)
    out["threshold"] = settings.SANGATHAN_APPROVAL_THRESHOLD
    return out


def _parent_for(request, code: str) -> Broadcast | None:
    return get_broadcast_for_user(request.user, code) if code else None


def _compose_initial(request, parent: Broadcast | None) -> dict:
    initial: dict = {"channels": ["feed"], "purpose": "organisational", "when": "now", "app": ""}
    if parent is not None:
        initial |= {
            "title_hi": parent.title_hi,
            "body_hi": parent.body_hi,
            "title_en": parent.title_en,
            "body_en": parent.body_en,
            "link": parent.link,
            "topic": parent.topic,
            "purpose": parent.purpose,
            "parent": parent.code,
        }
        mine = actions.in_charge_units(request.user, parent).order_by("depth", "path").first()
        if mine is not None:
            initial["unit"] = mine.code
    code = request.GET.get("unit", "").strip()
    if code:
        initial["unit"] = get_unit_for_user(request.user, code).code
    return initial


def _preview_data(initial: dict) -> dict:
    """Form data for the preview of a page opened with a unit (GET without htmx)."""
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    for key in ("unit", "purpose", "when", "app"):
        data[key] = initial.get(key, "")
    data.setlist("channels", initial.get("channels", []))
    return data


@require_http_methods(["GET", "POST"])
def compose(request):
    user = request.user
    if request.method == "GET" and wants_partial(request):
        # The live preview: only the audience part of the form, on every change.
        form = AudienceForm(request.GET, user=user)
        context = {"preview": audience_preview(user, form)}
        response = render(request, "broadcasts/compose.html#preview", context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    if request.method == "GET":
        parent = _parent_for(request, request.GET.get("parent", "").strip())
        initial = _compose_initial(request, parent)
        form = ComposeForm(user=user, initial=initial)
        preview = None
        if initial.get("unit"):
            preview = audience_preview(user, AudienceForm(_preview_data(initial), user=user))
        return _compose_page(request, form, preview, parent)

    form = ComposeForm(request.POST, request.FILES, user=user)
    parent = _parent_for(request, request.POST.get("parent", "").strip())
    preview = audience_preview(user, AudienceForm(request.POST, user=user))
    if request.POST.get("action") == "preview":  # "Show the audience" without JavaScript
        return _compose_page(request, form, preview, parent)
    if form.is_valid():
        try:
            broadcast = actions.do_create_broadcast(user, form.draft(parent), request=request)
        except ActionRefused as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _created_message(broadcast))
            return redirect("broadcasts:detail", code=broadcast.code)
    return _compose_page(request, form, preview, parent, status=400)


def _compose_page(request, form, preview, parent, status=200):
    context = {
        "form": form,
        "preview": preview,
        "parent": parent,
        "units": unit_choices(request.user),
        "max_attachment_mb": f"{attachment_max_bytes() / 1024 / 1024:g}",
        "tab": "compose",
        "has_filters": any(
            form[name].value() for name in ("levels", "positions", "wings", "tags", "app")
        ),
    }
    return render(request, "broadcasts/compose.html", context, status=status)


def _created_message(broadcast: Broadcast) -> str:
    if broadcast.status == BroadcastStatus.PENDING:
        return _("Saved. It goes out once a holder of a higher post approves it.")
    if broadcast.status == BroadcastStatus.SCHEDULED:
        when = formats.date_format(timezone.localtime(broadcast.scheduled_at), WHEN_FORMAT)
        return _("Scheduled: it goes out at %(when)s.") % {"when": when}
    if broadcast.status == BroadcastStatus.BLOCKED:
        return broadcast.status_reason
    return _("Sent. Members see it in the app now; other channels follow in a few minutes.")


# --- approvals ------------------------------------------------------------------------------


def _approvals_page(request, reject_forms=None, status=200):
    qs = (
        approvable_by(request.user)
        .select_related("audience_unit", "audience_unit__level", "author", "origin_unit")
        .order_by("created_at", "pk")
    )
    page = paginate(request, qs, per_page=PAGE_SIZE)
    reject_forms = reject_forms or {}
    for b in _with_badges(page.object_list):
        b.reject_form = reject_forms.get(b.code) or RejectForm(prefix=b.code)
    context = {"page": page, "tab": "approvals"}
    return render(request, "broadcasts/approvals.html", context, status=status)


@require_GET
def approvals(request):
    return _approvals_page(request)


@require_POST
def approve(request, code):
    broadcast = get_broadcast_for_user(request.user, code)
    try:
        broadcast = actions.do_approve_broadcast(request.user, broadcast, request=request)
    except ActionRefused as exc:
        for m in exc.messages:
            messages.error(request, m)
    else:
        messages.success(
            request,
            _("Approved: %(title)s. %(next)s")
            % {"title": broadcast.title, "next": _created_message(broadcast)},
        )
    return redirect("broadcasts:approvals")


@require_POST
def reject(request, code):
    broadcast = get_broadcast_for_user(request.user, code)
    form = RejectForm(request.POST, prefix=broadcast.code)
    if form.is_valid():
        try:
            actions.do_reject_broadcast(
                request.user, broadcast, form.cleaned_data["reason"], request=request
            )
        except ActionRefused as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("Rejected: %(title)s.") % {"title": broadcast.title})
            return redirect("broadcasts:approvals")
    return _approvals_page(request, {broadcast.code: form}, status=400)


@require_POST
def cancel(request, code):
    broadcast = get_broadcast_for_user(request.user, code)
    try:
        actions.do_cancel_broadcast(request.user, broadcast, request=request)
    except ActionRefused as exc:
        for m in exc.messages:
            messages.error(request, m)
    else:
        messages.success(request, _("Cancelled: it will not be sent."))
    return redirect("broadcasts:detail", code=broadcast.code)


# --- inbox ----------------------------------------------------------------------------------


def _inbox_page(request, bound=None, status=200):
    """``bound``: ``(code, unit_code, form)`` of a re-share form to show again with its
    errors and what was typed."""
    user = request.user
    qs = (
        Broadcast.objects.inbox_for(user)
        .exclude(author=user)
        .select_related("audience_unit", "audience_unit__level", "author")
        .order_by("-sent_at", "-pk")
    )
    page = paginate(request, qs, per_page=PAGE_SIZE)
    mine = _user_units(user)
    acks = set(
        Acknowledgement.objects.filter(broadcast__in=page.object_list, unit__in=mine).values_list(
            "broadcast_id", "unit_id"
        )
    )
    reshares = {
        (parent_id, unit_id): code
        for parent_id, unit_id, code in Broadcast.objects.filter(
            parent__in=page.object_list, audience_unit__in=mine
        ).values_list("parent_id", "audience_unit_id", "code")
    }
    for b in _with_badges(page.object_list):
        b.my_units = []
        for unit in mine:
            if not unit.path.startswith(b.audience_unit.path):
                continue
            if bound and bound[0] == b.code and bound[1] == unit.code:
                form = bound[2]
            else:
                form = ReshareForm(prefix=f"{b.code}-{unit.code}")
            b.my_units.append(
                {
                    "unit": unit,
                    "acknowledged": (b.pk, unit.pk) in acks,
                    "reshare": reshares.get((b.pk, unit.pk)),
                    "form": form,
                }
            )
    context = {"page": page, "tab": "inbox", "has_units": bool(mine)}
    return render(request, "broadcasts/inbox.html", context, status=status)


@require_GET
def inbox(request):
    return _inbox_page(request)


@require_POST
def acknowledge(request, code):
    broadcast = get_broadcast_for_user(request.user, code)
    unit = get_unit_for_user(request.user, request.POST.get("unit", "").strip())
    try:
        actions.do_acknowledge_broadcast(request.user, broadcast, unit, request=request)
    except ActionRefused as exc:
        for m in exc.messages:
            messages.error(request, m)
    else:
        messages.success(
            request,
            _("Acknowledged for %(unit)s: %(title)s.")
            % {"unit": unit.display_name, "title": broadcast.title},
        )
    return redirect("broadcasts:inbox")


@require_POST
def reshare(request, code):
    broadcast = get_broadcast_for_user(request.user, code)
    unit = get_unit_for_user(request.user, request.POST.get("unit", "").strip())
    form = ReshareForm(request.POST, prefix=f"{broadcast.code}-{unit.code}")
    if form.is_valid():
        try:
            child = actions.do_reshare_broadcast(
                request.user,
                broadcast,
                unit,
                note=form.cleaned_data["note"],
                channels=form.cleaned_data["channels"] or ["feed"],
                request=request,
            )
        except ActionRefused as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(
                request,
                _("Re-shared to %(unit)s. %(next)s")
                % {"unit": unit.display_name, "next": _created_message(child)},
            )
            return redirect("broadcasts:inbox")
    return _inbox_page(request, (broadcast.code, unit.code, form), status=400)


# --- one broadcast and its reach -----------------------------------------------------------


def _filters_summary(filters: dict) -> list[tuple[str, str]]:
    out = []
    if filters.get("levels"):
        names = dict(Level.objects.values_list("slug", "name_hi" if _is_hindi() else "name_en"))
        out.append((_("Office bearers at"), ", ".join(names.get(s, s) for s in filters["levels"])))
    if filters.get("positions"):
        positions = Position.objects.filter(pk__in=filters["positions"])
        out.append((_("Posts"), ", ".join(p.display_name for p in positions)))
    if filters.get("wings"):
        out.append((_("Wings"), ", ".join(filters["wings"])))
    if filters.get("tags"):
        out.append((_("Tags"), ", ".join(filters["tags"])))
    if filters.get("app") == "joined":
        out.append((_("Member app"), _("Only people on the app")))
    elif filters.get("app") == "not_joined":
        out.append((_("Member app"), _("Only people not yet on the app")))
    return out


def _is_hindi() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "hi").startswith("hi")


def reach_unit(request, broadcast: Broadcast) -> OrgUnit:
    """The unit whose reach is asked for (``?unit=``, inside both the user's jurisdiction
    and the audience), or the default: the audience, or the user's part of it."""
    code = request.GET.get("unit", "").strip()
    if not code:
        return _default_reach_unit(request.user, broadcast)
    unit = get_unit_for_user(request.user, code)
    if not unit.path.startswith(broadcast.audience_unit.path):
        raise Http404("Unit outside the audience")
    return unit


def _cells(channels, figures) -> list[int]:
    return [
        figures.get(ch, {}).get(f, 0)
        for ch in channels
        for f in CHANNEL_FIELDS.get(ch, EXTERNAL_FIELDS)
    ]


def _marked_cells(channels, figures) -> list[tuple[int, bool]]:
    """The cells of a reach row, each with whether it starts a channel's group."""
    return [
        (figures.get(ch, {}).get(f, 0), i == 0)
        for ch in channels
        for i, f in enumerate(CHANNEL_FIELDS.get(ch, EXTERNAL_FIELDS))
    ]


def reach_context(request, broadcast: Broadcast, unit: OrgUnit) -> dict:
    report = reach_report(broadcast, unit)
    channels = report["channels"]
    labels = field_labels()
    columns = [
        (CHANNEL_LABELS.get(ch, ch), [labels[f] for f in CHANNEL_FIELDS.get(ch, EXTERNAL_FIELDS)])
        for ch in channels
    ]
    j = jurisdiction_for(request.user)
    top = broadcast.audience_unit
    crumbs = [
        (u, j.contains(u))
        for u in OrgUnit.objects.filter(
            path__in=[p for p in unit.ancestor_paths()[:-1] if len(p) >= len(top.path)]
        )
        .select_related("level")
        .order_by("depth")
    ]
    rows = [
        {
            "unit": c["unit"],
            "cells": _marked_cells(channels, c["figures"]),
            "acknowledged": c["acknowledged"],
            "reshared": c["reshared"],
        }
        for c in report["children"]
    ]
    rollup = [
        r | {"percent": round(100 * r["acknowledged"] / r["units"]) if r["units"] else 0}
        for r in report["rollup"]
    ]
    return {
        "broadcast": broadcast,
        "unit": unit,
        "report": report,
        "columns": columns,
        "total": _marked_cells(channels, report["figures"]),
        "width": 3 + sum(len(fields) for _label, fields in columns),
        "rows": rows,
        "rollup": rollup,
        # The author's own unit has nothing to acknowledge.
        "unit_acknowledged": None
        if broadcast.origin_unit_id == unit.pk
        else report["acknowledged"],
        "crumbs": crumbs,
        "child_level": rows[0]["unit"].level if rows else None,
    }


@require_GET
def detail(request, code):
    broadcast = get_broadcast_for_user(request.user, code)
    user = request.user
    context = {
        "broadcast": _with_badges([broadcast])[0],
        "filters": _filters_summary(broadcast.filters),
        "purpose_label": dict(Purpose.choices).get(broadcast.purpose, broadcast.purpose),
        "reshares": list(
            Broadcast.objects.visible_to(user)
            .filter(parent=broadcast)
            .select_related("audience_unit", "audience_unit__level")
            .order_by("audience_unit__path")[:50]
        ),
        "can_approve": broadcast.status == BroadcastStatus.PENDING
        and actions.can_approve(user, broadcast),
        "can_cancel": broadcast.status in (BroadcastStatus.PENDING, BroadcastStatus.SCHEDULED)
        and (broadcast.author_id == user.pk or user.is_superuser),
        "reject_form": RejectForm(prefix=broadcast.code),
        "channel_counts": [
            (CHANNEL_LABELS.get(c, c), broadcast.audience_counts.get(c)) for c in broadcast.channels
        ],
        "tab": "list",
    }
    if broadcast.status == BroadcastStatus.SENT:
        context |= reach_context(request, broadcast, reach_unit(request, broadcast))
    return render(request, "broadcasts/detail.html", context)


@require_GET
def reach(request, code):
    broadcast = get_broadcast_for_user(request.user, code)
    unit = reach_unit(request, broadcast)
    context = reach_context(request, broadcast, unit) | {"tab": "list"}
    _with_badges([broadcast])
    if wants_partial(request):
        return render(request, "broadcasts/_reach.html", context)
    return render(request, "broadcasts/reach.html", context)


@require_GET
def reach_csv(request, code):
    broadcast = get_broadcast_for_user(request.user, code)
    unit = reach_unit(request, broadcast)
    report = reach_report(broadcast, unit)
    channels = report["channels"]
    header = ["unit_code", "unit_name", "level"]
    header += [f"{ch}_{f}" for ch in channels for f in CHANNEL_FIELDS.get(ch, EXTERNAL_FIELDS)]
    header += ["acknowledged", "reshared"]
    lines = [header]
    lines.append(
        [unit.code, unit.display_name, unit.level.slug]
        + _cells(channels, report["figures"])
        + ["yes" if report["acknowledged"] else "no", ""]
    )
    for c in report["children"]:
        child = c["unit"]
        lines.append(
            [child.code, child.display_name, child.level.slug]
            + _cells(channels, c["figures"])
            + ["yes" if c["acknowledged"] else "no", "yes" if c["reshared"] else "no"]
        )
    audit(
        "broadcast_reach_export",
        request=request,
        obj=broadcast,
        code=broadcast.code,
        unit=unit.code,
        rows=len(lines) - 1,
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stem = f"reach-{broadcast.code}-{unit.code}-{timezone.localdate():%Y%m%d}"
    response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    response.write("\ufeff")  # a BOM, so that Excel reads the Hindi names as UTF-8
    writer = csv.writer(response)
    for line in lines:
        writer.writerow([escape_cell(v) for v in line])
    return response


@require_GET
def attachment(request, code):
    """The attachment, to those who may see the broadcast (media files are not public)."""
    return attachment_response(get_broadcast_for_user(request.user, code))


def attachment_response(broadcast):
    """Serve a broadcast's attachment with its sniffed type, inline for images and PDFs."""
    if not broadcast.attachment:
        raise Http404("No attachment")
    try:
        handle = broadcast.attachment.open("rb")
    except FileNotFoundError:
        raise Http404("Attachment missing") from None
    head = handle.read(16)
    handle.seek(0)
    name = broadcast.attachment.name.rsplit("/", 1)[-1]
    content_type = (
        attachment_type(head, name) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
    inline = content_type.startswith("image/") or content_type == "application/pdf"
    response = FileResponse(
        handle, content_type=content_type, as_attachment=not inline, filename=name
    )
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


# --- sent messages (the console's page, and every adapter's) ------------------------------

OUTBOX_SIZE = 50


@require_GET
def outbox(request):
    """Deliveries to people in the user's jurisdiction, newest first, in pages by id (no
    COUNT over an outbox of millions)."""
    qs = jurisdiction_for(request.user).filter(
        Delivery.objects.select_related("broadcast", "person"), "person__unit__path"
    )
    channel = request.GET.get("channel", "")
    status = request.GET.get("status", "")
    if channel in CHANNEL_LABELS:
        qs = qs.filter(channel=channel)
    else:
        channel = ""
    if status in DeliveryStatus.values:
        qs = qs.filter(status=status)
    else:
        status = ""
    before = request.GET.get("before", "")
    if before.isdigit():
        qs = qs.filter(pk__lt=int(before))
    else:
        before = ""
    rows = list(qs.order_by("-pk")[: OUTBOX_SIZE + 1])
    more = len(rows) > OUTBOX_SIZE
    rows = rows[:OUTBOX_SIZE]
    for d in rows:
        d.address = d.person.email if d.channel == "email" else d.person.phone
        d.channel_name = CHANNEL_LABELS.get(d.channel, d.channel)
        d.badge = {"failed": "bad", "suppressed": "bad", "delivered": "ok", "read": "ok"}.get(
            d.status, ""
        )
    older = None
    if more:
        params = request.GET.copy()
        params["before"] = rows[-1].pk
        older = params.urlencode()
    context = {
        "rows": rows,
        "older": older,
        "channel": channel,
        "status": status,
        "before": before,
        "channels": [c for c in BroadcastChannel.choices if c[0] != "feed"],
        "statuses": DeliveryStatus.choices,
        "tab": "outbox",
    }
    return render_page(request, "broadcasts/outbox.html", context, partial="results")


# --- poll dates -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def poll_dates(request):
    user = request.user
    form = PollDateForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            poll = do_set_poll_date(
                user, data["unit"], data["poll_closes_at"], data["note"], request=request
            )
        except ActionRefused as exc:
            form.add_error(None, exc.messages)
        else:
            closes = formats.date_format(timezone.localtime(poll.poll_closes_at), WHEN_FORMAT)
            messages.success(
                request,
                _("Polling in %(unit)s closes at %(closes)s.")
                % {"unit": poll.unit.display_name, "closes": closes},
            )
            return redirect("broadcasts:poll_dates")
    j = jurisdiction_for(user)
    now = timezone.now()
    mine = j.filter(PollDate.objects.select_related("unit", "unit__level"), "unit__path")
    upcoming = list(mine.filter(poll_closes_at__gt=now).order_by("poll_closes_at")[:200])
    for p in upcoming:
        p.silent_now = p.is_silent(now)
    past = list(mine.filter(poll_closes_at__lte=now).order_by("-poll_closes_at")[:20])
    silent = [(unit, closes) for path, unit, closes in silenced_units(now) if j.contains_path(path)]
    assemblies = list(
        j.filter(OrgUnit.objects.filter(level__slug=POLL_LEVEL), "path").order_by("path")[:500]
    )
    context = {
        "form": form,
        "upcoming": upcoming,
        "past": past,
        "silent": silent,
        "assemblies": assemblies,
        "hours": PollDate.silence_hours(),
        "tab": "poll_dates",
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "broadcasts/poll_dates.html", context, status=status)
