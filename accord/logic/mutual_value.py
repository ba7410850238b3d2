"""The annual mutual-value review: does each party get out about what it puts in?

Each party states its contribution and its benefit on a 1-10 scale. A party's ratio is
benefit / contribution (1.0: it gets what it gives). The gap is the largest ratio minus
the smallest; the partnership is imbalanced when the gap is above the definition's
``imbalance_tolerance`` (default 0.3). The parties with the smallest ratio are the ones
getting less. Ratios and the gap are rounded to 4 decimals, so 1.0 - 0.7 is a gap of
exactly 0.3 (within a 0.3 tolerance), as a person would reckon it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SCALE_MIN, SCALE_MAX = 1, 10


@dataclass(frozen=True)
class ValueBalance:
    ratios: dict[str, float]  # party -> benefit / contribution
    gap: float  # largest ratio - smallest ratio
    tolerance: float
    imbalanced: bool  # gap > tolerance
    getting_less: tuple[str, ...]  # the parties with the smallest ratio; () when all are equal
    summary: str


def _check(party: str, what: str, value: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not SCALE_MIN <= value <= SCALE_MAX:
        raise ValueError(f"{party}: {what} must be a number from {SCALE_MIN} to {SCALE_MAX}, not {value!r}")


def assess(statements: dict[str, tuple[float, float]], tolerance: float) -> ValueBalance:
    """``statements``: party -> (contribution, benefit), each on the 1-10 scale."""
    if len(statements) < 2:
        raise ValueError("every party states its contribution and benefit: at least two parties are needed")
    if not (isinstance(tolerance, int | float) and math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"the imbalance tolerance must be a number above 0, not {tolerance!r}")
    for party, (contribution, benefit) in statements.items():
        _check(party, "contribution", contribution)
        _check(party, "benefit", benefit)

    ratios = {party: round(benefit / contribution, 4) for party, (contribution, benefit) in sorted(statements.items())}
    low, high = min(ratios.values()), max(ratios.values())
    gap = round(high - low, 4)
    imbalanced = gap > tolerance
    getting_less = tuple(p for p, r in ratios.items() if r == low) if gap > 0 else ()
    return ValueBalance(ratios, gap, tolerance, imbalanced, getting_less, _summary(ratios, gap, tolerance, getting_less))


def _summary(ratios: dict[str, float], gap: float, tolerance: float, getting_less: tuple[str, ...]) -> str:
    """e.g. "Imbalanced: beta gets the least back for what it gives (benefit per unit of
    contribution: beta 0.5, alpha 1.25; gap 0.75, tolerance 0.3)"."""
    each = ", ".join(f"{party} {ratio:g}" for party, ratio in sorted(ratios.items(), key=lambda item: item[1]))
    figures = f"gap {gap:g}, tolerance {tolerance:g}"
    if gap <= tolerance:
        return f"Balanced: benefit per unit of contribution {each} ({figures})"
    who = " and ".join(getting_less)
    verb = "gets the least back for what it gives" if len(getting_less) == 1 else "get the least back for what they give"
    return f"Imbalanced: {who} {verb} (benefit per unit of contribution: {each}; {figures})"
