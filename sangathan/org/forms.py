"""Forms for reorganising the tree: moving a subtree, renaming a unit, adding units from a file.

Every unit a form names is looked up through ``sangathan.org.scoping``: a code outside the
user's jurisdiction reads exactly like a code that does not exist."""

from __future__ import annotations

from django import forms
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sangathan.org.actions import ReorganisationError, check_move
from sangathan.org.models import OrgUnit
from sangathan.org.scoping import get_unit_for_user

# A file of units is a few thousand lines at most; it is kept in the session between the
# preview and the confirmation, so it must stay small.
MAX_UNITS_FILE_BYTES = 2 * 1024 * 1024


def move_problem(unit: OrgUnit, new_parent: OrgUnit) -> str | None:
    """Why ``do_move_unit`` would refuse this move, or None (checked before confirmation)."""
    try:
        check_move(unit, new_parent)
    except ReorganisationError as refused:
        return str(refused)
    return None


class MoveUnitForm(forms.Form):
    """The new parent, picked from the live search (``parent``) or typed as a code
    (``parent_code``, which works without JavaScript), and the reason for the history."""

    parent = forms.CharField(required=False, max_length=64, widget=forms.RadioSelect)
    parent_code = forms.CharField(
        label=gettext_lazy("or the new parent's code"), required=False, max_length=64
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=255,
        help_text=gettext_lazy("Kept in the unit's history, e.g. “delimitation 2026”."),
        error_messages={"required": gettext_lazy("Give a reason for the move.")},
    )

    def __init__(self, *args, unit: OrgUnit, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.user = user

    def clean(self):
        data = super().clean()
        code = (data.get("parent") or data.get("parent_code") or "").strip()
        if not code:
            self.add_error(
                "parent_code", _("Pick the new parent from the search, or type its code.")
            )
            return data
        try:
            new_parent = get_unit_for_user(self.user, code)
        except Http404:
            self.add_error(
                "parent_code", _("No unit with code %(code)s in your area.") % {"code": code}
            )
            return data
        problem = move_problem(self.unit, new_parent)
        if problem:
            self.add_error("parent_code", problem)
            return data
        data["new_parent"] = new_parent
        return data


class RenameUnitForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name (as written)"),
        max_length=255,
        error_messages={"required": gettext_lazy("A unit needs a name.")},
    )
    name_en = forms.CharField(label=gettext_lazy("Name in English"), max_length=255, required=False)
    name_hi = forms.CharField(label=gettext_lazy("Name in Hindi"), max_length=255, required=False)


class UnitsFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file of units"),
        help_text=gettext_lazy(
            "Columns: code, name, level, parent_code; optional name_en, name_hi. A parent is "
            "this unit, a unit below it, or another row of the file."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv"}),
        error_messages={
            "required": gettext_lazy("Choose a file to check."),
            "empty": gettext_lazy("The file is empty."),
        },
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UNITS_FILE_BYTES:
            raise forms.ValidationError(
                _(
                    "The file is %(size)s MB; a file of units can be at most %(limit)s MB. "
                    "Split it into smaller files."
                )
                % {"size": f"{upload.size / 1024 / 1024:.1f}", "limit": self.max_mb},
                code="too_big",
            )
        return upload

    @property
    def max_mb(self) -> int:
        return MAX_UNITS_FILE_BYTES // (1024 * 1024)
