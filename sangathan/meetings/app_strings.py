"""The Meetings screen's messages for the member app's JS, translated here (the shell puts
them into the page with the app's other strings)."""

from django.utils.translation import gettext as _


def meeting_strings() -> dict[str, str]:
    return {
        "meetingsEmpty": _("No meeting invitations right now."),
        "actionsEmpty": _("No action items for you."),
        "venue": _("Venue"),
        "chair": _("Chair: %(name)s"),
        "joinOnline": _("Join online"),
        "agendaCount": _("Agenda: %(count)s"),
        "minutes": _("%(count)s min"),
        "rsvpQuestion": _("Will you come?"),
        "rsvpYes": _("Yes"),
        "rsvpMaybe": _("Maybe"),
        "rsvpNo": _("No"),
        "rsvpSaved": _("Your answer is saved."),
        "present": _("You are checked in"),
        "checkinCode": _("Check-in code from the screen"),
        "checkIn": _("Check in"),
        "scan": _("Scan"),
        "checkedIn": _("Checked in. Welcome!"),
        "checkinBadCode": _("The check-in code has 6 digits."),
        "cameraBlocked": _("The camera is not available. Type the code instead."),
        "addToCalendar": _("Add to my calendar"),
        "overdue": _("Overdue"),
    }
