"""Goal alignment: how far stakeholders' statements of the primary goal diverge."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.logic.alignment import Score, divergence_between, score, words
from tests.support.helpers import ALIGNED, DIVERGENT

THRESHOLD = 0.75  # the definition's default


def one_party(texts: dict[str, str], party: str = "county") -> dict[str, tuple[str, str]]:
    return {who: (party, text) for who, text in texts.items()}


# --- pairs ------------------------------------------------------------------------


def test_identical_statements_do_not_diverge() -> None:
    text = ALIGNED["alice"]
    assert divergence_between(text, text) == 0
    s = score({"a": ("x", text), "b": ("y", text)})
    assert s.divergence == 0
    assert s.across_parties == 0
    assert not s.blocked(0.0)


def test_statements_without_a_content_word_in_common_diverge_completely() -> None:
    a = "Launch the permit portal quickly."
    b = "Grow government contracts revenue."
    assert divergence_between(a, b) == 1
    s = score({"a": ("x", a), "b": ("y", b)})
    assert s.divergence == 1
    assert s.blocked(THRESHOLD)


def test_shared_letters_in_unrelated_words_are_not_agreement() -> None:
    # Word-level, not character-level: "permit"/"permission" share letters, not words.
    assert divergence_between("permit", "permission") == 1


def test_stop_words_punctuation_case_and_plurals_do_not_count() -> None:
    a = "Applications for permits, online!"
    b = "the APPLICATION of a permit -- online."
    assert words(a) == words(b) == ["application", "online", "permit"]
    assert divergence_between(a, b) == 0


def test_short_words_and_double_s_are_not_stemmed() -> None:
    # "bus" and "process" are not plurals of "bu" and "proces".
    assert words("bus process gas") == ["bus", "gas", "process"]
    # Four letters is long enough: "apps" is "app".
    assert words("apps app") == ["app"]


def test_partial_overlap_is_between_zero_and_one() -> None:
    d = divergence_between(ALIGNED["alice"], ALIGNED["arun"])
    assert 0 < d < 1
    # Sharing more words diverges less.
    assert divergence_between("online permit service", "online permit portal") < divergence_between(
        "online permit service", "online revenue portal"
    )


# --- determinism ------------------------------------------------------------------


def test_same_statements_give_the_same_score_whatever_the_order() -> None:
    statements = {**one_party(ALIGNED), "x": ("vendor", DIVERGENT)}
    reordered = dict(reversed(list(statements.items())))
    first, again, other_order = score(statements), score(dict(statements)), score(reordered)
    assert first == again == other_order
    assert isinstance(first, Score)
    # Rounded to 4 decimals so stored and recomputed numbers compare equal.
    for value in (first.divergence, first.across_parties, *first.within_party.values(), *first.isolation.values()):
        assert value == round(value, 4)


# --- the group ----------------------------------------------------------------------


def test_aligned_statements_pass_and_one_outlier_blocks() -> None:
    aligned = score(one_party(ALIGNED))
    assert aligned.divergence < THRESHOLD
    assert not aligned.blocked(THRESHOLD)

    with_outlier = score({**one_party(ALIGNED), "zed": ("county", DIVERGENT)})
    assert with_outlier.divergence > THRESHOLD
    assert with_outlier.blocked(THRESHOLD)
    # The outlier is the most isolated stakeholder, and everyone else is closer to the group.
    assert max(with_outlier.isolation, key=with_outlier.isolation.get) == "zed"
    assert all(v < with_outlier.isolation["zed"] for k, v in with_outlier.isolation.items() if k != "zed")


def test_a_split_between_parties_that_agree_internally_raises_across_parties() -> None:
    county = "Move permit applications online so residents get decisions in ten days."
    vendor = "Win state government contracts and grow public sector revenue."
    split = score(
        {
            "alice": ("county", county),
            "arun": ("county", county + " Fast."),
            "vic": ("vendor", vendor),
            "val": ("vendor", vendor + " Soon."),
        }
    )
    assert split.within_party["county"] < 0.2
    assert split.within_party["vendor"] < 0.2
    assert split.across_parties > THRESHOLD
    assert split.divergence >= split.across_parties
    assert split.blocked(THRESHOLD)

    together = score(one_party(ALIGNED) | {"bo": ("vendor", ALIGNED["bo"]), "bea": ("vendor", ALIGNED["bea"])})
    assert together.across_parties < split.across_parties


def test_within_party_has_one_key_per_party_with_at_least_two_statements() -> None:
    s = score(
        {
            "alice": ("county", ALIGNED["alice"]),
            "arun": ("county", ALIGNED["arun"]),
            "bea": ("vendor", ALIGNED["bea"]),
            "bo": ("vendor", ALIGNED["bo"]),
            "carl": ("university", ALIGNED["alice"]),
        }
    )
    # A party of one has no pairs inside it.
    assert set(s.within_party) == {"county", "vendor"}
    assert s.within_party["county"] == round(divergence_between(ALIGNED["alice"], ALIGNED["arun"]), 4)
    assert set(s.isolation) == {"alice", "arun", "bea", "bo", "carl"}


def test_a_single_party_has_no_across_parties_divergence() -> None:
    s = score(one_party(ALIGNED))
    assert s.across_parties == 0.0
    assert set(s.within_party) == {"county"}


def test_blocked_is_strictly_above_the_threshold() -> None:
    s = score({"a": ("x", "online permit"), "b": ("y", "online permit")})
    assert not s.blocked(0.0)
    assert score({"a": ("x", "alpha"), "b": ("y", "beta")}).blocked(0.99)
    assert not score({"a": ("x", "alpha"), "b": ("y", "beta")}).blocked(1.0)


# --- properties -------------------------------------------------------------------

word = st.sampled_from(["permit", "online", "resident", "revenue", "contract", "portal", "day", "grow", "fast"])
statement = st.lists(word, min_size=1, max_size=6).map(" ".join)


@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.tuples(st.sampled_from(["x", "y"]), statement),
                       min_size=2))
def test_scores_are_between_zero_and_one_and_divergence_is_the_worst_view(statements) -> None:
    s = score(statements)
    values = [s.divergence, s.across_parties, *s.within_party.values(), *s.isolation.values()]
    assert all(0 <= v <= 1 for v in values)
    assert s.divergence == max([s.across_parties, *s.isolation.values()])


@given(statement, statement)
def test_divergence_is_symmetric(a: str, b: str) -> None:
    assert divergence_between(a, b) == divergence_between(b, a)


@pytest.mark.parametrize("who", sorted(ALIGNED))
def test_any_one_aligned_statement_paired_with_the_outlier_is_blocked(who: str) -> None:
    s = score({who: ("county", ALIGNED[who]), "zed": ("vendor", DIVERGENT)})
    assert s.blocked(THRESHOLD)


def test_the_figures_people_see_are_rounded_to_four_decimals() -> None:
    s = score({
        "ann": ("alpha", "Grow referrals in the county"),
        "ben": ("beta", "Grow county referrals and revenue"),
        "cy": ("gamma", "Cut permit waiting times"),
    })
    # Pairs: ann-ben 1/7, ann-cy 1, ben-cy 1; all three across parties.
    assert (s.across_parties, s.isolation, s.divergence) == (0.7143, {"ann": 0.5714, "ben": 0.5714, "cy": 1.0}, 1.0)
