from django.contrib import admin

from sangathan.drives.models import (
    Drive,
    DriveLocation,
    DriveTarget,
    FunnelDay,
    Institution,
    Recruiter,
    SignUp,
)


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "kind", "district", "unit", "code")
    list_filter = ("kind",)
    search_fields = ("name", "name_en", "code")
    raw_id_fields = ("district", "unit")


class RecruiterInline(admin.TabularInline):
    model = Recruiter
    raw_id_fields = ("person",)
    extra = 0


class LocationInline(admin.TabularInline):
    model = DriveLocation
    raw_id_fields = ("institution",)
    extra = 0


class TargetInline(admin.TabularInline):
    model = DriveTarget
    raw_id_fields = ("unit", "institution")
    extra = 0


@admin.register(Drive)
class DriveAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "unit", "starts", "ends", "is_open")
    list_filter = ("kind", "is_open", "verified_enrollers")
    search_fields = ("name", "name_hi", "code")
    raw_id_fields = ("unit", "created_by")
    filter_horizontal = ("institutions",)
    inlines = [RecruiterInline, LocationInline, TargetInline]


@admin.register(SignUp)
class SignUpAdmin(admin.ModelAdmin):
    list_display = ("created_at", "drive", "code", "status", "counted", "via")
    list_filter = ("status", "counted", "via")
    search_fields = ("code",)
    raw_id_fields = (
        "drive",
        "recruiter",
        "location",
        "referrer",
        "person",
        "institution",
        "home_unit",
        "reviewed_by",
    )
    readonly_fields = ("phone_key", "device", "ip", "flags")


@admin.register(FunnelDay)
class FunnelDayAdmin(admin.ModelAdmin):
    list_display = ("day", "code", "drive", "visits", "otp_sent", "verified", "joined")
    search_fields = ("code",)
    raw_id_fields = ("drive",)
