"""Forms for the people pages: the import upload and the export query."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sangathan.people.importing import ImportFileError, check_size


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel (.xlsx) file"),
        help_text=_(
            "Columns: name, phone, unit_code; optional gender, birth_year, institution, tags, "
            "consent. Hindi headers (नाम, मोबाइल, बूथ…) work too."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt,.tsv"}),
        error_messages={
            "required": _("Choose a file to import."),
            "empty": _("The file is empty."),
        },
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            check_size(upload.size)
        except ImportFileError as exc:
            raise forms.ValidationError(str(exc.reason), code="too_big") from None
        return upload

    @property
    def max_mb(self) -> int:
        return settings.SANGATHAN_MAX_UPLOAD_BYTES // (1024 * 1024)


class ExportForm(forms.Form):
    unit = forms.CharField(label=_("unit code"), required=False, max_length=64)
    format = forms.ChoiceField(
        label=_("format"),
        choices=[("csv", "CSV"), ("xlsx", "Excel (.xlsx)")],
        required=False,
        error_messages={
            "invalid_choice": _("Unknown format “%(value)s”: choose csv or xlsx."),
        },
    )

    def clean_format(self):
        return self.cleaned_data["format"] or "csv"
