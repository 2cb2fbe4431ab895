"""iCalendar (RFC 5545) text for meetings: one event for an invitation's .ics, many for a
user's feed. Written by hand: a VEVENT needs a dozen lines, not a library."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone


def _escape(text: str) -> str:
    """TEXT values (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines escaped."""
    return (
        (text or "")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (§3.1): CRLF and one space, never inside a
    UTF-8 character (Devanagari is 3 octets a letter)."""
    out, current = [], b""
    for ch in line:
        b = ch.encode()
        limit = 75 if not out else 74  # a continuation line starts with the space
        if len(current) + len(b) > limit:
            out.append(current.decode())
            current = b""
        current += b
    out.append(current.decode())
    return "\r\n ".join(out)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _domain() -> str:
    sender = getattr(settings, "DEFAULT_FROM_EMAIL", "") or ""
    return sender.rpartition("@")[2].strip("> ") or "sangathan.local"


def event_lines(meeting, *, url: str = "", now: datetime | None = None) -> list[str]:
    location = meeting.venue or meeting.online_link
    lines = [
        "BEGIN:VEVENT",
        f"UID:meeting-{meeting.code}@{_domain()}",
        f"DTSTAMP:{_utc(now or timezone.now())}",
        f"DTSTART:{_utc(meeting.starts_at)}",
        f"DTEND:{_utc(meeting.ends_at)}",
        f"SUMMARY:{_escape(meeting.display_title)}",
    ]
    if location:
        lines.append(f"LOCATION:{_escape(location)}")
    link = meeting.online_link or url
    if link:
        lines.append(f"URL:{link}")
    agenda = [f"{i}. {a.title}" for i, a in enumerate(meeting.agenda.all(), 1)]
    if agenda:
        lines.append(f"DESCRIPTION:{_escape(chr(10).join(agenda))}")
    if meeting.chair_id:
        chair = meeting.chair
        cn = _escape(chair.name).replace('"', "")
        address = f"mailto:{chair.email}" if chair.email else f"tel:{chair.phone}"
        lines.append(f'ORGANIZER;CN="{cn}":{address}')
    status = "CANCELLED" if meeting.status == "cancelled" else "CONFIRMED"
    lines += [f"STATUS:{status}", f"SEQUENCE:{_sequence(meeting)}", "END:VEVENT"]
    return lines


def _sequence(meeting) -> int:
    # Later changes must carry a higher SEQUENCE for calendars to take them; a cancelled
    # meeting is one change more than a scheduled one.
    return 1 if meeting.status == "cancelled" else 0


def calendar(meetings, *, name: str = "", method: str = "", url_for=None) -> str:
    """A VCALENDAR with one VEVENT per meeting, CRLF line ends, folded."""
    now = timezone.now()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Sangathan//Meetings//EN",
        "CALSCALE:GREGORIAN",
    ]
    if method:
        lines.append(f"METHOD:{method}")
    if name:
        lines.append(f"X-WR-CALNAME:{_escape(name)}")
    for meeting in meetings:
        lines += event_lines(meeting, url=url_for(meeting) if url_for else "", now=now)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def parse(text: str) -> list[dict]:
    """The events of an iCalendar text as dicts of property → value (unfolded, unescaped):
    enough to read our own output back in tests and in the demo check."""
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
    events, current = [], None
    for line in unfolded.split("\r\n"):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT" and current is not None:
            events.append(current)
            current = None
        elif current is not None and ":" in line:
            key, _sep, value = line.partition(":")
            if key.startswith("ORGANIZER"):
                value = line[line.index(":", line.index('"', line.index('"') + 1)) + 1 :]
                key = "ORGANIZER"
            current[key.split(";")[0]] = (
                value.replace("\\n", "\n")
                .replace("\\,", ",")
                .replace("\\;", ";")
                .replace("\\\\", "\\")
            )
    return events
