"""Business days across parties in different zones (accord/logic/business_days.py JointCalendar),
and an instant read as local time (accord/logic/zones.py local)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accord.logic import zones
from accord.logic.business_days import (
    BusinessCalendar,
    JointCalendar,
    as_utc,
    move_to_day,
)

NEW_YORK, SYDNEY = ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney")
BOTH = JointCalendar([BusinessCalendar("US", zone="America/New_York"), BusinessCalendar("AU", zone="Australia/Sydney")])


def test_a_moment_on_a_business_day_for_everyone_stays_where_it_is_in_utc() -> None:
    tuesday = datetime(2026, 3, 3, 9, 0, tzinfo=NEW_YORK)  # Wednesday 01:00 in Sydney
    assert BOTH.next_business_day(tuesday) == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    assert BOTH.next_business_day(tuesday).tzinfo == UTC


def test_friday_evening_in_new_york_is_saturday_in_sydney_so_it_moves_to_monday_new_york_time() -> None:
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=NEW_YORK)  # Saturday 09:00 in Sydney
    moved = BOTH.next_business_day(friday, "America/New_York")
    assert moved == datetime(2026, 3, 9, 17, 0, tzinfo=NEW_YORK)  # across New York's spring-forward: still 17:00
    assert moved.tzinfo == UTC


def test_without_a_zone_the_moment_keeps_its_utc_time_of_day() -> None:
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=NEW_YORK)  # 22:00 UTC
    assert BOTH.next_business_day(friday) == datetime(2026, 3, 9, 22, 0, tzinfo=UTC)  # 18:00 in New York by then


def test_a_calendar_that_never_has_a_business_day_says_so_with_its_parties() -> None:
    never = JointCalendar([BusinessCalendar("US", zone="America/New_York")])
    never.is_business_day = lambda moment: False  # a broken calendar, as no real one is
    with pytest.raises(ValueError, match=r"^no business day within 31 days of 2026-03-06 in "
                                         r"JointCalendar\(\[BusinessCalendar\(\['US'\], zone='America/New_York'\)\]\)$"):
        never.next_business_day(datetime(2026, 3, 6, 17, 0, tzinfo=UTC))


def test_an_instant_in_any_zone_reads_as_local_time_and_a_naive_one_is_refused() -> None:
    in_sydney = zones.local(datetime(2026, 3, 6, 17, 0, tzinfo=NEW_YORK), SYDNEY)
    assert (in_sydney.date().isoformat(), in_sydney.hour, in_sydney.tzinfo) == ("2026-03-07", 9, SYDNEY)
    with pytest.raises(ValueError, match=r"^an instant must be timezone-aware, got naive 2026-03-06T17:00:00$"):
        zones.local(datetime(2026, 3, 6, 17, 0), SYDNEY)


# --- moving to a day a calendar takes (business_days.move_to_day) ---------------------


def test_a_moment_the_calendar_takes_is_kept_as_it_is() -> None:
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # Even when the wall-clock time it stands for reads otherwise (a time the clock skipped).
    assert move_to_day(moment, ZoneInfo("Europe/London"), lambda m: True, "x", wall=datetime(2026, 3, 29, 1, 0)) == moment


def test_a_move_reaches_31_days_and_no_further() -> None:
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    for days in (1, 30, 31):
        later = start + timedelta(days=days)
        assert move_to_day(start, UTC, lambda m, later=later: m >= later, "somewhere") == later
    with pytest.raises(ValueError, match="^no business day within 31 days of 2026-03-02 in somewhere$"):
        move_to_day(start, UTC, lambda m: m >= start + timedelta(days=32), "somewhere")


def test_a_calendar_without_a_zone_says_so_when_it_names_itself() -> None:
    assert repr(BusinessCalendar(["GB", "US-PA"])) == "BusinessCalendar(['GB', 'US-PA'])"
    assert repr(BusinessCalendar(["GB"], zone="Europe/London")) == "BusinessCalendar(['GB'], zone='Europe/London')"


def test_an_instant_without_a_name_is_called_a_datetime_when_refused() -> None:
    with pytest.raises(ValueError, match=r"^datetime must be timezone-aware \(UTC\), got naive 2026-03-02T10:00:00$"):
        BusinessCalendar(["GB"]).next_business_day(datetime(2026, 3, 2, 10))
    assert as_utc(datetime(2026, 3, 2, 10, tzinfo=NEW_YORK)) == datetime(2026, 3, 2, 15, tzinfo=UTC)
