"""Django admin for the tree. Units are made by the import, the seed and the staff UI, which
keep paths and counts right, so here they can be looked at and renamed but not added, moved
or deleted. The tree holds 100k+ rows: no full counts, no giant select boxes."""

from django.contrib import admin

from sangathan.org.models import Level, OrgUnit, PollingLocation, UnitMove
from sangathan.org.scoping import jurisdiction_for


class JurisdictionScopedAdmin(admin.ModelAdmin):
    """Staff who are not superusers see only rows inside their jurisdiction."""

    scope_path_field = "path"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return jurisdiction_for(request.user).filter(qs, self.scope_path_field)


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ("depth", "slug", "name_en", "name_hi")
    ordering = ("depth",)


@admin.register(OrgUnit)
class OrgUnitAdmin(JurisdictionScopedAdmin):
    list_display = (
        "code",
        "name",
        "name_en",
        "level",
        "people_count",
        "seats_filled",
        "seats_total",
    )
    list_filter = ("level",)
    list_select_related = ("level",)
    search_fields = ("^code", "^name_en", "^name")
    ordering = ("path",)
    raw_id_fields = ("polling_location",)
    readonly_fields = (
        "path",
        "depth",
        "numchild",
        "level",
        "people_count",
        "seats_total",
        "seats_filled",
        "created_at",
    )
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PollingLocation)
class PollingLocationAdmin(JurisdictionScopedAdmin):
    scope_path_field = "assembly__path"
    list_display = ("name", "locality", "assembly")
    list_select_related = ("assembly",)
    search_fields = ("name", "locality", "^assembly__code")
    raw_id_fields = ("assembly",)
    show_full_result_count = False


@admin.register(UnitMove)
class UnitMoveAdmin(JurisdictionScopedAdmin):
    scope_path_field = "unit__path"
    list_display = ("moved_at", "unit", "old_path", "new_path", "moved_by", "reason")
    list_select_related = ("unit", "moved_by")
    search_fields = ("^unit__code",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
