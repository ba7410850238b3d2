"""Review dates from calendar rules: "Mondays at 10:00 Europe/London", "the first Tuesday of each quarter at 15:00 Europe/Berlin".

The dates are RFC 5545 recurrence rules evaluated by ``python-dateutil``'s ``rrule``
(pinned in pyproject.toml) over local wall-clock times in the rule's zone; each local
time then becomes an instant by :func:`accord.logic.zones.to_utc` (a time the clock skips
moves forward by the gap, a repeated one is its first occurrence). So a weekly 10:00
London review is at 10:00 London every week, 10:00 UTC in winter and 09:00 UTC in
summer, and a 02:30 New York meeting on the spring-forward Sunday is at 03:30 EDT.

Semantics follow :mod:`accord.logic.schedule` (the ``every`` form, which is unchanged and
which :func:`next_review` still uses for it):

- occurrences are numbered from 1 and counted from a start (launch): occurrence 1 is the
  first date of the rule strictly after the start; every occurrence is computed from the
  start, never from the previous one;
- periods are counted from the start too: ``interval: 2`` weekly means the start's week,
  then every other week; for a quarter, the start's calendar quarter;
- :func:`next_occurrence` gives the first occurrence strictly after a moment, judged on
  the moved (actual) time, and with a calendar moves an occurrence whose date, local to
  ANY party (each in its own zone), is not a business day there, to the next day that is
  one for all, at the rule's local time. Occurrences moved onto the same day are one
  review, numbered by the first; numbers and times only increase.

Instants in and out are timezone-aware; out, always UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from dateutil import rrule as rr

from accord.logic import schedule, zones
from accord.logic.business_days import (
    MAX_SHIFT_DAYS,
    BusinessCalendar,
    JointCalendar,
    as_utc,
    move_to_day,
)
from definitions.calendar import CalendarRule, Period
from definitions.calendar_checks import rule_problems
from definitions.durations import Duration

__all__ = ["MAX_OCCURRENCES", "meeting_end", "next_occurrence", "next_review", "occurrence", "rrule_for"]

# Counting from the start keeps every date a function of (start, rule, n) alone, at the
# cost of walking the occurrences; this many is about 1,900 years of a weekly review and
# bounds the walk when a caller passes a moment absurdly far out.
MAX_OCCURRENCES = 100_000

_WEEKDAYS = (rr.MO, rr.TU, rr.WE, rr.TH, rr.FR, rr.SA, rr.SU)


class DayJudge(Protocol):
    """A calendar that says whether an instant falls on a business day (``BusinessCalendar``, ``JointCalendar``)."""

    def is_business_day(self, moment: datetime) -> bool: ...


def rrule_for(rule: CalendarRule, start: datetime) -> rr.rrule:
    """The RFC 5545 rule over naive local times in ``rule.zone``, anchored at the start's period.

    The anchor (DTSTART) is midnight on the first day of the period the start falls in
    (its week, month or quarter month), so ``interval`` counts periods from the start's;
    instants on or before the start are left out by the callers, not here.
    """
    if problems := [message for _, message in rule_problems(rule)]:
        raise ValueError(f"unusable calendar rule: {'; '.join(problems)}")
    tz = zones.zone(rule.zone)
    first_day = as_utc(start, "start").astimezone(tz).date()
    clock: dict[str, Any] = {"byhour": rule.at.hour, "byminute": rule.at.minute, "bysecond": 0, "cache": False}
    if rule.nth is None and rule.day_of_month is None:
        monday = first_day - timedelta(days=first_day.weekday())
        return rr.rrule(
            rr.WEEKLY, dtstart=_midnight(monday), interval=rule.interval, wkst=rr.MO,
            byweekday=[_WEEKDAYS[d.number] for d in rule.weekdays], **clock,
        )
    counts_back = (rule.nth or rule.day_of_month or 0) < 0
    if rule.of is Period.quarter:
        # A quarter is three months from its first (for counting forward) or last month (back).
        month = (first_day.month - 1) // 3 * 3 + (3 if counts_back else 1)
        anchor, step = first_day.replace(month=month, day=1), 3 * rule.interval
    else:
        anchor, step = first_day.replace(day=1), rule.interval
    days: dict[str, Any]
    if rule.nth is not None:
        days = {"byweekday": [_WEEKDAYS[rule.weekdays[0].number](rule.nth)]}
    else:
        # "The 31st" in a 30-day month is its last day (and "-31" its first), as the every
        # form clamps: of the wanted day and the month's edge, the nearer one (BYSETPOS).
        edge, position = (1, -1) if counts_back else (-1, 1)
        days = {"bymonthday": [rule.day_of_month, edge], "bysetpos": position}
    return rr.rrule(rr.MONTHLY, dtstart=_midnight(anchor), interval=step, **days, **clock)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _occurrences(start: datetime, rule: CalendarRule) -> Iterator[tuple[int, datetime, datetime]]:
    """(n, local wall time, instant) of every occurrence strictly after ``start``, in order."""
    start = as_utc(start, "start")
    walls = rrule_for(rule, start)  # checks the rule (and its zone) first
    tz = zones.zone(rule.zone)
    n = 0
    for wall in walls:
        instant = zones.to_utc(wall, tz)
        if instant <= start:
            continue
        n += 1
        if n > MAX_OCCURRENCES:
            break
        yield n, wall, instant
    raise ValueError(
        f"no occurrence of the rule found within {MAX_OCCURRENCES} occurrences (or by the year 9999)"
        f" after {start.isoformat()}"
    )


def occurrence(start: datetime, rule: CalendarRule, n: int) -> datetime:
    """The n-th occurrence (n >= 1) strictly after ``start``, before any move for holidays; UTC."""
    if n < 1:
        raise ValueError(f"occurrences are numbered from 1, got {n}")
    if n > MAX_OCCURRENCES:
        raise ValueError(f"occurrence {n} is past the last one computed ({MAX_OCCURRENCES})")
    for k, _, instant in _occurrences(start, rule):
        if k == n:
            return instant
    raise AssertionError("unreachable: _occurrences ends by raising")


def next_occurrence(
    start: datetime, rule: CalendarRule, after: datetime, calendar: DayJudge | None = None
) -> tuple[int, datetime]:
    """The first occurrence strictly after ``after``, and its number n; UTC.

    With a calendar, an occurrence whose instant is not on a business day (for a
    :class:`~accord.logic.business_days.JointCalendar`: for every party, in its zone)
    moves to the next day that is, at the rule's local time, and "after" is judged on
    the moved time, as in :func:`accord.logic.schedule.next_occurrence`.
    """
    after = as_utc(after, "after")
    # Moving never goes back and never further than MAX_SHIFT_DAYS: an occurrence
    # nominally up to that long before `after` may still be moved past it.
    horizon = after - timedelta(days=MAX_SHIFT_DAYS + 1)
    for n, wall, instant in _occurrences(start, rule):
        if calendar is None:
            if instant > after:
                return n, instant
            continue
        if instant <= horizon:
            continue
        moved = move_to_day(instant, zones.zone(rule.zone), calendar.is_business_day, repr(calendar), wall=wall)
        if moved > after:
            return n, moved
    raise AssertionError("unreachable: _occurrences ends by raising")


def meeting_end(begins: datetime, rule: CalendarRule) -> datetime:
    """When a meeting that begins at ``begins`` ends: ``rule.minutes`` of elapsed time later (UTC).

    Elapsed, not wall-clock: a one-hour meeting at 01:30 on the fall-back night ends at
    the second 01:30 of the night, one hour later, as a calendar program shows it.
    """
    return as_utc(begins, "begins") + timedelta(minutes=rule.minutes)


def next_review(
    start: datetime,
    when: Duration | CalendarRule,
    after: datetime,
    calendar: BusinessCalendar | JointCalendar | None = None,
) -> tuple[int, datetime]:
    """The next review of a cadence in either form: ``every`` (a Duration, exactly as
    :func:`accord.logic.schedule.next_occurrence` computes it) or a calendar rule.

    For the ``every`` form to stay exactly as it was, pass the calendar it always had
    (``schedule.calendar_for(parties)``, days judged in UTC); a :class:`JointCalendar` of
    the parties' zones would judge its days locally, which changes dates a running
    partnership has computed and so belongs behind its schedule version.
    """
    if isinstance(when, Duration):
        # JointCalendar.next_business_day(moment) moves the way BusinessCalendar's does.
        return schedule.next_occurrence(start, when, after, calendar)
    return next_occurrence(start, when, after, calendar)
