"""The one place that writes dates and times for people: in the reader's zone, with the zone named.

``format_instant(t, "Europe/London")`` is ``"Monday 2 March 2026, 10:00 GMT (Europe/London)"``;
emails, pages, the report and the CLI use it so that a person always sees their own local
time and knows which zone it is in. The text does not depend on the machine: day and
month names are English and written here (``strftime`` would follow the process locale),
and zones come from the pinned database (:mod:`accord.logic.zones`), never the system's.

The zone's abbreviation tells the two 01:30s of a fall-back night apart (``01:30 BST``,
then ``01:30 GMT``); where the database has no letters for a zone (Asia/Kathmandu's
``+0545``) the offset is written ``UTC+05:45``. Times are shown to the minute (seconds
dropped, never rounded up: a deadline is never shown later than it is).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from accord.logic import zones
from accord.logic.business_days import as_utc

__all__ = ["format_day", "format_instant", "reader_zone"]

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def format_day(day: date) -> str:
    """``"Monday 2 March 2026"``; a datetime is written as its own date (convert it first)."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def format_instant(moment: datetime, zone: str | None = None) -> str:
    """``moment`` in the reader's ``zone`` (an IANA name; None or "UTC": UTC), the zone named.

    ``"Monday 2 March 2026, 10:00 GMT (Europe/London)"``, ``"Monday 2 March 2026, 10:00 UTC"``.
    """
    moment = as_utc(moment, "the instant to show")
    if zone is None or zone == "UTC":
        return f"{format_day(moment.date())}, {moment:%H:%M} UTC"
    here = moment.astimezone(zones.zone(zone))
    return f"{format_day(here.date())}, {here:%H:%M} {_abbreviation(here)} ({zone})"


def _abbreviation(here: datetime) -> str:
    name = here.tzname() or ""
    if name[:1].isalpha():
        return name
    # The database writes zones without letters as "+0545" or "-03": say what that is.
    minutes = int((here.utcoffset() or timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def reader_zone(claim: object) -> str | None:
    """A reader's zone from outside (an identity provider's ``zoneinfo`` claim, a form):
    the name if the database has it, else None (show UTC) rather than an error page."""
    return claim if isinstance(claim, str) and zones.problem(claim) is None else None
