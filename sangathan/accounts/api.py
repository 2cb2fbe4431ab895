"""API for logging in (OTP → bearer token) and for "who am I"."""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.security import HttpBearer

from sangathan.accounts.actions import (
    OtpError,
    do_issue_api_token,
    do_request_otp,
    do_revoke_api_token,
    do_verify_otp,
    user_for_api_token,
)
from sangathan.accounts.audit import client_ip
from sangathan.org.scoping import jurisdiction_for


class TokenAuth(HttpBearer):
    """``Authorization: Bearer sgn_…`` from the member app."""

    def authenticate(self, request, token: str):
        user = user_for_api_token(token)
        if user is not None:
            # So that audit rows and the denial middleware see who is calling.
            request.user = user
        return user


router = Router(tags=["accounts"])


REFERRAL_HELP = (
    "Optional: a drive's, a drive location's, a recruiter's or a member's invite code "
    "(what /join/<code> takes). With it a number not yet on the rolls gets a code too, and "
    "verifying it makes a new member attributed to that drive or recruiter (referred_by, "
    "source). Ignored for numbers already registered and for drives that only appointed "
    "enrollers may use."
)


class OtpRequestIn(Schema):
    phone: str
    referral_code: str | None = Field(None, description=REFERRAL_HELP)


class OtpVerifyIn(Schema):
    phone: str
    code: str
    referral_code: str | None = Field(None, description=REFERRAL_HELP)
    name: str | None = Field(
        None, description="Optional: the new member's name, when joining with referral_code."
    )


class DetailOut(Schema):
    detail: str


class ErrorOut(Schema):
    detail: str
    code: str


class AppointmentOut(Schema):
    position: str
    wing: str
    title_en: str
    title_hi: str
    unit_code: str
    unit_name: str
    level: str
    starts: date


class MeOut(Schema):
    id: int
    name: str
    phone: str
    person_id: int | None
    is_superuser: bool
    appointments: list[AppointmentOut]
    jurisdiction: list[str]
    everything: bool


class TokenOut(Schema):
    token: str
    expires_at: datetime
    user: MeOut


OTP_ERROR_STATUS = {"too_many_requests": 429, "too_many_attempts": 429}


def otp_error_response(api, request, exc: OtpError):
    """400 (bad number, wrong or expired code) or 429, with a message naming the problem."""
    return api.create_response(
        request,
        {"detail": str(exc.message), "code": exc.reason},
        status=OTP_ERROR_STATUS.get(exc.reason, 400),
    )


def me_data(user) -> dict:
    person = user.person
    appointments = []
    if person is not None:
        for a in person.current_appointments().select_related("unit__level"):
            appointments.append(
                {
                    "position": a.position.display_name,
                    "wing": a.position.wing,
                    "title_en": a.position.title_en,
                    "title_hi": a.position.title_hi,
                    "unit_code": a.unit.code,
                    "unit_name": a.unit.display_name,
                    "level": a.unit.level.slug,
                    "starts": a.starts,
                }
            )
    j = jurisdiction_for(user)
    return {
        "id": user.pk,
        "name": user.name or (person.name if person else ""),
        "phone": user.phone,
        "person_id": user.person_id,
        "is_superuser": user.is_superuser,
        "appointments": appointments,
        "jurisdiction": [u.code for u in j.root_units()],
        "everything": j.everything,
    }


@router.post(
    "/auth/otp/request",
    auth=None,
    response={202: DetailOut, 400: ErrorOut, 429: ErrorOut},
    summary="Send a login code by SMS",
)
def otp_request(request, payload: OtpRequestIn):
    """Answers the same whether or not the number is registered."""
    joining = None
    if payload.referral_code:
        from sangathan.drives.actions import api_join_code

        joining = api_join_code(payload.referral_code)
    do_request_otp(payload.phone, client_ip(request), joining=joining is not None)
    if joining is not None:
        from sangathan.drives.actions import bump_funnel

        bump_funnel(joining, "otp_sent")
    detail = _("If this number is registered, a 6-digit code has been sent to it.")
    # A plain response: works with every django-ninja 1.x (tuples are deprecated from 1.7,
    # ``Status`` only exists from 1.7).
    return JsonResponse({"detail": detail}, status=202)


@router.post(
    "/auth/otp/verify",
    auth=None,
    response={200: TokenOut, 400: ErrorOut, 429: ErrorOut},
    summary="Exchange a login code for a bearer token",
)
def otp_verify(request, payload: OtpVerifyIn):
    """The token is shown once; send it as ``Authorization: Bearer <token>``."""
    ip = client_ip(request)
    user = None
    if payload.referral_code:
        from sangathan.drives.actions import do_join_by_api

        user = do_join_by_api(
            payload.referral_code, payload.phone, payload.code, ip, name=payload.name or ""
        )
    if user is None:
        user = do_verify_otp(payload.phone, payload.code, ip)
    raw, token = do_issue_api_token(user, ip)
    return {"token": raw, "expires_at": token.expires_at, "user": me_data(user)}


@router.post("/auth/logout", response={204: None}, summary="Revoke the bearer token in use")
def logout(request):
    header = request.headers.get("Authorization", "")
    scheme, _sep, raw = header.partition(" ")
    if scheme.lower() == "bearer" and raw:
        do_revoke_api_token(raw.strip(), client_ip(request))
    return HttpResponse(status=204)


@router.get("/me", response=MeOut, summary="The caller, their appointments and jurisdiction")
def me(request):
    return me_data(request.auth)
