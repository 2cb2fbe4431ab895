"""A person's data held by the drives, for their export and their erasure (listed in
``sangathan.people.personal_data``)."""

from __future__ import annotations

from django.db.models import Q

from sangathan.people.personal_data import iso

KEPT = {
    "drive_sign_ups": "kept without the IP address and the device: the drives' funnels and "
    "leaderboards count them; the phone is there only as a keyed hash, which cannot be turned "
    "back into the number",
    "recruiter_codes": "kept for the drives' history, switched off: the erased person's code "
    "brings in nobody",
}


def export(person) -> dict:
    from sangathan.drives.models import Recruiter, SignUp

    return {
        "drive_sign_ups": [
            {
                "drive": s.drive.name if s.drive_id else None,
                "drive_hi": s.drive.name_hi if s.drive_id else None,
                "code": s.code,
                "institution": s.institution.name if s.institution_id else None,
                "home_unit": s.home_unit.code if s.home_unit_id else None,
                "status": s.status,
                "via": s.via,
                "at": iso(s.created_at),
                "ip": s.ip,
                "device": s.device,
            }
            for s in SignUp.objects.filter(person=person)
            .select_related("drive", "institution", "home_unit")
            .order_by("created_at", "pk")
        ],
        "recruiting_for": [
            {"drive": r.drive.name, "code": r.code, "active": r.active, "since": iso(r.added_at)}
            for r in Recruiter.objects.filter(person=person).select_related("drive")
        ],
    }


def erase(person) -> dict:
    from sangathan.drives.models import Recruiter, SignUp

    cleared = (
        SignUp.objects.filter(person=person)
        .filter(~Q(device="") | Q(ip__isnull=False))
        .update(ip=None, device="")
    )
    return {
        "sign_ups_ip_and_device_removed": cleared,
        "recruiter_codes_switched_off": Recruiter.objects.filter(person=person, active=True).update(
            active=False
        ),
    }
