"""Business days: weekends and public holidays of the parties' regions, from the ``holidays`` package.

A region is a country code with an optional subdivision, as in a party's ``holidays``
field: ``US``, ``GB-SCT``, ``DE-BY``. Days are judged in UTC.

Holiday data is pinned to one release of the package in pyproject.toml: a new release
can add or move a holiday, which would change dates a running workflow has computed.
This module imports nothing from ``definitions``, so the definition checks can use it.

In workflow code, build a calendar inside ``workflow.unsafe.sandbox_unrestricted()`` and
``workflow.unsafe.imports_passed_through()``: the package sets up holiday-name
translations through ``gettext``, which the sandbox forbids. Using it afterwards needs
neither (tests/test_logic_in_workflow.py keeps that true).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import cache

import holidays

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
    With no region at all, Monday to Friday are business days.
    """

    def __init__(self, codes: Iterable[str] | str = ()):
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
