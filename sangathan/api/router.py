"""The JSON API: one NinjaAPI, each domain mounting its own router.

Callers authenticate with a bearer token (the member app, see ``POST /auth/otp/verify``) or
with the staff UI's session cookie (then unsafe methods need the CSRF token). Every route that
reads data scopes it through ``sangathan.org.scoping``; outsiders get 404.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security import django_auth

from sangathan.accounts.actions import OtpError
from sangathan.accounts.api import TokenAuth, otp_error_response
from sangathan.accounts.api import router as accounts_router
from sangathan.broadcasts.api import router as broadcasts_router
from sangathan.channels.api import router as channels_router
from sangathan.drives.api import router as drives_router
from sangathan.groups.api import router as groups_router
from sangathan.meetings.api import router as meetings_router
from sangathan.org.api import router as org_router
from sangathan.people.api import router as people_router
from sangathan.people.api_me import router as me_router

api = NinjaAPI(
    title="Sangathan API",
    version="1",
    urls_namespace="api",
    auth=[TokenAuth(), django_auth],
)


@api.exception_handler(Http404)
def not_found(request, exc):
    # The same words whether the thing does not exist or lies outside the caller's
    # jurisdiction: the answer must not tell the two apart.
    return api.create_response(
        request,
        {"detail": _("Not found, or outside your jurisdiction."), "code": "not_found"},
        status=404,
    )


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return api.create_response(
        request,
        {
            "detail": _(
                "Log in first: send “Authorization: Bearer <token>” from "
                "/api/v1/auth/otp/verify, or use a logged-in session."
            ),
            "code": "not_authenticated",
        },
        status=401,
    )


@api.exception_handler(OtpError)
def otp_refused(request, exc):
    return otp_error_response(api, request, exc)


api.add_router("", accounts_router)
api.add_router("", org_router)
api.add_router("", people_router)
api.add_router("", broadcasts_router)
api.add_router("", channels_router)
api.add_router("", drives_router)
api.add_router("", me_router)
api.add_router("", groups_router)
api.add_router("", meetings_router)
