"""Forms for the broadcast pages: compose (with its audience part, which the live preview
reads alone), reject with a reason, re-share with a note, and poll dates.

Forms only check shapes and look units up inside the user's jurisdiction; the rules (titles,
channels, the silence window, approval) live in ``sangathan.broadcasts.actions`` and come back
as ``ActionRefused`` messages shown beside the form.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sangathan.broadcasts.actions import Draft
from sangathan.broadcasts.models import BroadcastChannel, Topic
from sangathan.org.models import Level, OrgUnit
from sangathan.people.models import Position, Purpose

# Images a phone shows inline, and PDFs. Known by their first bytes, never by the name or the
# browser's content type alone (an .svg or .html renamed .png would otherwise be served).
ATTACHMENT_SIGNATURES = {
    "image/jpeg": ((b"\xff\xd8\xff",), (".jpg", ".jpeg")),
    "image/png": ((b"\x89PNG\r\n\x1a\n",), (".png",)),
    "image/webp": ((b"RIFF",), (".webp",)),  # and "WEBP" at byte 8, checked below
    "application/pdf": ((b"%PDF-",), (".pdf",)),
}
ATTACHMENT_ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"


def attachment_max_bytes() -> int:
    return int(getattr(settings, "SANGATHAN_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024))


def attachment_type(head: bytes, name: str) -> str | None:
    """The content type of an attachment from its first bytes, if its name agrees."""
    lower = name.lower()
    for content_type, (magics, extensions) in ATTACHMENT_SIGNATURES.items():
        if not any(head.startswith(m) for m in magics):
            continue
        if content_type == "image/webp" and head[8:12] != b"WEBP":
            continue
        if lower.endswith(extensions):
            return content_type
    return None


PURPOSE_CHOICES = [
    (Purpose.ORGANISATIONAL, _("Organisational: meetings, programmes, organisation news")),
    (Purpose.SCHEMES, _("Government schemes and programmes")),
    (
        Purpose.CAMPAIGN,
        _(
            "Campaign: political messages (votes, candidates, rallies). Held back by the "
            "silence window before polling."
        ),
    ),
]
APP_CHOICES = [
    ("", _("Everyone")),
    ("joined", _("Only people on the app")),
    ("not_joined", _("Only people not yet on the app")),
]
WHEN_CHOICES = [("now", _("Now")), ("later", _("Later, at:"))]


def whatsapp_refused() -> bool:
    """WhatsApp Business Platform refuses political organisations (see actions.clean_channels)."""
    return settings.SANGATHAN_ORG_KIND == "political"


class AudienceForm(forms.Form):
    """Who a broadcast goes to and how: what the live preview counts."""

    unit = forms.CharField(
        label=_("Send to (unit code)"),
        max_length=64,
        error_messages={"required": _("Choose the unit whose people receive it.")},
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=PURPOSE_CHOICES,
        initial=Purpose.ORGANISATIONAL,
        widget=forms.RadioSelect,
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=BroadcastChannel.choices,
        initial=["feed"],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one channel.")},
    )
    levels = forms.MultipleChoiceField(
        label=_("Only office bearers at these levels"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    positions = forms.MultipleChoiceField(
        label=_("Only holders of these posts"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    wings = forms.MultipleChoiceField(
        label=_("Only these wings"), required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = forms.CharField(
        label=_("Only people with these tags"),
        required=False,
        max_length=500,
        help_text=_("Separate tags with commas."),
    )
    app = forms.ChoiceField(
        label=_("Member app"),
        choices=APP_CHOICES,
        required=False,
        initial="",
        widget=forms.RadioSelect,
    )
    when = forms.ChoiceField(
        label=_("Send"), choices=WHEN_CHOICES, initial="now", widget=forms.RadioSelect
    )
    scheduled_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["levels"].choices = [
            (lv.slug, lv.display_name) for lv in Level.objects.order_by("depth")
        ]
        positions = list(Position.objects.select_related("level").order_by("level__depth", "pk"))
        self.fields["positions"].choices = [
            (str(p.pk), f"{p.level.display_name}: {p.display_name}") for p in positions
        ]
        wings = {}
        for p in positions:
            wings.setdefault(p.wing, p.wing_hi or p.wing)
        self.fields["wings"].choices = sorted(wings.items())
        self.whatsapp_refused = whatsapp_refused()

    def clean_unit(self):
        code = self.cleaned_data["unit"].strip()
        unit = OrgUnit.objects.visible_to(self.user).select_related("level").filter(code=code)
        unit = unit.first()
        if unit is None:
            raise forms.ValidationError(
                _("No unit with code %(code)s in your area.") % {"code": code}
            )
        return unit

    def clean_tags(self):
        raw = self.cleaned_data["tags"]
        return sorted({t.strip() for t in raw.split(",") if t.strip()})

    def clean(self):
        data = super().clean()
        if data.get("when") == "later":
            at = data.get("scheduled_at")
            if at is None and "scheduled_at" not in self.errors:
                self.add_error("scheduled_at", _("Give the date and time to send it."))
        else:
            data["scheduled_at"] = None
        return data

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "levels": data.get("levels") or [],
            "positions": [int(p) for p in data.get("positions") or []],
            "wings": data.get("wings") or [],
            "tags": data.get("tags") or [],
            "app": data.get("app") or "",
        }


class ComposeForm(AudienceForm):
    """A whole broadcast: the audience, then the message in Hindi and English."""

    title_hi = forms.CharField(label=_("Title in Hindi"), required=False, max_length=200)
    body_hi = forms.CharField(
        label=_("Message in Hindi"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    title_en = forms.CharField(label=_("Title in English"), required=False, max_length=200)
    body_en = forms.CharField(
        label=_("Message in English"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    link = forms.URLField(label=_("Link"), required=False, max_length=200, assume_scheme="https")
    attachment = forms.FileField(
        label=_("Attachment (photo or PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ATTACHMENT_ACCEPT}),
    )
    topic = forms.ChoiceField(label=_("Topic"), choices=Topic.choices, initial=Topic.ORGANISATION)
    parent = forms.CharField(required=False, widget=forms.HiddenInput)
    local_note = forms.CharField(
        label=_("Your note for your unit"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if not upload:
            return None
        limit = attachment_max_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                _("The attachment is %(size)s MB; at most %(max)s MB can be sent.")
                % {
                    "size": f"{upload.size / 1024 / 1024:.1f}",
                    "max": f"{limit / 1024 / 1024:g}",
                },
                code="too_big",
            )
        head = upload.read(16)
        upload.seek(0)
        if attachment_type(head, upload.name) is None:
            raise forms.ValidationError(
                _("Attach a photo (JPEG, PNG or WebP) or a PDF."), code="bad_type"
            )
        return upload

    def draft(self, parent=None) -> Draft:
        data = self.cleaned_data
        return Draft(
            audience_unit=data["unit"],
            title_hi=data["title_hi"],
            body_hi=data["body_hi"],
            title_en=data["title_en"],
            body_en=data["body_en"],
            link=data["link"],
            topic=data["topic"],
            purpose=data["purpose"],
            channels=data["channels"],
            filters=self.filters(),
            scheduled_at=data["scheduled_at"],
            attachment=data.get("attachment"),
            parent=parent,
            local_note=data["local_note"] if parent is not None else "",
        )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it rejected?"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why it is rejected.")},
    )


class ReshareForm(forms.Form):
    """A note and channels for passing a broadcast on (the unit is a plain field beside it,
    looked up by the view within the user's jurisdiction)."""

    note = forms.CharField(
        label=_("Your note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=[c for c in BroadcastChannel.choices if c[0] != "whatsapp"],
        initial=["feed"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class PollDateForm(forms.Form):
    unit = forms.CharField(
        label=_("Assembly constituency (unit code)"),
        max_length=64,
        error_messages={"required": _("Give the constituency's unit code.")},
    )
    poll_closes_at = forms.DateTimeField(
        label=_("Polling closes at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        error_messages={"required": _("Give the date and time polling closes.")},
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_unit(self):
        code = self.cleaned_data["unit"].strip()
        unit = OrgUnit.objects.visible_to(self.user).select_related("level").filter(code=code)
        unit = unit.first()
        if unit is None:
            raise forms.ValidationError(
                _("No unit with code %(code)s in your area.") % {"code": code}
            )
        return unit
