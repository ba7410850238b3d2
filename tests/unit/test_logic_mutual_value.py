"""The annual mutual-value review: benefit-to-contribution ratios and their gap."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.logic.mutual_value import assess


def test_balanced_when_each_gets_about_what_it_gives() -> None:
    result = assess({"alpha": (8, 8), "beta": (6, 5)}, 0.3)
    assert result.ratios == {"alpha": 1.0, "beta": 0.8333}
    assert result.gap == 0.1667 and not result.imbalanced
    assert result.getting_less == ("beta",)
    assert result.summary == "Balanced: benefit per unit of contribution beta 0.8333, alpha 1 (gap 0.1667, tolerance 0.3)"


def test_imbalanced_names_who_gets_less() -> None:
    result = assess({"alpha": (8, 10), "beta": (8, 4)}, 0.3)
    assert result.ratios == {"alpha": 1.25, "beta": 0.5}
    assert result.gap == 0.75 and result.imbalanced and result.getting_less == ("beta",)
    assert result.summary == (
        "Imbalanced: beta gets the least back for what it gives"
        " (benefit per unit of contribution: beta 0.5, alpha 1.25; gap 0.75, tolerance 0.3)"
    )


def test_a_gap_exactly_at_the_tolerance_is_allowed() -> None:
    # 1.0 - 0.7 is 0.30000000000000004 in floating point; a person reckons 0.3.
    result = assess({"alpha": (10, 10), "beta": (10, 7)}, 0.3)
    assert (result.gap, result.tolerance, result.imbalanced) == (0.3, 0.3, False)
    assert result.summary == "Balanced: benefit per unit of contribution beta 0.7, alpha 1 (gap 0.3, tolerance 0.3)"
    assert assess({"alpha": (10, 10), "beta": (10, 6.9)}, 0.3).imbalanced


def test_three_parties_and_ties() -> None:
    result = assess({"a": (10, 10), "b": (10, 5), "c": (4, 2)}, 0.3)
    assert result.getting_less == ("b", "c") and result.gap == 0.5
    assert result.summary.startswith("Imbalanced: b and c get the least back for what they give")
    even = assess({"a": (5, 5), "b": (2, 2)}, 0.3)
    assert even.gap == 0 and even.getting_less == () and not even.imbalanced


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        ({"alpha": (8, 8)}, "every party states its contribution and benefit: at least two parties are needed"),
        ({}, "every party states its contribution and benefit: at least two parties are needed"),
        ({"alpha": (0, 8), "beta": (5, 5)}, "alpha: contribution must be a number from 1 to 10, not 0"),
        ({"alpha": (-3, 8), "beta": (5, 5)}, "alpha: contribution must be a number from 1 to 10, not -3"),
        ({"alpha": (5, 11), "beta": (5, 5)}, "alpha: benefit must be a number from 1 to 10, not 11"),
        ({"alpha": (5, 5), "beta": (float("nan"), 5)}, "beta: contribution must be a number from 1 to 10, not nan"),
        ({"alpha": (5, 5), "beta": (5, float("inf"))}, "beta: benefit must be a number from 1 to 10, not inf"),
        ({"alpha": (5, 5), "beta": ("5", 5)}, "beta: contribution must be a number from 1 to 10, not '5'"),
        ({"alpha": (5, 5), "beta": (True, 5)}, "beta: contribution must be a number from 1 to 10, not True"),
    ],
)
def test_statements_are_checked_with_messages_for_a_form(statements, message) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        assess(statements, 0.3)


@pytest.mark.parametrize("tolerance", [0, -0.1, float("nan")])
def test_the_tolerance_must_be_positive(tolerance) -> None:
    with pytest.raises(ValueError, match=f"^the imbalance tolerance must be a number above 0, not {tolerance!r}$"):
        assess({"alpha": (5, 5), "beta": (5, 5)}, tolerance)


# --- properties -------------------------------------------------------------------

scores = st.floats(min_value=1, max_value=10, allow_nan=False)
statement = st.tuples(scores, scores)
parties = st.dictionaries(st.sampled_from(["alpha", "beta", "gamma", "delta"]), statement, min_size=2)
tolerances = st.floats(min_value=0.01, max_value=1)


@given(statements=parties, tolerance=tolerances, data=st.data())
def test_the_gap_does_not_depend_on_who_said_what(statements, tolerance, data) -> None:
    names = list(statements)
    shuffled = data.draw(st.permutations(names))
    relabelled = {new: statements[old] for old, new in zip(names, shuffled, strict=True)}
    a, b = assess(statements, tolerance), assess(relabelled, tolerance)
    assert a.gap == b.gap and a.imbalanced == b.imbalanced
    assert sorted(a.ratios.values()) == sorted(b.ratios.values())


@given(statements=parties, tolerance=tolerances)
def test_gap_and_who_gets_less_are_consistent(statements, tolerance) -> None:
    result = assess(statements, tolerance)
    assert result.gap >= 0
    assert result.imbalanced == (result.gap > tolerance)
    assert result.gap == round(max(result.ratios.values()) - min(result.ratios.values()), 4)
    if result.gap > 0:
        assert result.getting_less and all(result.ratios[p] == min(result.ratios.values()) for p in result.getting_less)
    else:
        assert result.getting_less == ()


@given(a=statement, b=statement, tolerance=tolerances)
def test_two_parties_swapped_give_the_same_gap(a, b, tolerance) -> None:
    one = assess({"alpha": a, "beta": b}, tolerance)
    other = assess({"alpha": b, "beta": a}, tolerance)
    assert one.gap == other.gap
