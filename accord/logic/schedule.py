"""When periodic reviews happen: calendar occurrences, moved off weekends and public holidays.

A cadence counts from a start (launch): occurrence n is ``start + n * every``, with
calendar months added first, so a monthly review launched on 31 January is on 28/29
February, 31 March, 30 April ... Each occurrence is computed from the start, never from
the previous one: stepping would drift to the 28th for good after the first February.

With a :class:`~accord.logic.business_days.BusinessCalendar`, an occurrence that falls on
a weekend or a public holiday of any party moves forward to the next day that is a
business day for all of them, keeping its time of day. Datetimes are UTC in and out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from accord.logic.business_days import (
    MAX_SHIFT_DAYS,
    BusinessCalendar,
    JointCalendar,
    as_utc,
)
from definitions.durations import Duration
from definitions.schema import Party

__all__ = ["BusinessCalendar", "calendar_for", "next_occurrence", "occurrence"]


def calendar_for(parties: Iterable[Party]) -> BusinessCalendar:
    """The business days of all the parties: weekends and each party's public holidays
    (a party without ``holidays`` adds only the Saturday and Sunday weekend)."""
    return BusinessCalendar([p.holidays for p in parties if p.holidays])


# --- occurrences ------------------------------------------------------------------


def occurrence(start: datetime, every: Duration, n: int) -> datetime:
    """The n-th occurrence (n >= 1): ``start + n * every``, months first, counted from ``start``."""
    if n < 1:
        raise ValueError(f"occurrences are numbered from 1, got {n}")
    if every.is_zero:
        raise ValueError("a cadence must be longer than zero")
    return Duration(months=n * every.months, seconds=n * every.seconds).after(as_utc(start, "start"))


def _first_after(start: datetime, every: Duration, after: datetime) -> int:
    """The smallest n with ``occurrence(n) > after`` (occurrences strictly increase with n)."""
    if occurrence(start, every, 1) > after:
        return 1
    low, high = 1, 2  # occurrence(low) <= after < occurrence(high), once high is found
    while occurrence(start, every, high) <= after:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if occurrence(start, every, middle) <= after:
            low = middle
        else:
            high = middle
    return high


def next_occurrence(
    start: datetime, every: Duration, after: datetime, calendar: BusinessCalendar | JointCalendar | None = None
) -> tuple[int, datetime]:
    """The first occurrence strictly after ``after``, and its number n.

    With a calendar, "after" is judged on the moved (actual) time: a review due on
    25 December and held on 29 December is still ahead on 27 December, so a workflow
    that restarts in between does not skip it. When several occurrences move onto the
    same day (a daily cadence over a weekend), they are one review, numbered by the first.
    Occurrences are taken in order, so n and the time both increase from one call to the
    next (with a sub-day cadence such as 36h, one moved onto a later time than the next
    one's is skipped, like the merged ones).
    """
    start, after = as_utc(start, "start"), as_utc(after, "after")
    if calendar is None:
        n = _first_after(start, every, after)
        return n, occurrence(start, every, n)
    # Moving never goes back and never goes further than MAX_SHIFT_DAYS: an occurrence
    # nominally up to that long before `after` may still be moved past it.
    n = _first_after(start, every, after - timedelta(days=MAX_SHIFT_DAYS))
    while (moved := calendar.next_business_day(occurrence(start, every, n))) <= after:
        n += 1
    return n, moved
