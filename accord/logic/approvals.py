"""Approval policies: all, any, quorum (k of n) and sequential (signing order), and the
approval of the parties an amendment touches.

Pure functions over the decisions of one round. The first decision of each approver in
a round counts; the workflow refuses later ones before they get here.

An amendment that changes a party's people or their addresses (a stakeholder added,
removed, renamed or given another email) would send that party's signed links elsewhere:
it needs that party's own approval besides the policy (rules version 1, see
workflows/versions.py). ``party_approvals`` says which parties and who can give it,
``of`` evaluates an approval with those requirements.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from accord.models import ApprovalOutcome, ApprovalState, Decision, DecisionKind
from definitions.schema import PartnershipDefinition


@dataclass(frozen=True)
class Evaluation:
    outcome: ApprovalOutcome
    # Who should be asked now: everyone undecided, or for sequential only the next signer.
    waiting_on: list[str] = field(default_factory=list)
    # Parties whose own approval is still missing (ApprovalState.parties).
    parties_waiting: list[str] = field(default_factory=list)


def evaluate(policy: str, approvers: list[str], quorum: int | None, decisions: list[Decision]) -> Evaluation:
    first: dict[str, DecisionKind] = {}
    for d in decisions:
        if d.actor in approvers:
            first.setdefault(d.actor, d.decision)
    approved = [a for a in approvers if first.get(a) == DecisionKind.approve]
    changes = [a for a in approvers if first.get(a) == DecisionKind.request_changes]
    undecided = [a for a in approvers if a not in first]

    if policy == "any":
        if approved:
            return Evaluation(ApprovalOutcome.approved)
        if undecided:
            return Evaluation(ApprovalOutcome.pending, undecided)
        return Evaluation(ApprovalOutcome.changes_requested if changes else ApprovalOutcome.rejected)

    needed = len(approvers) if policy in ("all", "sequential") else (quorum or len(approvers))
    if len(approved) >= needed:
        return Evaluation(ApprovalOutcome.approved)
    if len(approved) + len(undecided) < needed:
        # The approval can no longer pass: a request for changes sends the document back
        # for a new round; otherwise it is rejected.
        return Evaluation(ApprovalOutcome.changes_requested if changes else ApprovalOutcome.rejected)
    if policy == "sequential":
        return Evaluation(ApprovalOutcome.pending, undecided[:1])
    return Evaluation(ApprovalOutcome.pending, undecided)


def of(approval: ApprovalState) -> Evaluation:
    """The outcome of an approval's current round: its policy over its approvers (those added
    only for their party's sake do not count), and every party in ``approval.parties``
    approved by one of its people among the approvers.

    A waiting party's people are asked alongside the policy's next signers; an approval that
    no longer can get a party's approval (all its people among the approvers decided
    otherwise) is rejected."""
    decisions = approval.decisions_in_round()
    added = set(approval.party_approvers)
    base = evaluate(approval.policy, [a for a in approval.approvers if a not in added], approval.quorum, decisions)
    if not approval.parties:
        return base
    waiting_parties = approval.parties_waiting
    decided = {d.actor for d in decisions}
    can_give = {party: [a for a in approval.approvers if a in approval.parties[party] and a not in decided]
                for party in waiting_parties}
    if base.outcome in (ApprovalOutcome.rejected, ApprovalOutcome.changes_requested):
        return replace(base, parties_waiting=waiting_parties)
    if any(not people for people in can_give.values()):
        return Evaluation(ApprovalOutcome.rejected, parties_waiting=waiting_parties)
    if not waiting_parties:
        return base
    if base.outcome == ApprovalOutcome.approved:
        extra = [a for party in waiting_parties for a in can_give[party]]
    else:
        # The policy's own approvers are asked when the policy says (a signing order), the
        # added ones at once.
        extra = [a for party in waiting_parties for a in can_give[party] if a in added]
    waiting = list(dict.fromkeys([*base.waiting_on, *extra]))
    return Evaluation(ApprovalOutcome.pending, waiting, waiting_parties)


def parties_changed(in_force: PartnershipDefinition, amended: PartnershipDefinition) -> list[str]:
    """The parties of the definition in force whose people or addresses ``amended`` changes:
    a stakeholder added to or removed from the party, or one whose name or email differs.
    (A party the amendment adds has nobody in force to approve for it.)"""
    def people(definition: PartnershipDefinition) -> dict[str, dict[str, tuple[str, str]]]:
        return {p.id: {s.id: (s.name, s.email) for s in p.stakeholders} for p in definition.parties}

    before, after = people(in_force), people(amended)
    return [party for party, stakeholders in before.items() if after.get(party) != stakeholders]


@dataclass(frozen=True)
class PartyApprovals:
    # Party id -> its stakeholders as the definition in force says (never as the amendment says).
    parties: dict[str, list[str]] = field(default_factory=dict)
    # Approvers to add: the people of a party none of whose people is among the approvers.
    added: list[str] = field(default_factory=list)


def party_approvals(in_force: PartnershipDefinition, amended: PartnershipDefinition,
                    approvers: list[str]) -> PartyApprovals:
    """Whose approval an amendment needs besides its approvers' policy, and who must be added
    as approvers so that each such party can give it."""
    parties: dict[str, list[str]] = {}
    added: list[str] = []
    for party in parties_changed(in_force, amended):
        people = [s.id for p in in_force.parties if p.id == party for s in p.stakeholders]
        parties[party] = people
        if not set(people) & set(approvers):
            added += [who for who in people if who not in added]
    return PartyApprovals(parties, added)


def delegation_strands(approval: ApprovalState, delegator: str, delegate: str) -> str | None:
    """The party left without anyone to give its approval if ``delegator`` hands the decision
    to ``delegate`` (someone of another party), or None."""
    decided = {d.actor for d in approval.decisions_in_round()}
    for party in approval.parties_waiting:
        people = approval.parties[party]
        others = [a for a in approval.approvers if a in people and a != delegator and a not in decided]
        if delegator in people and delegate not in people and not others:
            return party
    return None


def party_names(definition: PartnershipDefinition, party_ids: list[str]) -> str:
    """The parties' names, for people to read ("Alpha Ltd, Beta GmbH"); an unknown id as it is."""
    names = {p.id: p.name for p in definition.parties}
    return ", ".join(names.get(p, p) for p in party_ids)
