from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from sangathan.accounts.models import ApiToken, AuditLog, User
from sangathan.accounts.otp import InvalidPhone, normalise_phone


class PhoneUserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("phone", "name")

    def clean_phone(self) -> str:
        try:
            return normalise_phone(self.cleaned_data["phone"])
        except InvalidPhone as e:
            raise forms.ValidationError(str(e)) from None


class PhoneUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = PhoneUserChangeForm
    add_form = PhoneUserCreationForm
    list_display = (
        "phone",
        "name",
        "person",
        "is_staff",
        "is_superuser",
        "is_active",
        "last_login",
    )
    list_filter = ("is_staff", "is_superuser", "is_active")
    list_select_related = ("person",)
    search_fields = ("^phone", "name")
    ordering = ("phone",)
    raw_id_fields = ("person",)
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ("groups", "user_permissions")
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (_("Person"), {"fields": ("name", "person", "language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("phone", "name", "password1", "password2")}),
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: looked at, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "actor", "object_type", "object_id", "ip")
    list_filter = ("action",)
    list_select_related = ("actor",)
    search_fields = ("=object_id", "^actor__phone", "=ip")
    date_hierarchy = "at"
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be looked at and revoked (deleted), never made here: only their hash is
    stored, so one made here could never be shown."""

    list_display = ("user", "created_at", "expires_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("^user__phone",)
    raw_id_fields = ("user",)
    readonly_fields = ("user", "key_hash", "created_at", "expires_at", "last_used_at")

    def has_add_permission(self, request):
        return False
