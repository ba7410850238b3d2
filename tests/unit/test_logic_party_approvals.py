"""An amendment that changes a party's people needs that party's own approval (rules 1):
which parties, who can give it, and how it combines with the approval's policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.logic.approvals import (
    delegation_strands,
    evaluate,
    of,
    parties_changed,
    party_approvals,
    party_names,
)
from accord.models import (
    ApprovalOutcome,
    ApprovalState,
    Channel,
    Decision,
    DecisionKind,
    Stage,
)
from definitions import load
from tests.support.paths import DATA

A, R, C = DecisionKind.approve, DecisionKind.reject, DecisionKind.request_changes
PENDING, APPROVED, REJECTED = ApprovalOutcome.pending, ApprovalOutcome.approved, ApprovalOutcome.rejected
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
IN_FORCE = load(DATA / "operating.yaml")  # alpha: ann, abe; beta: ben


def amended(change) -> object:
    data = IN_FORCE.model_dump(mode="json")
    change(data)
    return IN_FORCE.model_validate(data)


def person(data, who):
    return next(s for p in data["parties"] for s in p["stakeholders"] if s["id"] == who)


def approval(policy: str, approvers: list[str], *pairs, quorum: int | None = None,
             parties: dict[str, list[str]] | None = None, added: list[str] | None = None) -> ApprovalState:
    return ApprovalState(
        id="amendment-1", title="Amendment 1", stage=Stage.active, approvers=approvers, policy=policy, quorum=quorum,
        opened_at=T0, deadline_at=T0 + timedelta(days=7), parties=parties or {}, party_approvers=added or [],
        decisions=[Decision(approval_id="amendment-1", round=1, actor=who, decision=kind, at=T0 + timedelta(minutes=i),
                            channel=Channel.api) for i, (who, kind) in enumerate(pairs)],
    )


# --- which parties --------------------------------------------------------------


def test_an_address_a_name_a_person_added_or_removed_changes_that_party_only():
    assert parties_changed(IN_FORCE, IN_FORCE) == []
    assert parties_changed(IN_FORCE, amended(lambda d: person(d, "ben").update(email="ben@evil.example"))) == ["beta"]
    assert parties_changed(IN_FORCE, amended(lambda d: person(d, "abe").update(name="Abraham Alpha"))) == ["alpha"]
    assert parties_changed(IN_FORCE, amended(lambda d: d["parties"][1]["stakeholders"].append(
        {"id": "bob", "name": "Bob Beta", "email": "bob@beta.example", "role": "analyst"}))) == ["beta"]
    assert parties_changed(IN_FORCE, amended(lambda d: d["parties"][0]["stakeholders"].pop())) == ["alpha"]


def test_what_is_not_about_people_or_addresses_needs_no_party():
    assert parties_changed(IN_FORCE, amended(lambda d: person(d, "ben").update(role="chief executive"))) == []
    assert parties_changed(IN_FORCE, amended(lambda d: d.update(name="Another name"))) == []
    assert parties_changed(IN_FORCE, amended(lambda d: d["ops"][0].update(email="desk@alpha.example"))) == []


def test_a_person_moving_to_another_party_changes_both():
    def move(d):
        d["parties"][1]["stakeholders"].append(d["parties"][0]["stakeholders"].pop())
    assert parties_changed(IN_FORCE, amended(move)) == ["alpha", "beta"]


def test_the_partys_people_are_those_in_force_never_those_of_the_amendment():
    def takeover(d):
        # Beta's only person replaced by someone with Beta's sponsor's address elsewhere.
        d["parties"][1]["stakeholders"] = [{"id": "eve", "name": "Eve", "email": "eve@evil.example", "role": "x"}]
    needed = party_approvals(IN_FORCE, amended(takeover), approvers=["ann", "abe"])
    assert needed.parties == {"beta": ["ben"]}
    assert needed.added == ["ben"], "nobody of Beta approves amendments: Ben (in force) is asked"
    needed = party_approvals(IN_FORCE, amended(takeover), approvers=["ann", "ben"])
    assert (needed.parties, needed.added) == ({"beta": ["ben"]}, [])


# --- evaluation -------------------------------------------------------------------


def test_under_any_the_proposers_approval_is_not_the_other_partys():
    base = approval("any", ["ann", "ben"], ("ann", A))
    assert of(base).outcome == APPROVED, "without a party requirement, as before"
    needed = approval("any", ["ann", "ben"], ("ann", A), parties={"beta": ["ben"]})
    e = of(needed)
    assert (e.outcome, e.waiting_on, e.parties_waiting) == (PENDING, ["ben"], ["beta"])
    assert needed.parties_waiting == ["beta"]
    done = approval("any", ["ann", "ben"], ("ann", A), ("ben", A), parties={"beta": ["ben"]})
    assert (of(done).outcome, of(done).parties_waiting, done.parties_waiting) == (APPROVED, [], [])


def test_added_approvers_give_their_partys_approval_and_are_not_counted_by_the_policy():
    # Policy "all" over ann and abe; ben was added for Beta.
    a = approval("all", ["ann", "abe", "ben"], ("ann", A), ("abe", A), parties={"beta": ["ben"]}, added=["ben"])
    assert (of(a).outcome, of(a).waiting_on) == (PENDING, ["ben"])
    a = approval("all", ["ann", "abe", "ben"], ("ben", A), parties={"beta": ["ben"]}, added=["ben"])
    assert (of(a).outcome, of(a).waiting_on, of(a).parties_waiting) == (PENDING, ["ann", "abe"], [])
    a = approval("all", ["ann", "abe", "ben"], ("ben", A), ("ann", A), ("abe", A), parties={"beta": ["ben"]},
                 added=["ben"])
    assert of(a).outcome == APPROVED


def test_a_party_that_can_no_longer_approve_rejects_it():
    a = approval("any", ["ann", "ben"], ("ben", R), parties={"beta": ["ben"]})
    assert (of(a).outcome, of(a).parties_waiting) == (REJECTED, ["beta"])


def test_the_policys_own_outcome_still_rejects():
    a = approval("all", ["ann", "ben"], ("ann", R), parties={"beta": ["ben"]})
    assert of(a).outcome == REJECTED


def test_a_signing_order_is_kept_for_the_policys_signers_and_added_people_are_asked_at_once():
    a = approval("sequential", ["ann", "ben", "abe"], parties={"beta": ["ben"]})
    assert of(a).waiting_on == ["ann"], "Ben signs in his turn"
    a = approval("sequential", ["ann", "abe", "ben"], parties={"beta": ["ben"]}, added=["ben"])
    assert of(a).waiting_on == ["ann", "ben"]


def test_a_delegation_that_leaves_the_party_without_anyone_is_caught():
    a = approval("any", ["ann", "ben"], parties={"beta": ["ben"]})
    assert delegation_strands(a, "ben", "abe") == "beta"
    assert delegation_strands(a, "ann", "abe") is None
    two = approval("any", ["ann", "ben", "bob"], parties={"beta": ["ben", "bob"]})
    assert delegation_strands(two, "ben", "abe") is None, "Bob can still approve for Beta"
    bob_declined = approval("any", ["ann", "ben", "bob"], ("bob", R), parties={"beta": ["ben", "bob"]})
    assert delegation_strands(bob_declined, "ben", "abe") == "beta"


# --- properties -------------------------------------------------------------------

PEOPLE = ["ann", "abe", "ben", "bob"]
pairs = st.lists(st.tuples(st.sampled_from(PEOPLE), st.sampled_from(list(DecisionKind))), max_size=10)
policies = st.sampled_from([("all", None), ("any", None), ("quorum", 2), ("sequential", None)])


@settings(derandomize=True, max_examples=300)
@given(policies, pairs)
def test_without_parties_it_is_the_policy_exactly(policy, decided):
    name, quorum = policy
    a = approval(name, PEOPLE, *decided, quorum=quorum)
    assert of(a) == evaluate(name, PEOPLE, quorum, a.decisions_in_round())


@settings(derandomize=True, max_examples=300)
@given(policies, pairs, st.booleans())
def test_approved_only_with_the_policy_and_an_approval_from_the_party(policy, decided, beta_added):
    name, quorum = policy
    approvers, added = (["ann", "abe", "ben", "bob"], ["ben", "bob"]) if beta_added else (PEOPLE, [])
    a = approval(name, approvers, *decided, quorum=quorum, parties={"beta": ["ben", "bob"]}, added=added)
    e = of(a)
    first: dict[str, DecisionKind] = {}
    for who, kind in decided:
        first.setdefault(who, kind)
    base = evaluate(name, [p for p in approvers if p not in added], quorum, a.decisions_in_round())
    beta_approved = any(first.get(p) == A for p in ("ben", "bob"))
    assert (e.outcome == APPROVED) == (base.outcome == APPROVED and beta_approved)
    assert (e.parties_waiting == []) == beta_approved
    if e.outcome == PENDING and base.outcome == PENDING:
        assert set(base.waiting_on) <= set(e.waiting_on), "the policy's next signers are still asked"


@pytest.mark.parametrize("policy", ["all", "any", "quorum", "sequential"])
def test_request_for_changes_from_the_party_does_not_count_as_its_approval(policy):
    a = approval(policy, ["ann", "ben"], ("ann", A), ("ben", C), quorum=1, parties={"beta": ["ben"]})
    assert of(a).outcome != APPROVED


def test_when_two_changed_parties_have_no_approver_the_people_of_both_are_added():
    def both(data):
        person(data, "abe")["email"] = "abe@new.example"
        person(data, "ben")["name"] = "Ben B."
    result = party_approvals(IN_FORCE, amended(both), approvers=["ops-approver"])
    assert result.parties == {"alpha": ["ann", "abe"], "beta": ["ben"]}
    assert result.added == ["ann", "abe", "ben"]


def test_parties_are_named_for_people_to_read_and_an_unknown_id_as_it_is():
    assert party_names(IN_FORCE, ["beta", "alpha"]) == "Beta GmbH, Alpha Ltd"
    assert party_names(IN_FORCE, ["gamma"]) == "gamma"
