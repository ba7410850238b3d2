"""Escalation pages in each contact's working hours (accord.logic.working_hours.paging), and
reminders in a configured window.

Dates: Monday 2 March 2026 starts a plain week; London is on GMT (UTC+0), New York on EST
(UTC-5), Sydney on AEDT (UTC+11).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.logic import zones
from accord.logic.working_hours import Window, WorkingHours, paging, plan, reminder_at
from definitions.durations import Duration
from definitions.schema import Reminders

LONDON = WorkingHours("Europe/London", "GB-ENG")
NEW_YORK = WorkingHours("America/New_York", "US")
SYDNEY = WorkingHours("Australia/Sydney", "AU-NSW")
EARLY_LONDON = WorkingHours("Europe/London", "GB-ENG", Window(time(7), time(15)))
H4 = Duration.parse("4h")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_raised_at_night_a_contact_is_paged_at_the_start_of_their_working_hours_and_the_clock_starts_then() -> None:
    # Tuesday 3 March 02:00 UTC: 02:00 in London. Ann is paged at 09:00 London; her four hours
    # to answer run from then, to 13:00.
    paged = paging(utc(2026, 3, 3, 2), {"ann": LONDON}, H4)
    assert paged.at == {"ann": utc(2026, 3, 3, 9)}
    assert paged.starts == utc(2026, 3, 3, 9)


def test_within_working_hours_everyone_is_paged_at_once() -> None:
    paged = paging(utc(2026, 3, 3, 15), {"ann": LONDON, "ben": NEW_YORK}, H4)  # 15:00 London, 10:00 New York
    assert paged.at == {"ann": utc(2026, 3, 3, 15), "ben": utc(2026, 3, 3, 15)} and paged.starts == utc(2026, 3, 3, 15)


def test_each_contact_in_their_own_hours_the_clock_from_the_first() -> None:
    # 08:00 UTC Tuesday: 08:00 London (before 09:00), 03:00 New York, 19:00 Sydney (after 17:00).
    paged = paging(utc(2026, 3, 3, 8), {"ann": LONDON, "ben": NEW_YORK, "sue": SYDNEY}, Duration.parse("1d"))
    assert paged.starts == utc(2026, 3, 3, 9)  # Ann, the first
    assert paged.at["ann"] == utc(2026, 3, 3, 9)
    assert paged.at["ben"] == utc(2026, 3, 3, 14)  # 09:00 EST
    assert paged.at["sue"] == utc(2026, 3, 3, 22)  # 09:00 AEDT on Wednesday


def test_one_whose_hours_begin_after_the_window_to_answer_is_paged_with_the_first() -> None:
    # Ann (London) is paged at 09:00 UTC with four hours to answer, until 13:00 UTC; Ben's day
    # begins at 14:00 UTC, after the level has climbed: he is paged with Ann, not never.
    paged = paging(utc(2026, 3, 3, 8), {"ann": LONDON, "ben": NEW_YORK}, H4)
    assert paged.at == {"ann": utc(2026, 3, 3, 9), "ben": utc(2026, 3, 3, 9)}


def test_a_critical_escalation_and_people_without_hours_are_paged_at_once() -> None:
    night = utc(2026, 3, 3, 2)
    assert paging(night, {"ann": LONDON, "ben": NEW_YORK}, H4, urgent=True).at == {"ann": night, "ben": night}
    paged = paging(night, {"ann": LONDON, "ops-0": None}, H4)
    assert paged.starts == night and paged.at == {"ann": night, "ops-0": night}


def test_friday_evening_waits_for_monday_and_a_configured_window_for_its_start() -> None:
    friday_evening = utc(2026, 3, 6, 18)
    assert paging(friday_evening, {"ann": LONDON}, H4).starts == utc(2026, 3, 9, 9)
    assert paging(friday_evening, {"ann": EARLY_LONDON}, H4).starts == utc(2026, 3, 9, 7)


@settings(max_examples=200, deadline=None)
@given(
    raised=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    hours=st.lists(st.sampled_from([LONDON, NEW_YORK, SYDNEY, EARLY_LONDON, None]), min_size=1, max_size=4),
    within=st.sampled_from(["1h", "4h", "1d", "3d"]),
)
def test_pages_never_before_it_happened_within_the_window_to_answer_and_the_same_from_their_start(
    raised: datetime, hours: list[WorkingHours | None], within: str
) -> None:
    contacts = {f"c{i}": h for i, h in enumerate(hours)}
    respond = Duration.parse(within)
    paged = paging(raised, contacts, respond)
    answer_by = respond.after(paged.starts)
    assert paged.starts == min(paged.at.values())
    for who, at in paged.at.items():
        assert raised <= at < answer_by
        # In their working hours, unless theirs begin only after the window (then with the first).
        person = contacts[who]
        assert person is None or person.is_within(at) or at == paged.starts
    # The workflow keeps only when the first is told and computes the plan again from it.
    assert paging(paged.starts, contacts, respond) == paged


def test_a_configured_window_moves_a_reminder_into_it() -> None:
    # Due Friday 6 March at the end of Ann's 07:00-15:00 day; the reminder "1d before" falls
    # at 15:00 Thursday, the end of her Thursday: within. One planned at 16:00 (after her
    # day, within a nine-to-five one) moves earlier to 15:00.
    assigned, due = utc(2026, 3, 2, 10), utc(2026, 3, 6, 15)
    assert reminder_at(utc(2026, 3, 5, 16), assigned, due, EARLY_LONDON) == utc(2026, 3, 5, 15)
    assert reminder_at(utc(2026, 3, 5, 16), assigned, due, LONDON) == utc(2026, 3, 5, 16)
    nudges = plan(assigned, utc(2026, 3, 6, 17), Reminders(before=[Duration.parse("1d")]), EARLY_LONDON)
    reminder = nudges[0].at.astimezone(zones.zone("Europe/London"))
    assert reminder.time() == time(15) and reminder.date() == datetime(2026, 3, 5).date()
