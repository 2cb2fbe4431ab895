from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from sangathan.accounts.otp import InvalidPhone, normalise_phone


def _clean_phone(raw: str) -> str:
    try:
        return normalise_phone(raw)
    except InvalidPhone as e:
        raise ValidationError(str(e), code="invalid_phone") from None


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        error_messages={"required": _("Enter your mobile number.")},
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel",
                "autofocus": True,
                "placeholder": "98765 43210",
            }
        ),
    )

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data["phone"])


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"),
        max_length=6,
        min_length=6,
        error_messages={
            "required": _("Enter the 6-digit code from the SMS."),
            "min_length": _("The code has 6 digits. Please check and type it again."),
            "max_length": _("The code has 6 digits. Please check and type it again."),
        },
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not (code.isascii() and code.isdigit()):
            raise ValidationError(_("The code has only digits (0–9)."), code="invalid_code")
        return code


class PhonePasswordForm(AuthenticationForm):
    """Password login for staff: the username is the phone, typed in any common format."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The mobile number or password is wrong."),
        "not_staff": _("Password login is for administrators. Please log in with an OTP."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Mobile number")
        self.fields["username"].widget.attrs.update({"type": "tel", "autocomplete": "tel"})

    def clean(self):
        raw = self.cleaned_data.get("username")
        if raw:
            try:
                self.cleaned_data["username"] = normalise_phone(raw)
            except InvalidPhone as e:
                raise ValidationError(str(e), code="invalid_phone") from None
        return super().clean()

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise ValidationError(self.error_messages["not_staff"], code="not_staff")
