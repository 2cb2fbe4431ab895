from django.contrib import admin

from sangathan.meetings.models import ActionItem, AgendaItem, Invitation, InviteRule, Meeting


class AgendaInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    raw_id_fields = ["presenter"]


class RuleInline(admin.TabularInline):
    model = InviteRule
    extra = 0
    raw_id_fields = ["scope_unit"]


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "host_unit", "starts_at", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "title_hi", "code"]
    raw_id_fields = ["host_unit", "chair", "follows", "extra_invitees"]
    readonly_fields = ["code", "invitations_sent_at", "created_by"]
    inlines = [AgendaInline, RuleInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["meeting", "person", "rsvp", "attended_at", "notified"]
    list_filter = ["rsvp"]
    raw_id_fields = ["meeting", "person", "unit", "task"]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "meeting", "due", "status", "escalated_at"]
    list_filter = ["status"]
    search_fields = ["title"]
    raw_id_fields = [
        "meeting",
        "agenda_item",
        "person",
        "unit",
        "task",
        "escalation_task",
    ]
