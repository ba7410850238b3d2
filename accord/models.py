"""Payloads that cross Temporal boundaries: workflow input and state, updates, activity requests.

Every workflow, update, signal, query and activity takes exactly one of these models,
so fields can be added later without breaking running workflows (pydantic fills defaults).
They are serialised with ``temporalio.contrib.pydantic.pydantic_data_converter``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

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
    baseline = "baseline"  # capture a metric's baseline before launch (result: the value)
    deliverable = "deliverable"  # the owner accepts a deliverable and its definition of done
    review_input = "review_input"  # a participant's input to a review
    action = "action"  # decided at a review; checked at the next one
    diagnostic = "diagnostic"  # a metric missed its target: its owner finds out why (not blame)


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
    parties: dict[str, list[str]] = Field(
        default_factory=dict, description="Parties whose own approval is needed besides the policy (an amendment "
        "changes their people or addresses): party id -> its stakeholders in force. An approve from one of them "
        "who is an approver gives the party's approval (accord.logic.approvals).")
    party_approvers: list[str] = Field(
        default_factory=list, description="Approvers added only to give their party's approval (none of the "
        "approvers belonged to that party); the policy does not count them.")

    def decisions_in_round(self) -> list[Decision]:
        return [d for d in self.decisions if d.round == self.round]

    @computed_field  # type: ignore[prop-decorator]
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


class EmailDelay(Payload):
    """Signal ``email_delayed``: the email activity reports an email still failing (a provider
    outage, retried without end) longer than the deployment's ``mail_alert_after``."""

    send_key: str
    recipient: str = Field(description="The recipient's id (stakeholder id or ops-N).")
    since: datetime = Field(description="When the email was first scheduled.")
    attempts: int = 0
    error: str = Field("", description="What the provider answered last.")


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
    status: Literal["open", "acknowledged", "awaiting_amendment", "resolved", "withdrawn"] = "open"
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


class ReviewKind(StrEnum):
    """The review cadences of a definition (``definitions.schema.Reviews`` field names)."""

    weekly_status = "weekly_status"
    monthly = "monthly"
    quarterly = "quarterly"
    six_month_formal = "six_month_formal"
    annual_mutual_value = "annual_mutual_value"

    @property
    def title(self) -> str:
        return {
            "weekly_status": "Weekly status",
            "monthly": "Monthly operational review",
            "quarterly": "Quarterly strategic review",
            "six_month_formal": "Six-month formal review",
            "annual_mutual_value": "Annual mutual-value review",
        }[self.value]


class Rag(StrEnum):
    green = "green"
    amber = "amber"
    red = "red"


class ReviewInput(Payload):
    stakeholder: str
    party: str
    at: datetime
    channel: Channel
    rag: Rag | None = None
    note: str = ""
    contribution: float | None = None
    benefit: float | None = None


class MetricLine(Payload):
    """One metric as a review saw it."""

    metric_id: str
    name: str
    unit: str
    baseline: float | None
    target: float
    latest: float | None
    on_target: bool
    missed: bool
    summary: str


class ValueBalanceRecord(Payload):
    ratios: dict[str, float]
    gap: float
    tolerance: float
    imbalanced: bool
    summary: str


class Review(Payload):
    id: str  # "<kind>-<n>", n counting from launch across terms
    kind: ReviewKind
    n: int
    term: int = 1
    scheduled_for: datetime
    opened_at: datetime | None = None
    inputs_due_at: datetime
    participants: list[str]
    inputs: dict[str, ReviewInput] = Field(default_factory=dict)
    closed_at: datetime | None = None
    missed: list[str] = Field(default_factory=list, description="Participants who sent nothing.")
    metrics: list[MetricLine] = Field(default_factory=list)
    actions_checked: list[str] = Field(default_factory=list, description="Open action tasks brought to this review.")
    decisions: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list, description="Action tasks decided at this review.")
    overall: Rag | None = None
    balance: ValueBalanceRecord | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class MetricObservation(Payload):
    value: float
    at: datetime
    actor: str
    channel: Channel
    note: str = ""


class MetricTrack(Payload):
    metric_id: str
    baseline: float | None = None
    baseline_at: datetime | None = None
    observations: list[MetricObservation] = Field(default_factory=list)


class RagPoint(Payload):
    at: datetime
    review_id: str
    overall: Rag | None
    by_party: dict[str, Rag | None]


class Agenda(Payload):
    """What is open or coming (the ``agenda`` query): small, for watchers and schedulers."""

    reviews: list[Review] = Field(default_factory=list, description="Reviews planned or open.")
    approvals: list[str] = Field(default_factory=list, description="Ids of the approvals waiting for decisions.")
    open_tasks: int = 0


class AmendmentStatus(StrEnum):
    pending = "pending"  # in approval
    applied = "applied"
    rejected = "rejected"


class Amendment(Payload):
    id: str  # "amendment-<n>": also the id of its approval
    proposed_by: str
    reason: str
    channel: Channel
    proposed_at: datetime
    definition: PartnershipDefinition
    changes: list[str] = Field(default_factory=list, description="What differs from the definition in force (field paths).")
    escalation_id: str | None = Field(None, description="The escalation whose resolution proposed it.")
    status: AmendmentStatus = AmendmentStatus.pending
    decided_at: datetime | None = None


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
    # After the MOU: launch, the terms and their reviews.
    launched_at: datetime | None = None
    term: int = 1
    term_started_at: datetime | None = None
    reviews: dict[str, Review] = Field(default_factory=dict)
    metrics: dict[str, MetricTrack] = Field(default_factory=dict)
    rag_history: list[RagPoint] = Field(default_factory=list)
    missed_in_a_row: dict[str, int] = Field(default_factory=dict, description="Party id -> weekly statuses missed in a row.")
    amendments: list[Amendment] = Field(default_factory=list)
    closed_at: datetime | None = None
    closure_reason: str = ""
    archive_hash: str | None = Field(None, description="The audit export stored at closure (document store hash).")
    answered: dict[str, str] = Field(default_factory=dict, description="Recent update ids and their answers (no double apply).")
    rules_version: int = Field(0, description="The rules this run follows (workflows/versions.py); 0: those before v0.5.")
    allow_short_durations: bool = Field(
        False, description="The deployment that started it accepts durations shorter than a real partnership's "
        "(tests, benchmarks): its amendments are judged the same way.")
    email_delays: dict[str, EmailDelay] = Field(
        default_factory=dict, description="Emails in flight still failing past the alert time, by send key.")

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.is_open]

    def next_deadline(self) -> datetime | None:
        dues = [t.due_at for t in self.open_tasks()]
        dues += [a.deadline_at for a in self.approvals.values() if a.outcome == ApprovalOutcome.pending]
        return min(dues, default=None)

    def open_escalations(self) -> list[EscalationRecord]:
        return [e for e in self.escalations if e.status in ("open", "acknowledged", "awaiting_amendment")]


# --- workflow input and messages --------------------------------------------------


class PartnershipInput(Payload):
    definition: PartnershipDefinition
    # Set when the workflow continues as new: the state it carries over.
    state: PartnershipState | None = None
    history_limit: int = Field(
        3_000, ge=100, description="Continue as new past this many history events (Temporal suggests it at 4,096)."
    )
    allow_short_durations: bool = Field(False, description="The starting deployment's setting of the same name.")


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


class ReviewInputSubmission(Payload):
    review_id: str
    stakeholder: str
    rag: Rag | None = Field(None, description="Weekly status: green, amber or red.")
    note: str = ""
    contribution: float | None = Field(None, description="Annual review: this party's contribution, 1-10.")
    benefit: float | None = Field(None, description="Annual review: this party's benefit, 1-10.")
    channel: Channel = Channel.temporal


class MetricObservationInput(Payload):
    metric_id: str
    value: float
    actor: str
    note: str = ""
    channel: Channel = Channel.temporal


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


class AmendmentProposal(Payload):
    definition: PartnershipDefinition
    actor: str
    reason: str
    channel: Channel = Channel.temporal


class CloseRequest(Payload):
    actor: str
    reason: str
    channel: Channel = Channel.temporal


class UpdateResult(Payload):
    ok: bool = True
    message: str
    partnership: str | None = Field(None, description="The partnership's name (so a page can say it without asking again).")


# --- activities -------------------------------------------------------------------


class Recipient(Payload):
    id: str  # stakeholder id, or "ops"
    name: str
    email: str


class ActionLink(Payload):
    """What the email's link lets its recipient do. The token is minted inside the activity.

    For "escalation" the link's workflow is the escalation's own (child) workflow, ``ref``
    the escalation id and ``round`` the ladder step the email was sent for."""

    action: Literal["task", "statement", "decision", "review", "escalation"]
    ref: str
    round: int = 1
    expires_at: datetime


class Invitation(Payload):
    """A calendar invitation to attach to an email (the activity turns it into an .ics file)."""

    uid: str = Field(description="Stable: a re-sent invitation updates the same calendar event.")
    title: str
    start: datetime
    minutes: int
    organizer: str
    attendees: list[Recipient]
    agenda: list[str] = Field(default_factory=list)


# Attachments travel inside the activity's input, so they are recorded in workflow
# history: keep them small (a calendar invitation is a few kB). Base64 adds a third.
MAX_ATTACHMENT_BYTES = 128 * 1024


class Attachment(Payload):
    """A small file sent with an email, e.g. a calendar invitation (``invite.ics``)."""

    filename: str = Field(
        pattern=r"^[^/\\\x00-\x1f\x7f]{1,100}$", description="A plain file name: no folders, no control characters."
    )
    content_type: str = Field(
        pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=[^;\s\x00-\x1f]+)*$",
        description="MIME type with optional parameters, e.g. 'text/calendar; method=REQUEST; charset=UTF-8'.",
    )
    content: str = Field(description="The file's bytes, base64-encoded.")

    @field_validator("content")
    @classmethod
    def _small_base64(cls, value: str) -> str:
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("content must be base64") from None
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"attachment is {len(data)} bytes; at most {MAX_ATTACHMENT_BYTES} fit in workflow history")
        return value

    @classmethod
    def of(cls, filename: str, content_type: str, data: bytes) -> Attachment:
        return cls(filename=filename, content_type=content_type, content=base64.b64encode(data).decode("ascii"))

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.content)


class EmailRequest(Payload):
    send_key: str = Field(description="Deterministic: the same email is never sent twice under one key.")
    workflow_id: str
    template: str
    to: Recipient
    subject: str
    context: dict[str, Any] = Field(default_factory=dict)
    action: ActionLink | None = None
    invitation: Invitation | None = None
    attachments: list[Attachment] = Field(default_factory=list)

    @field_validator("attachments")
    @classmethod
    def _small_in_total(cls, value: list[Attachment]) -> list[Attachment]:
        total = sum(len(a.data) for a in value)
        if total > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"attachments are {total} bytes in all; at most {MAX_ATTACHMENT_BYTES} fit in workflow history")
        return value


class RenderMouRequest(Payload):
    workflow_id: str
    definition: PartnershipDefinition
    version: int
    note: str = ""


class ArchiveRequest(Payload):
    workflow_id: str
    definition: PartnershipDefinition
    state: PartnershipState


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
    awaiting_amendment = "awaiting_amendment"  # resolved subject to an amendment still in approval
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
    resolved_by: str | None = None
    resolved_channel: Channel | None = None
    amendment_outcome: str | None = Field(None, description="How the approval of the proposed amendment ended.")
    withdrawn_reason: str = ""
    closed_by: str | None = None
    closed_at: datetime | None = None
    closed_channel: Channel | None = None
    unreachable: list[str] = Field(default_factory=list, description="Contacts whose email failed permanently.")
    runs: int = 1
    rules_version: int = Field(0, description="The rules this escalation follows (the partnership's; workflows/versions.py).")
    allow_short_durations: bool = Field(False, description="The partnership's setting: amendments are judged alike.")
    email_delays: dict[str, EmailDelay] = Field(
        default_factory=dict, description="Emails in flight still failing past the alert time, by send key.")


class EscalationInput(EscalationFacts):
    partnership_workflow_id: str = Field(description="The parent: told of every level and status change by signal.")
    definition: PartnershipDefinition
    level: int = Field(1, ge=1, description="The ladder level (1-based) it starts at.")
    # Set when the workflow continues as new: the state it carries over.
    state: EscalationState | None = None
    rules_version: int = Field(0, description="The partnership's rules version: the escalation follows the same rules.")
    allow_short_durations: bool = Field(False, description="The partnership's setting: amendments are judged alike.")

    @classmethod
    def from_record(
        cls, record: EscalationRecord, partnership_workflow_id: str, definition: PartnershipDefinition,
        rules_version: int = 0, allow_short_durations: bool = False,
    ) -> EscalationInput:
        return cls(
            partnership_workflow_id=partnership_workflow_id,
            definition=definition,
            rules_version=rules_version,
            allow_short_durations=allow_short_durations,
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


class AmendmentDecided(Payload):
    """Signal ``amendment_decided`` to an escalation whose resolution proposed an amendment."""

    amendment_id: str
    applied: bool
    outcome: str


class EscalationChanged(Payload):
    """Signal ``escalation_changed`` to the partnership: an escalation's level or status moved."""

    escalation_id: str
    level: int
    status: EscalationStatus
    with_ops: bool = False
    at: datetime
    cause: str = ""
    # With status awaiting_amendment: the amended definition (YAML) the resolution depends on.
    amendment: str | None = None
