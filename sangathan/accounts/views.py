"""Login pages: phone + OTP for everyone, phone + password for administrators."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from sangathan.accounts.actions import OtpError, do_request_otp, do_verify_otp
from sangathan.accounts.audit import audit, client_ip
from sangathan.accounts.forms import CodeForm, PhoneForm, PhonePasswordForm
from sangathan.accounts.middleware import public
from sangathan.accounts.models import AuditLog

SESSION_PHONE = "sangathan_otp_phone"
SESSION_NEXT = "sangathan_login_next"


def _safe_next(request, url: str | None) -> str | None:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def _mask(phone: str) -> str:
    return phone[:3] + "•" * max(len(phone) - 7, 0) + phone[-4:]


@public
@never_cache
@require_http_methods(["GET", "POST"])
def login(request):
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            phone = do_request_otp(form.cleaned_data["phone"], client_ip(request))
        except OtpError as e:
            form.add_error("phone", e.message)
        else:
            request.session[SESSION_PHONE] = phone
            request.session[SESSION_NEXT] = next_url
            return redirect("accounts:verify")
    return render(request, "accounts/login.html", {"form": form, "next": next_url or ""})


@public
@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def verify(request):
    phone = request.session.get(SESSION_PHONE)
    if not phone:
        messages.error(request, _("Please enter your mobile number first."))
        return redirect("accounts:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = do_verify_otp(phone, form.cleaned_data["code"], client_ip(request))
        except OtpError as e:
            form.add_error("code", e.message)
        else:
            next_url = _safe_next(request, request.session.get(SESSION_NEXT))
            auth_login(request, user)
            request.session.pop(SESSION_PHONE, None)
            request.session.pop(SESSION_NEXT, None)
            return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    return render(
        request,
        "accounts/verify.html",
        {"form": form, "phone": phone, "masked_phone": _mask(phone)},
    )


class PasswordLoginView(auth_views.LoginView):
    template_name = "accounts/password_login.html"
    form_class = PhonePasswordForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        audit("login", request=self.request, method="password")
        return response

    def form_invalid(self, form):
        phone = str(form.cleaned_data.get("username") or form.data.get("username", ""))[:32]
        AuditLog.objects.create(
            action="login_failed",
            ip=client_ip(self.request),
            detail={"phone": phone, "method": "password"},
        )
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            audit("logout", request=request)
        return super().post(request, *args, **kwargs)


password_login = public(PasswordLoginView.as_view())
logout = public(LogoutView.as_view())
