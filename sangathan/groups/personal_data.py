"""A person's data held by the WhatsApp groups registry, for their export and erasure
(listed in ``sangathan.people.personal_data``)."""

from __future__ import annotations

from sangathan.people.personal_data import iso

KEPT = {}


def export(person) -> dict:
    from sangathan.groups.models import ForwardTask, GroupAdmin

    return {
        "whatsapp_groups_you_administer": [
            {"group": a.group.name, "unit": a.group.unit.code, "since": iso(a.added_at)}
            for a in GroupAdmin.objects.filter(person=person)
            .select_related("group", "group__unit")
            .order_by("added_at", "pk")
        ],
        "forward_tasks": [
            {
                "group": f.forward.group.name,
                "broadcast": f.forward.broadcast.code,
                "at": iso(f.created_at),
                "reminded_at": iso(f.reminded_at),
            }
            for f in ForwardTask.objects.filter(person=person)
            .select_related("forward__group", "forward__broadcast")
            .order_by("pk")
        ],
    }


def erase(person) -> dict:
    """An erased person administers no group (their forward tasks go with their tasks)."""
    from sangathan.groups.models import GroupAdmin

    return {"group_admin_roles": GroupAdmin.objects.filter(person=person).delete()[0]}
