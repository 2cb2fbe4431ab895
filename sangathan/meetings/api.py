"""API for meetings in the member app: the caller's invitations (time, place, agenda, their
answer and attendance), RSVP, check-in with the code on the organiser's screen, their action
items, and the meeting's .ics. A meeting the caller is not invited to answers 404, as one
that does not exist. Action items are ticked through their task
(``POST /api/v1/me/tasks/{id}/done``), which keeps the item in step."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.utils import timezone
from ninja import Router, Schema, Status

from sangathan.meetings import actions
from sangathan.meetings.ics import calendar
from sangathan.meetings.models import ActionItem, AgendaItem, Invitation, Meeting
from sangathan.people.actions import ActionRefused
from sangathan.people.models import Person

router = Router(tags=["meetings"])


class Refusal(Schema):
    detail: str
    code: str


class AgendaOut(Schema):
    title: str
    presenter: str | None
    minutes: int


class MeetingOut(Schema):
    code: str
    title: str
    kind: str
    kind_label: str
    status: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    online_link: str
    host_unit: str
    chair: str | None
    agenda: list[AgendaOut]
    rsvp: str
    attended: bool
    checkin_open: bool
    ics: str


class ActionItemOut(Schema):
    id: int
    title: str
    meeting: str
    meeting_title: str
    assigned_to: str
    due: date | None
    overdue: bool
    status: str
    task_id: int | None


class MyMeetingsOut(Schema):
    items: list[MeetingOut]
    action_items: list[ActionItemOut]


class RsvpIn(Schema):
    answer: str


class CheckinIn(Schema):
    code: str


def _person(request) -> Person:
    person = getattr(request.auth, "person", None)
    if person is None:
        raise Http404("No member record")
    return person


def _refused(exc: ActionRefused):
    return Status(400, {"detail": " ".join(exc.messages), "code": exc.code or "refused"})


def _meeting_out(inv: Invitation, now) -> dict:
    m = inv.meeting
    return {
        "code": m.code,
        "title": m.display_title,
        "kind": m.kind,
        "kind_label": m.get_kind_display(),
        "status": m.status,
        "starts_at": m.starts_at,
        "ends_at": m.ends_at,
        "venue": m.venue,
        "online_link": m.online_link,
        "host_unit": m.host_unit.display_name,
        "chair": m.chair.display_name if m.chair_id else None,
        "agenda": [
            {
                "title": a.title,
                "presenter": a.presenter.display_name if a.presenter_id else None,
                "minutes": a.minutes,
            }
            for a in m.agenda.all()
        ],
        "rsvp": inv.rsvp,
        "attended": inv.attended_at is not None,
        "checkin_open": m.checkin_open(now),
        "ics": f"/api/v1/meetings/{m.code}/ics",
    }


def _action_out(item: ActionItem) -> dict:
    return {
        "id": item.pk,
        "title": item.title,
        "meeting": item.meeting.code,
        "meeting_title": item.meeting.display_title,
        "assigned_to": item.assignee_label,
        "due": item.due,
        "overdue": item.is_overdue,
        "status": item.status,
        "task_id": item.task_id,
    }


def _invitation(person: Person, code: str) -> Invitation:
    inv = (
        Invitation.objects.filter(person=person, meeting__code=code)
        .select_related("meeting", "meeting__host_unit", "meeting__chair")
        .first()
    )
    if inv is None:
        raise Http404("Not invited")
    return inv


@router.get("/me/meetings", response=MyMeetingsOut, summary="Your meetings and action items")
def my_meetings(request):
    """Meetings you are invited to, from a day ago on (soonest first, then the last few
    past ones), and your action items (open first)."""
    person = _person(request)
    now = timezone.now()
    agenda = Prefetch("meeting__agenda", queryset=AgendaItem.objects.select_related("presenter"))
    base = (
        Invitation.objects.filter(person=person)
        .exclude(meeting__status="cancelled")
        .select_related(
            "meeting", "meeting__host_unit", "meeting__host_unit__level", "meeting__chair"
        )
        .prefetch_related(agenda)
    )
    since = now - timedelta(days=1)
    upcoming = list(base.filter(meeting__ends_at__gte=since).order_by("meeting__starts_at")[:50])
    past = list(base.filter(meeting__ends_at__lt=since).order_by("-meeting__starts_at")[:5])
    items = (
        ActionItem.objects.for_person(person)
        .select_related("meeting", "person", "position", "unit")
        .order_by("-status", "due", "pk")[:100]
    )
    return {
        "items": [_meeting_out(i, now) for i in upcoming + past],
        "action_items": [_action_out(i) for i in items],
    }


@router.post(
    "/meetings/{code}/rsvp",
    response={200: MeetingOut, 400: Refusal},
    summary="Answer an invitation: yes, no or maybe",
)
def rsvp(request, code: str, payload: RsvpIn):
    """Idempotent: the same answer again changes nothing."""
    person = _person(request)
    inv = _invitation(person, code)
    try:
        actions.do_rsvp(person, inv.meeting, payload.answer, request=request)
    except ActionRefused as exc:
        return _refused(exc)
    return _meeting_out(_invitation(person, code), timezone.now())


@router.post(
    "/meetings/{code}/checkin",
    response={200: MeetingOut, 400: Refusal},
    summary="Check in with the code shown at the meeting",
)
def checkin(request, code: str, payload: CheckinIn):
    person = _person(request)
    inv = _invitation(person, code)
    try:
        actions.do_check_in(person, inv.meeting, payload.code, request=request)
    except ActionRefused as exc:
        return _refused(exc)
    return _meeting_out(_invitation(person, code), timezone.now())


@router.get("/meetings/{code}/ics", summary="The meeting as an iCalendar file")
def meeting_ics(request, code: str):
    person = _person(request)
    meeting: Meeting = _invitation(person, code).meeting
    url = request.build_absolute_uri(f"/app/#/meetings/{meeting.code}")
    response = HttpResponse(
        calendar([meeting], method="PUBLISH", url_for=lambda m: url),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="meeting-{code}.ics"'
    return response
