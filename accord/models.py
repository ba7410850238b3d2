"""Payloads that cross Temporal boundaries: workflow input and state, updates, activity requests.

Every workflow, update, signal, query and activity takes exactly one of these models,
so fields can be added later without breaking running workflows (pydantic fills defaults).
They are serialised with ``temporalio.contrib.pydantic.pydantic_data_converter``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from definitions.schema import PartnershipDefinition


class Stage(StrEnum):
    screening = "screening"
    mou = "mou"
    launch = "launch"
    active = "active"
    renewal = "renewal"
    closed = "closed"
    rejected = "rejected"
    terminated = "terminated"

    @property
    def is_final(self) -> bool:
        return self in (Stage.closed, Stage.rejected, Stage.terminated)


class Health(StrEnum):
    """The partnership's overall status, shown in the UI and kept in a search attribute."""

    on_track = "on_track"
    waiting = "waiting"  # waiting on a capability that is not built yet, or on ops
    at_risk = "at_risk"  # something is overdue or blocked
    escalated = "escalated"
    done = "done"


class Channel(StrEnum):
    """How an action reached the workflow: recorded with every decision."""

    email_link = "email_link"
    web = "web"
    api = "api"
    cli = "cli"
    temporal = "temporal"


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- state ------------------------------------------------------------------------


class TaskKind(StrEnum):
    checklist = "checklist"
    statement = "statement"


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    waived = "waived"


class Task(Payload):
    id: str
    kind: TaskKind
    stage: Stage
    title: str
    description: str = ""
    owner: str
    created_at: datetime
    due_at: datetime
    status: TaskStatus = TaskStatus.open
    required: bool = True
    completed_at: datetime | None = None
    completed_by: str | None = None
    result: str = ""
    channel: Channel | None = None
    reminders_sent: list[datetime] = Field(default_factory=list)
    overdue: bool = False
    escalated: bool = False

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.open


class Statement(Payload):
    stakeholder: str
    party: str
    text: str
    at: datetime
    revision: int = 1


class AlignmentResult(Payload):
    divergence: float
    across_parties: float
    within_party: dict[str, float]
    threshold: float
    blocked: bool
    computed_at: datetime


class Alignment(Payload):
    statements: dict[str, Statement] = Field(default_factory=dict)
    result: AlignmentResult | None = None
    overridden_by: str | None = None
    override_reason: str = ""

    @property
    def passed(self) -> bool:
        return self.overridden_by is not None or (self.result is not None and not self.result.blocked)


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


class ApprovalState(Payload):
    id: str
    title: str
    stage: Stage
    approvers: list[str]
    policy: str
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

    def decisions_in_round(self) -> list[Decision]:
        return [d for d in self.decisions if d.round == self.round]


class DocumentVersion(Payload):
    version: int
    hash: str
    created_at: datetime
    source: Literal["generated", "uploaded"]
    author: str
    note: str = ""


class MouState(Payload):
    versions: list[DocumentVersion] = Field(default_factory=list)
    # Set when a round ends with changes requested: ops must upload or regenerate a revision.
    awaiting_revision: bool = False
    signed_at: datetime | None = None

    @property
    def current(self) -> DocumentVersion | None:
        return self.versions[-1] if self.versions else None


class EmailEventRecord(Payload):
    send_key: str
    event: str
    reason: str = ""
    recipient: str = ""
    at: datetime


class EscalationRecord(Payload):
    id: str
    trigger: str  # overdue, red_status, alignment, manual, ...
    subject: str  # the task / approval / metric it is about
    reason: str
    level: int
    severity: str = "normal"
    raised_by: str
    channel: Channel
    opened_at: datetime
    status: Literal["open", "acknowledged", "resolved", "withdrawn"] = "open"
    # The escalation's own workflow (a child of the partnership), when it has one.
    workflow_id: str | None = None
    with_ops: bool = False


class Event(Payload):
    """One line of the partnership's audit trail."""

    at: datetime
    kind: str
    actor: str = "accord"
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class PartnershipState(Payload):
    partnership_id: str
    name: str
    # The first run's id: stable across continue-as-new, new for each fresh start, so
    # email send keys never collide between two lives of the same partnership id.
    chain_id: str
    stage: Stage = Stage.screening
    health: Health = Health.on_track
    started_at: datetime
    stage_started_at: datetime
    tasks: dict[str, Task] = Field(default_factory=dict)
    alignment: Alignment = Field(default_factory=Alignment)
    approvals: dict[str, ApprovalState] = Field(default_factory=dict)
    mou: MouState = Field(default_factory=MouState)
    email_events: list[EmailEventRecord] = Field(default_factory=list)
    escalations: list[EscalationRecord] = Field(default_factory=list)
    timeline: list[Event] = Field(default_factory=list)
    detail: str = ""
    unreachable: list[str] = Field(default_factory=list, description="Stakeholders whose email failed permanently.")
    runs: int = 1

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.is_open]

    def next_deadline(self) -> datetime | None:
        dues = [t.due_at for t in self.open_tasks()]
        dues += [a.deadline_at for a in self.approvals.values() if a.outcome == ApprovalOutcome.pending]
        return min(dues, default=None)

    def open_escalations(self) -> list[EscalationRecord]:
        return [e for e in self.escalations if e.status in ("open", "acknowledged")]


# --- workflow input and messages --------------------------------------------------


class PartnershipInput(Payload):
    definition: PartnershipDefinition
    # Set when the workflow continues as new: the state it carries over.
    state: PartnershipState | None = None


class TaskCompletion(Payload):
    task_id: str
    actor: str = Field(description="Stakeholder id of the person completing it.")
    result: str = ""
    channel: Channel = Channel.temporal


class StatementSubmission(Payload):
    stakeholder: str
    text: str
    channel: Channel = Channel.temporal


class DecisionInput(Payload):
    approval_id: str
    actor: str
    decision: DecisionKind
    comment: str = ""
    round: int | None = Field(None, description="The round the decision is for; a stale round is refused.")
    channel: Channel = Channel.temporal


class DelegationInput(Payload):
    approval_id: str
    actor: str
    to: str = Field(description="Stakeholder id of the delegate.")
    reason: str
    round: int | None = None
    channel: Channel = Channel.temporal


class MouRevision(Payload):
    """Ops answer a request for changes: upload a revised text, or regenerate from the definition."""

    actor: str = "ops"
    note: str = ""
    markdown: str | None = Field(None, description="The revised MOU (Markdown). None: regenerate from the definition.")
    channel: Channel = Channel.temporal


class EmailEvent(Payload):
    """What the mail provider reported about a sent email (delivered, bounce, dropped...)."""

    send_key: str
    event: str
    reason: str = ""
    recipient: str = ""


class AlignmentOverride(Payload):
    actor: str
    reason: str
    channel: Channel = Channel.temporal


class EscalationRequest(Payload):
    reason: str
    subject: str = "partnership"
    level: int = 1
    severity: Literal["low", "normal", "high", "critical"] = "normal"
    raised_by: str = "ops"
    channel: Channel = Channel.temporal


class UpdateResult(Payload):
    ok: bool = True
    message: str


# --- activities -------------------------------------------------------------------


class Recipient(Payload):
    id: str  # stakeholder id, or "ops"
    name: str
    email: str


class ActionLink(Payload):
    """What the email's link lets its recipient do. The token is minted inside the activity.

    For "escalation" the link's workflow is the escalation's own (child) workflow, ``ref``
    the escalation id and ``round`` the ladder step the email was sent for."""

    action: Literal["task", "statement", "decision", "escalation"]
    ref: str
    round: int = 1
    expires_at: datetime


class EmailRequest(Payload):
    send_key: str = Field(description="Deterministic: the same email is never sent twice under one key.")
    workflow_id: str
    template: str
    to: Recipient
    subject: str
    context: dict[str, Any] = Field(default_factory=dict)
    action: ActionLink | None = None


class RenderMouRequest(Payload):
    workflow_id: str
    definition: PartnershipDefinition
    version: int
    note: str = ""


class StoreDocumentRequest(Payload):
    markdown: str


class StoredDocument(Payload):
    hash: str


class EmailReceipt(Payload):
    send_key: str
    status: Literal["sent", "already_sent", "failed"]
    message_id: str | None = None
    error: str | None = None


# --- the escalation workflow ------------------------------------------------------
# An escalation runs as its own (child) workflow: workflows/escalation.py.


class EscalationStatus(StrEnum):
    open = "open"  # climbing the ladder until somebody acknowledges it
    acknowledged = "acknowledged"  # somebody owns it: no more climbing, CARE under way
    resolved = "resolved"
    withdrawn = "withdrawn"

    @property
    def is_final(self) -> bool:
        return self in (EscalationStatus.resolved, EscalationStatus.withdrawn)


class EscalationFacts(Payload):
    """What an escalation is about: fixed when it is raised (the EscalationRecord's fields)."""

    id: str
    trigger: str  # overdue, red_status, alignment, manual, ...
    subject: str  # the task / approval / metric it is about
    reason: str
    severity: str = "normal"
    raised_by: str
    channel: Channel = Channel.temporal
    opened_at: datetime


class LevelChange(Payload):
    """One step on the ladder: which level (None: past the last level, handed to ops), when, why."""

    level: int | None
    name: str
    contacts: list[str] = Field(default_factory=list, description="Stakeholder ids (or ops-N) told at this level.")
    at: datetime
    cause: str
    notified_at: datetime | None = Field(None, description="When the level's contacts were emailed.")


class AcknowledgementRecord(Payload):
    actor: str
    note: str = ""
    at: datetime
    level: int
    channel: Channel


CareStep = Literal["clarify", "acknowledge", "reframe", "explore"]


class CareNote(Payload):
    text: str
    by: str
    at: datetime
    channel: Channel


class SupersededCareNote(Payload):
    """A CARE entry that a later entry for the same step (and party) replaced: kept for the audit."""

    step: CareStep
    party: str | None = None
    note: CareNote


class CareRecord(Payload):
    """Clarify the observable issue, Acknowledge each party's perspective, Reframe around the
    shared goal, Explore the new agreement."""

    clarify: CareNote | None = None
    acknowledge: dict[str, CareNote] = Field(default_factory=dict, description="Party id -> that party's perspective.")
    reframe: CareNote | None = None
    explore: CareNote | None = None
    superseded: list[SupersededCareNote] = Field(default_factory=list)

    def missing(self, parties: list[str]) -> list[str]:
        """The steps (and parties' perspectives) still to be recorded before it can be resolved."""
        out = [step for step in ("clarify",) if self.clarify is None]
        out += [f"acknowledge ({p})" for p in parties if p not in self.acknowledge]
        out += [step for step, note in (("reframe", self.reframe), ("explore", self.explore)) if note is None]
        return out


class EscalationState(EscalationFacts):
    partnership_workflow_id: str
    partnership: str = Field("", description="The partnership's name.")
    # The first run's id: stable across continue-as-new, so email send keys stay unique per escalation.
    chain_id: str
    status: EscalationStatus = EscalationStatus.open
    level: int = Field(description="The ladder level (1-based) responsible now; stays at the last level once with ops.")
    level_reached_at: datetime
    with_ops: bool = Field(False, description="Past the last level: ops have been told and it stays open.")
    levels: list[LevelChange] = Field(default_factory=list)
    acknowledgements: list[AcknowledgementRecord] = Field(default_factory=list)
    care: CareRecord = Field(default_factory=CareRecord)
    resolution: str = ""
    proposed_amendment: str | None = None
    withdrawn_reason: str = ""
    closed_by: str | None = None
    closed_at: datetime | None = None
    closed_channel: Channel | None = None
    unreachable: list[str] = Field(default_factory=list, description="Contacts whose email failed permanently.")
    runs: int = 1


class EscalationInput(EscalationFacts):
    partnership_workflow_id: str = Field(description="The parent: told of every level and status change by signal.")
    definition: PartnershipDefinition
    level: int = Field(1, ge=1, description="The ladder level (1-based) it starts at.")
    # Set when the workflow continues as new: the state it carries over.
    state: EscalationState | None = None

    @classmethod
    def from_record(
        cls, record: EscalationRecord, partnership_workflow_id: str, definition: PartnershipDefinition
    ) -> EscalationInput:
        return cls(
            partnership_workflow_id=partnership_workflow_id,
            definition=definition,
            **record.model_dump(include=set(EscalationFacts.model_fields) | {"level"}),
        )


class EscalationLink(Payload):
    """The escalation page's action link: the escalation workflow sends it as its email's
    ActionLink (which admits "escalation")."""

    action: Literal["escalation"] = "escalation"
    ref: str = Field(description="The escalation id.")
    round: int = Field(1, description="The ladder step the email was sent for.")
    expires_at: datetime


class Acknowledge(Payload):
    actor: str
    note: str = ""
    channel: Channel = Channel.temporal


class CareEntry(Payload):
    actor: str
    step: CareStep
    text: str
    party: str | None = Field(None, description="For 'acknowledge': whose perspective (default: the actor's party).")
    channel: Channel = Channel.temporal


class Resolve(Payload):
    actor: str
    resolution: str
    amendment: str | None = Field(
        None, description="The proposed amendment: the full amended definition (YAML). The client, CLI, API and "
        "escalation page check it with the definitions loader before sending it.")
    channel: Channel = Channel.temporal


class Withdraw(Payload):
    actor: str
    reason: str
    channel: Channel = Channel.temporal


class EscalationChanged(Payload):
    """Signal ``escalation_changed`` to the partnership: an escalation's level or status moved."""

    escalation_id: str
    level: int
    status: EscalationStatus
    with_ops: bool = False
    at: datetime
    cause: str = ""
