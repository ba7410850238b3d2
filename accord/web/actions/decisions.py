"""A decision link: an approval (the MOU, a go/no-go, an amendment...), who decides, the
document when there is one, and the delegation form.

A decision on a document (the MOU) shows the document itself, loaded from the document
store and verified against the hash the workflow recorded; if it cannot be shown, there
is no form: nobody signs what they cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from accord import tokens
from accord.client import Accord
from accord.logic import approvals, evidence
from accord.logic.rules.decisions import may_request_changes, needs_reason
from accord.models import (
    MOU,
    ApprovalOutcome,
    ApprovalState,
    Channel,
    Decision,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    PartnershipState,
    UpdateResult,
)
from accord.storage import Storage
from accord.web import documents as docs
from accord.web.actions.common import (
    FormError,
    Page,
    check_length,
    check_open,
    form_text,
    person_name,
    when,
)
from accord.web.people import Person
from accord.web.problems import Problem
from definitions.schema import PartnershipDefinition

DELEGATE = "delegate"  # the delegation form's "decision" value


@dataclass(frozen=True)
class Signer:
    """One row of the "who decides" table."""

    id: str
    name: str
    detail: str  # role and party, when known
    you: bool
    decision: Decision | None
    waiting: bool  # asked now: undecided (sequential: the next in order)
    on_behalf_of: list[str] = field(default_factory=list)


async def decision_page(claim: tokens.Claim, state: PartnershipState, documents: Storage | None,
                         people: Mapping[str, Person] | None, definition: PartnershipDefinition | None = None) -> Page:
    approval = state.approvals.get(claim.ref)
    if approval is None:
        raise Problem(404, "No such decision", f"{state.name} has no approval {claim.ref!r}.")
    if approval.outcome != ApprovalOutcome.pending:
        raise Problem(409, "This decision is closed", f"{approval.title} ended: {approval.outcome.value.replace('_', ' ')}.")
    if claim.round < approval.round:
        version = f" on version {approval.document_version} of the document" if approval.document_version else ""
        raise Problem(
            409,
            "This link is for an earlier round",
            f"This link was for round {claim.round} of {approval.title}; it has been superseded by round "
            f"{approval.round}{version}. Please use the link in the newest email.",
        )
    if claim.round != approval.round:
        raise Problem(409, "This round has not started", f"{approval.title} is in round {approval.round}.")
    if claim.recipient not in approval.approvers:
        handed = next((d for d in reversed(approval.delegations) if d.delegator == claim.recipient), None)
        if handed is not None:
            raise Problem(
                409,
                "You delegated this decision",
                f"You delegated {approval.title} to {person_name(people, handed.delegate)} on {when(handed.at)}"
                f" ({handed.reason}). They decide in your place.",
            )
        raise Problem(403, "You are not asked to decide", f"{claim.recipient} is not an approver of {approval.title}.")
    decisions = {d.actor: d for d in reversed(approval.decisions_in_round())}  # first decision wins
    earlier = decisions.get(claim.recipient)
    if earlier is not None:
        raise Problem(
            409,
            "You have already decided",
            f"You decided '{earlier.decision.value.replace('_', ' ')}' on {when(earlier.at)}"
            f"{' (' + earlier.comment + ')' if earlier.comment else ''}. The first decision counts.",
        )
    waiting = _waiting_on(approval)
    if approval.policy == "sequential" and claim.recipient not in waiting:
        raise Problem(409, "It is not your turn yet", f"The signing order is {', '.join(approval.approvers)}.")

    document = None
    if approval.document_hash:
        check_open(state)  # before reading the document: "closed" says more than a missing file
        what = "the MOU" if approval.id == MOU else "the document"
        if documents is None:
            raise Problem(500, "The document cannot be shown", f"Accord has no document store to read {what} from.")
        document = await docs.show(documents, state, approval.document_version, approval.document_hash, what)
    delegated_by: dict[str, list[str]] = {}
    for d in approval.delegations:
        delegated_by.setdefault(d.delegate, []).append(person_name(people, d.delegator))
    signers = [
        Signer(id=who, name=person_name(people, who), detail=_detail(people, who), you=who == claim.recipient,
               decision=decisions.get(who), waiting=who in waiting, on_behalf_of=delegated_by.get(who, []))
        for who in approval.approvers
    ]
    candidates = sorted(
        (p for p in (people or {}).values() if p.id not in approval.approvers), key=lambda p: p.name.casefold()
    )
    return Page("action_decision.html", {
        "approval": approval,
        # What the emails show besides the ask: an amendment's changes, what a new MOU version
        # changed and the changes asked for, a go/no-go's or renewal's evidence (rules 2).
        "sections": evidence.sections(approval, state, definition) if definition is not None else [],
        "document": document,
        "signers": signers,
        "policy": _policy_words(approval),
        "sequential": approval.policy == "sequential",
        "reject_label": "Decline" if document else "Reject",
        # Rules 1: only a document can be changed (the workflow refuses it otherwise).
        "can_request_changes": may_request_changes(approval, state.rules_version),
        "parties_waiting": [_partyname(people, approval, p) for p in approval.parties_waiting],
        "candidates": candidates if approval.allow_delegation else [],
        "people_known": people is not None,
        "delegate_value": DELEGATE,
    })


def _partyname(people: Mapping[str, Person] | None, approval: ApprovalState, party: str) -> str:
    """A party's name, from any of its people (the approval names the party's people in force)."""
    person = next(((people or {}).get(who) for who in approval.parties.get(party, []) if (people or {}).get(who)), None)
    return person.party if person else party


def _policy_words(approval: ApprovalState) -> str:
    n = len(approval.approvers)
    return {
        "all": f"all {n} must approve",
        "any": "one approval is enough",
        "quorum": f"{approval.quorum or n} of {n} must approve",
        "sequential": f"all {n} must approve, one after another in the order below",
    }.get(approval.policy, approval.policy)


def _detail(people: Mapping[str, Person] | None, who: str) -> str:
    person = (people or {}).get(who)
    return f"{person.role}, {person.party}" if person else ""


async def _delegate(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any]) -> UpdateResult:
    to = form_text(form, "to")
    reason = form_text(form, "reason")
    if not to:
        raise FormError("Please choose the person to delegate to.")
    if not reason:
        raise FormError("Please give a reason for delegating.")
    check_length(reason, "reason")
    return await accord.delegate(
        claim.workflow_id,
        DelegationInput(approval_id=claim.ref, actor=claim.recipient, to=to, reason=reason, round=claim.round,
                        channel=Channel.email_link),
    )


def _waiting_on(approval: ApprovalState) -> list[str]:
    return approvals.evaluate(approval.policy, approval.approvers, approval.quorum, approval.decisions_in_round()).waiting_on



async def send_decision(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any], page: Page | None) -> UpdateResult:
    choice = form_text(form, "decision")
    if choice == DELEGATE:
        return await _delegate(accord, claim, form)
    try:
        decision = DecisionKind(choice)
    except ValueError:
        raise FormError("Please choose approve, reject or request changes.") from None
    document = page.context.get("document") if page is not None else None
    if document is not None and form_text(form, "document_hash") != document.hash:
        raise Problem(
            409,
            "Please read the current version",
            f"This form is not for the version now up for decision (version {document.version}, "
            f"SHA-256 {document.hash}). Please open the link again, read it, and decide there.",
        )
    comment = form_text(form, "comment")
    if needs_reason(decision) and not comment:
        what = "requesting changes" if decision == DecisionKind.request_changes else (
            "declining" if document is not None else "rejecting")
        raise FormError(f"Please give a reason for {what}.")
    check_length(comment, "comment")
    return await accord.decide(
        claim.workflow_id,
        DecisionInput(approval_id=claim.ref, actor=claim.recipient, decision=decision, comment=comment,
                      round=claim.round, channel=Channel.email_link,
                      # The workflow checks it too: a form for an older version is refused there.
                      document_hash=form_text(form, "document_hash")),
    )
