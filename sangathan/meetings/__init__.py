"""Meetings: agenda, invitees by rule, RSVP, attendance by QR code, minutes and action items,
an iCal feed."""
