"""How far stakeholders' statements of the partnership's primary goal diverge.

Method (deterministic, documented so people can argue with it):

1. Normalise each statement to a set of content words: rapidfuzz's
   ``utils.default_process`` (lower-case, punctuation removed), common English stop
   words dropped, and a light stem (a trailing plural ``s`` removed from words longer
   than three letters) so "applications" and "application" count as one word.
2. Divergence of two statements is rapidfuzz's ``Indel.normalized_distance`` between
   their sorted word sets: 0 when they use the same words, 1 when they share none.
   (Word-level, so shared letters in unrelated words do not count as agreement.)
3. Each stakeholder's *isolation* is the mean divergence of their statement from all
   the others. ``within_party[p]`` and ``across_parties`` are the mean divergence over
   pairs inside party p and between parties.
4. ``divergence`` is the larger of the most isolated stakeholder's isolation and
   ``across_parties``: one person who wants something else blocks, as does a split
   between the organisations.
5. Blocked when ``divergence`` is above the definition's threshold (default 0.75).

This is lexical: two people saying the same thing in entirely different words will
diverge. The block is a prompt to talk, and an approver can override it with a reason.
Results are rounded to 4 decimals so the same statements always give the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from statistics import fmean

from rapidfuzz import utils
from rapidfuzz.distance import Indel

STOP_WORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into", "is", "it", "its", "of", "on", "or", "our", "that", "the", "their", "this", "to", "we", "will", "with", "within", "which", "who", "would", "should", "can", "both", "each", "all", "more", "most", "than", "through", "while", "so", "such", "these", "those", "they", "them", "us", "you", "your", "was", "were", "been", "being", "over", "per", "via"]
)


def words(text: str) -> list[str]:
    """The sorted set of content words of a statement."""
    out = set()
    for word in utils.default_process(text).split():
        if word in STOP_WORDS:
            continue
        out.add(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return sorted(out)


def divergence_between(a: str, b: str) -> float:
    return Indel.normalized_distance(words(a), words(b))


@dataclass(frozen=True)
class Score:
    divergence: float
    across_parties: float
    within_party: dict[str, float]
    isolation: dict[str, float]

    def blocked(self, threshold: float) -> bool:
        return self.divergence > threshold


def score(statements: dict[str, tuple[str, str]]) -> Score:
    """``statements``: stakeholder id -> (party id, text). Needs at least two statements."""
    items = sorted(statements.items())
    within: dict[str, list[float]] = {}
    across: list[float] = []
    per_person: dict[str, list[float]] = {who: [] for who, _ in items}
    for (who_a, (party_a, text_a)), (who_b, (party_b, text_b)) in combinations(items, 2):
        d = divergence_between(text_a, text_b)
        per_person[who_a].append(d)
        per_person[who_b].append(d)
        (within.setdefault(party_a, []) if party_a == party_b else across).append(d)
    isolation = {who: round(fmean(ds), 4) for who, ds in per_person.items() if ds}
    within_mean = {p: round(fmean(ds), 4) for p, ds in sorted(within.items())}
    across_mean = round(fmean(across), 4) if across else 0.0
    overall = max([across_mean, *isolation.values()])
    return Score(divergence=overall, across_parties=across_mean, within_party=within_mean, isolation=isolation)
