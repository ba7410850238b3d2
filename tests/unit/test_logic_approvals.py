"""Approval policies over the decisions of one round: all, any, quorum and sequential."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.logic.approvals import evaluate
from accord.models import ApprovalOutcome, Channel, Decision, DecisionKind

A = DecisionKind.approve
R = DecisionKind.reject
C = DecisionKind.request_changes
PENDING = ApprovalOutcome.pending
APPROVED = ApprovalOutcome.approved
REJECTED = ApprovalOutcome.rejected
CHANGES = ApprovalOutcome.changes_requested

PEOPLE = ["ann", "ben", "cat"]
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def decisions(*pairs: tuple[str, DecisionKind]) -> list[Decision]:
    """Decisions in the order given, one minute apart."""
    return [
        Decision(
            approval_id="go-no-go",
            round=1,
            actor=actor,
            decision=kind,
            comment=f"{actor} says {kind}",
            at=T0 + timedelta(minutes=i),
            channel=Channel.web,
        )
        for i, (actor, kind) in enumerate(pairs)
    ]


def outcome(policy: str, *pairs, quorum: int | None = None, approvers=PEOPLE):
    return evaluate(policy, list(approvers), quorum, decisions(*pairs))


# --- all --------------------------------------------------------------------------


def test_all_is_pending_until_everyone_has_approved_and_waits_on_the_rest() -> None:
    e = outcome("all")
    assert (e.outcome, e.waiting_on) == (PENDING, PEOPLE)
    e = outcome("all", ("ben", A))
    assert (e.outcome, e.waiting_on) == (PENDING, ["ann", "cat"])
    e = outcome("all", ("ben", A), ("ann", A))
    assert (e.outcome, e.waiting_on) == (PENDING, ["cat"])
    e = outcome("all", ("ben", A), ("ann", A), ("cat", A))
    assert (e.outcome, e.waiting_on) == (APPROVED, [])


def test_all_is_rejected_by_a_single_rejection_without_waiting_for_the_others() -> None:
    e = outcome("all", ("ann", A), ("ben", R))
    assert (e.outcome, e.waiting_on) == (REJECTED, [])


def test_all_goes_back_for_changes_when_one_asks_for_them() -> None:
    assert outcome("all", ("cat", C)).outcome == CHANGES
    # Changes win over a rejection: the document goes back for a new round.
    assert outcome("all", ("ann", R), ("ben", C)).outcome == CHANGES


# --- any --------------------------------------------------------------------------


def test_any_is_approved_by_the_first_approval_even_after_rejections() -> None:
    assert outcome("any", ("ann", R), ("ben", A)).outcome == APPROVED
    assert outcome("any", ("cat", A)).outcome == APPROVED


def test_any_stays_pending_while_someone_could_still_approve() -> None:
    e = outcome("any", ("ann", R), ("ben", C))
    assert (e.outcome, e.waiting_on) == (PENDING, ["cat"])


def test_any_fails_only_when_everyone_has_declined() -> None:
    assert outcome("any", ("ann", R), ("ben", R), ("cat", R)).outcome == REJECTED
    assert outcome("any", ("ann", R), ("ben", C), ("cat", R)).outcome == CHANGES


# --- quorum -----------------------------------------------------------------------


def test_quorum_two_of_three_is_approved_at_the_second_approval() -> None:
    assert outcome("quorum", ("ann", A), quorum=2).outcome == PENDING
    assert outcome("quorum", ("ann", A), ("cat", A), quorum=2).outcome == APPROVED
    # One rejection does not stop it while the quorum can still be reached.
    e = outcome("quorum", ("ann", R), ("ben", A), quorum=2)
    assert (e.outcome, e.waiting_on) == (PENDING, ["cat"])
    assert outcome("quorum", ("ann", R), ("ben", A), ("cat", A), quorum=2).outcome == APPROVED


def test_quorum_that_can_no_longer_be_reached_is_rejected() -> None:
    e = outcome("quorum", ("ann", R), ("ben", R), quorum=2)
    assert (e.outcome, e.waiting_on) == (REJECTED, [])


def test_impossible_quorum_with_a_request_for_changes_goes_back_for_changes() -> None:
    assert outcome("quorum", ("ann", R), ("ben", C), quorum=2).outcome == CHANGES
    # 3 of 3: a single request for changes already makes it impossible.
    assert outcome("quorum", ("ann", A), ("ben", C), quorum=3).outcome == CHANGES


def test_quorum_of_one_behaves_like_any() -> None:
    assert outcome("quorum", ("ben", A), quorum=1).outcome == APPROVED
    assert outcome("quorum", ("ann", R), ("ben", R), quorum=1).outcome == PENDING


@pytest.mark.parametrize("policy", ["all", "sequential"])
def test_a_stray_quorum_does_not_lower_all_or_a_signing_order(policy: str) -> None:
    # The definition checks refuse a quorum outside policy 'quorum'; were one stored, it counts for nothing.
    assert outcome(policy, ("ann", A), quorum=1).outcome == PENDING
    assert outcome(policy, ("ann", A), ("ben", A), ("cat", A), quorum=1).outcome == APPROVED


def test_quorum_without_k_needs_everyone() -> None:
    assert outcome("quorum", ("ann", A), ("ben", A), quorum=None).outcome == PENDING
    assert outcome("quorum", ("ann", A), ("ben", A), ("cat", A), quorum=None).outcome == APPROVED


# --- sequential -------------------------------------------------------------------


def test_sequential_waits_on_the_next_signer_only() -> None:
    e = outcome("sequential")
    assert (e.outcome, e.waiting_on) == (PENDING, ["ann"])
    e = outcome("sequential", ("ann", A))
    assert (e.outcome, e.waiting_on) == (PENDING, ["ben"])
    e = outcome("sequential", ("ann", A), ("ben", A))
    assert (e.outcome, e.waiting_on) == (PENDING, ["cat"])
    assert outcome("sequential", ("ann", A), ("ben", A), ("cat", A)).outcome == APPROVED


def test_sequential_order_is_the_approvers_order_not_alphabetical() -> None:
    e = outcome("sequential", approvers=["cat", "ann", "ben"])
    assert e.waiting_on == ["cat"]
    e = outcome("sequential", ("cat", A), approvers=["cat", "ann", "ben"])
    assert e.waiting_on == ["ann"]


def test_sequential_stops_at_a_rejection_or_request_for_changes() -> None:
    e = outcome("sequential", ("ann", A), ("ben", R))
    assert (e.outcome, e.waiting_on) == (REJECTED, [])
    e = outcome("sequential", ("ann", C))
    assert (e.outcome, e.waiting_on) == (CHANGES, [])


# --- which decisions count --------------------------------------------------------


@pytest.mark.parametrize("policy,quorum", [("all", None), ("any", None), ("quorum", 2), ("sequential", None)])
def test_only_the_first_decision_of_each_approver_counts(policy: str, quorum: int | None) -> None:
    # ann rejects, then changes her mind: the rejection stands.
    first_reject = outcome(policy, ("ann", R), ("ann", A), ("ben", R), ("ann", A), quorum=quorum)
    only_reject = outcome(policy, ("ann", R), ("ben", R), quorum=quorum)
    assert first_reject == only_reject
    assert first_reject.outcome != APPROVED


def test_a_later_approval_does_not_undo_a_rejection_under_all() -> None:
    assert outcome("all", ("ann", R), ("ann", A), ("ben", A), ("cat", A)).outcome == REJECTED


def test_a_later_rejection_does_not_undo_an_approval_under_all() -> None:
    assert outcome("all", ("ann", A), ("ann", R), ("ben", A), ("cat", A)).outcome == APPROVED


def test_decisions_by_people_who_are_not_approvers_are_ignored() -> None:
    e = outcome("any", ("mallory", A), ("ops", A))
    assert (e.outcome, e.waiting_on) == (PENDING, PEOPLE)
    assert outcome("all", ("mallory", R), ("ann", A), ("ben", A), ("cat", A)).outcome == APPROVED
    assert outcome("quorum", ("eve", A), ("ann", A), quorum=2).outcome == PENDING


# --- properties -------------------------------------------------------------------

actors = st.sampled_from([*PEOPLE, "dan", "outsider"])
kinds = st.sampled_from(list(DecisionKind))
decision_lists = st.lists(st.tuples(actors, kinds), max_size=12)
APPROVERS = [*PEOPLE, "dan"]


def firsts(pairs) -> dict[str, DecisionKind]:
    out: dict[str, DecisionKind] = {}
    for actor, kind in pairs:
        if actor in APPROVERS:
            out.setdefault(actor, kind)
    return out


@given(decision_lists)
def test_all_is_approved_iff_every_approver_approved_first(pairs) -> None:
    e = evaluate("all", APPROVERS, None, decisions(*pairs))
    first = firsts(pairs)
    every_approved = all(first.get(a) == A for a in APPROVERS)
    assert (e.outcome == APPROVED) == every_approved
    if e.outcome == PENDING:
        assert e.waiting_on == [a for a in APPROVERS if a not in first]


@given(decision_lists, st.integers(min_value=1, max_value=len(APPROVERS)))
def test_quorum_is_never_approved_with_fewer_than_k_approvals(pairs, k) -> None:
    e = evaluate("quorum", APPROVERS, k, decisions(*pairs))
    first = firsts(pairs)
    approvals = sum(1 for kind in first.values() if kind == A)
    undecided = len(APPROVERS) - len(first)
    if approvals >= k:
        assert e.outcome == APPROVED
    elif approvals + undecided < k:
        expected = CHANGES if C in first.values() else REJECTED
        assert e.outcome == expected
    else:
        assert e.outcome == PENDING
        assert e.waiting_on == [a for a in APPROVERS if a not in first]


@given(decision_lists)
def test_sequential_asks_at_most_one_person_at_a_time(pairs) -> None:
    e = evaluate("sequential", APPROVERS, None, decisions(*pairs))
    assert len(e.waiting_on) <= 1
    assert (e.outcome == PENDING) == bool(e.waiting_on)
    assert e.outcome != ApprovalOutcome.timed_out


@given(decision_lists)
def test_order_of_different_approvers_decisions_does_not_matter_for_all(pairs) -> None:
    # Keeping each approver's first decision, shuffling who decided first changes nothing.
    first = list(firsts(pairs).items())
    forward = evaluate("all", APPROVERS, None, decisions(*first))
    backward = evaluate("all", APPROVERS, None, decisions(*reversed(first)))
    assert forward.outcome == backward.outcome
