"""A person's data held by meetings, for their export and erasure (listed in
``sangathan.people.personal_data``)."""

from __future__ import annotations

from sangathan.people.personal_data import iso

KEPT = {
    "meeting_invitations": "kept with the anonymised record: a meeting's invited, answered "
    "and attended counts stay true",
}


def export(person) -> dict:
    from sangathan.meetings.models import ActionItem, Invitation

    return {
        "meeting_invitations": [
            {
                "meeting": i.meeting.display_title,
                "starts_at": iso(i.meeting.starts_at),
                "invited_at": iso(i.invited_at),
                "told_by": i.notified,
                "rsvp": i.rsvp,
                "attended_at": iso(i.attended_at),
                "checked_in_by": i.checkin_method,
            }
            for i in Invitation.objects.filter(person=person)
            .select_related("meeting")
            .order_by("invited_at", "pk")
        ],
        "action_items_assigned_to_you": [
            {
                "meeting": a.meeting.display_title,
                "action": a.title,
                "due": iso(a.due),
                "status": a.status,
            }
            for a in ActionItem.objects.filter(person=person)
            .select_related("meeting")
            .order_by("pk")
        ],
    }


def erase(person) -> dict:
    """The person is no longer named among any meeting's extra invitees; invitations already
    made stay with the anonymised record (see ``KEPT``)."""
    from sangathan.meetings.models import Meeting

    return {
        "named_in_meetings": Meeting.extra_invitees.through.objects.filter(person=person).delete()[
            0
        ]
    }
