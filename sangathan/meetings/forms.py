"""Forms of the meetings pages. Units and people are looked up within the user's
jurisdiction: a code or phone outside it reads as unknown. Times are typed in India time
(the site's time zone) and stored in UTC."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sangathan.groups.forms import person_in_area, unit_in_area
from sangathan.meetings.models import MeetingKind
from sangathan.people.models import Position

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class _UserForm(forms.Form):
    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)


class TimesMixin:
    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The meeting must end after it starts."))
        return data


class MeetingForm(TimesMixin, _UserForm):
    host_unit = forms.CharField(
        label=_("Host unit code"), max_length=64, help_text=_("e.g. UP or UP-D-162")
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    title_hi = forms.CharField(label=_("Title (Hindi)"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Type"), choices=MeetingKind.choices)
    chair = forms.CharField(label=_("Chair's mobile number"), max_length=20, required=False)
    starts_at = forms.DateTimeField(label=_("Starts (India time)"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("Ends (India time)"), widget=DATETIME_INPUT)
    venue = forms.CharField(label=_("Venue"), max_length=255, required=False)
    online_link = forms.URLField(
        label=_("Online link"), max_length=500, required=False, assume_scheme="https"
    )

    def clean_host_unit(self):
        return unit_in_area(self.user, self.cleaned_data["host_unit"])

    def clean_chair(self):
        raw = self.cleaned_data.get("chair", "").strip()
        return person_in_area(self.user, raw) if raw else None

    def clean(self):
        data = super().clean()
        if not data.get("venue") and not data.get("online_link"):
            self.add_error("venue", _("Give a venue or an online link."))
        return data


class FollowUpForm(TimesMixin, forms.Form):
    starts_at = forms.DateTimeField(label=_("Starts (India time)"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("Ends (India time)"), widget=DATETIME_INPUT)


class AgendaForm(_UserForm):
    title = forms.CharField(label=_("Agenda item"), max_length=200)
    presenter = forms.CharField(label=_("Presenter's mobile number"), max_length=20, required=False)
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=600, initial=15)

    def clean_presenter(self):
        raw = self.cleaned_data.get("presenter", "").strip()
        return person_in_area(self.user, raw) if raw else None


class MinutesForm(forms.Form):
    notes = forms.CharField(
        label=_("Minutes"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    decisions = forms.CharField(
        label=_("Decisions"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class RuleForm(_UserForm):
    position = forms.ModelChoiceField(
        label=_("Post"), queryset=Position.objects.select_related("level")
    )
    scope = forms.CharField(
        label=_("Under unit (code)"),
        max_length=64,
        help_text=_("every current holder of the post at this unit or below it is invited"),
    )

    def clean_scope(self):
        return unit_in_area(self.user, self.cleaned_data["scope"])


class ExtraForm(_UserForm):
    phone = forms.CharField(label=_("Mobile number"), max_length=20)

    def clean_phone(self):
        return person_in_area(self.user, self.cleaned_data["phone"])


class ActionItemForm(_UserForm):
    title = forms.CharField(label=_("Action"), max_length=200)
    due = forms.DateField(
        label=_("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    phone = forms.CharField(
        label=_("Assign to a person (mobile number)"), max_length=20, required=False
    )
    position = forms.ModelChoiceField(
        label=_("or to a post"),
        queryset=Position.objects.select_related("level"),
        required=False,
    )
    unit = forms.CharField(label=_("at unit (code)"), max_length=64, required=False)
    agenda_item = forms.TypedChoiceField(
        label=_("Agenda item"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, meeting=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")]
        if meeting is not None:
            choices += [(a.pk, a.title) for a in meeting.agenda.all()]
        self.fields["agenda_item"].choices = choices

    def clean(self):
        data = super().clean()
        phone = (data.get("phone") or "").strip()
        position, unit = data.get("position"), (data.get("unit") or "").strip()
        if phone and (position or unit):
            raise forms.ValidationError(_("Choose a person or a post, not both."))
        if phone:
            try:
                data["person"] = person_in_area(self.user, phone)
            except forms.ValidationError as exc:
                self.add_error("phone", exc)
        elif position and unit:
            try:
                data["unit_obj"] = unit_in_area(self.user, unit)
            except forms.ValidationError as exc:
                self.add_error("unit", exc)
        else:
            raise forms.ValidationError(
                _("Assign the action either to one person or to a post at a unit.")
            )
        return data
