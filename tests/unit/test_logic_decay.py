"""Coordination decay: RAG status triggers, missed status rounds, the overall status."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.logic.decay import (
    AMBER,
    GREEN,
    RAG,
    RED,
    missed_in_a_row,
    overall,
    status_trigger,
)


def test_a_red_report_triggers_at_once() -> None:
    assert status_trigger(["green", "red"], 2) == "red_status"
    assert status_trigger(["red"], 2) == "red_status"
    assert status_trigger(["amber", "amber", "red"], 2) == "red_status"  # red is the stronger signal
    assert status_trigger(["red", "green"], 2) is None  # recovered


def test_ambers_trigger_after_the_configured_run() -> None:
    assert status_trigger(["green", "amber"], 2) is None
    assert status_trigger(["green", "amber", "amber"], 2) == "repeated_amber"
    assert status_trigger(["amber", "green", "amber"], 2) is None  # not in a row
    assert status_trigger(["amber", "amber"], 3) is None
    assert status_trigger(["amber"], 1) == "repeated_amber"
    assert status_trigger([], 2) is None


def test_status_trigger_checks_its_input() -> None:
    with pytest.raises(ValueError, match="^a status is green, amber or red, not 'Amber'$"):
        status_trigger(["Amber"], 2)
    with pytest.raises(ValueError, match="^amber_count must be at least 1, not 0$"):
        status_trigger(["amber"], 0)


def test_missed_rounds_count_only_the_trailing_run() -> None:
    assert missed_in_a_row([1, 2, 3, 4, 5], {1, 2}) == 3
    assert missed_in_a_row([1, 2, 3, 4, 5], {1, 3, 5}) == 0
    assert missed_in_a_row([1, 2, 3], set()) == 3
    assert missed_in_a_row([], {1}) == 0
    # Not asked for round 3 (the party joined later, or the round was skipped): not a miss.
    assert missed_in_a_row([1, 2, 4, 5], {2}) == 2
    assert missed_in_a_row([5, 4, 1, 2], {2}) == 2  # any order


def test_the_worst_status_wins() -> None:
    assert overall({"alpha": GREEN, "beta": GREEN}) == GREEN
    assert overall({"alpha": GREEN, "beta": AMBER}) == AMBER
    assert overall({"alpha": RED, "beta": AMBER, "gamma": GREEN}) == RED
    with pytest.raises(ValueError, match="^no status reported yet$"):
        overall({})
    with pytest.raises(ValueError, match="^a status is green, amber or red, not 'blue'$"):
        overall({"alpha": "blue"})


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.sampled_from(RAG), min_size=1))
def test_overall_is_one_of_the_statuses_and_none_is_worse(statuses) -> None:
    worst = overall(statuses)
    assert worst in statuses.values()
    assert all(RAG.index(s) <= RAG.index(worst) for s in statuses.values())


@given(st.lists(st.integers(min_value=1, max_value=30), unique=True), st.sets(st.integers(min_value=1, max_value=30)))
def test_missed_in_a_row_is_bounded_and_ends_at_an_answer(expected, received) -> None:
    n = missed_in_a_row(expected, received)
    rounds = sorted(expected)
    assert 0 <= n <= len(rounds)
    assert not set(rounds[len(rounds) - n:]) & received
    if n < len(rounds):
        assert rounds[len(rounds) - n - 1] in received
