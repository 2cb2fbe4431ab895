"""The public join page, ``/join/<code>``: server-rendered, works without JavaScript (htmx
only narrows the booth search to a fragment), Hindi first.

Step one takes name, phone, age, institution, home booth and consents, and sends an OTP;
step two carries the same fields (hidden) plus the code, checks everything again, verifies
the code, and signs the person up (``sangathan.drives.actions.do_join``). The answer to a
successful sign-up is a tiny page that keeps the member app's bearer token in localStorage and
goes to ``/app/``.
"""

from __future__ import annotations

import secrets

from django.forms.utils import ErrorDict
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sangathan.accounts.actions import (
    OtpError,
    do_issue_api_token,
    do_request_otp,
    do_verify_join_otp,
)
from sangathan.accounts.api import me_data
from sangathan.accounts.audit import client_ip
from sangathan.accounts.middleware import public
from sangathan.drives.actions import (
    JoinRefused,
    Resolved,
    bump_funnel,
    check_code_open,
    check_velocity,
    device_key,
    do_join,
    resolve_code,
)
from sangathan.drives.forms import JoinForm, OtpForm, find_booths, state_path

DEVICE_COOKIE = "sangathan_device"
DEVICE_SALT = "sangathan.drives.device"
DEVICE_MAX_AGE = 365 * 24 * 3600


def _device(request) -> tuple[str, str | None]:
    """The device id from the signed cookie, and a new raw id to set when there is none."""
    raw = request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=DEVICE_SALT)
    if raw:
        return raw, None
    new = secrets.token_urlsafe(16)
    return new, new


def _with_device(response, new_device: str | None):
    if new_device:
        response.set_signed_cookie(
            DEVICE_COOKIE,
            new_device,
            salt=DEVICE_SALT,
            max_age=DEVICE_MAX_AGE,
            httponly=True,
            samesite="Lax",
        )
    return response


def _scope(resolved: Resolved) -> str:
    unit = resolved.drive.unit if resolved.drive else resolved.inviter.unit
    return state_path(unit)


def _context(resolved: Resolved, **extra) -> dict:
    drive = resolved.drive
    return {
        "resolved": resolved,
        "drive": drive,
        "code": resolved.code,
        "inviter": resolved.inviter,
        "recruiter": resolved.recruiter,
        "location": resolved.location,
        **extra,
    }


@public
@require_http_methods(["GET", "POST"])
def join(request, code):
    resolved = resolve_code(code)
    if resolved is None:
        response = render(request, "drives/join_unknown.html", {"code": code}, status=404)
        return response
    device, new_device = _device(request)
    scope = _scope(resolved)
    try:
        enroller = check_code_open(resolved, request.user)
    except JoinRefused as e:
        response = render(
            request,
            "drives/join_closed.html",
            _context(resolved, refusal=e.message, reason=e.reason),
            status=403 if e.reason == "enrollers_only" else 410,
        )
        return _with_device(response, new_device)

    if request.method == "GET":
        bump_funnel(resolved, "visits")
        form = JoinForm(drive=resolved.drive, scope_path=scope)
        response = render(request, "drives/join.html", _context(resolved, form=form, step=1))
        return _with_device(response, new_device)

    action = request.POST.get("action", "send")
    form = JoinForm(request.POST, drive=resolved.drive, scope_path=scope)
    if action == "find":
        # The booth search: the fragment for htmx, the whole form again without it.
        booth_q = request.POST.get("booth_q", "")
        try:
            ac_no = int(request.POST.get("ac_no") or 0) or None
        except ValueError:
            ac_no = None
        booths = find_booths(scope, q=booth_q, ac_no=ac_no)
        # Redisplay what was typed, without judging a form the person has not sent yet.
        form._errors = ErrorDict()
        ctx = _context(resolved, form=form, step=1, booths=booths, searched=True)
        name = "drives/join.html"
        if getattr(request, "htmx", None):
            name += "#booth-results"
        response = render(request, name, ctx)
        patch_vary_headers(response, ["HX-Request"])
        return _with_device(response, new_device)

    ip = client_ip(request)
    if not form.is_valid():
        minor = "age" in form.errors and any(
            e.code == "minor" for e in form.errors.as_data().get("age", [])
        )
        ctx = _context(resolved, form=form, step=1, minor=minor)
        return _with_device(render(request, "drives/join.html", ctx, status=400), new_device)
    dkey = device_key(device)
    try:
        check_velocity(resolved, device=dkey, ip=ip, enroller=enroller)
    except JoinRefused as e:
        ctx = _context(resolved, form=form, step=1, refusal=e.message)
        return _with_device(render(request, "drives/join.html", ctx, status=429), new_device)

    if action in ("send", "resend"):
        try:
            do_request_otp(form.cleaned_data["phone"], ip, joining=True)
        except OtpError as e:
            ctx = _context(resolved, form=form, step=1, refusal=e.message)
            status = 429 if e.reason == "too_many_requests" else 400
            return _with_device(render(request, "drives/join.html", ctx, status=status), new_device)
        bump_funnel(resolved, "otp_sent")
        ctx = _context(resolved, form=form, otp_form=OtpForm(), step=2, sent=True)
        return _with_device(render(request, "drives/join.html", ctx), new_device)

    otp_form = OtpForm(request.POST)
    if not otp_form.is_valid():
        ctx = _context(resolved, form=form, otp_form=otp_form, step=2)
        return _with_device(render(request, "drives/join.html", ctx, status=400), new_device)
    try:
        phone = do_verify_join_otp(form.cleaned_data["phone"], otp_form.cleaned_data["otp"], ip)
    except OtpError as e:
        otp_form.add_error("otp", str(e.message))
        ctx = _context(resolved, form=form, otp_form=otp_form, step=2)
        status = 429 if e.reason == "too_many_attempts" else 400
        return _with_device(render(request, "drives/join.html", ctx, status=status), new_device)
    bump_funnel(resolved, "verified")
    try:
        result = do_join(
            resolved, phone, form.details(), device=dkey, ip=ip, via="page", enroller=enroller
        )
    except JoinRefused as e:
        ctx = _context(resolved, form=form, step=1, refusal=e.message)
        return _with_device(render(request, "drives/join.html", ctx, status=429), new_device)
    if result.user is None:
        ctx = _context(resolved, form=form, step=1, refusal=_("This number cannot log in."))
        return _with_device(render(request, "drives/join.html", ctx, status=403), new_device)
    if enroller is not None:
        # The enroller's phone must not end up logged in as the new member.
        ctx = _context(resolved, person=result.person, sign_up=result.sign_up, enrolled=True)
        response = render(request, "drives/join_enrolled.html", ctx)
        patch_cache_control(response, no_store=True)
        return _with_device(response, new_device)
    raw, token = do_issue_api_token(result.user, ip)
    ctx = _context(
        resolved,
        person=result.person,
        sign_up=result.sign_up,
        handover={"token": raw, "user": _json_safe(me_data(result.user))},
    )
    response = render(request, "drives/join_done.html", ctx)
    patch_cache_control(response, no_store=True, private=True)
    return _with_device(response, new_device)


def _json_safe(data):
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))
