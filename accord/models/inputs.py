"""What people send: the arguments of the partnership workflow's updates, and their answer."""

from __future__ import annotations

from pydantic import Field

from accord.models.approvals import DecisionKind
from accord.models.common import Channel, Payload
from accord.models.escalations import Severity
from accord.models.reviews import Rag
from definitions.schema import PartnershipDefinition


class TaskCompletion(Payload):
    task_id: str
    actor: str = Field(description="Stakeholder id of the person completing it.")
    result: str = ""
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class StatementSubmission(Payload):
    stakeholder: str
    text: str
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class DecisionInput(Payload):
    approval_id: str
    actor: str
    decision: DecisionKind
    comment: str = ""
    round: int | None = Field(None, description="The round the decision is for; a stale round is refused.")
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")
    document_hash: str | None = Field(
        None, description="The SHA-256 of the document version decided on (\"\" for none): a decision on another "
                          "version, or without one when a document is up for decision, is refused. None: not checked.")


class DelegationInput(Payload):
    approval_id: str
    actor: str
    to: str = Field(description="Stakeholder id of the delegate.")
    reason: str
    round: int | None = None
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class MouRevision(Payload):
    """Ops answer a request for changes: upload a revised text, or regenerate from the definition."""

    actor: str = "ops"
    note: str = ""
    markdown: str | None = Field(None, description="The revised MOU (Markdown). None: regenerate from the definition.")
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class AlignmentOverride(Payload):
    actor: str
    reason: str
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class EscalationRequest(Payload):
    reason: str
    subject: str = "partnership"
    level: int = 1
    severity: Severity = Severity.normal
    raised_by: str = "ops"
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class ReviewInputSubmission(Payload):
    review_id: str
    stakeholder: str
    rag: Rag | None = Field(None, description="Weekly status: green, amber or red.")
    note: str = ""
    contribution: float | None = Field(None, description="Annual review: this party's contribution, 1-10.")
    benefit: float | None = Field(None, description="Annual review: this party's benefit, 1-10.")
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class MetricObservationInput(Payload):
    metric_id: str
    value: float
    actor: str
    note: str = ""
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class ActionInput(Payload):
    title: str
    owner: str
    due_in_days: int = Field(14, ge=1, le=366)


class ReviewOutcome(Payload):
    """What a review decided: recorded by a participant or ops while it is the latest of its kind."""

    review_id: str
    actor: str
    decisions: list[str] = Field(default_factory=list)
    actions: list[ActionInput] = Field(default_factory=list)
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class AmendmentProposal(Payload):
    definition: PartnershipDefinition
    actor: str
    reason: str
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class CloseRequest(Payload):
    actor: str
    reason: str
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class UpdateResult(Payload):
    ok: bool = True
    message: str
    partnership: str | None = Field(None, description="The partnership's name (so a page can say it without asking again).")
