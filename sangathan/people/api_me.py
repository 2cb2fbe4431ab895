"""API for the member themself: profile, consent choices, tasks, invite, data rights.

Every route needs the caller's bearer token (or a staff session) and answers only about the
caller's own ``Person``: there is no id of another person to try. A task not assigned to the
caller answers 404, as one that does not exist.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import qrcode
import qrcode.image.svg
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from sangathan.accounts.audit import audit
from sangathan.org.models import OrgUnit
from sangathan.people import actions
from sangathan.people.actions import ActionRefused
from sangathan.people.models import Channel, Consent, Person, Purpose, Task, TaskDone

router = Router(tags=["me"])

# What the member app offers to choose, in this order.
APP_CHANNELS = ("app", "push", "whatsapp", "sms", "email")
APP_PURPOSES = ("organisational", "schemes", "campaign")
EVIDENCE = "member app"


class Refusal(Schema):
    detail: str
    code: str


class UnitOut(Schema):
    code: str
    name: str
    trail: list[str] = Field(..., description="names from the top of the tree down to the unit")


class PositionOut(Schema):
    title: str
    unit_name: str


class ConsentOut(Schema):
    channel: str
    channel_label: str
    purpose: str
    purpose_label: str
    active: bool
    granted_at: datetime | None
    withdrawn_at: datetime | None


class ProfileOut(Schema):
    name: str
    phone: str
    email: str
    language: str
    unit: UnitOut
    positions: list[PositionOut]
    consents: list[ConsentOut]


class ConsentsOut(Schema):
    consents: list[ConsentOut]


class ConsentIn(Schema):
    channel: str = Field(..., description="app, push, whatsapp, sms or email")
    purpose: str = Field(..., description="organisational, schemes or campaign")
    grant: bool = Field(..., description="true grants, false withdraws")


class EraseIn(Schema):
    confirm: bool = Field(..., description="must be true")
    reason: str = ""


class DetailOut(Schema):
    detail: str


class TaskOut(Schema):
    id: int
    title: str
    body: str
    link: str
    kind: str
    due: date | None
    done: bool
    done_at: datetime | None
    settled: bool = Field(
        False,
        description="a forward task that another admin of the group marked done, or that "
        "staff confirmed: the group has the message",
    )
    assigned: str = Field(..., description="person or position")
    position: str | None
    unit_name: str
    share_text: str | None


class TasksOut(Schema):
    items: list[TaskOut]


class InviteOut(Schema):
    code: str
    url: str
    joined: int = Field(..., description="people who joined through your code")
    joined_7d: int = Field(..., description="of them, in the last 7 days")
    qr_svg: str = Field(..., description="the link as a QR code, an inline SVG")


def _person(request) -> Person:
    person = getattr(request.auth, "person", None)
    if person is None:
        raise Http404("No member record")
    return person


def _refused(exc: ActionRefused):
    return Status(400, {"detail": " ".join(exc.messages), "code": exc.code or "refused"})


def consent_choices(person: Person) -> list[dict]:
    """One entry per channel × purpose the app offers: the latest consent row of each (the
    active one if any), or not granted. One query."""
    latest: dict[tuple[str, str], Consent] = {}
    rows = Consent.objects.filter(person=person, channel__in=APP_CHANNELS).order_by(
        F("withdrawn_at").desc(nulls_first=True), "-granted_at", "-pk"
    )
    for c in rows:
        latest.setdefault((c.channel, c.purpose), c)
    out = []
    for channel in APP_CHANNELS:
        for purpose in APP_PURPOSES:
            c = latest.get((channel, purpose))
            out.append(
                {
                    "channel": channel,
                    "channel_label": str(Channel(channel).label),
                    "purpose": purpose,
                    "purpose_label": str(Purpose(purpose).label),
                    "active": c is not None and c.withdrawn_at is None,
                    "granted_at": c.granted_at if c else None,
                    "withdrawn_at": c.withdrawn_at if c else None,
                }
            )
    return out


@router.get("/me/profile", response=ProfileOut, summary="Your record, posts and consent choices")
def profile(request):
    person = _person(request)
    unit = OrgUnit.objects.select_related("level").get(pk=person.unit_id)
    trail = [
        u.display_name
        for u in OrgUnit.objects.filter(path__in=unit.ancestor_paths()).order_by("depth")
    ]
    return {
        "name": person.name,
        "phone": person.phone,
        "email": person.email,
        "language": getattr(request.auth, "language", "") or "hi",
        "unit": {"code": unit.code, "name": unit.display_name, "trail": trail},
        "positions": [
            {"title": a.position.display_name, "unit_name": a.unit.display_name}
            for a in person.current_appointments()
        ],
        "consents": consent_choices(person),
    }


@router.post(
    "/me/consents",
    response={200: ConsentsOut, 400: Refusal},
    summary="Grant or withdraw one channel for one purpose",
)
def set_consent(request, payload: ConsentIn):
    """Each change is recorded (a withdrawal keeps the consent row) and audited. Granting a
    channel you had stopped (STOP, unsubscribe link) lifts that stop; withdrawing stops the
    messages still queued for you there at once."""
    person = _person(request)
    if payload.channel not in APP_CHANNELS or payload.purpose not in APP_PURPOSES:
        return Status(
            400,
            {"detail": _("That choice is not offered in the app."), "code": "bad_choice"},
        )
    try:
        if payload.grant:
            actions.do_grant_consent(
                person, payload.channel, payload.purpose, EVIDENCE, request=request
            )
        elif (
            Consent.objects.active()
            .filter(person=person, channel=payload.channel, purpose=payload.purpose)
            .exists()
        ):
            actions.do_withdraw_consent(
                person, payload.channel, payload.purpose, EVIDENCE, request=request
            )
    except ActionRefused as exc:
        return _refused(exc)
    return {"consents": consent_choices(person)}


@router.get(
    "/me/export",
    response={200: dict},
    summary="Download everything held about you (JSON file)",
)
def export(request):
    person = _person(request)
    data = actions.do_export_person_data(person)
    audit("person_data_exported", obj=person, request=request, person=person.pk)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="my-data-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response


@router.post(
    "/me/erase",
    response={200: DetailOut, 400: Refusal},
    summary="Delete your account and personal data",
)
def erase(request, payload: EraseIn):
    """Removes your personal data and keeps only what the law requires (see the erasure
    record). Your token stops working at once."""
    person = _person(request)
    if not payload.confirm:
        return Status(
            400,
            {"detail": _("Confirm that you want your data erased."), "code": "not_confirmed"},
        )
    try:
        actions.do_erase_person(person, payload.reason, actor=request.auth, requested_by="self")
    except ActionRefused as exc:
        return _refused(exc)
    return {
        "detail": _(
            "Your account and personal data have been erased. Your number will not be sent "
            "messages again."
        )
    }


def _tasks_for(person: Person):
    """The person's tasks with ``done_at`` (their own "done") and ``settled_at``: for a
    forward task, when the group got the message another way (another admin of the group
    marked theirs done, or staff confirmed the forward)."""
    from sangathan.groups.models import ForwardTask

    done = TaskDone.objects.filter(task=OuterRef("pk"), person=person).values("done_at")[:1]
    forward = OuterRef("group_forward__forward")
    by_staff = ForwardTask.objects.filter(task=OuterRef("pk")).values(
        "forward__staff_confirmed_at"
    )[:1]
    by_other_admin = (
        TaskDone.objects.filter(task__group_forward__forward=forward)
        .exclude(person=person)
        .order_by("done_at")
        .values("done_at")[:1]
    )
    return (
        Task.objects.for_person(person)
        .select_related("position", "scope_unit", "scope_unit__level")
        .annotate(
            done_at=Subquery(done),
            settled_at=Coalesce(Subquery(by_staff), Subquery(by_other_admin)),
        )
    )


def _task_item(task, units: dict) -> dict:
    if task.position_id is not None:
        unit = units.get(task.via_unit_id) or task.scope_unit
    else:
        unit = task.scope_unit
    return {
        "id": task.pk,
        "title": task.title,
        "body": task.body,
        "link": task.link,
        "kind": task.kind,
        "due": task.due,
        "done": task.done_at is not None,
        "done_at": task.done_at,
        "settled": task.settled_at is not None,
        "assigned": "position" if task.position_id else "person",
        "position": task.position.display_name if task.position_id else None,
        "unit_name": unit.display_name,
        "share_text": task.share_text or None,
    }


def _units_of(tasks) -> dict:
    ids = {t.via_unit_id for t in tasks if t.position_id and t.via_unit_id}
    return OrgUnit.objects.select_related("level").in_bulk(ids) if ids else {}


@router.get("/me/tasks", response=TasksOut, summary="Your tasks: open first, then done")
def tasks(request):
    person = _person(request)
    rows = list(
        _tasks_for(person).order_by(
            Coalesce("done_at", "settled_at").asc(nulls_first=True),
            F("due").asc(nulls_last=True),
            "-created_at",
            "-pk",
        )[:200]
    )
    units = _units_of(rows)
    return {"items": [_task_item(t, units) for t in rows]}


def _my_task(person: Person, task_id: int):
    task = _tasks_for(person).filter(pk=task_id).first()
    if task is None:
        raise Http404("Not your task")
    return task


@router.post("/me/tasks/{task_id}/done", response=TaskOut, summary="Mark a task done")
def task_done(request, task_id: int):
    """Idempotent: saying it again keeps the first time."""
    person = _person(request)
    actions.do_mark_task_done(person, _my_task(person, task_id), request=request)
    task = _my_task(person, task_id)
    return _task_item(task, _units_of([task]))


@router.post("/me/tasks/{task_id}/undone", response=TaskOut, summary="Mark a task not done")
def task_undone(request, task_id: int):
    person = _person(request)
    actions.do_mark_task_undone(person, _my_task(person, task_id), request=request)
    task = _my_task(person, task_id)
    return _task_item(task, _units_of([task]))


@router.get("/me/invite", response=InviteOut, summary="Your invite code, link and QR code")
def invite(request):
    person = _person(request)
    code = person.referral_code
    url = request.build_absolute_uri(f"/join/{code}")
    joined = Person.objects.filter(referred_by=person)
    week_ago = timezone.now() - timedelta(days=7)
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return {
        "code": code,
        "url": url,
        "joined": joined.count(),
        "joined_7d": joined.filter(created_at__gte=week_ago).count(),
        "qr_svg": image.to_string(encoding="unicode"),
    }
