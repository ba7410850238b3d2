"""When periodic reviews happen: calendar occurrences, moved off weekends and public holidays.

A cadence counts from a start (launch): occurrence n is ``start + n * every``, with
calendar months added first, so a monthly review launched on 31 January is on 28/29
February, 31 March, 30 April ... Each occurrence is computed from the start, never from
the previous one: stepping would drift to the 28th for good after the first February.

With a :class:`BusinessCalendar`, an occurrence that falls on a weekend or a public
holiday of any party moves forward to the next day that is a business day for all of
them, keeping its time of day. Days are judged in UTC (datetimes are UTC in and out).

Holiday data comes from the ``holidays`` package, pinned to one release in
pyproject.toml: a new release can add or move a holiday, which would change a date that
a running workflow has already computed (and its history has recorded).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

import holidays

from definitions.durations import Duration

# No real calendar has this many non-business days in a row; a longer search means a
# broken calendar, and failing says so instead of scheduling a review months out.
MAX_SHIFT_DAYS = 31
# Holiday names are shown to people: English where the data has it. Always explicit,
# because with no language the package reads the worker's locale (nondeterministic).
_NAME_LANGUAGES = ("en_US", "en_GB", "en")


def as_utc(moment: datetime, what: str = "datetime") -> datetime:
    """``moment`` in UTC; a naive datetime is refused (its zone would be a guess)."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


# --- the calendar -----------------------------------------------------------------


@cache
def _supported() -> dict[str, list[str]]:
    return holidays.list_supported_countries()


def parse_region(code: str) -> tuple[str, str | None]:
    """``"GB-SCT"`` -> ``("GB", "SCT")``; ValueError naming what is known when it is not."""
    country, _, subdiv = code.strip().partition("-")
    country = country.upper()
    supported = _supported()
    if country not in supported:
        raise ValueError(
            f"unknown holiday region {code!r}: {country!r} is not a country code the holidays data knows"
            " (use ISO 3166 codes such as US, GB, DE)"
        )
    if not subdiv:
        return country, None
    # Subdivisions are matched without regard to case ("gb-sct"), reported as the data spells them.
    by_upper = {s.upper(): s for s in supported[country]}
    if subdiv.upper() not in by_upper:
        known = ", ".join(supported[country]) or "none"
        raise ValueError(f"unknown holiday region {code!r}: {country} has no subdivision {subdiv!r} (known: {known})")
    return country, by_upper[subdiv.upper()]


def _region_holidays(country: str, subdiv: str | None) -> holidays.HolidayBase:
    entity = holidays.country_holidays(country, subdiv=subdiv)
    language = next((lang for lang in _NAME_LANGUAGES if lang in entity.supported_languages), None)
    return holidays.country_holidays(country, subdiv=subdiv, language=language or entity.default_language)


class BusinessCalendar:
    """Business days shared by every given region: not a weekend and not a public holiday in any.

    Each region keeps its own weekend as the data defines it (Friday and Saturday in
    Saudi Arabia, say) and its own weekend working days (China's make-up Saturdays).
    With no region at all, Monday to Friday are business days.
    """

    def __init__(self, codes: list[str] | tuple[str, ...] = ()):
        parsed = [(code.strip(), parse_region(code)) for code in codes]
        # One entry per region, in the order given (names list them in that order).
        self._regions: dict[str, holidays.HolidayBase] = {}
        for code, (country, subdiv) in parsed:
            key = f"{country}-{subdiv}" if subdiv else country
            if key not in self._regions:
                self._regions[key] = _region_holidays(country, subdiv)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._regions)

    def __repr__(self) -> str:
        return f"BusinessCalendar({list(self.codes)!r})"

    def is_business_day(self, day: date) -> bool:
        day = _day(day)
        if not self._regions:
            return day.weekday() < 5
        return all(region.is_working_day(day) for region in self._regions.values())

    def holiday_name(self, day: date) -> str | None:
        """e.g. ``"Christmas Day (GB, US); Boxing Day (GB)"``; None when no region has a holiday."""
        day = _day(day)
        names: dict[str, list[str]] = {}
        for code, region in self._regions.items():
            for name in region.get_list(day):
                names.setdefault(name, []).append(code)
        if not names:
            return None
        return "; ".join(f"{name} ({', '.join(codes)})" for name, codes in names.items())

    def next_business_day(self, moment: datetime) -> datetime:
        """``moment`` if its (UTC) day is a business day, else the same time on the next one."""
        moment = as_utc(moment)
        for shift in range(MAX_SHIFT_DAYS + 1):
            moved = moment + timedelta(days=shift)
            if self.is_business_day(moved.date()):
                return moved
        raise ValueError(f"no business day within {MAX_SHIFT_DAYS} days of {moment.date()} in {self!r}")


def _day(day: date) -> date:
    # A datetime is a date too: judge it by its UTC day, not by whatever zone it carries.
    return as_utc(day).date() if isinstance(day, datetime) else day


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
    start: datetime, every: Duration, after: datetime, calendar: BusinessCalendar | None = None
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
