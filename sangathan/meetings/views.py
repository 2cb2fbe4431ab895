"""Staff pages for meetings: the calendar (month or list) of the meetings in the user's
area, a meeting's page (agenda, invitees by rule, RSVPs, attendance, minutes, action items),
the check-in screen with its rotating code, the .ics of a meeting and each user's private
iCal feed. Every lookup goes through the user's jurisdiction: a meeting hosted outside it is
a 404."""

from __future__ import annotations

import calendar as pycalendar
import datetime
import io

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sangathan.accounts.middleware import public
from sangathan.meetings import actions
from sangathan.meetings.forms import (
    ActionItemForm,
    AgendaForm,
    ExtraForm,
    FollowUpForm,
    MeetingForm,
    MinutesForm,
    RuleForm,
)
from sangathan.meetings.ics import calendar
from sangathan.meetings.models import (
    ActionItem,
    AgendaItem,
    CalendarFeed,
    InviteRule,
    Meeting,
    MeetingStatus,
)
from sangathan.org.scoping import get_person_for_user, jurisdiction_for
from sangathan.people.actions import ActionRefused


def get_meeting_for_user(user, code: str) -> Meeting:
    """The meeting ``code`` if its host unit lies in the user's jurisdiction, else 404."""
    qs = Meeting.objects.visible_to(user).select_related(
        "host_unit", "host_unit__level", "chair", "follows"
    )
    try:
        return qs.get(code=code)
    except Meeting.DoesNotExist:
        raise Http404("No such meeting") from None


def _refused(request, exc: ActionRefused) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _back(meeting: Meeting, anchor: str = ""):
    return redirect(
        reverse("meetings:detail", args=[meeting.code]) + (f"#{anchor}" if anchor else "")
    )


# --- calendar ------------------------------------------------------------------------------


@require_GET
def meeting_list(request):
    user = request.user
    today = timezone.localdate()
    view = request.GET.get("view", "list")
    try:
        month = datetime.date.fromisoformat(request.GET.get("month", "") + "-01")
    except ValueError:
        month = today.replace(day=1)
    meetings = Meeting.objects.visible_to(user).select_related("host_unit", "host_unit__level")
    context = {"view": view, "today": today, "can_create": not jurisdiction_for(user).is_empty}
    if view == "month":
        last = pycalendar.monthrange(month.year, month.month)[1]
        tz = timezone.get_current_timezone()
        start = datetime.datetime.combine(month, datetime.time.min, tzinfo=tz)
        end = datetime.datetime.combine(month.replace(day=last), datetime.time.max, tzinfo=tz)
        by_day: dict[datetime.date, list] = {}
        for m in meetings.filter(starts_at__range=(start, end)).order_by("starts_at"):
            by_day.setdefault(timezone.localtime(m.starts_at).date(), []).append(m)
        weeks = [
            [(d, by_day.get(d, [])) if d.month == month.month else (None, []) for d in week]
            for week in pycalendar.Calendar().monthdatescalendar(month.year, month.month)
        ]
        prev = (month - datetime.timedelta(days=1)).replace(day=1)
        nxt = month.replace(day=last) + datetime.timedelta(days=1)
        context.update(
            month=month,
            weeks=weeks,
            prev=prev.strftime("%Y-%m"),
            next=nxt.strftime("%Y-%m"),
            weekdays=[_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
        )
    else:
        since = timezone.now() - datetime.timedelta(hours=12)
        context["upcoming"] = meetings.filter(starts_at__gte=since).order_by("starts_at")[:100]
        context["past"] = meetings.filter(starts_at__lt=since).order_by("-starts_at")[:30]
    return render(request, "meetings/list.html", context)


@require_http_methods(["GET", "POST"])
def meeting_new(request):
    user = request.user
    if jurisdiction_for(user).is_empty:
        raise Http404("No area")
    if request.method == "POST":
        form = MeetingForm(request.POST, user=user)
        if form.is_valid():
            d = form.cleaned_data
            try:
                meeting = actions.do_create_meeting(
                    user,
                    host_unit=d["host_unit"],
                    title=d["title"],
                    title_hi=d["title_hi"],
                    kind=d["kind"],
                    chair=d["chair"],
                    starts_at=d["starts_at"],
                    ends_at=d["ends_at"],
                    venue=d["venue"],
                    online_link=d["online_link"],
                    request=request,
                )
            except ActionRefused as exc:
                form.add_error(None, exc)
            else:
                return _back(meeting)
    else:
        roots = list(jurisdiction_for(user).root_units()[:1])
        form = MeetingForm(
            user=user,
            initial={"host_unit": request.GET.get("unit") or (roots[0].code if roots else "")},
        )
    return render(request, "meetings/form.html", {"form": form, "meeting": None})


@require_http_methods(["GET", "POST"])
def meeting_edit(request, code):
    meeting = get_meeting_for_user(request.user, code)
    if request.method == "POST":
        form = MeetingForm(request.POST, user=request.user)
        if form.is_valid():
            d = form.cleaned_data
            if d["host_unit"].pk != meeting.host_unit_id:
                form.add_error("host_unit", _("The host unit of a meeting cannot change."))
            else:
                try:
                    actions.do_update_meeting(
                        request.user,
                        meeting,
                        request=request,
                        **{k: d[k] for k in actions.FIELDS},
                    )
                except ActionRefused as exc:
                    form.add_error(None, exc)
                else:
                    return _back(meeting)
    else:
        form = MeetingForm(
            user=request.user,
            initial={
                "host_unit": meeting.host_unit.code,
                "title": meeting.title,
                "title_hi": meeting.title_hi,
                "kind": meeting.kind,
                "chair": meeting.chair.phone if meeting.chair_id else "",
                "starts_at": timezone.localtime(meeting.starts_at),
                "ends_at": timezone.localtime(meeting.ends_at),
                "venue": meeting.venue,
                "online_link": meeting.online_link,
            },
        )
    return render(request, "meetings/form.html", {"form": form, "meeting": meeting})


@require_GET
def meeting_detail(request, code):
    meeting = get_meeting_for_user(request.user, code)
    invitations = meeting.invitations.all()
    action_items = list(
        meeting.action_items.select_related(
            "person", "position", "unit", "agenda_item", "escalation_task"
        ).order_by("status", "due", "pk")
    )
    context = {
        "meeting": meeting,
        "agenda": meeting.agenda.select_related("presenter"),
        "rules": meeting.rules.select_related("position", "position__level", "scope_unit"),
        "extras": meeting.extra_invitees.select_related("unit"),
        "preview": actions.invitee_count(
            actions._meeting_rules(meeting),
            meeting.extra_invitees.values_list("pk", flat=True),
        ),
        "counts": invitations.counts(),
        "told": invitations.channel_counts() if meeting.invitations_sent_at else None,
        "by_unit": actions.attendance_by_unit(meeting) if meeting.invitations_sent_at else [],
        "invitees": invitations.select_related("person", "unit").order_by(
            "unit_path", "person__name"
        )[:500],
        "action_items": action_items,
        "agenda_form": AgendaForm(user=request.user),
        "rule_form": RuleForm(user=request.user),
        "extra_form": ExtraForm(user=request.user),
        "action_form": ActionItemForm(user=request.user, meeting=meeting),
        "follow_form": FollowUpForm(),
        "follow_ups": meeting.follow_ups.all(),
        "carried": carried_items(meeting),
    }
    return render(request, "meetings/detail.html", context)


def carried_items(meeting: Meeting):
    """The previous meeting's action items that were still open when this one was planned."""
    if meeting.follows_id is None:
        return []
    from django.db.models import Q

    return list(
        meeting.follows.action_items.filter(
            Q(status="open") | Q(done_at__gte=meeting.created_at)
        ).select_related("person", "position", "unit", "meeting")
    )


@require_POST
def meeting_status(request, code):
    meeting = get_meeting_for_user(request.user, code)
    status = request.POST.get("status", "")
    if status not in (MeetingStatus.HELD, MeetingStatus.CANCELLED):
        raise Http404("No such status")
    actions.do_set_meeting_status(request.user, meeting, status, request=request)
    return _back(meeting)


# --- agenda --------------------------------------------------------------------------------


def _agenda_response(request, meeting):
    if request.htmx:
        return render(
            request,
            "meetings/detail.html#agenda",
            {"meeting": meeting, "agenda": meeting.agenda.select_related("presenter")},
        )
    return _back(meeting, "agenda")


def _get_agenda_item(meeting, pk) -> AgendaItem:
    item = meeting.agenda.filter(pk=pk).first()
    if item is None:
        raise Http404("No such agenda item")
    return item


@require_POST
def agenda_add(request, code):
    meeting = get_meeting_for_user(request.user, code)
    form = AgendaForm(request.POST, user=request.user)
    if form.is_valid():
        d = form.cleaned_data
        try:
            actions.do_add_agenda_item(
                request.user,
                meeting,
                title=d["title"],
                presenter=d["presenter"],
                minutes=d["minutes"],
                request=request,
            )
        except ActionRefused as exc:
            _refused(request, exc)
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return _back(meeting, "agenda")


@require_POST
def agenda_move(request, code, pk):
    meeting = get_meeting_for_user(request.user, code)
    item = _get_agenda_item(meeting, pk)
    step = -1 if request.POST.get("direction") == "up" else 1
    actions.do_move_agenda_item(request.user, item, step, request=request)
    return _agenda_response(request, meeting)


@require_POST
def agenda_reorder(request, code):
    """htmx: the agenda's new order after a drag (ids in ``order``)."""
    meeting = get_meeting_for_user(request.user, code)
    ids = [int(i) for i in request.POST.getlist("order") if i.isdigit()]
    actions.do_reorder_agenda(request.user, meeting, ids, request=request)
    return _agenda_response(request, meeting)


@require_POST
def agenda_remove(request, code, pk):
    meeting = get_meeting_for_user(request.user, code)
    actions.do_remove_agenda_item(request.user, _get_agenda_item(meeting, pk), request=request)
    return _agenda_response(request, meeting)


@require_POST
def agenda_minutes(request, code, pk):
    meeting = get_meeting_for_user(request.user, code)
    item = _get_agenda_item(meeting, pk)
    form = MinutesForm(request.POST)
    if form.is_valid():
        actions.do_record_minutes(
            request.user,
            item,
            notes=form.cleaned_data["notes"],
            decisions=form.cleaned_data["decisions"],
            request=request,
        )
        messages.success(request, _("Minutes saved."))
    return _back(meeting, f"minutes-{item.pk}")


# --- invitees ------------------------------------------------------------------------------


@require_POST
def rule_add(request, code):
    meeting = get_meeting_for_user(request.user, code)
    form = RuleForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            actions.do_add_invite_rule(
                request.user,
                meeting,
                position=form.cleaned_data["position"],
                scope_unit=form.cleaned_data["scope"],
                request=request,
            )
        except ActionRefused as exc:
            _refused(request, exc)
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return _back(meeting, "invitees")


@require_GET
def rule_preview(request, code):
    """htmx: how many people the rules (with the one being typed) and extras would invite."""
    meeting = get_meeting_for_user(request.user, code)
    rules = actions._meeting_rules(meeting)
    form = RuleForm(request.GET, user=request.user)
    adding = None
    if form.is_valid():
        adding = actions.invitee_count(
            [(form.cleaned_data["position"].pk, form.cleaned_data["scope"].path)]
        )
        rules.append((form.cleaned_data["position"].pk, form.cleaned_data["scope"].path))
    total = actions.invitee_count(rules, meeting.extra_invitees.values_list("pk", flat=True))
    return render(
        request,
        "meetings/detail.html#preview",
        {"meeting": meeting, "preview": total, "adding": adding, "form_errors": form.errors},
    )


@require_POST
def rule_remove(request, code, pk):
    meeting = get_meeting_for_user(request.user, code)
    rule = InviteRule.objects.filter(meeting=meeting, pk=pk).first()
    if rule is None:
        raise Http404("No such rule")
    actions.do_remove_invite_rule(request.user, rule, request=request)
    return _back(meeting, "invitees")


@require_POST
def extra_add(request, code):
    meeting = get_meeting_for_user(request.user, code)
    form = ExtraForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            actions.do_add_extra_invitee(
                request.user, meeting, form.cleaned_data["phone"], request=request
            )
        except ActionRefused as exc:
            _refused(request, exc)
    else:
        for e in form.errors.get("phone", []):
            messages.error(request, e)
    return _back(meeting, "invitees")


@require_POST
def extra_remove(request, code, person_id):
    meeting = get_meeting_for_user(request.user, code)
    person = get_person_for_user(request.user, person_id)
    actions.do_remove_extra_invitee(request.user, meeting, person, request=request)
    return _back(meeting, "invitees")


@require_POST
def send_invitations(request, code):
    meeting = get_meeting_for_user(request.user, code)
    try:
        n = actions.do_send_invitations(request.user, meeting, request=request)
    except ActionRefused as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("%(count)s invitations sent.") % {"count": n})
    return _back(meeting, "invitees")


# --- attendance ----------------------------------------------------------------------------


def _qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2, box_size=12)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


@require_GET
def checkin_screen(request, code):
    """The organiser's screen: the current check-in code big, as text and as a QR code of
    the app's check-in link; htmx refreshes it before the code changes."""
    meeting = get_meeting_for_user(request.user, code)
    now = timezone.now()
    is_open = meeting.checkin_open(now)
    current = meeting.checkin_code(now) if is_open else ""
    link = request.build_absolute_uri(f"/app/#/meetings/{meeting.code}/checkin/{current}")
    context = {
        "meeting": meeting,
        "open": is_open,
        "code": current,
        "code_spaced": f"{current[:3]} {current[3:]}" if current else "",
        "qr": _qr_svg(link) if is_open else "",
        "changes_at": meeting.checkin_code_changes_at(now),
        "counts": meeting.invitations.counts(),
    }
    template = "meetings/checkin.html#screen" if request.htmx else "meetings/checkin.html"
    return render(request, template, context)


@require_POST
def attendance_mark(request, code):
    meeting = get_meeting_for_user(request.user, code)
    ids = [i for i in request.POST.getlist("person") if i.isdigit()]
    present = request.POST.get("present", "1") == "1"
    n = actions.do_mark_present(request.user, meeting, ids, present=present, request=request)
    messages.success(request, _("Attendance updated for %(count)s people.") % {"count": n})
    return _back(meeting, "attendance")


# --- action items --------------------------------------------------------------------------


@require_POST
def action_add(request, code):
    meeting = get_meeting_for_user(request.user, code)
    form = ActionItemForm(request.POST, user=request.user, meeting=meeting)
    if form.is_valid():
        d = form.cleaned_data
        agenda_item = (
            meeting.agenda.filter(pk=d["agenda_item"]).first() if d["agenda_item"] else None
        )
        try:
            actions.do_add_action_item(
                request.user,
                meeting,
                title=d["title"],
                due=d["due"],
                person=d.get("person"),
                position=None if d.get("person") else d.get("position"),
                unit=d.get("unit_obj"),
                agenda_item=agenda_item,
                request=request,
            )
        except ActionRefused as exc:
            _refused(request, exc)
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return _back(meeting, "actions")


@require_POST
def action_done(request, code, pk):
    meeting = get_meeting_for_user(request.user, code)
    item = ActionItem.objects.filter(meeting=meeting, pk=pk).select_related("meeting").first()
    if item is None:
        raise Http404("No such action item")
    done = request.POST.get("done", "1") == "1"
    actions.do_set_action_item_done(request.user, item, done, request=request)
    return _back(meeting, "actions")


@require_POST
def follow_up(request, code):
    meeting = get_meeting_for_user(request.user, code)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return _back(meeting, "follow-up")
    new = actions.do_create_follow_up(
        request.user,
        meeting,
        starts_at=form.cleaned_data["starts_at"],
        ends_at=form.cleaned_data["ends_at"],
        request=request,
    )
    return _back(new)


# --- iCalendar -----------------------------------------------------------------------------


def _ics_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def meeting_ics(request, code):
    meeting = get_meeting_for_user(request.user, code)
    url = request.build_absolute_uri(reverse("meetings:detail", args=[meeting.code]))
    return _ics_response(
        calendar([meeting], method="PUBLISH", url_for=lambda m: url), f"meeting-{code}.ics"
    )


def meetings_for_user(user):
    """Meetings on a user's feed: those they are invited to or chair, and those they
    created."""
    from django.db.models import Q

    q = Q(created_by=user)
    if user.person_id:
        q |= Q(invitations__person_id=user.person_id) | Q(chair_id=user.person_id)
    return Meeting.objects.filter(q).distinct()


@require_http_methods(["GET", "POST"])
def feeds(request):
    """The user's private feed address: make one (replacing the old), or stop it."""
    if request.method == "POST":
        if request.POST.get("revoke"):
            actions.do_revoke_calendar_feed(request.user, request=request)
            messages.success(request, _("The calendar address no longer works."))
        else:
            actions.do_new_calendar_feed(request.user, request=request)
            messages.success(request, _("A new calendar address was made."))
        return redirect("meetings:feeds")
    feed = CalendarFeed.objects.filter(user=request.user, revoked_at=None).first()
    url = request.build_absolute_uri(reverse("meetings:feed", args=[feed.token])) if feed else ""
    return render(request, "meetings/feeds.html", {"feed": feed, "url": url})


@public
@require_GET
def feed(request, token):
    """A user's meetings as iCalendar, for calendar apps (public by the token)."""
    row = (
        CalendarFeed.objects.filter(token=token, revoked_at=None, user__is_active=True)
        .select_related("user")
        .first()
    )
    if row is None:
        raise Http404("No such feed")
    since = timezone.now() - datetime.timedelta(days=90)
    meetings = (
        meetings_for_user(row.user)
        .filter(starts_at__gte=since)
        .select_related("chair")
        .prefetch_related("agenda")
        .order_by("starts_at")[:500]
    )
    base = request.build_absolute_uri("/app/#/meetings/")
    text = calendar(meetings, name=_("Meetings"), url_for=lambda m: base + m.code)
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
