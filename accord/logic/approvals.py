"""Approval policies: all, any, quorum (k of n) and sequential (signing order).

Pure functions over the decisions of one round. The first decision of each approver in
a round counts; the workflow refuses later ones before they get here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accord.models import ApprovalOutcome, Decision, DecisionKind


@dataclass(frozen=True)
class Evaluation:
    outcome: ApprovalOutcome
    # Who should be asked now: everyone undecided, or for sequential only the next signer.
    waiting_on: list[str] = field(default_factory=list)


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
