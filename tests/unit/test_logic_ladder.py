"""When an escalation climbs the ladder, and to which level."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.logic.ladder import Climb, check_level, next_climb, schedule
from definitions.durations import Duration
from definitions.schema import EscalationLevel

OPENED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)

LADDER = [
    EscalationLevel(name="Leads", contacts=["amir", "bo"], respond_within="2d"),
    EscalationLevel(name="Sponsors", contacts=["alice", "bea"], respond_within="5d"),
    EscalationLevel(name="Board", contacts=["alice"], respond_within="1w"),
]


def test_the_first_level_climbs_to_the_second_when_its_window_ends() -> None:
    climb = next_climb(LADDER, 1, OPENED, acknowledged=False)
    assert climb == Climb(at=OPENED + 2 * DAY, level=1, to_level=2, window=Duration.parse("2d"))
    assert climb.cause == "no response within 2d"


def test_the_window_counts_from_when_the_level_was_reached() -> None:
    reached = OPENED + 2 * DAY + timedelta(hours=3)
    climb = next_climb(LADDER, 2, reached, acknowledged=False)
    assert climb is not None
    assert (climb.at, climb.to_level, climb.cause) == (reached + 5 * DAY, 3, "no response within 5d")


def test_past_the_last_level_goes_to_ops() -> None:
    climb = next_climb(LADDER, 3, OPENED, acknowledged=False)
    assert climb is not None
    assert (climb.at, climb.to_level, climb.cause) == (OPENED + 7 * DAY, None, "no response within 1w")


def test_nothing_climbs_once_acknowledged_or_with_ops() -> None:
    assert next_climb(LADDER, 1, OPENED, acknowledged=True) is None
    assert next_climb(LADDER, 3, OPENED, acknowledged=True) is None
    assert next_climb(LADDER, None, OPENED, acknowledged=False) is None


def test_a_one_level_ladder_goes_straight_to_ops() -> None:
    climb = next_climb(LADDER[:1], 1, OPENED, acknowledged=False)
    assert climb is not None and climb.to_level is None


@pytest.mark.parametrize("level", [0, 4, -1])
def test_a_level_outside_the_ladder_is_an_error(level: int) -> None:
    with pytest.raises(ValueError, match="outside the ladder"):
        next_climb(LADDER, level, OPENED, acknowledged=False)
    with pytest.raises(ValueError):
        check_level(LADDER, level)


def test_the_whole_schedule_if_nobody_answers() -> None:
    climbs = schedule(LADDER, 1, OPENED)
    assert [(c.at - OPENED, c.level, c.to_level) for c in climbs] == [
        (2 * DAY, 1, 2),
        (7 * DAY, 2, 3),
        (14 * DAY, 3, None),
    ]
    assert [c.at - OPENED for c in schedule(LADDER, 2, OPENED)] == [5 * DAY, 12 * DAY]
    assert schedule(LADDER, None, OPENED) == []


def test_calendar_months_in_a_window_are_calendar_months() -> None:
    ladder = [EscalationLevel(name="Board", contacts=["alice"], respond_within="1mo")]
    climb = next_climb(ladder, 1, datetime(2025, 1, 31, tzinfo=UTC), acknowledged=False)
    assert climb is not None and climb.at == datetime(2025, 2, 28, tzinfo=UTC)


@given(
    windows=st.lists(st.integers(min_value=1, max_value=30 * 86400), min_size=1, max_size=6),
    start=st.integers(min_value=1, max_value=6),
)
def test_the_schedule_climbs_one_level_at_a_time_and_ends_with_ops(windows: list[int], start: int) -> None:
    ladder = [EscalationLevel(name=f"L{i}", contacts=["x"], respond_within=f"{w}s") for i, w in enumerate(windows, 1)]
    start = min(start, len(ladder))
    climbs = schedule(ladder, start, OPENED)
    assert [c.level for c in climbs] == list(range(start, len(ladder) + 1))
    assert [c.to_level for c in climbs] == [*range(start + 1, len(ladder) + 1), None]
    assert all(a.at < b.at for a, b in itertools.pairwise(climbs))
    assert climbs[-1].at - OPENED == timedelta(seconds=sum(windows[start - 1 :]))
