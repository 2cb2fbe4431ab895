"""Forms of the join page and the drive staff pages."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sangathan.drives.actions import CONSENT_CHANNELS, CONSENT_PURPOSES
from sangathan.drives.models import Drive, DriveKind, Institution
from sangathan.org.models import OrgUnit
from sangathan.people import phones
from sangathan.people.models import Channel, Purpose

MAX_INSTITUTIONS_FILE_BYTES = 5 * 1024 * 1024
BOOTH_RESULTS = 10


def consent_choices():
    return [
        (f"{c}:{p}", f"{Channel(c).label} — {Purpose(p).label}")
        for c in CONSENT_CHANNELS
        for p in CONSENT_PURPOSES
    ]


def state_path(unit: OrgUnit) -> str:
    """The path of the state above (or at) ``unit``; booth lookups stay inside it."""
    state = (
        OrgUnit.objects.filter(path__in=unit.ancestor_paths(), level__slug="state")
        .only("path")
        .first()
    )
    return state.path if state else unit.path[: OrgUnit.steplen]


def find_booths(scope_path: str, *, q: str = "", ac_no: int | None = None) -> list[OrgUnit]:
    """Polling stations inside ``scope_path`` whose name, number or building/locality matches
    ``q`` (within one assembly constituency when ``ac_no`` is given)."""
    booths = OrgUnit.objects.filter(path__startswith=scope_path, level__slug="booth")
    if ac_no:
        acs = OrgUnit.objects.filter(
            path__startswith=scope_path, level__slug="assembly", ac_no=ac_no
        ).values_list("path", flat=True)
        paths = list(acs)
        if not paths:
            return []
        booths = booths.filter(path__startswith=paths[0])
    q = (q or "").strip()
    if q:
        if q.isdigit() and ac_no:
            booths = booths.filter(ps_no__in={q, q.lstrip("0"), q.zfill(3)})
        else:
            booths = booths.filter(
                Q(name__icontains=q)
                | Q(name_en__icontains=q)
                | Q(polling_location__name__icontains=q)
                | Q(polling_location__locality__icontains=q)
            )
    elif not ac_no:
        return []
    return list(booths.select_related("polling_location").order_by("path")[:BOOTH_RESULTS])


class JoinForm(forms.Form):
    """Step one of the join page (step two adds the OTP). Everything is checked again when the
    code comes back, so the hidden copies in step two prove nothing by themselves."""

    name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel",
                "placeholder": "98XXXXXXXX",
            }
        ),
    )
    age = forms.ChoiceField(
        label=gettext_lazy("Your age"),
        choices=[
            ("adult", gettext_lazy("I am 18 or older")),
            ("minor", gettext_lazy("I am under 18")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Please tell us whether you are 18 or older.")},
    )
    institution = forms.ModelChoiceField(
        label=gettext_lazy("Your college or institution"),
        queryset=Institution.objects.none(),
        required=False,
        empty_label=gettext_lazy("None / not listed"),
    )
    ac_no = forms.IntegerField(
        label=gettext_lazy("Assembly constituency number"),
        required=False,
        min_value=1,
        max_value=999,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    ps_no = forms.CharField(
        label=gettext_lazy("Polling station (booth) number"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    booth_q = forms.CharField(
        label=gettext_lazy("Or search your locality or polling building"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    booth = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    consents = forms.MultipleChoiceField(
        label=gettext_lazy("Messages you agree to receive"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, drive: Drive | None, scope_path: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.drive = drive
        self.scope_path = scope_path
        if drive is not None:
            self.fields["institution"].queryset = drive.institutions.all()
        if drive is None or not drive.institutions.exists():
            del self.fields["institution"]
        self.fields["consents"].choices = consent_choices()

    def consent_groups(self) -> list[dict]:
        """The consent ticks grouped by channel, with what is ticked now (for the template)."""
        if self.is_bound:
            ticked = set(self.data.getlist("consents")) if hasattr(self.data, "getlist") else set()
        else:
            ticked = set()
        return [
            {
                "channel": c,
                "label": Channel(c).label,
                "options": [
                    {
                        "value": f"{c}:{p}",
                        "label": Purpose(p).label,
                        "checked": f"{c}:{p}" in ticked,
                        "id": f"consent-{c}-{p}",
                    }
                    for p in CONSENT_PURPOSES
                ],
            }
            for c in CONSENT_CHANNELS
        ]

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if len(name) < 2:
            raise forms.ValidationError(_("Please write your full name."))
        return name

    def clean_phone(self):
        try:
            return phones.normalise_phone(self.cleaned_data["phone"])
        except phones.PhoneError as e:
            raise forms.ValidationError(
                _("This is not a valid mobile number: %(reason)s") % {"reason": e}
            ) from None

    def clean_age(self):
        if self.cleaned_data["age"] != "adult":
            raise forms.ValidationError(
                _(
                    "Sorry, you must be 18 or older to join. Joining under 18 would need a "
                    "parent's or guardian's consent, which this page cannot take."
                ),
                code="minor",
            )
        return "adult"

    def clean_consents(self):
        return [tuple(v.split(":", 1)) for v in self.cleaned_data["consents"]]

    def clean(self):
        data = super().clean()
        data["home_unit"] = None
        code = data.get("booth")
        ac_no, ps_no = data.get("ac_no"), (data.get("ps_no") or "").strip()
        booths = OrgUnit.objects.filter(path__startswith=self.scope_path, level__slug="booth")
        if code:
            unit = booths.filter(code=code).first()
            if unit is None:
                self.add_error("booth_q", _("Choose your booth again from the list."))
            data["home_unit"] = unit
        elif ac_no and ps_no:
            found = find_booths(self.scope_path, q=ps_no, ac_no=ac_no)
            if len(found) != 1:
                self.add_error(
                    "ps_no",
                    _("No polling station %(ps)s found in assembly constituency %(ac)s.")
                    % {"ps": ps_no, "ac": ac_no},
                )
            else:
                data["home_unit"] = found[0]
        elif ps_no and not ac_no:
            self.add_error("ac_no", _("Give the assembly constituency number too."))
        return data

    def details(self):
        from sangathan.drives.actions import JoinDetails

        d = self.cleaned_data
        return JoinDetails(
            name=d["name"],
            institution=d.get("institution"),
            home_unit=d.get("home_unit"),
            consents=d.get("consents") or [],
        )


class OtpForm(forms.Form):
    otp = forms.CharField(
        label=gettext_lazy("6-digit code sent to your mobile"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}"}
        ),
        error_messages={
            "required": gettext_lazy("Type the 6-digit code from the SMS."),
            "min_length": gettext_lazy("The code has 6 digits. Please check and type it again."),
        },
    )


class DriveForm(forms.ModelForm):
    unit_code = forms.CharField(
        label=gettext_lazy("Owner unit code"),
        max_length=64,
        help_text=gettext_lazy("The unit whose office runs the drive, e.g. UP-D-162."),
    )

    class Meta:
        model = Drive
        fields = [
            "name_hi",
            "name",
            "kind",
            "starts",
            "ends",
            "is_open",
            "verified_enrollers",
            "institutions",
            "cap_per_code_per_hour",
            "cap_per_device_per_day",
            "cap_per_ip_per_hour",
        ]
        widgets = {
            "starts": forms.DateInput(attrs={"type": "date"}),
            "ends": forms.DateInput(attrs={"type": "date"}),
            "institutions": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["kind"].choices = DriveKind.choices
        self.fields["institutions"].queryset = Institution.objects.visible_to(user)
        self.fields["institutions"].required = False
        if self.instance.pk:
            self.fields["unit_code"].initial = self.instance.unit.code

    def clean_unit_code(self):
        from sangathan.org.scoping import jurisdiction_for

        code = self.cleaned_data["unit_code"].strip()
        unit = jurisdiction_for(self.user).filter(OrgUnit.objects.filter(code=code)).first()
        if unit is None:
            raise forms.ValidationError(
                _("There is no unit %(code)s in your area.") % {"code": code}
            )
        return unit

    def clean(self):
        data = super().clean()
        if data.get("starts") and data.get("ends") and data["ends"] < data["starts"]:
            self.add_error("ends", _("The drive cannot end before it starts."))
        return data


class RecruiterForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("Recruiter's mobile number"),
        max_length=20,
        help_text=gettext_lazy("Someone already on the rolls in your area."),
    )

    def clean_phone(self):
        try:
            return phones.normalise_phone(self.cleaned_data["phone"])
        except phones.PhoneError as e:
            raise forms.ValidationError(str(e)) from None


class LocationForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Place"), max_length=200)
    institution = forms.ModelChoiceField(
        label=gettext_lazy("Institution"), queryset=Institution.objects.none(), required=False
    )

    def __init__(self, *args, drive: Drive, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = drive.institutions.all()


class TargetForm(forms.Form):
    target = forms.IntegerField(label=gettext_lazy("Target"), min_value=1, max_value=10_000_000)
    unit_code = forms.CharField(label=gettext_lazy("Unit code"), max_length=64, required=False)
    institution = forms.ModelChoiceField(
        label=gettext_lazy("Institution"), queryset=Institution.objects.none(), required=False
    )

    def __init__(self, *args, drive: Drive, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["institution"].queryset = drive.institutions.all()

    def clean(self):
        from sangathan.org.scoping import jurisdiction_for

        data = super().clean()
        code = (data.get("unit_code") or "").strip()
        data["unit"] = None
        if code:
            data["unit"] = (
                jurisdiction_for(self.user).filter(OrgUnit.objects.filter(code=code)).first()
            )
            if data["unit"] is None:
                self.add_error(
                    "unit_code", _("There is no unit %(code)s in your area.") % {"code": code}
                )
        if bool(data.get("unit") or code) == bool(data.get("institution")):
            raise forms.ValidationError(_("Give either a unit or an institution, not both."))
        return data


class InstitutionsFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file of institutions"),
        help_text=gettext_lazy(
            "Columns: name, kind (university, college or school), district_code; optional "
            "name_en, unit_code, code (AISHE/UDISE), adults_only."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv"}),
        error_messages={
            "required": gettext_lazy("Choose a file to check."),
            "empty": gettext_lazy("The file is empty."),
        },
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_INSTITUTIONS_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is too big: at most %(limit)s MB.")
                % {"limit": MAX_INSTITUTIONS_FILE_BYTES // (1024 * 1024)}
            )
        return upload
