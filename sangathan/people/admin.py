"""Django admin for people. Appointments and consents are records (who appointed whom, who
agreed to what), written through the staff UI's actions, which audit them and keep the unit
counts; here they are read-only. Person edits keep the counts right in ``save_model``."""

from django import forms
from django.contrib import admin

from sangathan.org.admin import JurisdictionScopedAdmin
from sangathan.org.counts import bump, recount
from sangathan.people.models import Appointment, Consent, Person, Position, Tag


class ReadOnlyMixin:
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PersonForm(forms.ModelForm):
    """The admin fills in ``Meta`` (model and fields)."""

    def clean_phone(self) -> str:
        from sangathan.people.phones import PhoneError, normalise_phone

        try:
            return normalise_phone(self.cleaned_data["phone"])
        except PhoneError as e:
            raise forms.ValidationError(str(e)) from None


@admin.register(Person)
class PersonAdmin(JurisdictionScopedAdmin):
    form = PersonForm
    scope_path_field = "unit__path"
    list_display = ("name", "name_latin", "phone", "unit", "app_status")
    list_filter = ("app_status", "gender")
    list_select_related = ("unit",)
    search_fields = ("^phone", "^name", "^name_latin")
    raw_id_fields = ("unit", "referred_by")
    readonly_fields = ("name_key", "referral_code", "created_at", "updated_at")
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        old_unit = Person.objects.get(pk=obj.pk).unit if change else None
        super().save_model(request, obj, form, change)
        if old_unit is None:
            bump(obj.unit.path, people=1)
        elif old_unit.pk != obj.unit_id:
            bump(old_unit.path, people=-1)
            bump(obj.unit.path, people=1)

    def delete_model(self, request, obj):
        path = obj.unit.path
        super().delete_model(request, obj)
        bump(path, people=-1)

    def delete_queryset(self, request, queryset):
        paths = list(queryset.values_list("unit__path", flat=True))
        super().delete_queryset(request, queryset)
        for path in paths:
            bump(path, people=-1)


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ("wing", "title_en", "title_hi", "level", "seats")
    list_filter = ("level", "wing")
    list_select_related = ("level",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or {"seats", "level"} & set(form.changed_data):
            recount()  # seats exist at every unit of the level; rare, so a full recount


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyMixin, JurisdictionScopedAdmin):
    scope_path_field = "unit__path"
    list_display = ("person", "position", "unit", "starts", "ends")
    list_select_related = ("person", "position", "unit")
    search_fields = ("^person__phone", "^unit__code")
    raw_id_fields = ("person", "unit", "appointed_by")
    show_full_result_count = False


@admin.register(Consent)
class ConsentAdmin(ReadOnlyMixin, JurisdictionScopedAdmin):
    scope_path_field = "person__unit__path"
    list_display = ("person", "channel", "purpose", "granted_at", "withdrawn_at")
    list_filter = ("channel", "purpose")
    list_select_related = ("person",)
    search_fields = ("^person__phone",)
    raw_id_fields = ("person",)
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)
