"""Forms of the groups pages. Units and admins are looked up within the user's jurisdiction:
a code or phone outside it reads as unknown."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sangathan.groups.models import GroupPurpose, validate_invite_link
from sangathan.org.models import Level, OrgUnit
from sangathan.people.models import Person


def unit_in_area(user, code: str) -> OrgUnit:
    code = (code or "").strip()
    unit = OrgUnit.objects.visible_to(user).select_related("level").filter(code=code).first()
    if unit is None:
        raise forms.ValidationError(_("No unit with code %(code)s in your area.") % {"code": code})
    return unit


def person_in_area(user, raw: str) -> Person:
    from sangathan.people.phones import PhoneError, normalise_phone

    try:
        phone = normalise_phone(raw)
    except PhoneError:
        raise forms.ValidationError(
            _("“%(phone)s” is not a mobile number.") % {"phone": raw}
        ) from None
    person = Person.objects.visible_to(user).select_related("unit").filter(phone=phone).first()
    if person is None:
        raise forms.ValidationError(
            _("No member in your area has the mobile number %(phone)s.") % {"phone": phone}
        )
    return person


class GroupForm(forms.Form):
    unit = forms.CharField(label=_("Unit code"), max_length=64)
    name = forms.CharField(label=_("Group name"), max_length=200)
    purpose = forms.ChoiceField(
        label=_("Purpose"), choices=GroupPurpose.choices, initial=GroupPurpose.WORKERS
    )
    invite_link = forms.CharField(
        label=_("Invite link"),
        max_length=200,
        required=False,
        validators=[validate_invite_link],
        help_text=_("https://chat.whatsapp.com/… — shown only to people whose area includes it."),
    )
    admin_phones = forms.CharField(
        label=_("Admins' mobile numbers"),
        required=False,
        max_length=500,
        help_text=_(
            "Separate numbers with commas. Empty: the unit's WhatsApp pramukh, if it has one."
        ),
    )
    members = forms.IntegerField(label=_("Members now"), required=False, min_value=0)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_unit(self):
        return unit_in_area(self.user, self.cleaned_data["unit"])

    def clean_admin_phones(self):
        raw = self.cleaned_data["admin_phones"]
        return [person_in_area(self.user, p.strip()) for p in raw.split(",") if p.strip()]


class EditGroupForm(forms.Form):
    name = forms.CharField(label=_("Group name"), max_length=200)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=GroupPurpose.choices)


class LinkForm(forms.Form):
    invite_link = forms.CharField(
        label=_("New invite link"), max_length=200, validators=[validate_invite_link]
    )


class CountForm(forms.Form):
    members = forms.IntegerField(label=_("Members now"), min_value=0, max_value=5000)


class AdminForm(forms.Form):
    phone = forms.CharField(label=_("Admin's mobile number"), max_length=20)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_phone(self):
        return person_in_area(self.user, self.cleaned_data["phone"])


class TargetForm(forms.Form):
    scope = forms.CharField(label=_("Area (unit code)"), max_length=64)
    level = forms.ModelChoiceField(
        label=_("A group at every"), queryset=Level.objects.all(), to_field_name="slug"
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=[("", _("any purpose")), *GroupPurpose.choices],
        required=False,
    )
    per_unit = forms.IntegerField(label=_("Groups per unit"), min_value=1, max_value=20, initial=1)
    due = forms.DateField(
        label=_("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["level"].label_from_instance = lambda lv: lv.display_name

    def clean_scope(self):
        return unit_in_area(self.user, self.cleaned_data["scope"])


class GroupsFileForm(forms.Form):
    file = forms.FileField(
        label=_("Groups file (CSV)"),
        help_text=_(
            "Columns: unit_code, group_name, invite_link, admin_phone, member_count "
            "(the last three may be empty)."
        ),
    )

    @property
    def max_mb(self) -> int:
        return settings.SANGATHAN_MAX_UPLOAD_BYTES // (1024 * 1024)

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > settings.SANGATHAN_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(max)s MB.") % {"max": self.max_mb}
            )
        return f
