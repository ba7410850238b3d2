"""The partnership workflow's input and state: one model carried through every continue-as-new."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from accord.models.amendments import Amendment
from accord.models.approvals import ApprovalOutcome, ApprovalState, MouState
from accord.models.common import Health, Payload, Stage
from accord.models.digests import PendingDigest
from accord.models.escalations import EscalationRecord
from accord.models.mail import EmailDelay, EmailEventRecord
from accord.models.reviews import MetricTrack, RagPoint, Review
from accord.models.screening import Alignment
from accord.models.tasks import Task
from definitions.schema import PartnershipDefinition


class EventKind(StrEnum):
    """What a line of the audit trail records (every kind any version has written)."""

    started = "started"
    stage_changed = "stage_changed"
    continued_as_new = "continued_as_new"
    # tasks and goal statements
    task_opened = "task_opened"
    task_overdue = "task_overdue"
    task_completed = "task_completed"
    statement_submitted = "statement_submitted"
    alignment_scored = "alignment_scored"
    alignment_overridden = "alignment_overridden"
    # approvals and documents
    approval_opened = "approval_opened"
    round_started = "round_started"
    decision = "decision"
    delegated = "delegated"
    approval_closed = "approval_closed"
    mou_version = "mou_version"
    launch_with_open_items = "launch_with_open_items"
    # the operating years
    review_opened = "review_opened"
    review_input = "review_input"
    review_closed = "review_closed"
    review_skipped = "review_skipped"
    review_rescheduled = "review_rescheduled"  # a meeting moved or called off by an amendment (schedule 1)
    review_outcome = "review_outcome"
    metric_recorded = "metric_recorded"
    # amendments and escalations
    amendment_proposed = "amendment_proposed"
    amendment_applied = "amendment_applied"
    amendment_rejected = "amendment_rejected"
    amendment_refused = "amendment_refused"
    escalation_opened = "escalation_opened"
    escalation_changed = "escalation_changed"
    escalation_cause_gone = "escalation_cause_gone"
    escalation_cause_back = "escalation_cause_back"
    # email
    email_failed = "email_failed"
    email_delayed = "email_delayed"
    email_delay_ended = "email_delay_ended"
    # the end
    closed = "closed"
    archived = "archived"


class Event(Payload):
    """One line of the partnership's audit trail."""

    at: datetime
    kind: EventKind
    actor: str = "accord"
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    sent_by: str | None = Field(None, description="Who sent the action for the actor (an API key, ops:<name>), if not them.")


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
    schedule_version: int = Field(
        0, description="How this partnership computes dates (workflows/versions.py); 0: in UTC, as before v0.7. Kept for life."
    )
    allow_short_durations: bool = Field(
        False, description="The deployment that started it accepts durations shorter than a real partnership's "
        "(tests, benchmarks): its amendments are judged the same way.")
    email_delays: dict[str, EmailDelay] = Field(
        default_factory=dict, description="Emails in flight still failing past the alert time, by send key.")
    digests: dict[str, PendingDigest] = Field(
        default_factory=dict, description="Rules 2: notices waiting for a quiet moment, by topic (workflows/toolkit/digest.py).")
    digests_sent: dict[str, int] = Field(default_factory=dict, description="Digests sent so far, by topic (their send keys).")

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.is_open]

    def next_deadline(self) -> datetime | None:
        dues = [t.due_at for t in self.open_tasks()]
        dues += [a.deadline_at for a in self.approvals.values() if a.outcome == ApprovalOutcome.pending]
        return min(dues, default=None)

    def open_escalations(self) -> list[EscalationRecord]:
        return [e for e in self.escalations if not e.status.is_final]


class PartnershipInput(Payload):
    definition: PartnershipDefinition
    # Set when the workflow continues as new: the state it carries over.
    state: PartnershipState | None = None
    history_limit: int = Field(
        3_000, ge=100, description="Continue as new past this many history events (Temporal suggests it at 4,096)."
    )
    allow_short_durations: bool = Field(False, description="The starting deployment's setting of the same name.")
