"""When open work is chased: reminders, overdue notices and the escalation point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.logic.chasing import (
    MAX_OVERDUE_REMINDERS,
    Nudge,
    NudgeKind,
    next_nudge,
    plan,
)
from definitions.schema import Reminders

ASSIGNED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2025, 3, 15, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def policy(**fields) -> Reminders:
    return Reminders.model_validate(fields)


def kinds(nudges: list[Nudge]) -> list[tuple[datetime, NudgeKind]]:
    return [(n.at, n.kind) for n in nudges]


def test_reminders_fall_the_given_time_before_the_deadline() -> None:
    nudges = plan(ASSIGNED, DUE, policy(before=["3d", "1d", "4h"]))
    reminders = [n.at for n in nudges if n.kind == NudgeKind.reminder]
    assert reminders == [DUE - 3 * DAY, DUE - DAY, DUE - timedelta(hours=4)]


def test_full_plan_is_in_time_order_with_the_overdue_notice_at_the_deadline() -> None:
    nudges = plan(ASSIGNED, DUE, policy(before=["1d", "3d"], overdue_every="2d", escalate_after="1w"))
    assert kinds(nudges) == [
        (DUE - 3 * DAY, NudgeKind.reminder),
        (DUE - DAY, NudgeKind.reminder),
        (DUE, NudgeKind.overdue),
        (DUE + 2 * DAY, NudgeKind.overdue),
        (DUE + 4 * DAY, NudgeKind.overdue),
        (DUE + 6 * DAY, NudgeKind.overdue),
        (DUE + 7 * DAY, NudgeKind.escalate),
    ]


def test_reminders_before_the_assignment_are_dropped() -> None:
    # Assigned 2 days before the deadline: the 3d and 1w reminders would be in the past.
    assigned = DUE - 2 * DAY
    nudges = plan(assigned, DUE, policy(before=["1w", "3d", "1d"]))
    reminders = [n.at for n in nudges if n.kind == NudgeKind.reminder]
    assert reminders == [DUE - DAY]
    assert all(n.at > assigned for n in nudges)


def test_a_reminder_at_the_very_moment_of_assignment_is_not_sent() -> None:
    # The assignment email itself is the first notice; a reminder at the same instant is noise.
    nudges = plan(DUE - 3 * DAY, DUE, policy(before=["3d"]))
    assert [n.kind for n in nudges] == [NudgeKind.overdue]


def test_without_any_policy_there_is_only_the_overdue_notice() -> None:
    assert kinds(plan(ASSIGNED, DUE, policy())) == [(DUE, NudgeKind.overdue)]


def test_overdue_reminders_stop_before_the_escalation_point() -> None:
    # Every 2 days, escalate after 6 days: reminders on days 2 and 4, but not on day 6,
    # which is the escalation itself (exclusive).
    nudges = plan(ASSIGNED, DUE, policy(overdue_every="2d", escalate_after="6d"))
    assert kinds(nudges) == [
        (DUE, NudgeKind.overdue),
        (DUE + 2 * DAY, NudgeKind.overdue),
        (DUE + 4 * DAY, NudgeKind.overdue),
        (DUE + 6 * DAY, NudgeKind.escalate),
    ]


def test_escalation_at_due_plus_escalate_after_is_the_last_nudge() -> None:
    nudges = plan(ASSIGNED, DUE, policy(before=["2d"], escalate_after="3d"))
    assert nudges[-1] == Nudge(DUE + 3 * DAY, NudgeKind.escalate)
    assert [n.kind for n in nudges].count(NudgeKind.escalate) == 1


def test_overdue_every_longer_than_escalate_after_gives_no_overdue_reminders() -> None:
    nudges = plan(ASSIGNED, DUE, policy(overdue_every="1w", escalate_after="3d"))
    assert kinds(nudges) == [(DUE, NudgeKind.overdue), (DUE + 3 * DAY, NudgeKind.escalate)]


def test_without_escalation_overdue_reminders_are_capped() -> None:
    nudges = plan(ASSIGNED, DUE, policy(overdue_every="1d"))
    assert NudgeKind.escalate not in {n.kind for n in nudges}
    overdue = [n.at for n in nudges if n.kind == NudgeKind.overdue]
    # The notice at the deadline, then MAX_OVERDUE_REMINDERS more, one a day.
    assert overdue == [DUE + i * DAY for i in range(MAX_OVERDUE_REMINDERS + 1)]


def test_calendar_month_reminder_before_the_end_of_march() -> None:
    # One month before 31 March is the last day of February, not 1 March (31 - 30 days)
    # and not an error for a day that does not exist.
    due = datetime(2025, 3, 31, 17, 0, tzinfo=UTC)
    nudges = plan(datetime(2025, 1, 1, tzinfo=UTC), due, policy(before=["1mo"]))
    assert nudges[0] == Nudge(datetime(2025, 2, 28, 17, 0, tzinfo=UTC), NudgeKind.reminder)
    leap = plan(datetime(2024, 1, 1, tzinfo=UTC), due.replace(year=2024), policy(before=["1mo"]))
    assert leap[0].at == datetime(2024, 2, 29, 17, 0, tzinfo=UTC)


def test_monthly_overdue_reminders_keep_the_deadline_day() -> None:
    # Due 31 January, chased monthly: end of Feb, 31 March, 30 April, 31 May, not drifting
    # to the 28th of every month after a short February.
    due = datetime(2025, 1, 31, 9, 0, tzinfo=UTC)
    nudges = plan(datetime(2025, 1, 1, tzinfo=UTC), due, policy(overdue_every="1mo", escalate_after="4mo"))
    assert [n.at.date().isoformat() for n in nudges] == [
        "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31",
    ]
    assert nudges[-1].kind == NudgeKind.escalate


def test_next_nudge_is_the_first_strictly_after_the_given_instant() -> None:
    p = policy(before=["3d", "1d"], overdue_every="2d", escalate_after="5d")
    assert next_nudge(ASSIGNED, DUE, p, ASSIGNED) == Nudge(DUE - 3 * DAY, NudgeKind.reminder)
    # Exactly at a nudge: that one has happened, the next one is returned.
    assert next_nudge(ASSIGNED, DUE, p, DUE - 3 * DAY) == Nudge(DUE - DAY, NudgeKind.reminder)
    assert next_nudge(ASSIGNED, DUE, p, DUE - timedelta(seconds=1)) == Nudge(DUE, NudgeKind.overdue)
    assert next_nudge(ASSIGNED, DUE, p, DUE) == Nudge(DUE + 2 * DAY, NudgeKind.overdue)
    assert next_nudge(ASSIGNED, DUE, p, DUE + 4 * DAY) == Nudge(DUE + 5 * DAY, NudgeKind.escalate)


def test_next_nudge_is_none_once_everything_has_happened() -> None:
    p = policy(before=["1d"], escalate_after="2d")
    assert next_nudge(ASSIGNED, DUE, p, DUE + 2 * DAY) is None
    assert next_nudge(ASSIGNED, DUE, policy(), DUE) is None


def test_a_moved_deadline_changes_the_next_nudge() -> None:
    p = policy(before=["1d"])
    now = DUE - 2 * DAY
    assert next_nudge(ASSIGNED, DUE, p, now).at == DUE - DAY
    later = DUE + 7 * DAY
    assert next_nudge(ASSIGNED, later, p, now).at == later - DAY


@pytest.mark.parametrize("text", ["1w", "P1W", "7d", "168h"])
def test_equivalent_durations_plan_the_same(text: str) -> None:
    assert plan(ASSIGNED, DUE, policy(before=[text])) == plan(ASSIGNED, DUE, policy(before=["1w"]))


# --- properties -------------------------------------------------------------------

durations = st.sampled_from(["1h", "12h", "1d", "2d", "3d", "1w", "2w", "1mo", "1mo1d"])


@given(
    before=st.lists(durations, max_size=4),
    every=st.none() | durations,
    escalate=st.none() | durations,
    lead_days=st.integers(min_value=1, max_value=60),
)
def test_plan_is_ordered_and_every_nudge_is_where_it_belongs(before, every, escalate, lead_days) -> None:
    assigned = DUE - timedelta(days=lead_days)
    nudges = plan(assigned, DUE, policy(before=before, overdue_every=every, escalate_after=escalate))
    assert [n.at for n in nudges] == sorted(n.at for n in nudges)
    assert all(n.at > assigned for n in nudges)
    assert Nudge(DUE, NudgeKind.overdue) in nudges
    assert all(n.at < DUE for n in nudges if n.kind == NudgeKind.reminder)
    escalations = [n for n in nudges if n.kind == NudgeKind.escalate]
    assert len(escalations) == (1 if escalate else 0)
    if escalations:
        assert nudges[-1] == escalations[0]
        assert all(n.at < escalations[0].at for n in nudges[:-1])
    late = [n for n in nudges if n.kind == NudgeKind.overdue and n.at > DUE]
    assert len(late) <= MAX_OVERDUE_REMINDERS
    assert not late or every is not None
