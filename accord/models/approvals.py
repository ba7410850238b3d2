"""Approvals (go/no-go, MOU signature, amendments, renewals): rounds, decisions, delegations, documents."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field, computed_field

from accord.models.common import Channel, Payload, Stage
from accord.models.evidence import DocumentChanges, Evidence
from definitions.schema import ApprovalPolicy


class DecisionKind(StrEnum):
    approve = "approve"
    reject = "reject"
    request_changes = "request_changes"


class Decision(Payload):
    approval_id: str
    round: int
    actor: str
    decision: DecisionKind
    comment: str = ""
    at: datetime
    channel: Channel
    document_version: int | None = None
    document_hash: str | None = None
    sent_by: str | None = Field(None, description="Who sent it for the actor (an API key, ops:<name>), if not the actor.")


class ApprovalOutcome(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    changes_requested = "changes_requested"
    timed_out = "timed_out"


class Delegation(Payload):
    round: int
    delegator: str
    delegate: str
    reason: str
    at: datetime
    channel: Channel
    sent_by: str | None = None


class ApprovalState(Payload):
    id: str
    title: str
    stage: Stage
    approvers: list[str]
    policy: ApprovalPolicy
    quorum: int | None = None
    round: int = 1
    opened_at: datetime
    deadline_at: datetime
    decisions: list[Decision] = Field(default_factory=list)
    outcome: ApprovalOutcome = ApprovalOutcome.pending
    reminders_sent: list[datetime] = Field(default_factory=list)
    allow_delegation: bool = False
    delegations: list[Delegation] = Field(default_factory=list)
    # The document this round decides on (MOU version, amendment...), if any.
    document_version: int | None = None
    document_hash: str | None = None
    parties: dict[str, list[str]] = Field(
        default_factory=dict, description="Parties whose own approval is needed besides the policy (an amendment "
        "changes their people or addresses): party id -> its stakeholders in force. An approve from one of them "
        "who is an approver gives the party's approval (accord.logic.approvals).")
    party_approvers: list[str] = Field(
        default_factory=list, description="Approvers added only to give their party's approval (none of the "
        "approvers belonged to that party); the policy does not count them.")
    changes: list[str] = Field(
        default_factory=list, description="An amendment's approval: what it changes (definitions.diff, as `accord amend` "
        "shows it).")
    evidence: Evidence | None = Field(
        None, description="A go/no-go or renewal: what there is to decide on, gathered when it opened (accord.logic.evidence).")

    def decisions_in_round(self) -> list[Decision]:
        return [d for d in self.decisions if d.round == self.round]

    @computed_field  # type: ignore[prop-decorator]  # mypy reads no decorator above @property; pydantic documents this form
    @property
    def parties_waiting(self) -> list[str]:
        """The parties (of ``parties``) whose own approval is still missing in this round."""
        first: dict[str, DecisionKind] = {}
        for d in self.decisions_in_round():
            first.setdefault(d.actor, d.decision)
        approved = {a for a in self.approvers if first.get(a) == DecisionKind.approve}
        return [party for party, people in self.parties.items() if not approved & set(people)]


class DocumentVersion(Payload):
    version: int
    hash: str
    created_at: datetime
    source: Literal["generated", "uploaded"]
    author: str
    note: str = ""
    changes: DocumentChanges | None = Field(None, description="What changed since the previous version (none for the first).")
    requested_changes: list[Decision] = Field(
        default_factory=list, description="The requests for changes of the previous round, which this version answers.")


class MouState(Payload):
    versions: list[DocumentVersion] = Field(default_factory=list)
    # Set when a round ends with changes requested: ops must upload or regenerate a revision.
    awaiting_revision: bool = False
    signed_at: datetime | None = None

    @property
    def current(self) -> DocumentVersion | None:
        return self.versions[-1] if self.versions else None

# --- approval ids: one approval per decision the partnership takes ---


GO_NO_GO = "go-no-go"  # screening's decision
MOU = "mou"  # the MOU signature (rounds over its versions)


def amendment_id(n: int) -> str:
    """The n-th amendment (from 1), and the id of its approval."""
    return f"amendment-{n}"


def renewal_id(term: int) -> str:
    """The decision to renew at the end of ``term``."""
    return f"renewal-{term}"
