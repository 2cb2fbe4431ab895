"""A person's data held by the WhatsApp groups registry, for their export and erasure
(wired into ``sangathan.people.actions``)."""

from __future__ import annotations

KEPT = {}


def _iso(value):
    return value.isoformat() if value is not None else None


def export(person) -> dict:
    from sangathan.groups.models import ForwardTask, GroupAdmin

    return {
        "whatsapp_groups_you_administer": [
            {"group": a.group.name, "unit": a.group.unit.code, "since": _iso(a.added_at)}
            for a in GroupAdmin.objects.filter(person=person)
            .select_related("group", "group__unit")
            .order_by("added_at", "pk")
        ],
        "forward_tasks": [
            {
                "group": f.forward.group.name,
                "broadcast": f.forward.broadcast.code,
                "at": _iso(f.created_at),
                "reminded_at": _iso(f.reminded_at),
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
