"""API for drives: what a public join code points at (the member app shows it before the
OTP; ``/auth/otp/request`` and ``/auth/otp/verify`` take the code as ``referral_code``)."""

from __future__ import annotations

from django.http import Http404
from ninja import Router, Schema

from sangathan.drives.actions import resolve_code

router = Router(tags=["drives"])


class JoinCodeOut(Schema):
    code: str
    kind: str  # drive | location | recruiter | invite
    drive_code: str | None
    drive_name: str | None
    drive_name_hi: str | None
    drive_kind: str | None
    open: bool
    enrollers_only: bool
    place: str | None
    invited_by: str | None


@router.get(
    "/join-codes/{code}",
    auth=None,
    response=JoinCodeOut,
    summary="What a join code points at (a drive, one of its places or recruiters, an invite)",
)
def join_code(request, code: str):
    resolved = resolve_code(code)
    if resolved is None:
        raise Http404("No such code")
    drive = resolved.drive
    if resolved.location is not None:
        kind = "location"
    elif resolved.recruiter is not None:
        kind = "recruiter"
    elif drive is not None:
        kind = "drive"
    else:
        kind = "invite"
    referrer = resolved.referrer
    return {
        "code": resolved.code,
        "kind": kind,
        "drive_code": drive.code if drive else None,
        "drive_name": drive.name if drive else None,
        "drive_name_hi": drive.name_hi if drive else None,
        "drive_kind": drive.kind if drive else None,
        "open": drive.accepts_sign_ups() if drive else True,
        "enrollers_only": bool(drive and drive.verified_enrollers),
        "place": resolved.location.name if resolved.location else None,
        "invited_by": referrer.display_name if referrer else None,
    }
