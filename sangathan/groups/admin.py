from django.contrib import admin

from sangathan.groups.models import (
    ExpansionTarget,
    ForwardTask,
    Group,
    GroupAdmin,
    GroupForward,
    InviteLink,
    MemberCount,
)


class GroupAdminInline(admin.TabularInline):
    model = GroupAdmin
    raw_id_fields = ("person", "added_by")
    extra = 0


class MemberCountInline(admin.TabularInline):
    model = MemberCount
    raw_id_fields = ("recorded_by",)
    extra = 0


class InviteLinkInline(admin.TabularInline):
    model = InviteLink
    raw_id_fields = ("set_by",)
    extra = 0


@admin.register(Group)
class GroupModelAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "purpose", "member_count", "last_verified_on", "status")
    list_filter = ("purpose", "status")
    search_fields = ("name", "code", "unit__code")
    raw_id_fields = ("unit", "created_by")
    inlines = [GroupAdminInline, MemberCountInline, InviteLinkInline]


@admin.register(ExpansionTarget)
class ExpansionTargetAdmin(admin.ModelAdmin):
    list_display = ("scope_unit", "level", "purpose", "per_unit", "due", "active")
    raw_id_fields = ("scope_unit", "created_by")


class ForwardTaskInline(admin.TabularInline):
    model = ForwardTask
    raw_id_fields = ("task", "person")
    extra = 0


@admin.register(GroupForward)
class GroupForwardAdmin(admin.ModelAdmin):
    list_display = ("broadcast", "group", "created_at", "staff_confirmed_at")
    raw_id_fields = ("broadcast", "group", "staff_confirmed_by")
    inlines = [ForwardTaskInline]
