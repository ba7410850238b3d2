"""Review scheduling: calendar occurrences, and moving them off weekends and public holidays.

Holiday facts below are the pinned ``holidays`` release's data (see pyproject.toml).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.logic.business_days import (
    MAX_SHIFT_DAYS,
    BusinessCalendar,
    as_utc,
    parse_region,
)
from accord.logic.schedule import calendar_for, next_occurrence, occurrence
from definitions.durations import Duration
from definitions.schema import Party

MONTHLY = Duration.parse("1mo")
WEEKLY = Duration.parse("1w")
GB = BusinessCalendar(["GB"])


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# --- occurrences ------------------------------------------------------------------


def test_monthly_from_the_31st_clamps_to_month_end_without_drifting() -> None:
    start = at("2026-01-31", 9)
    days = [occurrence(start, MONTHLY, n).date().isoformat() for n in range(1, 8)]
    # Not the 28th for ever after February: each month is counted from the launch.
    assert days == ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31", "2026-08-31"]
    assert occurrence(start, MONTHLY, 25).date() == date(2028, 2, 29)  # a leap February
    assert all(occurrence(start, MONTHLY, n).time() == start.time() for n in range(1, 30))


def test_weekly_and_mixed_cadences() -> None:
    start = at("2026-03-02")  # a Monday
    assert [occurrence(start, WEEKLY, n) for n in (1, 2, 52)] == [
        start + timedelta(weeks=1), start + timedelta(weeks=2), start + timedelta(weeks=52)
    ]
    # n times each part, months first: launch 31 Jan + 1mo2d is 2 March (28 Feb + 2 days),
    # then 31 Jan + 2mo4d = 4 April, then 31 Jan + 3mo6d = 30 April + 6 days = 6 May.
    assert occurrence(at("2026-01-31"), Duration.parse("1mo2d"), 1) == at("2026-03-02")
    assert occurrence(at("2026-01-31"), Duration.parse("1mo2d"), 2) == at("2026-04-04")
    assert occurrence(at("2026-01-31"), Duration.parse("1mo2d"), 3) == at("2026-05-06")
    assert occurrence(at("2026-02-15"), Duration.parse("1y"), 3) == at("2029-02-15")


@pytest.mark.parametrize("n", [0, -1])
def test_occurrences_are_numbered_from_one(n: int) -> None:
    with pytest.raises(ValueError, match=f"^occurrences are numbered from 1, got {n}$"):
        occurrence(at("2026-01-01"), WEEKLY, n)


def test_a_zero_cadence_is_refused() -> None:
    with pytest.raises(ValueError, match="^a cadence must be longer than zero$"):
        occurrence(at("2026-01-01"), Duration(), 1)


def test_naive_datetimes_are_refused_and_other_zones_become_utc() -> None:
    naive = r" must be timezone-aware \(UTC\), got naive 2026-01-01T09:00:00$"
    with pytest.raises(ValueError, match="^start" + naive):
        occurrence(datetime(2026, 1, 1, 9), WEEKLY, 1)
    with pytest.raises(ValueError, match="^start" + naive):
        next_occurrence(datetime(2026, 1, 1, 9), WEEKLY, at("2026-01-01"))
    with pytest.raises(ValueError, match="^after" + naive):
        next_occurrence(at("2026-01-01"), WEEKLY, datetime(2026, 1, 1, 9))
    cet = timezone(timedelta(hours=1))
    moved = occurrence(datetime(2026, 1, 1, 10, tzinfo=cet), WEEKLY, 1)
    assert moved == at("2026-01-08", 9) and moved.tzinfo == UTC
    assert as_utc(datetime(2026, 1, 1, 0, 30, tzinfo=cet)) == datetime(2025, 12, 31, 23, 30, tzinfo=UTC)


def test_next_occurrence_is_strictly_after() -> None:
    start = at("2026-01-31", 9)
    assert next_occurrence(start, MONTHLY, start) == (1, at("2026-02-28", 9))
    assert next_occurrence(start, MONTHLY, at("2026-02-28", 9)) == (2, at("2026-03-31", 9))  # exactly at one
    for n in (2, 3, 4, 7, 8, 9, 16):  # exactly at a later one, wherever the search for it lands
        assert next_occurrence(start, MONTHLY, occurrence(start, MONTHLY, n)) == (n + 1, occurrence(start, MONTHLY, n + 1))
    assert next_occurrence(start, MONTHLY, at("2026-02-28", 8)) == (1, at("2026-02-28", 9))
    assert next_occurrence(start, MONTHLY, at("2020-01-01")) == (1, at("2026-02-28", 9))  # before the launch
    assert next_occurrence(start, MONTHLY, at("2036-01-01")) == (120, at("2036-01-31", 9))  # ten years on


# --- the business calendar --------------------------------------------------------


def test_christmas_review_in_gb_moves_past_boxing_day_substitute() -> None:
    # 2026: Christmas is a Friday, Boxing Day a Saturday, so Monday 28th is its substitute
    # bank holiday: the first business day is Tuesday 29 December, at the same time.
    assert GB.next_business_day(at("2026-12-25", 14)) == at("2026-12-29", 14)
    assert GB.holiday_name(date(2026, 12, 25)) == "Christmas Day (GB)"
    assert GB.holiday_name(date(2026, 12, 28)) == "Boxing Day (observed) (GB)"
    assert GB.holiday_name(date(2026, 12, 27)) is None  # a Sunday, not a holiday
    assert not GB.is_business_day(date(2026, 12, 27))
    assert GB.is_business_day(date(2026, 12, 29))


def test_a_monthly_review_on_the_25th_lands_on_the_29th_in_december() -> None:
    launch = at("2026-11-25", 10)
    assert next_occurrence(launch, MONTHLY, launch, GB) == (1, at("2026-12-29", 10))
    # Between the nominal date and the moved one the review is still ahead: a workflow that
    # restarts on the 27th does not skip it.
    assert next_occurrence(launch, MONTHLY, at("2026-12-27"), GB) == (1, at("2026-12-29", 10))
    # Once held, the next one is January's (25 January 2027 is a Monday).
    assert next_occurrence(launch, MONTHLY, at("2026-12-29", 10), GB) == (2, at("2027-01-25", 10))


def test_weekends_move_to_monday_without_a_calendar_of_holidays() -> None:
    weekdays = BusinessCalendar()
    assert weekdays.codes == ()
    assert weekdays.next_business_day(at("2026-03-07")) == at("2026-03-09")  # Saturday -> Monday
    assert weekdays.next_business_day(at("2026-03-09")) == at("2026-03-09")
    assert weekdays.is_business_day(date(2026, 12, 25))  # no region, no holidays
    assert weekdays.holiday_name(date(2026, 12, 25)) is None


def test_a_calendar_that_never_has_a_business_day_says_which_it_is() -> None:
    never = BusinessCalendar(["GB"], zone="Europe/London")
    never.is_business_day = lambda day: False  # a broken calendar, as no real one is
    with pytest.raises(ValueError, match=r"^no business day within 31 days of 2026-06-01 in "
                                         r"BusinessCalendar\(\['GB'\], zone='Europe/London'\)$"):
        never.next_business_day(at("2026-06-01"))


def test_every_party_s_holidays_count() -> None:
    # Thanksgiving (Thursday 26 November 2026) is not a GB holiday; in Pennsylvania the
    # day after is one too, so a review with a Pennsylvanian party waits until Monday.
    assert GB.is_business_day(date(2026, 11, 26))
    both = BusinessCalendar(["GB", "US-PA"])
    assert both.next_business_day(at("2026-11-26")) == at("2026-11-30")
    assert both.holiday_name(date(2026, 11, 27)) == "Day After Thanksgiving (US-PA)"
    assert BusinessCalendar(["GB", "US"]).next_business_day(at("2026-11-26")) == at("2026-11-27")
    assert BusinessCalendar(["GB", "US"]).holiday_name(date(2026, 12, 25)) == "Christmas Day (GB, US)"
    # One day, two names: each with the regions that call it that.
    assert BusinessCalendar(["GB", "IE"]).holiday_name(date(2026, 12, 26)) == "Boxing Day (GB); Saint Stephen's Day (IE)"


def test_subdivisions_have_their_own_holidays() -> None:
    # St Andrew's Day (Monday 30 November 2026) is a bank holiday in Scotland only.
    assert BusinessCalendar(["GB-SCT"]).holiday_name(date(2026, 11, 30)) == "Saint Andrew's Day (GB-SCT)"
    assert GB.is_business_day(date(2026, 11, 30))
    # Epiphany (Tuesday 6 January 2026) in Bavaria, not in Berlin; names are in English.
    assert BusinessCalendar(["DE-BY"]).holiday_name(date(2026, 1, 6)) == "Epiphany (DE-BY)"
    assert BusinessCalendar(["DE-BE"]).is_business_day(date(2026, 1, 6))


def test_each_region_keeps_its_own_weekend() -> None:
    # Saudi Arabia's weekend is Friday and Saturday; China works some make-up Saturdays.
    saudi = BusinessCalendar(["SA"])
    assert not saudi.is_business_day(date(2026, 3, 6))  # Friday
    assert saudi.is_business_day(date(2026, 3, 8))  # Sunday
    assert BusinessCalendar(["CN"]).is_business_day(date(2026, 2, 14))  # a working Saturday
    # Together, a day is a business day only if it is one for both.
    assert not BusinessCalendar(["SA", "GB"]).is_business_day(date(2026, 3, 8))


def test_the_calendar_of_a_definition_s_parties() -> None:
    def party(pid: str, region: str | None) -> Party:
        person = {"id": f"{pid}-lead", "name": "Lead", "email": f"lead@{pid}.example", "role": "lead"}
        return Party.model_validate({"id": pid, "name": pid, "stakeholders": [person], "holidays": region})

    assert calendar_for([party("alpha", "GB"), party("beta", "US-PA"), party("gamma", None)]).codes == ("GB", "US-PA")
    assert calendar_for([party("alpha", None)]).codes == ()
    assert BusinessCalendar("GB-SCT").codes == ("GB-SCT",)  # one code on its own


def test_region_codes_are_checked_with_clear_messages() -> None:
    assert parse_region("US") == ("US", None)
    assert parse_region("gb-sct") == ("GB", "SCT")  # any case
    assert BusinessCalendar(["gb-sct", "GB-SCT"]).codes == ("GB-SCT",)
    with pytest.raises(ValueError, match=r"^unknown holiday region 'XX': 'XX' is not a country code the holidays data"
                                         r" knows \(use ISO 3166 codes such as US, GB, DE\)$"):
        BusinessCalendar(["GB", "XX"])
    with pytest.raises(ValueError, match=r"^unknown holiday region 'GB-ENGLAND': GB has no subdivision 'ENGLAND'"
                                         r" \(known: ENG, NIR, SCT, WLS\)$"):
        parse_region("GB-ENGLAND")
    with pytest.raises(ValueError, match=r"^unknown holiday region 'AQ-XX': AQ has no subdivision 'XX' \(known: none\)$"):
        parse_region("AQ-XX")


def test_a_datetime_is_judged_by_its_utc_day() -> None:
    # 23:30 on Christmas Eve in UTC-2 is already Christmas Day in UTC.
    late = datetime(2026, 12, 24, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert not GB.is_business_day(late)
    assert GB.next_business_day(late) == datetime(2026, 12, 29, 1, 30, tzinfo=UTC)


def test_weekly_status_over_christmas_in_gb() -> None:
    start = at("2026-12-04", 9)  # Fridays
    held, after = [], start
    for _ in range(4):
        n, when = next_occurrence(start, WEEKLY, after, GB)
        held.append((n, when.date().isoformat()))
        after = when
    # 25 December (Friday) moves to Tuesday 29th; 1 January 2027 (New Year's Day) to Monday 4th.
    assert held == [(1, "2026-12-11"), (2, "2026-12-18"), (3, "2026-12-29"), (4, "2027-01-04")]


def test_occurrences_that_move_onto_the_same_day_are_one_review() -> None:
    # Daily at 09:00: Saturday's and Sunday's both move to Monday; they are one review.
    start = at("2026-03-05", 9)  # Thursday
    daily = Duration.parse("1d")
    weekdays = BusinessCalendar()
    first = next_occurrence(start, daily, start, weekdays)
    assert first == (1, at("2026-03-06", 9))  # Friday
    assert next_occurrence(start, daily, first[1], weekdays) == (2, at("2026-03-09", 9))  # Saturday's, held Monday
    assert next_occurrence(start, daily, at("2026-03-09", 9), weekdays) == (5, at("2026-03-10", 9))


def test_moved_sub_day_occurrences_never_go_back_in_time() -> None:
    # Every 36h from Friday 00:00: Saturday 12:00 moves to Monday 12:00, later than Monday
    # 00:00's own occurrence. In order: Saturday's is held Monday 12:00, Monday 00:00's is
    # merged into it (already past), and Tuesday 12:00's comes next.
    start = at("2026-03-06", 0)
    every = Duration.parse("36h")
    weekdays = BusinessCalendar()
    first = next_occurrence(start, every, start, weekdays)
    assert first == (1, at("2026-03-09", 12))
    assert next_occurrence(start, every, first[1], weekdays) == (3, at("2026-03-10", 12))


# --- properties -------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
cadences = st.sampled_from(["1d", "3d", "1w", "2w", "1mo", "1mo1d", "3mo", "6mo", "1y", "36h"]).map(Duration.parse)
# Built once: hypothesis draws from a handful of calendars, each loading its data lazily.
calendars = st.sampled_from([BusinessCalendar(c) for c in (["GB"], ["US-PA", "GB"], ["DE-BY"], ["SA"], [])])


@given(start=starts, every=cadences)
def test_occurrences_strictly_increase(start: datetime, every: Duration) -> None:
    times = [occurrence(start, every, n) for n in range(1, 40)]
    assert times == sorted(set(times))
    assert times[0] > start


@given(day=st.integers(min_value=28, max_value=31), months=st.integers(min_value=1, max_value=60))
def test_monthly_keeps_the_launch_day_when_the_month_has_it(day: int, months: int) -> None:
    start = datetime(2026, 1, day, 9, tzinfo=UTC)
    when = occurrence(start, MONTHLY, months)
    assert when.day == day or (when + timedelta(days=1)).day == 1  # the day itself, or the month's last
    assert (when.year - 2026) * 12 + when.month - 1 == months


@given(start=starts, every=cadences, offset_days=st.integers(min_value=-30, max_value=800))
def test_next_occurrence_is_the_first_after(start: datetime, every: Duration, offset_days: int) -> None:
    after = start + timedelta(days=offset_days, hours=5)
    n, when = next_occurrence(start, every, after)
    assert when == occurrence(start, every, n) and when > after
    assert n == 1 or occurrence(start, every, n - 1) <= after


@given(start=starts, every=cadences, calendar=calendars, offset_days=st.integers(min_value=-30, max_value=400))
def test_with_a_calendar_reviews_go_forward_and_never_fall_on_a_non_business_day(
    start: datetime, every: Duration, calendar: BusinessCalendar, offset_days: int
) -> None:
    after = start + timedelta(days=offset_days)
    seen: list[tuple[int, datetime]] = []
    for _ in range(6):
        n, when = next_occurrence(start, every, after, calendar)
        assert calendar.is_business_day(when.date())
        nominal = occurrence(start, every, n)
        assert nominal <= when <= nominal + timedelta(days=MAX_SHIFT_DAYS)
        assert when.time() == nominal.time()
        assert when > after
        seen.append((n, when))
        after = when
    assert [w for _, w in seen] == sorted({w for _, w in seen})  # strictly later each time
    assert [n for n, _ in seen] == sorted({n for n, _ in seen})
