"""How far stakeholders' statements of the partnership's primary goal diverge.

Method (deterministic, documented so people can argue with it):

1. Normalise each statement: lower-case, punctuation removed, common English stop
   words dropped (rapidfuzz's ``default_process`` then a fixed stop-word list).
2. Similarity of two statements is rapidfuzz's ``fuzz.token_sort_ratio`` / 100: the
   normalised Indel similarity of their sorted word sequences. It rewards the same
   words whatever their order, and penalises words only one side uses.
3. Divergence of a pair is ``1 - similarity`` (0 identical, 1 nothing in common).
4. ``within_party[p]``: mean divergence over pairs of party p's statements.
   ``across_parties``: mean divergence over pairs from different parties.
   ``divergence``: the larger of ``across_parties`` and the worst ``within_party``,
   so a split inside one organisation blocks as surely as a split between them.
5. Blocked when ``divergence`` is above the definition's threshold.

Results are rounded to 4 decimals so the same statements always give the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from statistics import fmean

from rapidfuzz import fuzz, utils

STOP_WORDS = frozenset(
    """a an and are as at be by for from has have in into is it its of on or our that the their this
    to we will with within which who would should can both each all more most than through while
    so such these those they them us you your was were been being over per via""".split()
)


def normalise(text: str) -> str:
    words = utils.default_process(text).split()
    return " ".join(w for w in words if w not in STOP_WORDS)


def divergence_between(a: str, b: str) -> float:
    return 1.0 - fuzz.token_sort_ratio(normalise(a), normalise(b)) / 100.0


@dataclass(frozen=True)
class Score:
    divergence: float
    across_parties: float
    within_party: dict[str, float]

    def blocked(self, threshold: float) -> bool:
        return self.divergence > threshold


def score(statements: dict[str, tuple[str, str]]) -> Score:
    """``statements``: stakeholder id -> (party id, text). Needs at least two statements."""
    items = sorted(statements.items())
    within: dict[str, list[float]] = {}
    across: list[float] = []
    for (_, (party_a, text_a)), (_, (party_b, text_b)) in combinations(items, 2):
        d = divergence_between(text_a, text_b)
        if party_a == party_b:
            within.setdefault(party_a, []).append(d)
        else:
            across.append(d)
    within_mean = {p: round(fmean(ds), 4) for p, ds in sorted(within.items())}
    across_mean = round(fmean(across), 4) if across else 0.0
    overall = max([across_mean, *within_mean.values()])
    return Score(divergence=overall, across_parties=across_mean, within_party=within_mean)
