"""Deadlines at the end of the owner's working day, reminders and emails in the recipient's working hours.

Dates: Monday 2 March 2026 starts a plain week in London (GMT, UTC+0); London moves to
BST on 29 March; 3 and 6 April 2026 are Good Friday and Easter Monday in England
(``GB-ENG``). Sydney is on AEDT (UTC+11) in March, New York on EST (UTC-5) until 8 March.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.logic import zones
from accord.logic.chasing import Nudge, NudgeKind
from accord.logic.time_display import format_instant
from accord.logic.working_hours import (
    Window,
    WorkingHours,
    deadline,
    delivery_at,
    joint_deadline,
    next_nudge,
    plan,
    reminder_at,
)
from definitions.durations import Duration
from definitions.schema import Reminders

LONDON = WorkingHours("Europe/London", "GB-ENG")
NEW_YORK = WorkingHours("America/New_York", "US")
SYDNEY = WorkingHours("Australia/Sydney", "AU-NSW")
SECOND = timedelta(seconds=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def days(text: str) -> Duration:
    return Duration.parse(text)


# --- the window ---------------------------------------------------------------------


def test_the_window_includes_both_ends() -> None:
    assert LONDON.is_within(utc(2026, 3, 4, 9))
    assert not LONDON.is_within(utc(2026, 3, 4, 9) - SECOND)
    assert LONDON.is_within(utc(2026, 3, 4, 17))
    assert not LONDON.is_within(utc(2026, 3, 4, 17) + timedelta(microseconds=1))
    assert not LONDON.is_within(utc(2026, 3, 7, 12))  # Saturday
    assert not LONDON.is_within(utc(2026, 4, 3, 12))  # Good Friday
    # In summer, 09:00-17:00 BST is 08:00-16:00 UTC.
    assert LONDON.is_within(utc(2026, 7, 2, 8)) and LONDON.is_within(utc(2026, 7, 2, 16))
    assert not LONDON.is_within(utc(2026, 7, 2, 16, 0, 1)) and not LONDON.is_within(utc(2026, 7, 2, 7, 59, 59))
    assert LONDON.hours_on(date(2026, 7, 2)) == (utc(2026, 7, 2, 8), utc(2026, 7, 2, 16))
    assert LONDON.hours_on(date(2026, 4, 6)) is None  # Easter Monday


def test_working_days_follow_the_region_or_the_window() -> None:
    riyadh = WorkingHours("Asia/Riyadh", "SA")  # weekend Friday and Saturday
    assert riyadh.is_working_day(date(2026, 3, 8)) and not riyadh.is_working_day(date(2026, 3, 6))
    assert WorkingHours().is_working_day(date(2026, 12, 25))  # no region: Monday to Friday, UTC
    sunday_to_thursday = WorkingHours("Europe/London", "GB", Window(weekdays=frozenset({6, 0, 1, 2, 3})))
    assert sunday_to_thursday.is_working_day(date(2026, 3, 8))
    assert not sunday_to_thursday.is_working_day(date(2026, 3, 6))
    assert not sunday_to_thursday.is_working_day(date(2026, 12, 28))  # Boxing Day (observed): holidays still count
    late = WorkingHours("Europe/London", window=Window(time(10, 30), time(18, 45)))
    assert late.hours_on(date(2026, 3, 4)) == (utc(2026, 3, 4, 10, 30), utc(2026, 3, 4, 18, 45))


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"start": time(17), "end": time(9)},
         "working hours must end after they start on the same day, not 17:00:00-09:00:00"),
        ({"start": time(9), "end": time(9)}, "working hours must end after they start on the same day, not 09:00:00-09:00:00"),
        ({"weekdays": frozenset()}, "working weekdays are some of 0 (Monday) to 6 (Sunday), not []"),
        ({"weekdays": frozenset({7})}, "working weekdays are some of 0 (Monday) to 6 (Sunday), not [7]"),
        ({"start": time(9, tzinfo=UTC)}, "working hours are local clock times, without a zone"),
    ],
)
def test_a_window_that_cannot_be_is_refused(window: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Window(**window)


def test_a_person_s_zone_is_checked() -> None:
    with pytest.raises(ValueError, match="did you mean 'Europe/London'"):
        WorkingHours("Europe/Lodnon")
    assert WorkingHours(None).zone == "UTC"


# --- deadlines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assigned", "due", "expected"),
    [
        # Monday + 5 days is Saturday: the end of the next working day, Monday 9th.
        (utc(2026, 3, 2, 15), "5d", utc(2026, 3, 9, 17)),
        (utc(2026, 3, 4, 10), "5d", utc(2026, 3, 9, 17)),  # Wednesday + 5: Monday
        (utc(2026, 3, 5, 10), "5d", utc(2026, 3, 10, 17)),  # Thursday + 5: Tuesday
        (utc(2026, 3, 2, 23, 59), "1d", utc(2026, 3, 3, 17)),  # the local date counts, not the hour
        (utc(2026, 3, 2, 15), "2w", utc(2026, 3, 16, 17)),
        # Friday 27 March (GMT) + 3 days: Monday 30th, 17:00 BST.
        (utc(2026, 3, 27, 12), "3d", utc(2026, 3, 30, 16)),
        # Due on Good Friday: past the weekend and Easter Monday, Tuesday 7 April 17:00 BST.
        (utc(2026, 3, 30, 9), "4d", utc(2026, 4, 7, 16)),
        # A month from 31 January is 28 February, a Saturday: Monday 2 March.
        (utc(2026, 1, 31, 12), "1mo", utc(2026, 3, 2, 17)),
        # With hours in it, the exact instant.
        (utc(2026, 3, 2, 15), "36h", utc(2026, 3, 4, 3)),
        (utc(2026, 3, 2, 15), "4h", utc(2026, 3, 2, 19)),
        # Zero days (the checks refuse it): today's end, or tomorrow's once today's has passed.
        (utc(2026, 3, 2, 10), "0d", utc(2026, 3, 2, 17)),
        (utc(2026, 3, 2, 17), "0d", utc(2026, 3, 3, 17)),
    ],
)
def test_work_is_due_at_the_end_of_the_owner_s_working_day(assigned: datetime, due: str, expected: datetime) -> None:
    assert deadline(assigned, days(due), LONDON) == expected


def test_the_owner_s_local_date_decides_the_day() -> None:
    # Sunday 1 March 21:00 UTC is Monday 08:00 in Sydney: due in a day is Tuesday 17:00 there.
    assert deadline(utc(2026, 3, 1, 21), days("1d"), SYDNEY) == utc(2026, 3, 3, 6)
    assert format_instant(utc(2026, 3, 3, 6), "Australia/Sydney") == "Tuesday 3 March 2026, 17:00 AEDT (Australia/Sydney)"


def test_several_approvers_get_the_latest_end_of_their_working_days() -> None:
    approvers = [LONDON, NEW_YORK, SYDNEY]
    # Assigned Monday 2 March 12:00 UTC, Monday in all three places; due in 3 days is
    # Thursday 5th for each, and New York's working day ends last.
    assigned = utc(2026, 3, 2, 12)
    assert [deadline(assigned, days("3d"), p) for p in approvers] == [
        utc(2026, 3, 5, 17), utc(2026, 3, 5, 22), utc(2026, 3, 5, 6)
    ]
    due = joint_deadline(assigned, days("3d"), approvers)
    assert due == utc(2026, 3, 5, 22)
    assert [format_instant(due, p.zone) for p in approvers] == [
        "Thursday 5 March 2026, 22:00 GMT (Europe/London)",
        "Thursday 5 March 2026, 17:00 EST (America/New_York)",
        "Friday 6 March 2026, 09:00 AEDT (Australia/Sydney)",
    ]
    # Two hours later it is already Tuesday in Sydney: its approver's day is Friday 6th,
    # whose end (06:00 UTC) is now the last, and nobody's Thursday is cut short.
    assert joint_deadline(utc(2026, 3, 2, 14), days("3d"), approvers) == utc(2026, 3, 6, 6)
    with pytest.raises(ValueError, match="^a joint deadline needs at least one person$"):
        joint_deadline(assigned, days("3d"), [])


# --- reminders ------------------------------------------------------------------------

ASSIGNED = utc(2026, 3, 2, 10)  # Monday
DUE = utc(2026, 3, 6, 17)  # Friday, the end of the working day


@pytest.mark.parametrize(
    ("planned", "sent"),
    [
        (utc(2026, 3, 4, 12), utc(2026, 3, 4, 12)),  # within: as planned
        (utc(2026, 3, 4, 9), utc(2026, 3, 4, 9)),  # exactly at the start
        (utc(2026, 3, 4, 17), utc(2026, 3, 4, 17)),  # exactly at the end
        (utc(2026, 3, 4, 17, 0, 1), utc(2026, 3, 4, 17)),  # a second late: back to the end
        (utc(2026, 3, 5, 8, 59, 59), utc(2026, 3, 4, 17)),  # before the day starts: the day before
        (utc(2026, 3, 5, 3), utc(2026, 3, 4, 17)),
        (DUE, DUE),  # at the deadline itself, within hours
    ],
)
def test_a_reminder_outside_working_hours_moves_earlier(planned: datetime, sent: datetime) -> None:
    assert reminder_at(planned, ASSIGNED, DUE, LONDON) == sent


def test_a_weekend_reminder_moves_to_friday_evening() -> None:
    assert reminder_at(utc(2026, 3, 8, 17), ASSIGNED, utc(2026, 3, 10, 17), LONDON) == utc(2026, 3, 6, 17)


def test_a_reminder_that_cannot_move_earlier_moves_to_the_next_working_hours() -> None:
    friday_evening, tuesday = utc(2026, 3, 6, 18), utc(2026, 3, 10, 17)
    assert reminder_at(utc(2026, 3, 7, 17), friday_evening, tuesday, LONDON) == utc(2026, 3, 9, 9)
    # Assigned exactly at the end of Friday's hours: a reminder then would repeat the assignment.
    assert reminder_at(utc(2026, 3, 6, 20), utc(2026, 3, 6, 17), tuesday, LONDON) == utc(2026, 3, 9, 9)


def test_with_no_working_hours_before_the_deadline_a_reminder_goes_as_planned() -> None:
    friday_evening = utc(2026, 3, 6, 18)
    # Due Saturday evening: no working moment between assignment and deadline.
    assert reminder_at(utc(2026, 3, 7, 6), friday_evening, utc(2026, 3, 7, 18), LONDON) == utc(2026, 3, 7, 6)
    # Due exactly when Monday's hours open: that moment is the deadline, not before it.
    assert reminder_at(utc(2026, 3, 8, 9), friday_evening, utc(2026, 3, 9, 9), LONDON) == utc(2026, 3, 8, 9)
    assert reminder_at(utc(2026, 3, 8, 9), friday_evening, utc(2026, 3, 9, 9, 0, 1), LONDON) == utc(2026, 3, 9, 9)


def test_a_reminder_is_judged_in_the_recipient_s_zone() -> None:
    # Wednesday 12:00 UTC is 23:00 in Sydney: back to 17:00 AEDT, 06:00 UTC.
    assert reminder_at(utc(2026, 3, 4, 12), ASSIGNED, DUE, SYDNEY) == utc(2026, 3, 4, 6)
    # The same instant is 07:00 EST in New York, before the day starts: Tuesday 17:00 EST.
    assert reminder_at(utc(2026, 3, 4, 12), ASSIGNED, DUE, NEW_YORK) == utc(2026, 3, 3, 22)


def test_a_reminder_outside_its_work_s_life_is_refused() -> None:
    outside = "a reminder comes after its assignment and not after its deadline: {} is not within ({}, {}]"
    for planned in (ASSIGNED, DUE + SECOND):
        message = outside.format(planned.isoformat(), ASSIGNED.isoformat(), DUE.isoformat())
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            reminder_at(planned, ASSIGNED, DUE, LONDON)
    reminder_at(DUE, ASSIGNED, DUE, LONDON)  # at the deadline itself: still within


class NeverAtWork(WorkingHours):
    """A calendar with no working day at all (a misconfiguration the rules must survive)."""

    def is_working_day(self, day: date) -> bool:
        return False


def test_with_no_working_days_at_all_nothing_waits_forever() -> None:
    nobody = NeverAtWork("Europe/London")
    assert delivery_at(utc(2026, 3, 4, 22), nobody) == utc(2026, 3, 4, 22)
    assert reminder_at(utc(2026, 3, 4, 22), ASSIGNED, DUE, nobody) == utc(2026, 3, 4, 22)
    with pytest.raises(ValueError, match=r"^no working day within 31 days of 2026-03-04 for WorkingHours\('Europe/London', "
                                         r"\[\], Window\(start=datetime.time\(9, 0\), end=datetime.time\(17, 0\), weekdays=None\)\)$"):
        deadline(ASSIGNED, days("2d"), nobody)


# --- emails triggered at night ------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "triggered", "sent"),
    [
        (LONDON, utc(2026, 3, 3, 22), utc(2026, 3, 4, 9)),  # Tuesday night: Wednesday 09:00
        (LONDON, utc(2026, 3, 4, 8, 59, 59), utc(2026, 3, 4, 9)),
        (LONDON, utc(2026, 3, 4, 9), utc(2026, 3, 4, 9)),  # within: at once
        (LONDON, utc(2026, 3, 4, 17), utc(2026, 3, 4, 17)),
        (LONDON, utc(2026, 3, 6, 17, 0, 1), utc(2026, 3, 9, 9)),  # Friday after hours: Monday
        (LONDON, utc(2026, 3, 27, 18), utc(2026, 3, 30, 8)),  # over the change to BST: 09:00 BST
        (LONDON, utc(2026, 4, 2, 19), utc(2026, 4, 7, 8)),  # Easter: Tuesday 09:00 BST
        # 23:00 in Sydney on Tuesday: Wednesday 09:00 AEDT, which is still Tuesday in UTC.
        (SYDNEY, utc(2026, 3, 3, 12), utc(2026, 3, 3, 22)),
        (NEW_YORK, utc(2026, 3, 4, 12), utc(2026, 3, 4, 14)),  # 07:00 EST: 09:00 EST
    ],
)
def test_an_email_triggered_outside_working_hours_waits_for_the_next(
    person: WorkingHours, triggered: datetime, sent: datetime
) -> None:
    assert delivery_at(triggered, person) == sent


# --- the whole plan -------------------------------------------------------------------------


def policy(**fields) -> Reminders:
    return Reminders.model_validate(fields)


def test_a_plan_in_working_hours() -> None:
    due = deadline(ASSIGNED, days("5d"), LONDON)
    assert due == utc(2026, 3, 9, 17)
    nudges = plan(ASSIGNED, due, policy(before=["2d", "1d", "4h"], overdue_every="1d", escalate_after="3d"), LONDON)
    assert [(n.at, n.kind) for n in nudges] == [
        # Saturday's and Sunday's reminders both move to Friday's end: one reminder.
        (utc(2026, 3, 6, 17), NudgeKind.reminder),
        (utc(2026, 3, 9, 13), NudgeKind.reminder),
        (utc(2026, 3, 9, 17), NudgeKind.overdue),
        (utc(2026, 3, 10, 17), NudgeKind.overdue),
        (utc(2026, 3, 11, 17), NudgeKind.overdue),
        (utc(2026, 3, 12, 17), NudgeKind.escalate),
    ]
    assert next_nudge(ASSIGNED, due, policy(before=["2d", "1d", "4h"]), LONDON, utc(2026, 3, 6, 17)) == Nudge(
        utc(2026, 3, 9, 13), NudgeKind.reminder
    )
    assert next_nudge(ASSIGNED, due, policy(), LONDON, due) is None


def test_overdue_notices_at_night_wait_and_merge() -> None:
    due = utc(2026, 3, 9, 17)
    nudges = plan(ASSIGNED, due, policy(overdue_every="4h", escalate_after="1d"), LONDON)
    assert [(n.at, n.kind) for n in nudges] == [
        (due, NudgeKind.overdue),
        (utc(2026, 3, 10, 9), NudgeKind.overdue),  # 21:00, 01:00, 05:00 and 09:00: one, at 09:00
        (utc(2026, 3, 10, 13), NudgeKind.overdue),
        (utc(2026, 3, 10, 17), NudgeKind.escalate),
    ]
    # Repeats that would wait past the escalation are left to it; the first notice stays.
    nudges = plan(ASSIGNED, due, policy(overdue_every="2h", escalate_after="6h"), LONDON)
    assert [(n.at, n.kind) for n in nudges] == [(due, NudgeKind.overdue), (utc(2026, 3, 9, 23), NudgeKind.escalate)]
    # A deadline at night (an exact "36h"): its notice waits for the morning.
    night = utc(2026, 3, 3, 22)
    assert plan(ASSIGNED, night, policy(), LONDON) == [Nudge(utc(2026, 3, 4, 9), NudgeKind.overdue)]
    # Even when the escalation starts before that morning, the owner is told it is overdue.
    assert [(n.at, n.kind) for n in plan(ASSIGNED, night, policy(overdue_every="30m", escalate_after="1h"), LONDON)] == [
        (utc(2026, 3, 3, 23), NudgeKind.escalate),
        (utc(2026, 3, 4, 9), NudgeKind.overdue),
    ]


# --- a whole year, and properties -----------------------------------------------------------


@pytest.mark.parametrize("person", [LONDON, NEW_YORK, SYDNEY], ids=lambda p: p.zone)
def test_a_year_of_reminders_all_in_working_hours_and_before_their_deadlines(person: WorkingHours) -> None:
    chase = policy(before=["2d", "1d", "3h"], overdue_every="1d", escalate_after="2d")
    assigned = utc(2026, 1, 1, 5)
    while assigned.year == 2026:
        due = deadline(assigned, days("3d"), person)
        nudges = plan(assigned, due, chase, person)
        reminders = [n.at for n in nudges if n.kind is NudgeKind.reminder]
        assert reminders, assigned  # three days always leave working hours for one
        for at in reminders:
            assert assigned < at <= due and person.is_within(at), (assigned, at)
        assert all(person.is_within(n.at) for n in nudges if n.kind is NudgeKind.overdue)
        assigned += timedelta(hours=7)  # every hour of the day in turn, over the year


people = st.builds(
    WorkingHours,
    st.sampled_from(["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kathmandu", "Australia/Lord_Howe"]),
    st.sampled_from([None, "GB", "US", "AU-NSW", "SA"]),
    st.builds(
        lambda start, length: Window(time(start), time(start + length)),
        st.integers(0, 15), st.integers(1, 8),
    ),
)
spans = st.integers(1, 20 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes))
befores = st.lists(st.integers(1, 10 * 24 * 60).map(lambda m: f"{m}m"), max_size=4)
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@settings(max_examples=150, derandomize=True, deadline=None)
@given(people, instants, spans, befores)
def test_reminders_are_never_past_the_deadline_and_outside_hours_only_when_there_are_none(
    person: WorkingHours, assigned: datetime, span: timedelta, before: list[str]
) -> None:
    due = assigned + span
    for nudge in plan(assigned, due, policy(before=before), person):
        if nudge.kind is not NudgeKind.reminder:
            continue
        assert assigned < nudge.at <= due
        if not person.is_within(nudge.at):
            # Then no working moment lies strictly between the assignment and the deadline.
            first = person.next_start(assigned + timedelta(microseconds=1))
            assert first is None or first >= due, (nudge.at, first)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(people, instants, st.sampled_from(["1d", "2d", "5d", "2w", "1mo"]))
def test_a_deadline_is_the_end_of_a_working_day_after_the_assignment(person: WorkingHours, assigned: datetime, due: str) -> None:
    at = deadline(assigned, days(due), person)
    assert at > assigned and person.is_within(at)
    local = at.astimezone(person.tz)
    end = datetime.combine(local.date(), person.window.end)
    # The window's end, or where the rule puts it when the clock skips it that day.
    assert local.replace(tzinfo=None) == end or (zones.is_nonexistent(end, person.tz) and zones.to_utc(end, person.tz) == at)


def test_a_seven_day_week_is_a_window_too() -> None:
    every_day = Window(weekdays=frozenset(range(7)))
    assert WorkingHours("Europe/London", window=every_day).is_working_day(date(2026, 3, 7))  # a Saturday


def test_a_person_s_calendar_judges_an_instant_in_their_zone() -> None:
    # Christmas morning in Sydney is still 24 December in UTC.
    christmas_morning = datetime(2026, 12, 24, 22, 0, tzinfo=UTC)
    assert not WorkingHours("Australia/Sydney", "AU-NSW").calendar.is_business_day(christmas_morning)
    assert WorkingHours("Europe/London", "GB").calendar.is_business_day(christmas_morning)


class AtWorkOnlyOn(WorkingHours):
    """Working hours on one date only (the longest a search for a working day must reach)."""

    def __init__(self, day: date) -> None:
        super().__init__("Europe/London")
        self.day = day

    def is_working_day(self, day: date) -> bool:
        return day == self.day


def test_the_end_of_the_working_day_is_found_31_days_on_and_no_further() -> None:
    start = date(2026, 3, 2)
    assert AtWorkOnlyOn(start + timedelta(days=31)).end_of_working_day(start) == datetime(2026, 4, 2, 16, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="^no working day within 31 days of 2026-03-02 for "):
        AtWorkOnlyOn(start + timedelta(days=32)).end_of_working_day(start)


def test_a_deadline_refuses_a_naive_assignment_time() -> None:
    with pytest.raises(ValueError, match=r"^assigned_at must be timezone-aware \(UTC\), got naive 2026-03-02T10:00:00$"):
        deadline(datetime(2026, 3, 2, 10), days("2d"), LONDON)


def test_hours_the_clock_skips_are_empty_or_none() -> None:
    # 29 March 2026 in London: 01:00 GMT jumps to 02:00 BST.
    skipped = WorkingHours("Europe/London", window=Window(start=time(1), end=time(2), weekdays=frozenset(range(7))))
    assert skipped.hours_on(date(2026, 3, 29)) == (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC))
    crossed = WorkingHours("Europe/London", window=Window(start=time(1, 30), end=time(2), weekdays=frozenset(range(7))))
    assert crossed.hours_on(date(2026, 3, 29)) is None  # 01:30 moves past 02:00: no hours that day


def test_the_next_working_hours_are_found_31_days_on_and_no_further() -> None:
    moment = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    start = date(2026, 3, 2)
    assert AtWorkOnlyOn(start + timedelta(days=31)).next_start(moment) == datetime(2026, 4, 2, 8, 0, tzinfo=UTC)
    assert AtWorkOnlyOn(start + timedelta(days=32)).next_start(moment) is None


def test_an_overdue_notice_that_waits_until_the_escalation_is_left_to_the_ladder() -> None:
    # Due Friday 17:00 in London; the overdue notices of Saturday and Sunday wait for Monday 09:00,
    # the very moment the escalation is due: the escalation goes, the notice does not.
    due = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    policy = Reminders(overdue_every=Duration.parse("1d"), escalate_after=Duration.parse("2d16h"))
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert plan(due - timedelta(days=5), due, policy, LONDON) == [
        Nudge(due, NudgeKind.overdue),
        Nudge(monday, NudgeKind.escalate),
    ]
