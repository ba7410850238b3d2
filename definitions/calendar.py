"""A review cadence as people keep it: "Mondays at 10:00 Europe/London", "the first Tuesday of each quarter at 15:00 Europe/Berlin".

The shape only; :mod:`definitions.calendar_checks` checks the combinations and the zone
name, and :mod:`accord.logic.recurrence` turns a rule into dates (RFC 5545 recurrence
rules, through ``python-dateutil``). In YAML::

    rule: {weekdays: [monday], at: "10:00", minutes: 30, zone: Europe/London}
    rule: {weekdays: [tuesday], nth: first, of: quarter, at: "15:00", minutes: 90, zone: Europe/Berlin}
    rule: {day_of_month: -1, at: "16:00", zone: America/New_York}       # the last day of each month
    rule: {weekdays: [monday, thursday], interval: 2, at: "09:30", zone: Asia/Kolkata}

Two traps of YAML 1.1 (PyYAML) shape the names: a key spelled ``on`` is read as the
boolean true, hence ``weekdays``; an unquoted ``10:00`` is read as the number 600 (base
60), hence a time of day must be quoted, which the error message says.

Where it is used: ``schema.Cadence.rule`` (beside ``every``; exactly one of them),
``schema.Party.timezone`` and ``schema.Stakeholder.timezone`` (checked by
:mod:`definitions.checks` through :mod:`definitions.calendar_checks`), and the partnership
workflow's scheduling (``workflows/partnership/scheduling.py``, behind the partnership's
schedule version: see ``workflows/versions.py``).
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic.functional_validators import BeforeValidator

__all__ = ["CalendarRule", "LocalTime", "Period", "Weekday", "WorkingWindow"]


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"

    @property
    def number(self) -> int:
        """Monday is 0, as in ``date.weekday()`` and dateutil's ``MO``."""
        return list(Weekday).index(self)


class Period(StrEnum):
    """What ``nth`` and ``day_of_month`` count within: each month, or each calendar quarter
    (January-March ...). In a quarter, positive numbers count from its first month and
    negative ones back from its last: ``nth: last, of: quarter`` is the last one of March,
    June, September and December."""

    month = "month"
    quarter = "quarter"


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def _clock(value: Any) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None or value.second or value.microsecond:
            raise ValueError("a time of day is hours and minutes, local to the rule's zone, e.g. \"09:30\"")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 10:00 as 600 (base 60): say what was probably written.
        hours, minutes = divmod(value, 60)
        example = f"{hours:02d}:{minutes:02d}" if 0 <= value < 24 * 60 else "10:00"
        raise ValueError(  # noqa: TRY004 - pydantic reports ValueError as a field error; TypeError would escape
            f"{value} is a number, not a time of day: write the time in quotes, e.g. at: \"{example}\""
            " (YAML reads an unquoted time such as 10:00 as a number, 600)"
        )
    if isinstance(value, str) and (match := _CLOCK.match(value.strip())):
        return time(int(match.group(1)), int(match.group(2)))
    shown = repr(value)[:40]
    raise ValueError(f"{shown} is not a time of day: write hours and minutes on the 24-hour clock, e.g. \"09:30\"")


def _ordinal(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _ORDINALS:
        return _ORDINALS[value.strip().lower()]
    return value


def _weekday(value: Any) -> Any:
    # "Monday", "MONDAY" and "monday" are one day; anything else is refused by the enum.
    return value.strip().lower() if isinstance(value, str) else value


LocalTime = Annotated[
    time,
    BeforeValidator(_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^([01]?\d|2[0-3]):[0-5]\d$", "examples": ["09:30", "15:00"]}),
]


class CalendarRule(BaseModel):
    """When a recurring review happens, in local time.

    Exactly one of: ``weekdays`` alone (every week on those days), ``day_of_month`` (that
    day of each month or quarter; a day a month lacks, the 31st in April, is its last
    day), or ``nth`` with one weekday (the first, second, third, fourth or last such
    weekday of each month or quarter: every month has four of each weekday, so the
    fifth, which some months lack, is not offered). ``interval`` skips periods: every 2 weeks, every 3 months.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekdays: list[Annotated[Weekday, BeforeValidator(_weekday)]] = Field(
        default_factory=list, max_length=7, description="The weekday(s): alone, every week; with nth, which weekday."
    )
    day_of_month: int | None = Field(
        None, ge=-31, le=31, description="1-31 from the start of the month (or quarter), -1 the last day, -2 the one before."
    )
    nth: Annotated[int | None, BeforeValidator(_ordinal)] = Field(
        None, ge=-1, le=4, description="Which of the weekday: first (1) to fourth (4), or last (-1)."
    )
    of: Period = Field(Period.month, description="What day_of_month and nth count within: month or quarter.")
    interval: int = Field(1, ge=1, le=52, description="Every this many weeks, months or quarters (from the start).")
    at: LocalTime = Field(description="The local start time, \"HH:MM\" on the 24-hour clock, quoted.")
    minutes: int = Field(60, ge=1, le=1440, description="How long the meeting is.")
    zone: str = Field(max_length=64, description="The IANA time zone the meeting is kept in, e.g. Europe/Berlin.")

    @model_validator(mode="before")
    @classmethod
    def _no_yaml_booleans_as_keys(cls, data: Any) -> Any:
        # `on:` (or `yes:`) as a key reaches us as the boolean true: name the likely slip.
        if isinstance(data, dict) and any(isinstance(key, bool) for key in data):
            raise ValueError("YAML reads a key spelled on, yes or no as true/false: the days go in weekdays: [monday]")
        return data

    def describe(self) -> str:
        """For people: "Monday at 10:00 Europe/London", "the first Tuesday of each quarter at 15:00 Europe/Berlin"."""
        days = " and ".join(d.value.title() for d in self.weekdays)
        unit = "week" if self.nth is None and self.day_of_month is None else self.of.value
        each = f"every {self.interval} {unit}s" if self.interval > 1 else f"each {unit}"
        if self.nth is not None:
            which = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}.get(self.nth, str(self.nth))
            when = f"the {which} {days} of {each}"
        elif self.day_of_month is not None:
            day = self.day_of_month
            when = f"day {day} of {each}" if day > 0 else f"{'the last day' if day == -1 else f'{-day - 1} days before the last day'} of {each}"
        else:
            when = f"{days}, {each}"
        return f"{when} at {self.at:%H:%M} {self.zone} ({self.minutes} min)"


class WorkingWindow(BaseModel):
    """When a party's (or one stakeholder's) working day begins and ends, local to their zone:
    ``working_hours: {start: "08:00", end: "16:30"}``. Deadlines fall at its end, reminders and
    escalation emails inside it (``accord.logic.working_hours``). Not given: 09:00-17:00.
    :func:`definitions.calendar_checks.window_problems` checks that it starts before it ends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: LocalTime = Field(time(9), description="When the working day begins, \"HH:MM\" on the 24-hour clock, quoted.")
    end: LocalTime = Field(time(17), description="When it ends (the same day), \"HH:MM\", quoted.")

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"
