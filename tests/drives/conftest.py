"""Drives' fixtures: a campus drive owned by Lucknow at a Lucknow university, with a recruiter
and a place, and a client that walks the join page."""

import datetime
import re

import pytest
from django.conf import settings
from django.test import Client

from sangathan.drives.models import Drive, DriveLocation, Institution, Recruiter
from tests.accounts.conftest import SentCodes


@pytest.fixture
def sent_codes(monkeypatch):
    """OTPs "sent" by SMS, as (phone, code) pairs (run at commit; tests use
    ``on_commit_after_action`` so the join page's actions commit as in production)."""
    sent = SentCodes()
    monkeypatch.setattr(
        "sangathan.accounts.actions.send_code", lambda phone, code: sent.append((phone, code))
    )
    return sent


@pytest.fixture
def campus(cast):
    t = cast
    t.university = Institution.objects.create(
        name="लखनऊ विश्वविद्यालय",
        name_en="University of Lucknow",
        kind="university",
        district=t.lucknow,
        unit=t.ac_west,
        code="U-0431",
    )
    t.drive = Drive.objects.create(
        name="Campus drive — Lucknow University",
        name_hi="कैंपस अभियान — लखनऊ विश्वविद्यालय",
        kind="campus",
        starts=datetime.date.today() - datetime.timedelta(days=1),
        unit=t.lucknow,
        created_by=t.convenor,
    )
    t.drive.institutions.add(t.university)
    t.recruiter = Recruiter.objects.create(drive=t.drive, person=t.volunteer_person)
    t.gate = DriveLocation.objects.create(drive=t.drive, name="Main gate", institution=t.university)
    return t


class Joiner:
    """Walks /join/<code> like a phone would: GET, send the form, type the OTP."""

    def __init__(self, sent: SentCodes, client: Client | None = None, **meta):
        self.client = client or Client(HTTP_ACCEPT_LANGUAGE="en", **meta)
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        self.sent = sent

    def form(self, name="रवि कुमार", phone="9876500001", **extra) -> dict:
        data = {"name": name, "phone": phone, "age": "adult", "consents": ["app:organisational"]}
        data.update(extra)
        return data

    def send(self, code: str, data: dict):
        return self.client.post(f"/join/{code}", {**data, "action": "send"})

    def join(self, code: str, data: dict | None = None, *, otp: str | None = None, visit=True):
        data = data or self.form()
        if visit:
            self.client.get(f"/join/{code}")
        first = self.send(code, data)
        if first.status_code != 200:
            return first
        phone = "+91" + re.sub(r"\D", "", data["phone"])[-10:]
        otp = otp or self.sent.last_for(phone)
        return self.client.post(f"/join/{code}", {**data, "otp": otp, "action": "verify"})


@pytest.fixture
def joiner(sent_codes, on_commit_after_action):
    return Joiner(sent_codes)
