"""Checks across the fields of a calendar rule, and of the time zones a definition names.

Each check yields ``(path, message)`` with the path relative to what it was given, so
:mod:`definitions.checks` can place it (``Problem(("reviews", name, *path), message)``)
without this module importing it. Every problem is reported, not just the first. The
calls to add there are listed in :mod:`definitions.calendar`'s docstring.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise

from accord.logic import zones
from definitions.calendar import CalendarRule, Period, WorkingWindow
from definitions.durations import Duration

Path = tuple[str | int, ...]

__all__ = ["MIN_WORKING_DAY", "cadence_problems", "rule_problems", "shortest_gap", "window_problems", "zone_problem"]

# The shortest working day a window may give: deadlines fall at its end and reminders and
# escalation emails wait for it, so a few minutes a day would pile them all into those minutes.
MIN_WORKING_DAY = timedelta(hours=1)


def zone_problem(name: str | None) -> str | None:
    """What is wrong with a party's or stakeholder's ``timezone``; None (not given) is fine."""
    return None if name is None else zones.problem(name)


def window_problems(window: WorkingWindow | None) -> Iterator[tuple[Path, str]]:
    """What is wrong with a ``working_hours`` window; None (not given: 09:00-17:00) is fine.

    Its times of day are checked by their type (``LocalTime``). It must end after it starts
    on the same day (``accord.logic.working_hours.Window`` cannot hold anything else: an
    overnight window would put one working day on two dates), and last :data:`MIN_WORKING_DAY`."""
    if window is None:
        return
    minutes = (window.end.hour - window.start.hour) * 60 + window.end.minute - window.start.minute
    if minutes <= 0:
        yield ("end",), (
            f"working hours end after they start on the same day: {window.describe()} does not"
            " (an overnight shift is not supported)"
        )
    elif timedelta(minutes=minutes) < MIN_WORKING_DAY:
        yield ("end",), (
            f"working hours of {window.describe()} are {minutes} minutes a day; give at least"
            f" {MIN_WORKING_DAY.seconds // 60} minutes"
        )


def rule_problems(rule: CalendarRule) -> Iterator[tuple[Path, str]]:
    """Everything wrong with a calendar rule that its field types cannot say."""
    if (message := zones.problem(rule.zone)) is not None:
        yield ("zone",), message
    for day, count in Counter(rule.weekdays).items():
        if count > 1:
            yield ("weekdays",), f"{day.value} is listed {count} times"
    if rule.nth == 0:
        yield ("nth",), "nth is first (1) to fourth (4) or last (-1); 0 is none of them"
    if rule.day_of_month == 0:
        yield ("day_of_month",), "day_of_month counts from 1 (the first day) or back from -1 (the last); 0 is neither"
    if rule.nth is not None and rule.day_of_month is not None:
        yield ("nth",), "give either nth (the nth weekday) or day_of_month, not both"
    elif rule.nth is not None and len(rule.weekdays) != 1:
        yield ("weekdays",), (
            f"nth needs exactly one weekday (e.g. weekdays: [tuesday], nth: first), not {len(rule.weekdays)}"
        )
    elif rule.day_of_month is not None and rule.weekdays:
        # RFC 5545 would keep only the days that are both (Friday the 13th): never what a review means.
        yield ("weekdays",), "give either weekdays or day_of_month, not both"
    elif rule.nth is None and rule.day_of_month is None and not rule.weekdays:
        yield (), "say when: weekdays (every week on those days), day_of_month, or nth with one weekday"
    if rule.of is Period.quarter and rule.nth is None and rule.day_of_month is None:
        yield ("of",), "'of: quarter' applies to nth and day_of_month; a weekly rule takes interval (every n weeks)"


def cadence_problems(every: Duration | None, rule: CalendarRule | None) -> Iterator[tuple[Path, str]]:
    """A review cadence gives exactly one of ``every`` (a fixed step from launch) and ``rule``."""
    if every is not None and rule is not None:
        yield ("rule",), "give either every (a fixed interval from launch) or rule (a calendar rule), not both"
    elif every is None and rule is None:
        yield (), "give either every (e.g. 1w) or rule (e.g. {weekdays: [monday], at: \"10:00\", zone: Europe/London})"
    if rule is not None:
        for path, message in rule_problems(rule):
            yield ("rule", *path), message


def shortest_gap(rule: CalendarRule) -> timedelta:
    """The least time between two meetings of a rule, to the day (the checks compare it with
    how long before a meeting its inputs are asked for).

    Weekly: the closest two of its weekdays, counting the wrap from the last one of a week
    to the first of the next period. By month: four weeks per month of ``interval`` (the
    first Tuesday of March is 28 days after February's at the least, and clamped days of
    the month are further apart); by quarter, twelve weeks per quarter.
    """
    if rule.nth is None and rule.day_of_month is None:
        days = sorted({d.number for d in rule.weekdays}) or [0]
        wrap = 7 * rule.interval - (days[-1] - days[0])
        return timedelta(days=min([wrap, *(b - a for a, b in pairwise(days))]))
    weeks = 4 if rule.of is Period.month else 12
    return timedelta(weeks=weeks * rule.interval)
