"""Django admin for broadcasts: a place to look, not to write. Broadcasts, acknowledgements
and poll dates are written through the staff pages' actions, which check the rules (approval,
silence window, jurisdiction) and audit them; receipts and reach counters are kept in bulk by
the fan-out and the feed. So everything here is read-only, scoped to the jurisdiction."""

from django.contrib import admin
from django.db import models

from sangathan.broadcasts.models import (
    Acknowledgement,
    Broadcast,
    FeedRead,
    PollDate,
    ReachCounter,
)
from sangathan.org.admin import JurisdictionScopedAdmin


class ReadOnlyAdmin(JurisdictionScopedAdmin):
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Broadcast)
class BroadcastAdmin(ReadOnlyAdmin):
    scope_path_field = "audience_unit__path"
    list_display = (
        "code",
        "__str__",
        "audience_unit",
        "status",
        "purpose",
        "audience_estimate",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "purpose", "topic", "needs_approval")
    list_select_related = ("audience_unit",)
    search_fields = ("=code", "title_hi", "title_en", "^audience_unit__code")
    raw_id_fields = ("author", "origin_unit", "audience_unit", "approved_by", "parent")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdmin):
    scope_path_field = "unit_path"
    list_display = ("broadcast", "unit", "person", "acknowledged_at")
    list_select_related = ("broadcast", "unit", "person")
    search_fields = ("=broadcast__code", "^unit__code")
    raw_id_fields = ("broadcast", "unit", "person")


@admin.register(FeedRead)
class FeedReadAdmin(ReadOnlyAdmin):
    scope_path_field = "unit_path"
    list_display = ("broadcast", "person", "read_at", "shared_at")
    list_select_related = ("broadcast", "person")
    search_fields = ("=broadcast__code", "^person__phone")
    raw_id_fields = ("broadcast", "person")


@admin.register(ReachCounter)
class ReachCounterAdmin(ReadOnlyAdmin):
    scope_path_field = "unit_path"
    list_display = (
        "broadcast",
        "unit",
        "channel",
        "audience",
        "sent",
        "delivered",
        "read",
        "shared",
        "failed",
        "suppressed",
    )
    list_filter = ("channel", "depth")
    list_select_related = ("broadcast", "unit")
    search_fields = ("=broadcast__code", "^unit__code")
    raw_id_fields = ("broadcast", "unit")


@admin.register(PollDate)
class PollDateAdmin(ReadOnlyAdmin):
    scope_path_field = "unit__path"
    list_display = ("unit", "poll_closes_at", "note", "created_by")
    list_select_related = ("unit", "created_by")
    search_fields = ("^unit__code", "note")
    raw_id_fields = ("unit", "created_by")
    ordering = ("-poll_closes_at",)
