"""Calendar invitations (.ics, RFC 5545/5546) for review meetings, built with ``icalendar``.

An invitation is ``METHOD:REQUEST`` with one event whose attendees are asked to reply
(``RSVP=TRUE``). A meeting kept in a zone (a calendar rule's ``zone``) is written in
local time with that zone (``DTSTART;TZID=Europe/London:20260330T100000``) and the zone's
definition (``VTIMEZONE``, from the pinned database of :mod:`accord.logic.zones`, for the
years around the meeting), so a calendar shows "10:00 London" rather than an instant;
one without a zone is written in UTC (``...Z``).

Updates: the same ``uid`` with a higher ``sequence`` replaces the event in people's
calendars (a moved review), instead of adding a second one; ``cancel=True`` writes
``METHOD:CANCEL`` and ``STATUS:CANCELLED``, which removes it. So the uid must be derived
from what the meeting is (workflow id, review kind, occurrence number), never random.

Pure: the same arguments give the same bytes. ``stamp`` (DTSTAMP, when this version was
issued) defaults to now; workflow code passes ``workflow.now()``, and calls this inside
``workflow.unsafe.imports_passed_through()`` (``icalendar`` imports lazily while writing).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from accord.logic import zones
from accord.models import Attachment

PRODID = "-//Accord//Partnership governance//EN"
CONTENT_TYPE = "text/calendar; method=REQUEST; charset=UTF-8"
CANCEL_CONTENT_TYPE = "text/calendar; method=CANCEL; charset=UTF-8"
# The zone definition covers this long around the meeting (its rules for those years):
# enough for any client, small enough for the email.
_ZONE_YEARS = timedelta(days=366)


# RFC 5545 allows no control character but HTAB in a TEXT value or a parameter (line breaks
# are written as the escape "\n", which icalendar does). icalendar escapes "\", ";", ","
# and line breaks in values and uses RFC 6868's ^-escapes in parameters, but writes other
# control characters (NUL, ESC, DEL, C1) as they are: a strict client refuses such a file.
_LINE_BREAK = re.compile(r"\r\n?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _text(value: str) -> str:
    """Text from people and definitions, as RFC 5545 can carry it: line breaks kept, other
    control characters shown as U+FFFD."""
    return _CONTROL.sub("\ufffd", _LINE_BREAK.sub("\n", value))


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _address(name: str, email: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{_text(email)}")
    if name:
        address.params["CN"] = vText(_text(name))
    address.params.update(params)
    return address


def invitation(
    uid: str,
    title: str,
    start: datetime,
    duration: timedelta,
    organizer: tuple[str, str],
    attendees: list[tuple[str, str]],
    agenda: str,
    location: str = "",
    sequence: int = 0,
    *,
    stamp: datetime | None = None,
    zone: str | None = None,
    cancel: bool = False,
) -> bytes:
    """An iCalendar invitation: ``organizer`` and ``attendees`` are (name, email) pairs;
    ``zone`` (an IANA name) the zone the meeting is kept in; ``cancel`` to call it off."""
    if not uid.strip():
        raise ValueError("an invitation needs a stable uid (the same for every update of one meeting)")
    if duration <= timedelta(0):
        raise ValueError(f"a meeting lasts longer than zero, not {duration}")
    if sequence < 0:
        raise ValueError(f"sequence counts updates from 0, not {sequence}")
    if not attendees:
        raise ValueError("an invitation needs at least one attendee")
    start = _utc(start, "start")
    # Elapsed time, computed in UTC: local-time arithmetic would make a meeting across a clock change an hour off.
    end = start + duration
    stamp = _utc(stamp, "stamp") if stamp is not None else datetime.now(UTC)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    if zone is not None and zone != "UTC":
        tz = zones.zone(zone)  # the pinned database, never the machine's (ValueError if unknown)
        calendar.add_component(Timezone.from_tzinfo(
            tz, tzid=zone, first_date=(start - _ZONE_YEARS).date(), last_date=(start + _ZONE_YEARS).date()))
        start, end = start.astimezone(tz), end.astimezone(tz)  # written as local times with TZID=zone

    event = Event()
    event.add("uid", _text(uid))
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.replace(microsecond=0))
    event.add("dtstart", start.replace(microsecond=0))
    event.add("dtend", end.replace(microsecond=0))
    event.add("summary", _text(title))
    event.add("description", _text(agenda))
    if location:
        event.add("location", _text(location))
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer_name, organizer_email = organizer
    event.add("organizer", _address(organizer_name, organizer_email))
    for name, email in attendees:
        event.add(
            "attendee",
            _address(name, email, CUTYPE="INDIVIDUAL", ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="TRUE"),
        )
    calendar.add_component(event)
    return calendar.to_ical()


def attachment(ics: bytes, filename: str = "invite.ics", cancel: bool = False) -> Attachment:
    """The invitation as an email attachment, typed so that mail clients offer to accept it
    (or, for a cancellation, to remove the event)."""
    return Attachment.of(filename, CANCEL_CONTENT_TYPE if cancel else CONTENT_TYPE, ics)
