"""Decisions: approving (or not), delegating, overriding the alignment check, revising the MOU."""

from __future__ import annotations

from accord.logic import approvals, limits, permissions
from accord.logic.describe import when
from accord.logic.rules.partnership import check_sender
from accord.models import (
    MOU,
    AlignmentOverride,
    ApprovalOutcome,
    ApprovalState,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    MouRevision,
    PartnershipState,
    Stage,
)
from definitions.schema import ApprovalPolicy, PartnershipDefinition

# Decisions that must say why.
NEED_A_REASON = (DecisionKind.reject, DecisionKind.request_changes)


def needs_reason(decision: DecisionKind) -> bool:
    return decision in NEED_A_REASON


def may_request_changes(approval: ApprovalState, rules_version: int) -> bool:
    """Rules 1: only a document can be changed; a go/no-go, renewal or amendment that read
    "changes requested" as "no" ended what its approver meant to keep open."""
    return approval.document_hash is not None or rules_version < 1


def open_approval(state: PartnershipState, approval_id: str, round_no: int | None) -> ApprovalState:
    """The approval a decision or delegation is for, if it is still open in that round."""
    approval = state.approvals.get(approval_id)
    if approval is None:
        known = ", ".join(state.approvals) or "none has opened yet"
        raise ValueError(f"There is no approval {approval_id!r} in this partnership (approvals: {known}).")
    if approval.outcome != ApprovalOutcome.pending:
        raise ValueError(f"This approval is closed ({approval.outcome.value}).")
    if round_no is not None and round_no != approval.round:
        raise ValueError(f"This link is for round {round_no}, which has been superseded by round {approval.round}.")
    return approval


def check_decision(state: PartnershipState, decision: DecisionInput) -> None:
    approval = open_approval(state, decision.approval_id, decision.round)
    if decision.actor not in approval.approvers:
        raise ValueError(f"{decision.actor!r} is not an approver of {approval.title}.")
    earlier = next((d for d in approval.decisions_in_round() if d.actor == decision.actor), None)
    if earlier:
        raise ValueError(
            f"{decision.actor} already decided ({earlier.decision.value}) on {when(earlier.at)}; "
            "the first decision counts."
        )
    waiting = approvals.of(approval).waiting_on
    if approval.policy == ApprovalPolicy.sequential and decision.actor not in waiting:
        raise ValueError(f"It is not {decision.actor}'s turn yet: signing order is {', '.join(approval.approvers)}.")
    if decision.decision == DecisionKind.request_changes and not may_request_changes(approval, state.rules_version):
        raise ValueError("This decision has no document to change: approve or reject.")
    if needs_reason(decision.decision) and not decision.comment.strip():
        raise ValueError("Please give a reason.")
    check_sender(state, decision.sent_by)
    if decision.document_hash is not None and decision.document_hash != (approval.document_hash or ""):
        raise ValueError(
            f"This decision is not for the version now up for decision (version {approval.document_version}, "
            f"SHA-256 {approval.document_hash}). Please open the link again, read it, and decide there."
            if approval.document_hash else f"{approval.title} is not a decision on a document.")
    limits.check_text(("The comment", decision.comment))


def check_delegation(state: PartnershipState, definition: PartnershipDefinition, delegation: DelegationInput) -> None:
    approval = open_approval(state, delegation.approval_id, delegation.round)
    if not approval.allow_delegation:
        raise ValueError(f"The definition does not allow delegation for {approval.title}.")
    if delegation.actor not in approval.approvers:
        raise ValueError(f"{delegation.actor!r} is not an approver of {approval.title}.")
    if any(d.actor == delegation.actor for d in approval.decisions_in_round()):
        raise ValueError(f"{delegation.actor} has already decided in this round.")
    if delegation.to not in definition.stakeholders():
        raise ValueError(f"{delegation.to!r} is not a stakeholder of this partnership.")
    if delegation.to in approval.approvers:
        raise ValueError(f"{delegation.to} is already an approver.")
    stranded = approvals.delegation_strands(approval, delegation.actor, delegation.to)
    if stranded is not None:
        party = approvals.party_names(definition, [stranded])
        raise ValueError(f"{party} must approve this itself (it changes {party}'s people), and {delegation.actor} is "
                         f"the only one of {party} left to do so: delegate to someone of {party}.")
    if not delegation.reason.strip():
        raise ValueError("A delegation needs a reason.")
    check_sender(state, delegation.sent_by)
    limits.check_text(("The reason", delegation.reason))


def check_override(state: PartnershipState, definition: PartnershipDefinition, override: AlignmentOverride) -> None:
    if definition.screening.alignment is None or state.stage != Stage.screening:
        raise ValueError("There is no goal-alignment check to override.")
    allowed = permissions.may_override_alignment(definition)
    if override.actor not in allowed:
        raise ValueError(f"Only {', '.join(allowed)} may override the alignment check.")
    if not override.reason.strip():
        raise ValueError("An override needs a reason.")
    check_sender(state, override.sent_by)
    if state.alignment.passed:
        raise ValueError("The alignment check has already passed.")
    limits.check_text(("The reason", override.reason))


def check_mou_upload(markdown: str) -> None:
    """An uploaded MOU text: not empty, not longer than an upload may be (the revision page checks
    its form with this too, before sending)."""
    if not markdown.strip():
        raise ValueError("The uploaded MOU is empty.")
    if limits.too_long(markdown, limits.MAX_UPLOAD):
        raise ValueError(f"The uploaded MOU is longer than {limits.MAX_UPLOAD:,} characters.")


def check_mou_revision(state: PartnershipState, definition: PartnershipDefinition, revision: MouRevision) -> None:
    if state.stage != Stage.mou or definition.mou is None:
        raise ValueError(f"The MOU can only be revised in the MOU stage (the partnership is in {state.stage.value}).")
    if not state.mou.versions:
        raise ValueError("The first draft is still being prepared.")
    if revision.markdown is not None:
        check_mou_upload(revision.markdown)
    approval = state.approvals.get(MOU)
    if approval is not None and approval.round >= definition.mou.max_rounds:
        raise ValueError(f"The MOU has used all {definition.mou.max_rounds} review rounds.")
    check_sender(state, revision.sent_by)
