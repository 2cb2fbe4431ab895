"""The member app's shell, web app manifest and service worker.

The shell is one server-rendered page (all labels translated) that loads vanilla JS modules;
the modules fill it from the JSON API with the member's bearer token. The service worker lives
at /app/sw.js so that its scope is /app/; its cache name carries a digest of the files it
precaches, so a deploy that changes any of them installs a new cache and drops the old one.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from sangathan.accounts.middleware import public
from sangathan.meetings.app_strings import meeting_strings

# What the service worker stores at install: the whole shell, so the app opens offline.
SHELL_STATIC = [
    "member/app.css",
    "member/app.js",
    "member/api.js",
    "member/outbox.js",
    "member/meetings.js",
    "member/icons/icon-192.png",
    "member/icons/icon-512.png",
    "member/icons/icon-maskable-512.png",
    "member/icons/badge-96.png",
    "vendor/noto-sans-devanagari/noto-sans-devanagari-devanagari-wght-normal.woff2",
]
THEME_COLOUR = "#1f2a44"
BACKGROUND_COLOUR = "#f4f5f8"
SUPPORTED_LANGUAGES = {code for code, _name in settings.LANGUAGES}


def _shell_digest() -> str:
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        path = finders.find(name)
        digest.update(name.encode())
        if path:
            with open(path, "rb") as f:
                digest.update(f.read())
    for template in ("member/app.html", "member/sw.js"):
        with open(get_template(template).origin.name, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:12]


_cached_digest = lru_cache(maxsize=1)(_shell_digest)


def shell_version() -> str:
    """A digest of the shell's files: recomputed on every call while developing, once per
    process otherwise (the files do not change under a running deployment)."""
    return _shell_digest() if settings.DEBUG else _cached_digest()


def _strings() -> dict[str, str]:
    """Messages the JS shows, translated here so that every label goes through gettext."""
    return {
        "offline": _("You are offline. Showing what was saved on this phone."),
        "offlineEmpty": _("You are offline, and nothing was saved here yet."),
        "queued": _("Saved on this phone. It will be sent when you are online."),
        "synced": _("Sent what was saved while offline."),
        "error": _("Something went wrong. Please try again."),
        "codeSent": _("We sent a 6-digit code to %(phone)s."),
        "badPhone": _("Type a 10-digit mobile number."),
        "badCode": _("The code has 6 digits."),
        "loggedOut": _("You have logged out."),
        "sessionOver": _("Please log in again."),
        "feedEmpty": _("No messages yet. New messages from your organisation appear here."),
        "more": _("Show older messages"),
        "unread": _("New"),
        "read": _("Read"),
        "shared": _("Shared"),
        "share": _("Share"),
        "shareWhatsApp": _("Share on WhatsApp"),
        "openLink": _("Open link"),
        "attachment": _("Attachment"),
        "openAttachment": _("Open attachment"),
        "tasksEmpty": _("No tasks for you right now."),
        "markDone": _("Mark done"),
        "done": _("Done"),
        "settled": _("The group already has it"),
        "undo": _("Not done yet"),
        "due": _("Due %(date)s"),
        "forPosition": _("For %(position)s, %(unit)s"),
        "forYou": _("For you, %(unit)s"),
        "copied": _("Link copied."),
        "inviteText": _("Join our organisation on the member app: %(url)s"),
        "joined": _("%(count)s joined through your link"),
        "joined7d": _("%(count)s in the last 7 days"),
        "consentOn": _("Recorded: %(channel)s — %(purpose)s: on."),
        "consentOff": _("Recorded: %(channel)s — %(purpose)s: off."),
        "positionsNone": _("No position at the moment."),
        "pushOn": _("Notifications are on for this phone."),
        "pushDenied": _("Notifications are blocked. Allow them in the browser's site settings."),
        "pushUnsupported": _("This browser cannot show notifications."),
        "pushUnavailable": _("Notifications are not set up on this server yet."),
        "exported": _("Your data has been downloaded."),
        "erased": _("Your account has been deleted. Thank you for being with us."),
        "eraseConfirmNeeded": _("Tick the box to confirm."),
        **meeting_strings(),
    }


def _set_language(response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@public
@require_GET
def shell(request):
    """The app's one page. ``?lang=en`` (or ``hi``) switches the language for good (the same
    cookie as the staff UI's switch) and comes back here, so the cached shell is one URL."""
    language = request.GET.get("lang")
    if language is not None:
        response = redirect("member:shell")
        if language in SUPPORTED_LANGUAGES:
            _set_language(response, language)
        return response
    context = {
        "strings": _strings(),
        "config": {
            "lang": translation.get_language(),
            "api": "/api/v1",
            "sw": reverse("member:sw"),
            "scope": reverse("member:shell"),
        },
        "grievance_contact": settings.SANGATHAN_GRIEVANCE_CONTACT,
    }
    response = render(request, "member/app.html", context)
    # Always revalidated: the service worker keeps the offline copy, not the HTTP cache.
    response["Cache-Control"] = "no-cache"
    return response


@public
@require_GET
def manifest(request):
    """The web app manifest (Hindi: the app's language; the shell switches itself)."""
    with translation.override("hi"):
        data = {
            "id": reverse("member:shell"),
            "name": _("Sangathan — member app"),
            "short_name": _("Sangathan"),
            "description": _(
                "Messages, tasks and invitations from your organisation, also offline."
            ),
            "lang": "hi",
            "dir": "ltr",
            "start_url": reverse("member:shell"),
            "scope": reverse("member:shell"),
            "display": "standalone",
            "orientation": "portrait",
            "theme_color": THEME_COLOUR,
            "background_color": BACKGROUND_COLOUR,
            "icons": [
                {
                    "src": static("member/icons/icon-192.png"),
                    "sizes": "192x192",
                    "type": "image/png",
                    "purpose": "any",
                },
                {
                    "src": static("member/icons/icon-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "any",
                },
                {
                    "src": static("member/icons/icon-maskable-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Type"] = "application/manifest+json"
    response["Cache-Control"] = "no-cache"
    return response


@public
@require_GET
def service_worker(request):
    """The service worker script, from /app/ so that it may control all of /app/."""
    shell_url = reverse("member:shell")
    precache = [shell_url, reverse("member:manifest"), *(static(name) for name in SHELL_STATIC)]
    body = render_to_string(
        "member/sw.js",
        {
            "version": json.dumps(shell_version()),
            "precache": json.dumps(precache),
            "shell_url": json.dumps(shell_url),
            "outbox_url": json.dumps(static("member/outbox.js")),
            "icon": json.dumps(static("member/icons/icon-192.png")),
            "badge": json.dumps(static("member/icons/badge-96.png")),
            "default_title": json.dumps(settings.SANGATHAN_ORG_NAME, ensure_ascii=False),
        },
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker on navigation; it must never come from a stale cache.
    response["Cache-Control"] = "no-cache, no-store, must-revalidate"
    response["Service-Worker-Allowed"] = shell_url
    return response
