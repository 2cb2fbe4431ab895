"""API for broadcasts: compose (with an audience preview), approve, acknowledge, re-share, the
member's feed with read and share receipts, and reach per unit.

Broadcasts are named by their public ``code``. Every lookup is scoped: a broadcast whose
audience lies outside the caller's jurisdiction answers 404, as one that does not exist.
"""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.responses import NinjaJSONEncoder
from ninja.security import django_auth

from sangathan.accounts.members import (
    BearerToken,
    FeedTokenAuth,
    member_for_api_token,
    set_lazy_user,
)
from sangathan.broadcasts import actions
from sangathan.broadcasts.audience import preview_counts
from sangathan.broadcasts.feed import (
    BadCursor,
    Member,
    feed_page,
    page_size,
    token_feed_page,
)
from sangathan.broadcasts.models import Broadcast
from sangathan.broadcasts.reach import reach_report
from sangathan.org.scoping import get_unit_for_user
from sangathan.people.actions import ActionRefused

router = Router(tags=["broadcasts"])


class Refusal(Schema):
    detail: str
    code: str


class AudienceFilters(Schema):
    levels: list[str] = []
    positions: list[int] = []
    wings: list[str] = []
    tags: list[str] = []
    app: str = ""


class BroadcastIn(Schema):
    unit: str = Field(..., description="code of the audience unit (its whole subtree)")
    title_hi: str = ""
    body_hi: str = ""
    title_en: str = ""
    body_en: str = ""
    link: str = ""
    topic: str = "organisation"
    purpose: str = Field("organisational", description="consent purpose; campaign = political")
    channels: list[str] = ["feed"]
    filters: AudienceFilters = AudienceFilters()
    scheduled_at: datetime | None = None


class PreviewIn(Schema):
    unit: str
    channels: list[str] = ["feed"]
    purpose: str = "organisational"
    filters: AudienceFilters = AudienceFilters()


class BroadcastOut(Schema):
    id: str
    status: str
    status_reason: str
    unit: str
    title: str
    title_hi: str
    title_en: str
    body_hi: str
    body_en: str
    link: str
    topic: str
    purpose: str
    channels: list[str]
    audience_estimate: int
    audience_counts: dict
    needs_approval: bool
    scheduled_at: datetime | None
    sent_at: datetime | None
    parent: str | None
    local_note: str

    @staticmethod
    def resolve_id(obj) -> str:
        return obj.code

    @staticmethod
    def resolve_unit(obj) -> str:
        return obj.audience_unit.code

    @staticmethod
    def resolve_parent(obj) -> str | None:
        return obj.parent.code if obj.parent_id else None


class FeedItem(Schema):
    id: str
    title: str
    body: str
    title_hi: str
    body_hi: str
    title_en: str
    body_en: str
    link: str
    attachment: str
    topic: str
    unit: str
    unit_name: str
    local_note: str
    sent_at: datetime
    read: bool
    shared: bool


class FeedPage(Schema):
    items: list[FeedItem]
    next_cursor: str | None


class ReceiptOut(Schema):
    id: str
    read_at: datetime | None
    shared_at: datetime | None


class UnitIn(Schema):
    unit: str


class ReshareIn(Schema):
    unit: str
    note: str = ""
    channels: list[str] = ["feed"]


class RejectIn(Schema):
    reason: str


class ChannelFigures(Schema):
    audience: int
    sent: int
    delivered: int
    read: int
    shared: int
    failed: int
    suppressed: int


class ReachRow(Schema):
    unit: str
    name: str
    level: str
    channels: dict[str, ChannelFigures]
    acknowledged: bool
    reshared: bool = False


class RollupRow(Schema):
    level: str
    units: int
    acknowledged: int


class ReachOut(Schema):
    broadcast: str
    unit: ReachRow
    children: list[ReachRow]
    acknowledgements: list[RollupRow]


def refused(exc: ActionRefused):
    return Status(400, {"detail": " ".join(exc.messages), "code": exc.code or "refused"})


def get_broadcast_for_user(user, code: str) -> Broadcast:
    """The broadcast ``code`` if its audience lies in the user's jurisdiction or it is in
    their inbox (addressed to a unit above their appointment), else 404."""
    qs = Broadcast.objects.select_related("audience_unit", "audience_unit__level", "parent")
    broadcast = qs.visible_to(user).filter(code=code).first()
    if broadcast is None:
        broadcast = qs.inbox_for(user).filter(code=code).first()
    if broadcast is None:
        raise Http404("No such broadcast")
    return broadcast


def _person(request):
    person = getattr(request.auth, "person", None)
    if person is None:
        raise Http404("No member record")
    return person


@router.post("/broadcasts", response={201: BroadcastOut, 400: Refusal})
def create_broadcast(request, payload: BroadcastIn):
    """Write a broadcast and send it (or queue it for approval, or for its send time).
    Costs the same whatever the audience size: recipients are resolved in the background."""
    unit = get_unit_for_user(request.auth, payload.unit)
    draft = actions.Draft(
        audience_unit=unit,
        title_hi=payload.title_hi,
        body_hi=payload.body_hi,
        title_en=payload.title_en,
        body_en=payload.body_en,
        link=payload.link,
        topic=payload.topic,
        purpose=payload.purpose,
        channels=payload.channels,
        filters=payload.filters.dict(),
        scheduled_at=payload.scheduled_at,
    )
    try:
        broadcast = actions.do_create_broadcast(request.auth, draft, request=request)
    except ActionRefused as exc:
        return refused(exc)
    return Status(201, broadcast)


@router.post("/broadcasts/preview", response={200: dict[str, int], 400: Refusal})
def preview_broadcast(request, payload: PreviewIn):
    """How many people each channel would reach now, after consent and opt-outs."""
    unit = get_unit_for_user(request.auth, payload.unit)
    try:
        channels = actions.clean_channels(payload.channels)
        from sangathan.broadcasts.audience import AudienceError, clean_filters

        try:
            filters = clean_filters(payload.filters.dict())
        except AudienceError as exc:
            raise ActionRefused(str(exc), code="bad_filter") from None
    except ActionRefused as exc:
        return refused(exc)
    return Status(200, preview_counts(unit, channels, payload.purpose, filters))


@router.get("/broadcasts", response=list[BroadcastOut])
def list_broadcasts(request, status: str = "", limit: int = 50):
    """Broadcasts to units in your jurisdiction, newest first."""
    qs = Broadcast.objects.visible_to(request.auth).select_related("audience_unit", "parent")
    if status:
        qs = qs.filter(status=status)
    return list(qs.order_by("-created_at")[: max(1, min(limit, 200))])


@router.get("/broadcasts/{code}", response=BroadcastOut)
def get_broadcast(request, code: str):
    return get_broadcast_for_user(request.auth, code)


@router.post("/broadcasts/{code}/approve", response={200: BroadcastOut, 400: Refusal})
def approve_broadcast(request, code: str):
    broadcast = get_broadcast_for_user(request.auth, code)
    try:
        return Status(200, actions.do_approve_broadcast(request.auth, broadcast, request=request))
    except ActionRefused as exc:
        return refused(exc)


@router.post("/broadcasts/{code}/reject", response={200: BroadcastOut, 400: Refusal})
def reject_broadcast(request, code: str, payload: RejectIn):
    broadcast = get_broadcast_for_user(request.auth, code)
    try:
        rejected = actions.do_reject_broadcast(
            request.auth, broadcast, payload.reason, request=request
        )
        return Status(200, rejected)
    except ActionRefused as exc:
        return refused(exc)


@router.post("/broadcasts/{code}/acknowledge", response={200: dict, 400: Refusal})
def acknowledge_broadcast(request, code: str, payload: UnitIn):
    broadcast = get_broadcast_for_user(request.auth, code)
    unit = get_unit_for_user(request.auth, payload.unit)
    try:
        ack = actions.do_acknowledge_broadcast(request.auth, broadcast, unit, request=request)
    except ActionRefused as exc:
        return refused(exc)
    return Status(200, {"unit": unit.code, "acknowledged_at": ack.acknowledged_at.isoformat()})


@router.post("/broadcasts/{code}/reshare", response={201: BroadcastOut, 400: Refusal})
def reshare_broadcast(request, code: str, payload: ReshareIn):
    parent = get_broadcast_for_user(request.auth, code)
    unit = get_unit_for_user(request.auth, payload.unit)
    try:
        child = actions.do_reshare_broadcast(
            request.auth,
            parent,
            unit,
            note=payload.note,
            channels=payload.channels,
            request=request,
        )
    except ActionRefused as exc:
        return refused(exc)
    return Status(201, child)


def _reach_row(unit, figures, acknowledged, reshared=False) -> dict:
    return {
        "unit": unit.code,
        "name": unit.display_name,
        "level": unit.level.slug,
        "channels": figures,
        "acknowledged": acknowledged,
        "reshared": reshared,
    }


@router.get("/broadcasts/{code}/reach", response=ReachOut)
def broadcast_reach(request, code: str, unit: str = ""):
    """Audience, sent, delivered, read, shared and acknowledged, for a unit inside the
    audience and each of its children."""
    broadcast = get_broadcast_for_user(request.auth, code)
    if unit:
        target = get_unit_for_user(request.auth, unit)
    else:
        target = _default_reach_unit(request.auth, broadcast)
    if not target.path.startswith(broadcast.audience_unit.path):
        raise Http404("Unit outside the audience")
    report = reach_report(broadcast, target)
    return {
        "broadcast": broadcast.code,
        "unit": _reach_row(target, report["figures"], report["acknowledged"]),
        "children": [
            _reach_row(c["unit"], c["figures"], c["acknowledged"], c["reshared"])
            for c in report["children"]
        ],
        "acknowledgements": report["rollup"],
    }


def _default_reach_unit(user, broadcast):
    """The audience unit if the user may see it, else the part of it the user holds (an
    in-charge sees the reach of a state broadcast in their own district)."""
    from sangathan.org.scoping import jurisdiction_for

    j = jurisdiction_for(user)
    if j.contains(broadcast.audience_unit):
        return broadcast.audience_unit
    for root in j.root_units():
        if root.path.startswith(broadcast.audience_unit.path):
            return root
    raise Http404("No such broadcast")


@router.get(
    "/feed",
    response={200: FeedPage, 400: Refusal},
    auth=[FeedTokenAuth(), django_auth],
)
def feed(request, cursor: str = "", limit: int = 20, topic: str = ""):
    """The member's broadcasts (to their unit and every unit above it), newest first. Pass
    ``next_cursor`` back as ``cursor`` for the next page."""
    limit = page_size(limit)
    try:
        if isinstance(request.auth, BearerToken):  # the member app: token and page at once
            found = token_feed_page(request.auth.raw, cursor=cursor, limit=limit, topic=topic)
            if found is None:
                return JsonResponse({"detail": "Unauthorized"}, status=401)
            member, items, next_cursor = found
            set_lazy_user(request, member)
            if member.person_id is None:
                raise Http404("No member record")
        else:  # a logged-in session of the staff UI
            member = Member.of(_person(request))
            items, next_cursor = feed_page(member, cursor=cursor, limit=limit, topic=topic)
    except BadCursor:
        if isinstance(request.auth, BearerToken):
            member = member_for_api_token(request.auth.raw)
            if member is None:
                return JsonResponse({"detail": "Unauthorized"}, status=401)
            set_lazy_user(request, member)
        return refused(ActionRefused(_("That page marker is not valid."), code="bad_cursor"))
    # Rows built to the FeedPage schema by feed_page (tested against it); returned as they are
    # because validating 20 items costs more than reading them. UTF-8 as it is: Hindi escaped
    # as \uXXXX takes twice the bytes.
    return JsonResponse(
        {"items": items, "next_cursor": next_cursor},
        encoder=NinjaJSONEncoder,
        status=200,
        json_dumps_params={"ensure_ascii": False},
    )


def _feed_broadcast(person, code: str) -> Broadcast:
    broadcast = Broadcast.objects.feed_for(person).filter(code=code).first()
    if broadcast is None:
        raise Http404("Not in your feed")
    return broadcast


@router.get("/feed/{code}/attachment", include_in_schema=True)
def feed_attachment(request, code: str):
    """The broadcast's photo or PDF, for a member whose feed holds it."""
    from sangathan.broadcasts.views import attachment_response

    return attachment_response(_feed_broadcast(_person(request), code))


@router.post("/feed/{code}/read", response=ReceiptOut)
def mark_read(request, code: str):
    """Record that you read it. Saying it again changes nothing."""
    person = _person(request)
    receipt = actions.do_record_receipt(person, _feed_broadcast(person, code), read=True)
    return {"id": code, "read_at": receipt.read_at, "shared_at": receipt.shared_at}


@router.post("/feed/{code}/share", response=ReceiptOut)
def mark_shared(request, code: str):
    """Record that you shared it (it counts as read too). Idempotent."""
    person = _person(request)
    receipt = actions.do_record_receipt(
        person, _feed_broadcast(person, code), read=True, shared=True
    )
    return {"id": code, "read_at": receipt.read_at, "shared_at": receipt.shared_at}
