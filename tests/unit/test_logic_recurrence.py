"""Review cadences as calendar rules: local meeting times through a year of daylight-saving changes,
"the first Tuesday of the quarter", holidays of each party in its own zone.

Expected instants are written out or derived from the 2026 change dates listed in
tests/unit/test_logic_zones.py (an oracle independent of the zone database); holiday facts
are the pinned ``holidays`` release's.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.logic import recurrence, schedule, zones
from accord.logic.business_days import BusinessCalendar, JointCalendar
from accord.logic.recurrence import (
    meeting_end,
    next_occurrence,
    next_review,
    occurrence,
)
from accord.logic.time_display import format_instant
from definitions.calendar import CalendarRule
from definitions.durations import Duration

START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def rule(**fields) -> CalendarRule:
    return CalendarRule.model_validate(fields)


def all_in_2026(cadence: CalendarRule, calendar=None) -> list[tuple[int, datetime]]:
    """Every (n, time) of 2026 as a workflow would walk them: each the next after the last."""
    held, after = [], START
    while (found := next_occurrence(START, cadence, after, calendar))[1] < YEAR_END:
        held.append(found)
        after = found[1]
    return held


def mondays_2026() -> list[date]:
    return [date(2026, 1, 5) + timedelta(weeks=k) for k in range(52)]


# --- a weekly review at 10:00 local, all year ---------------------------------------

# UTC offsets by the 2026 change dates, written out: (zone, first day of the second
# offset, first day back, offset in between, offset outside) in hours.
OFFSETS = {
    "Europe/London": (date(2026, 3, 29), date(2026, 10, 25), 1, 0),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1), -4, -5),
    "Australia/Sydney": (date(2026, 4, 5), date(2026, 10, 4), 10, 11),
}


@pytest.mark.parametrize("name", sorted(OFFSETS))
def test_a_weekly_review_at_ten_opens_at_ten_local_all_year(name: str) -> None:
    changes_on, changes_back, between, outside = OFFSETS[name]
    held = all_in_2026(rule(weekdays=["monday"], at="10:00", minutes=30, zone=name))
    expected = [
        datetime.combine(day, time(10), tzinfo=UTC) - timedelta(hours=between if changes_on <= day < changes_back else outside)
        for day in mondays_2026()
    ]
    assert [t for _, t in held] == expected
    assert [n for n, _ in held] == list(range(1, 53))
    tz = zones.zone(name)
    assert {(t.astimezone(tz).weekday(), t.astimezone(tz).time()) for _, t in held} == {(0, time(10))}
    # One hour less or more in the week of each change, seven days otherwise.
    gaps = sorted({b - a for (_, a), (_, b) in pairwise(held)})
    assert gaps == [timedelta(days=7, hours=-1), timedelta(days=7), timedelta(days=7, hours=1)]


def test_around_london_s_changes_exactly() -> None:
    weekly = rule(weekdays=["monday"], at="10:00", zone="Europe/London")
    assert next_occurrence(START, weekly, utc(2026, 3, 23, 10)) == (13, utc(2026, 3, 30, 9))
    assert next_occurrence(START, weekly, utc(2026, 3, 23, 9, 59, 59)) == (12, utc(2026, 3, 23, 10))
    assert next_occurrence(START, weekly, utc(2026, 10, 19, 9)) == (43, utc(2026, 10, 26, 10))
    assert format_instant(occurrence(START, weekly, 13), "Europe/London") == "Monday 30 March 2026, 10:00 BST (Europe/London)"
    # Shown to a New York participant, the same review moves in their local time while
    # the two places' changes are three weeks apart.
    assert format_instant(occurrence(START, weekly, 10), "America/New_York") == (
        "Monday 9 March 2026, 06:00 EDT (America/New_York)"
    )


# --- first and last of the quarter and of the month --------------------------------


def test_the_first_tuesday_of_the_quarter_at_15_berlin() -> None:
    quarterly = rule(weekdays=["tuesday"], nth="first", of="quarter", at="15:00", minutes=90, zone="Europe/Berlin")
    assert [occurrence(START, quarterly, n) for n in range(1, 6)] == [
        utc(2026, 1, 6, 14),  # CET, +01:00
        utc(2026, 4, 7, 13),  # CEST, +02:00
        utc(2026, 7, 7, 13),
        utc(2026, 10, 6, 13),  # CEST until 25 October
        utc(2027, 1, 5, 14),
    ]
    # A launch in the middle of a quarter: the next quarter's first Tuesday.
    assert occurrence(utc(2026, 2, 10), quarterly, 1) == utc(2026, 4, 7, 13)
    # Launched exactly at one: that one is not counted, the next one is the first.
    assert occurrence(utc(2026, 4, 7, 13), quarterly, 1) == utc(2026, 7, 7, 13)
    assert occurrence(utc(2026, 4, 7, 12, 59, 59), quarterly, 1) == utc(2026, 4, 7, 13)
    assert meeting_end(utc(2026, 4, 7, 13), quarterly) == utc(2026, 4, 7, 14, 30)


def test_the_last_friday_of_the_quarter_and_of_the_month() -> None:
    quarter_end = rule(weekdays=["friday"], nth="last", of="quarter", at="12:00", zone="Europe/Berlin")
    assert [occurrence(START, quarter_end, n).date() for n in range(1, 5)] == [
        date(2026, 3, 27), date(2026, 6, 26), date(2026, 9, 25), date(2026, 12, 25)
    ]
    month_end = rule(weekdays=["friday"], nth=-1, at="12:00", zone="Europe/Berlin")
    assert [occurrence(START, month_end, n).day for n in range(1, 13)] == [30, 27, 27, 24, 29, 26, 31, 28, 25, 30, 27, 25]


def test_a_day_of_the_month_a_month_lacks_is_its_last_day() -> None:
    on_31st = rule(day_of_month=31, at="09:00", zone="America/New_York")
    assert [occurrence(START, on_31st, n).date().isoformat() for n in range(1, 7)] == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30"
    ]
    assert occurrence(START, on_31st, 1) == utc(2026, 1, 31, 14)  # EST
    assert occurrence(START, on_31st, 3) == utc(2026, 3, 31, 13)  # EDT
    last_day = rule(day_of_month=-1, at="16:00", zone="America/New_York")
    assert [occurrence(START, last_day, n).day for n in range(1, 5)] == [31, 28, 31, 30]
    from_end = rule(day_of_month=-31, at="16:00", zone="America/New_York")  # "31 days from the end"
    assert [occurrence(START, from_end, n).day for n in range(1, 4)] == [1, 1, 1]
    mid_quarter = rule(day_of_month=15, of="quarter", at="09:00", zone="Asia/Kolkata")
    assert [occurrence(START, mid_quarter, n) for n in range(1, 4)] == [
        utc(2026, 1, 15, 3, 30), utc(2026, 4, 15, 3, 30), utc(2026, 7, 15, 3, 30)
    ]
    quarter_last_day = rule(day_of_month=-1, of="quarter", at="17:00", zone="Asia/Kolkata")
    assert [occurrence(START, quarter_last_day, n).date() for n in range(1, 5)] == [
        date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 12, 31)
    ]


def test_intervals_count_from_the_start_s_period() -> None:
    # Launched on Wednesday 7 January: its week's Monday (the 5th) is before the launch;
    # every other week from that week is 19 January, 2 February ...
    fortnightly = rule(weekdays=["monday"], interval=2, at="09:30", zone="Europe/London")
    assert [occurrence(utc(2026, 1, 7), fortnightly, n).date() for n in range(1, 4)] == [
        date(2026, 1, 19), date(2026, 2, 2), date(2026, 2, 16)
    ]
    twice_weekly = rule(weekdays=["thursday", "monday"], at="09:30", zone="Europe/London")
    assert [occurrence(utc(2026, 1, 7), twice_weekly, n).date() for n in range(1, 4)] == [
        date(2026, 1, 8), date(2026, 1, 12), date(2026, 1, 15)
    ]
    half_yearly = rule(weekdays=["tuesday"], nth=1, of="quarter", interval=2, at="15:00", zone="Europe/Berlin")
    assert [occurrence(utc(2026, 2, 1), half_yearly, n).date() for n in range(1, 3)] == [date(2026, 7, 7), date(2027, 1, 5)]


def test_the_rule_is_an_rfc_5545_recurrence() -> None:
    quarterly = rule(weekdays=["tuesday"], nth=1, of="quarter", at="15:00", zone="Europe/Berlin")
    assert str(recurrence.rrule_for(quarterly, utc(2026, 2, 10))) == (
        "DTSTART:20260101T000000\nRRULE:FREQ=MONTHLY;INTERVAL=3;BYDAY=+1TU;BYHOUR=15;BYMINUTE=0;BYSECOND=0"
    )
    on_31st = rule(day_of_month=31, at="09:00", zone="America/New_York")
    # Midnight UTC on 1 January is still 31 December in New York: that month is the anchor.
    assert str(recurrence.rrule_for(on_31st, START)) == (
        "DTSTART:20251201T000000\nRRULE:FREQ=MONTHLY;BYSETPOS=1;BYMONTHDAY=31,-1;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
    )


# --- local times the clock skips or repeats, and fractional offsets -----------------


def test_skipped_and_repeated_meeting_times() -> None:
    early = rule(weekdays=["sunday"], at="02:30", zone="America/New_York")
    after = utc(2026, 2, 28)
    assert [next_occurrence(START, early, after + timedelta(weeks=k))[1] for k in range(3)] == [
        utc(2026, 3, 1, 7, 30),  # 02:30 EST
        utc(2026, 3, 8, 7, 30),  # 02:30 does not exist that night: 03:30 EDT
        utc(2026, 3, 15, 6, 30),  # 02:30 EDT
    ]
    fall_back = rule(weekdays=["sunday"], at="01:30", minutes=60, zone="America/New_York")
    begins = next_occurrence(START, fall_back, utc(2026, 10, 30))[1]
    assert begins == utc(2026, 11, 1, 5, 30)  # the first 01:30, EDT
    # An hour of elapsed time: it ends at the second 01:30 of the night.
    assert format_instant(meeting_end(begins, fall_back), "America/New_York") == "Sunday 1 November 2026, 01:30 EST (America/New_York)"


def test_a_meeting_moved_off_a_spring_forward_sunday_keeps_its_local_time() -> None:
    early = rule(weekdays=["sunday"], at="02:30", zone="America/New_York")
    us = BusinessCalendar("US", zone="America/New_York")
    # Moved to Monday it is at 02:30 EDT again, not at the 03:30 the gap made of Sunday's.
    assert next_occurrence(START, early, utc(2026, 3, 7), us) == (10, utc(2026, 3, 9, 6, 30))


def test_lord_howe_s_half_hour_change_and_adelaide_s_half_hour_offset() -> None:
    sunday = rule(weekdays=["sunday"], at="02:15", zone="Australia/Lord_Howe")
    assert [next_occurrence(START, sunday, utc(2026, 9, 25) + timedelta(weeks=k))[1] for k in range(3)] == [
        utc(2026, 9, 26, 15, 45),  # 02:15 at +10:30
        utc(2026, 10, 3, 15, 45),  # 02:15 is skipped (02:00 -> 02:30): 02:45 at +11:00
        utc(2026, 10, 10, 15, 15),  # 02:15 at +11:00
    ]
    monday = rule(weekdays=["monday"], at="09:00", zone="Australia/Adelaide")
    held = all_in_2026(monday)
    assert held[12][1] == utc(2026, 3, 29, 22, 30)  # 30 March, +10:30
    assert held[13][1] == utc(2026, 4, 5, 23, 30)  # 6 April, +09:30
    assert held[39][1] == utc(2026, 10, 4, 22, 30)  # 5 October, +10:30 again
    kathmandu = all_in_2026(rule(weekdays=["monday"], at="09:00", zone="Asia/Kathmandu"))
    assert len(kathmandu) == 52 and {t.time() for _, t in kathmandu} == {time(3, 15)}


# --- holidays of each party, in its own zone ----------------------------------------

GB_LONDON = BusinessCalendar("GB", zone="Europe/London")
US_NEW_YORK = BusinessCalendar("US", zone="America/New_York")
NSW_SYDNEY = BusinessCalendar("AU-NSW", zone="Australia/Sydney")


def test_a_year_of_weekly_reviews_moves_off_either_party_s_holidays() -> None:
    weekly = rule(weekdays=["monday"], at="10:00", zone="Europe/London")
    held = all_in_2026(weekly, JointCalendar([GB_LONDON, US_NEW_YORK]))
    moved = [(n, t) for n, t in held if t != occurrence(START, weekly, n)]
    assert moved == [
        (3, utc(2026, 1, 20, 10)),  # Martin Luther King Jr. Day (US)
        (7, utc(2026, 2, 17, 10)),  # Washington's Birthday (US)
        (18, utc(2026, 5, 5, 9)),  # May Day (GB)
        (21, utc(2026, 5, 26, 9)),  # Spring Bank Holiday (GB), Memorial Day (US)
        (36, utc(2026, 9, 8, 9)),  # Labor Day (US)
        (41, utc(2026, 10, 13, 9)),  # Columbus Day (US)
        (52, utc(2026, 12, 29, 10)),  # Boxing Day (observed) (GB)
    ]
    assert len(held) == 52
    assert JointCalendar([GB_LONDON, US_NEW_YORK]).holiday_name(utc(2026, 5, 25, 9)) == (
        "Spring Bank Holiday (GB); Memorial Day (US)"
    )


def test_each_party_s_day_is_its_local_date() -> None:
    # Friday 25 December 2026 09:00 in Sydney is Thursday evening in London.
    weekly = rule(weekdays=["friday"], at="09:00", zone="Australia/Sydney")
    start, after = utc(2026, 12, 1), utc(2026, 12, 20)
    # Sydney alone: past Christmas, the weekend and Monday's Boxing Day substitute, to Tuesday.
    assert next_occurrence(start, weekly, after, JointCalendar([NSW_SYDNEY])) == (4, utc(2026, 12, 28, 22))
    # With a London party: Tuesday 09:00 in Sydney is Monday 28th in London, GB's Boxing Day
    # substitute, so Wednesday 30th (Tuesday 29th in London).
    assert next_occurrence(start, weekly, after, JointCalendar([NSW_SYDNEY, GB_LONDON])) == (4, utc(2026, 12, 29, 22))
    # The same London holidays judged by Sydney's date would have allowed Tuesday.
    gb_by_sydney_date = BusinessCalendar("GB", zone="Australia/Sydney")
    assert next_occurrence(start, weekly, after, JointCalendar([NSW_SYDNEY, gb_by_sydney_date]))[1] == utc(2026, 12, 28, 22)


def test_the_calendar_judges_days_in_its_zone_and_in_utc_by_default() -> None:
    christmas_morning_in_sydney = utc(2026, 12, 24, 22)
    assert BusinessCalendar("AU-NSW").is_business_day(christmas_morning_in_sydney)  # 24 December in UTC
    assert not NSW_SYDNEY.is_business_day(christmas_morning_in_sydney)
    assert NSW_SYDNEY.holiday_name(christmas_morning_in_sydney) == "Christmas Day (AU-NSW)"
    assert NSW_SYDNEY.zone == "Australia/Sydney" and BusinessCalendar("AU-NSW").zone is None
    assert repr(NSW_SYDNEY) == "BusinessCalendar(['AU-NSW'], zone='Australia/Sydney')"
    # Moving keeps the local time of day across a daylight-saving change: Saturday 28 March
    # 10:00 GMT, moved to Monday 30 March, is 10:00 BST.
    assert GB_LONDON.next_business_day(utc(2026, 3, 28, 10)) == utc(2026, 3, 30, 9)
    assert BusinessCalendar("GB").next_business_day(utc(2026, 3, 28, 10)) == utc(2026, 3, 30, 10)  # UTC, as before
    with pytest.raises(ValueError, match="did you mean 'Europe/London'"):
        BusinessCalendar("GB", zone="Europe/Lodnon")
    with pytest.raises(TypeError, match="instants"):
        JointCalendar([GB_LONDON]).is_business_day(date(2026, 12, 25))


def test_moved_occurrences_are_judged_on_their_moved_time_and_merge() -> None:
    weekly = rule(weekdays=["monday"], at="10:00", zone="Europe/London")
    both = JointCalendar([GB_LONDON, US_NEW_YORK])
    # Between Martin Luther King Jr. Day and the Tuesday the review moved to, it is still ahead.
    assert next_occurrence(START, weekly, utc(2026, 1, 19, 12), both) == (3, utc(2026, 1, 20, 10))
    assert next_occurrence(START, weekly, utc(2026, 1, 20, 9, 59, 59), both) == (3, utc(2026, 1, 20, 10))
    assert next_occurrence(START, weekly, utc(2026, 1, 20, 10), both) == (4, utc(2026, 1, 26, 10))  # exactly at it
    # Saturday's and Sunday's reviews move onto Monday's: one review, numbered by Saturday's.
    weekend = rule(weekdays=["saturday", "sunday", "monday"], at="10:00", zone="Europe/London")
    launch = utc(2026, 3, 6)  # a Friday
    assert next_occurrence(launch, weekend, launch, GB_LONDON) == (1, utc(2026, 3, 9, 10))
    assert next_occurrence(launch, weekend, utc(2026, 3, 9, 10), GB_LONDON) == (4, utc(2026, 3, 16, 10))


def test_the_every_form_is_unchanged() -> None:
    weekly, monthly = Duration.parse("1w"), Duration.parse("1mo")
    launch = utc(2026, 11, 25, 10)
    gb = BusinessCalendar(["GB"])
    for after in (launch, utc(2026, 12, 27), utc(2027, 6, 1)):
        assert next_review(launch, monthly, after, gb) == schedule.next_occurrence(launch, monthly, after, gb)
        assert next_review(launch, weekly, after) == schedule.next_occurrence(launch, weekly, after)
    assert next_review(launch, monthly, launch, gb) == (1, utc(2026, 12, 29, 10))
    weekly_rule = rule(weekdays=["monday"], at="10:00", zone="Europe/London")
    assert next_review(START, weekly_rule, START) == (1, utc(2026, 1, 5, 10))
    # The rule form takes the calendar too: the early May bank holiday moves that Monday's review.
    after = utc(2026, 4, 28)
    assert next_review(START, weekly_rule, after) == (18, utc(2026, 5, 4, 9))
    assert next_review(START, weekly_rule, after, BusinessCalendar(["GB"], zone="Europe/London")) == (18, utc(2026, 5, 5, 9))


class OpenFrom:
    """A calendar whose first business day is ``first`` (nothing before it is one)."""

    def __init__(self, first: datetime) -> None:
        self.first = first

    def is_business_day(self, moment: datetime) -> bool:
        return moment >= self.first

    def __repr__(self) -> str:
        return f"OpenFrom({self.first:%Y-%m-%d})"


def test_an_occurrence_moved_the_longest_way_is_still_found_and_keeps_its_number() -> None:
    weekly = rule(weekdays=["monday"], at="10:00", zone="UTC")
    first = occurrence(START, weekly, 1)  # Monday 5 January, moved 31 days to Thursday 5 February
    calendar = OpenFrom(first + timedelta(days=31))
    assert next_occurrence(START, weekly, first + timedelta(days=30, hours=12), calendar) == (1, utc(2026, 2, 5, 10))


def test_every_other_quarter_counts_from_the_start_s_quarter() -> None:
    # Started in November (Q4): Q4, Q2, Q4... so the first Monday of April 2027 comes next, not January's.
    every_other = rule(weekdays=["monday"], nth=1, of="quarter", interval=2, at="10:00", zone="UTC")
    assert next_occurrence(utc(2026, 11, 10), every_other, utc(2026, 11, 10)) == (1, utc(2027, 4, 5, 10))


def test_a_meeting_end_refuses_a_naive_beginning() -> None:
    weekly = rule(weekdays=["monday"], at="10:00", zone="Europe/London")
    with pytest.raises(ValueError, match=r"^begins must be timezone-aware \(UTC\), got naive 2026-01-05T10:00:00$"):
        recurrence.meeting_end(datetime(2026, 1, 5, 10), weekly)


def test_the_rule_refuses_a_naive_start() -> None:
    weekly = rule(weekdays=["monday"], at="10:00", zone="UTC")
    with pytest.raises(ValueError, match=r"^start must be timezone-aware \(UTC\), got naive 2026-01-01T00:00:00$"):
        recurrence.rrule_for(weekly, datetime(2026, 1, 1))


def test_an_occurrence_that_cannot_be_moved_names_the_calendar() -> None:
    weekly = rule(weekdays=["monday"], at="10:00", zone="UTC")
    with pytest.raises(ValueError, match=r"^no business day within 31 days of 2026-01-05 in OpenFrom\(2027-01-01\)$"):
        next_occurrence(START, weekly, START, OpenFrom(utc(2027, 1, 1)))


def test_the_walk_stops_after_the_most_occurrences_it_computes() -> None:
    daily = rule(weekdays=WEEKDAY_NAMES, at="10:00", zone="UTC")
    with pytest.raises(ValueError, match=r"^no occurrence of the rule found within 100000 occurrences"):
        next_occurrence(START, daily, utc(2300, 1, 1))


# --- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"weekdays": ["monday", "friday"], "nth": 1},
         "nth needs exactly one weekday (e.g. weekdays: [tuesday], nth: first), not 2"),
        ({}, "say when: weekdays (every week on those days), day_of_month, or nth with one weekday"),
        ({"weekdays": ["friday"], "day_of_month": 13}, "give either weekdays or day_of_month, not both"),
        ({"zone": "Europe/Lodnon", "weekdays": ["monday"]},
         ("unknown time zone 'Europe/Lodnon' in the time zone database 2026f; did you mean 'Europe/London' or"
         " 'Europe/Lisbon' or 'Europe/Vienna'?")),
        ({"weekdays": ["monday", "monday"], "nth": 0},  # every problem, joined
         ("monday is listed 2 times; nth is first (1) to fourth (4) or last (-1); 0 is none of them;"
         " nth needs exactly one weekday (e.g. weekdays: [tuesday], nth: first), not 2")),
    ],
)
def test_an_unusable_rule_is_refused_with_the_checks_message(fields: dict, message: str) -> None:
    cadence = rule(**{"at": "10:00", "zone": "Europe/London", **fields})
    with pytest.raises(ValueError, match=f"^{re.escape('unusable calendar rule: ' + message)}$"):
        occurrence(START, cadence, 1)


def test_numbers_and_bounds() -> None:
    weekly = rule(weekdays=["monday"], at="10:00", zone="Europe/London")
    with pytest.raises(ValueError, match="^occurrences are numbered from 1, got 0$"):
        occurrence(START, weekly, 0)
    occurrence(START, weekly, 1)
    daily = rule(weekdays=WEEKDAY_NAMES, at="10:00", zone="UTC")
    assert occurrence(START, daily, recurrence.MAX_OCCURRENCES) == utc(2299, 10, 16, 10)  # the last one computed
    with pytest.raises(ValueError, match=r"^occurrence 100001 is past the last one computed \(100000\)$"):
        occurrence(START, weekly, recurrence.MAX_OCCURRENCES + 1)
    naive = r" must be timezone-aware \(UTC\), got naive 2026-01-01T00:00:00$"
    with pytest.raises(ValueError, match="^start" + naive):
        occurrence(datetime(2026, 1, 1), weekly, 1)
    with pytest.raises(ValueError, match="^start" + naive):
        next_occurrence(datetime(2026, 1, 1), weekly, START)
    with pytest.raises(ValueError, match="^after" + naive):
        next_occurrence(START, weekly, datetime(2026, 1, 1))
    # The year 9999 ends every rule: a clear error, not a hang.
    with pytest.raises(ValueError, match=r"^no occurrence of the rule found within 100000 occurrences \(or by the year 9999\)"
                                         r" after 2026-01-01T00:00:00\+00:00$"):
        next_occurrence(START, rule(day_of_month=1, at="10:00", zone="UTC"), utc(9999, 12, 2))


# --- properties -----------------------------------------------------------------------

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia"]
WEEKDAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
CALENDARS = [
    JointCalendar([GB_LONDON, US_NEW_YORK]),
    JointCalendar([NSW_SYDNEY, GB_LONDON]),
    JointCalendar([BusinessCalendar("SA", zone="Asia/Riyadh"), US_NEW_YORK]),
]

when = st.one_of(
    st.builds(lambda days: {"weekdays": sorted(days)}, st.sets(st.sampled_from(WEEKDAY_NAMES), min_size=1)),
    st.builds(lambda day, nth, of: {"weekdays": [day], "nth": nth, "of": of},
              st.sampled_from(WEEKDAY_NAMES), st.sampled_from([1, 2, 3, 4, -1]), st.sampled_from(["month", "quarter"])),
    st.builds(lambda day, of: {"day_of_month": day, "of": of},
              st.integers(1, 31) | st.integers(-31, -1), st.sampled_from(["month", "quarter"])),
)
rules = st.builds(
    lambda w, interval, hour, minute, zone: rule(**w, interval=interval, at=f"{hour:02d}:{minute:02d}", zone=zone),
    when, st.integers(1, 3), st.integers(0, 23), st.sampled_from([0, 15, 30, 45]), st.sampled_from(ZONES),
)
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))


@settings(max_examples=60, derandomize=True, deadline=None)
@given(rules, instants)
def test_occurrences_only_increase_and_keep_their_local_time(cadence: CalendarRule, start: datetime) -> None:
    tz = zones.zone(cadence.zone)
    times = [occurrence(start, cadence, n) for n in range(1, 10)]
    assert start < times[0] and all(a < b for a, b in pairwise(times))
    for t in times:
        shown = t.astimezone(tz).replace(tzinfo=None)
        meant = datetime.combine(shown.date(), cadence.at)
        # At the rule's local time, or where the rule puts a time the clock skipped.
        assert shown == meant or (zones.is_nonexistent(meant, tz) and zones.to_utc(meant, tz) == t)
    for k in range(1, len(times)):  # strictly after: exactly at one gives the next
        assert next_occurrence(start, cadence, times[k - 1]) == (k + 1, times[k])
        assert next_occurrence(start, cadence, times[k - 1] - timedelta(microseconds=1)) == (k, times[k - 1])


@settings(max_examples=40, derandomize=True, deadline=None)
@given(rules, instants, st.sampled_from(CALENDARS))
def test_with_holidays_numbers_and_times_still_only_increase(cadence: CalendarRule, start: datetime, calendar) -> None:
    after, last_n = start, 0
    for _ in range(8):
        n, at = next_occurrence(start, cadence, after, calendar)
        assert at > after and n > last_n
        assert calendar.is_business_day(at)
        assert at >= occurrence(start, cadence, n)  # moved only forward
        after, last_n = at, n
