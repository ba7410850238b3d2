"""Business days: weekends and public holidays of the parties' regions, from the ``holidays`` package.

A region is a country code with an optional subdivision, as in a party's ``holidays``
field: ``US``, ``GB-SCT``, ``DE-BY``. Days are judged in UTC unless a calendar is given a
time zone (``BusinessCalendar(["GB"], zone="Europe/London")``): then an instant's day is
its local date there, and moving to the next business day keeps the local time of day
(a 10:00 London meeting moved past a bank holiday is at 10:00 London, whatever daylight
saving did in between; a local time the clock skips follows :func:`accord.logic.zones.to_utc`).
:class:`JointCalendar` joins the calendars of parties in different zones.

Holiday data is pinned to one release of the package in pyproject.toml: a new release
can add or move a holiday, which would change dates a running workflow has computed.
This module imports nothing from ``definitions``, so the definition checks can use it.

In workflow code, build a calendar inside ``workflow.unsafe.sandbox_unrestricted()`` and
``workflow.unsafe.imports_passed_through()``: the package sets up holiday-name
translations through ``gettext``, which the sandbox forbids. Using it afterwards needs
neither (tests/workflows/test_logic_in_workflow.py keeps that true).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache

import holidays

from accord.logic import zones

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
    # Built once to learn which languages the data has, then again in the chosen one.
    probe = holidays.country_holidays(country, subdiv=subdiv)
    language = next((lang for lang in _NAME_LANGUAGES if lang in probe.supported_languages), probe.default_language)
    return holidays.country_holidays(country, subdiv=subdiv, language=language)


class BusinessCalendar:
    """Business days shared by every given region: not a weekend and not a public holiday in any.

    Each region keeps its own weekend as the data defines it (Friday and Saturday in
    Saudi Arabia, say) and its own weekend working days (China's make-up Saturdays).
    With no region at all, Monday to Friday are business days. ``zone`` (an IANA name)
    is where an instant's day is judged; without one, UTC, as before zones existed.
    """

    def __init__(self, codes: Iterable[str] | str = (), zone: str | None = None):
        self._zone_name = zone
        self._tz: tzinfo = UTC if zone is None else zones.zone(zone)
        regions = [parse_region(codes)] if isinstance(codes, str) else [parse_region(code) for code in codes]
        # One entry per region, in the order given (names list them in that order).
        self._regions: dict[str, holidays.HolidayBase] = {}
        for country, subdiv in regions:
            key = f"{country}-{subdiv}" if subdiv else country
            if key not in self._regions:
                self._regions[key] = _region_holidays(country, subdiv)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._regions)

    @property
    def zone(self) -> str | None:
        """The IANA zone days are judged in; None for UTC."""
        return self._zone_name

    def __repr__(self) -> str:
        zone = f", zone={self._zone_name!r}" if self._zone_name else ""
        return f"BusinessCalendar({list(self.codes)!r}{zone})"

    def is_business_day(self, day: date) -> bool:
        """Whether ``day`` is a business day; a datetime is judged by its local date in the calendar's zone."""
        day = self._day(day)
        if not self._regions:
            return day.weekday() < 5
        return all(region.is_working_day(day) for region in self._regions.values())

    def holiday_name(self, day: date) -> str | None:
        """e.g. ``"Christmas Day (GB, US); Boxing Day (GB)"``; None when no region has a holiday."""
        day = self._day(day)
        names: dict[str, list[str]] = {}
        for code, region in self._regions.items():
            for name in region.get_list(day):
                names.setdefault(name, []).append(code)
        if not names:
            return None
        return "; ".join(f"{name} ({', '.join(codes)})" for name, codes in names.items())

    def next_business_day(self, moment: datetime) -> datetime:
        """``moment`` if its day (in the calendar's zone) is a business day, else the same
        local time on the next one; UTC out."""
        return move_to_day(as_utc(moment), self._tz, self.is_business_day, repr(self))

    def _day(self, day: date) -> date:
        # A datetime is a date too: judge it by its day in our zone, not by whatever zone it carries.
        return as_utc(day).astimezone(self._tz).date() if isinstance(day, datetime) else day


class JointCalendar:
    """Days that are business days for every party, each judged in its own zone.

    A meeting at 17:00 on a Friday in New York is on Saturday morning in Sydney: for a
    party in Sydney that is not a business day, even though it is one in New York.
    """

    def __init__(self, calendars: Iterable[BusinessCalendar]):
        self.calendars = tuple(calendars)

    def __repr__(self) -> str:
        return f"JointCalendar({list(self.calendars)!r})"

    def is_business_day(self, moment: datetime) -> bool:
        """Whether the instant ``moment`` falls on a business day for every calendar, in each one's zone."""
        return all(c.is_business_day(_instant(moment)) for c in self.calendars)

    def holiday_name(self, moment: datetime) -> str | None:
        """The holidays ``moment`` falls on, each calendar's local date judged in its zone, or None."""
        names = [name for c in self.calendars if (name := c.holiday_name(_instant(moment)))]
        return "; ".join(dict.fromkeys(names)) or None

    def next_business_day(self, moment: datetime, zone: str | None = None) -> datetime:
        """``moment`` if it is on a business day for all, else the same local time in ``zone``
        (UTC by default) on the first day that is; UTC out."""
        tz: tzinfo = UTC if zone is None else zones.zone(zone)
        return move_to_day(as_utc(moment), tz, self.is_business_day, repr(self))


def move_to_day(
    moment: datetime, tz: tzinfo, accept: Callable[[datetime], bool], where: str, wall: datetime | None = None
) -> datetime:
    """``moment`` if ``accept`` takes it, else the same wall-clock time in ``tz`` on the first
    later day that it takes (UTC out). At most :data:`MAX_SHIFT_DAYS` days on.

    ``wall`` is the local time ``moment`` was meant to be (naive), when that differs from
    what the clock shows: a 02:30 meeting on a spring-forward day is at 03:30, and moved
    to the next day it is at 02:30 again.
    """
    wall = moment.astimezone(tz).replace(tzinfo=None) if wall is None else wall
    for shift in range(MAX_SHIFT_DAYS + 1):
        # Each day's instant comes from the local time, not from adding 24 hours: a day
        # across a daylight-saving change is 23 or 25 hours long. In UTC the two agree.
        moved = moment if shift == 0 else zones.to_utc(wall + timedelta(days=shift), tz)
        if accept(moved):
            return moved
    raise ValueError(f"no business day within {MAX_SHIFT_DAYS} days of {wall.date()} in {where}")


def _instant(moment: datetime) -> datetime:
    # Across zones a bare date means nothing: only an instant has a day in each zone.
    if not isinstance(moment, datetime):
        raise TypeError(f"a joint calendar judges instants (datetimes), not dates such as {moment!r}")
    return as_utc(moment)
