"""Payloads that cross Temporal boundaries: workflow input and state, updates, activity requests.

Every workflow, update, signal, query and activity takes exactly one of these models,
so fields can be added later without breaking running workflows (pydantic fills defaults).
They are serialised with ``temporalio.contrib.pydantic.pydantic_data_converter``.

One module per aggregate; every name is re-exported here, so ``from accord.models import X``
works whichever module defines X, and the JSON of every payload is what it always was:

- ``common``: the payload base class, stage, health, channel
- ``tasks``: tasks and their kinds
- ``screening``: goal statements and the alignment check
- ``approvals``: approvals, decisions, delegations, MOU versions
- ``reviews``: reviews, inputs, metrics, the RAG history, the agenda
- ``amendments``: amended definitions in approval
- ``evidence``: what a decision is taken on (a go/no-go's or renewal's evidence, a document's changes)
- ``digests``: notices waiting for a quiet moment
- ``escalations``: the partnership's escalation records, the escalation workflow's state and messages
- ``partnership``: the partnership workflow's input, state and audit trail
- ``inputs``: what people send (update arguments) and the answer they get
- ``mail``, ``documents``: the activities' requests and answers
"""

from __future__ import annotations

from accord.models.amendments import (
    Amendment,
    AmendmentStatus,
)
from accord.models.approvals import (
    GO_NO_GO,
    MOU,
    ApprovalOutcome,
    ApprovalState,
    Decision,
    DecisionKind,
    Delegation,
    DocumentVersion,
    MouState,
    amendment_id,
    renewal_id,
)
from accord.models.common import (
    Channel,
    Health,
    Payload,
    Stage,
)
from accord.models.digests import PendingDigest
from accord.models.documents import (
    ArchiveRequest,
    PreviousVersion,
    RenderMouRequest,
    StoredDocument,
    StoreDocumentRequest,
)
from accord.models.escalations import (
    Acknowledge,
    AcknowledgementRecord,
    AmendmentDecided,
    CareEntry,
    CareNote,
    CareRecord,
    CareStep,
    CauseCleared,
    Clearing,
    ConfirmClearing,
    EscalationChanged,
    EscalationFacts,
    EscalationInput,
    EscalationRecord,
    EscalationState,
    EscalationStatus,
    LevelChange,
    Resolve,
    Severity,
    SupersededCareNote,
    TriggerKind,
    Withdraw,
    escalation_id,
    escalation_workflow_id,
    shown_level,
)
from accord.models.evidence import (
    ChecklistLine,
    DocumentChanges,
    EscalationLine,
    Evidence,
)
from accord.models.inputs import (
    ActionInput,
    AlignmentOverride,
    AmendmentProposal,
    CloseRequest,
    DecisionInput,
    DelegationInput,
    EscalationRequest,
    MetricObservationInput,
    MouRevision,
    ReviewInputSubmission,
    ReviewOutcome,
    StatementSubmission,
    TaskCompletion,
    UpdateResult,
)
from accord.models.mail import (
    MAX_ATTACHMENT_BYTES,
    ActionLink,
    Attachment,
    EmailDelay,
    EmailEvent,
    EmailEventRecord,
    EmailReceipt,
    EmailRequest,
    Invitation,
    Recipient,
)
from accord.models.partnership import (
    Event,
    EventKind,
    PartnershipInput,
    PartnershipState,
)
from accord.models.reviews import (
    Agenda,
    MetricLine,
    MetricObservation,
    MetricTrack,
    Rag,
    RagPoint,
    Review,
    ReviewInput,
    ReviewKind,
    ValueBalanceRecord,
    review_id,
)
from accord.models.screening import (
    Alignment,
    AlignmentResult,
    Statement,
)
from accord.models.tasks import (
    Task,
    TaskKind,
    TaskStatus,
    action_task_id,
    baseline_task_id,
    diagnostic_task_id,
    metric_of,
    review_input_task_id,
    statement_task_id,
)

__all__ = [
    "GO_NO_GO",
    "MAX_ATTACHMENT_BYTES",
    "MOU",
    "Acknowledge",
    "AcknowledgementRecord",
    "ActionInput",
    "ActionLink",
    "Agenda",
    "Alignment",
    "AlignmentOverride",
    "AlignmentResult",
    "Amendment",
    "AmendmentDecided",
    "AmendmentProposal",
    "AmendmentStatus",
    "ApprovalOutcome",
    "ApprovalState",
    "ArchiveRequest",
    "Attachment",
    "CareEntry",
    "CareNote",
    "CareRecord",
    "CareStep",
    "CauseCleared",
    "Channel",
    "ChecklistLine",
    "Clearing",
    "CloseRequest",
    "ConfirmClearing",
    "Decision",
    "DecisionInput",
    "DecisionKind",
    "Delegation",
    "DelegationInput",
    "DocumentChanges",
    "DocumentVersion",
    "EmailDelay",
    "EmailEvent",
    "EmailEventRecord",
    "EmailReceipt",
    "EmailRequest",
    "EscalationChanged",
    "EscalationFacts",
    "EscalationInput",
    "EscalationLine",
    "EscalationRecord",
    "EscalationRequest",
    "EscalationState",
    "EscalationStatus",
    "Event",
    "EventKind",
    "Evidence",
    "Health",
    "Invitation",
    "LevelChange",
    "MetricLine",
    "MetricObservation",
    "MetricObservationInput",
    "MetricTrack",
    "MouRevision",
    "MouState",
    "PartnershipInput",
    "PartnershipState",
    "Payload",
    "PendingDigest",
    "PreviousVersion",
    "Rag",
    "RagPoint",
    "Recipient",
    "RenderMouRequest",
    "Resolve",
    "Review",
    "ReviewInput",
    "ReviewInputSubmission",
    "ReviewKind",
    "ReviewOutcome",
    "Severity",
    "Stage",
    "Statement",
    "StatementSubmission",
    "StoreDocumentRequest",
    "StoredDocument",
    "SupersededCareNote",
    "Task",
    "TaskCompletion",
    "TaskKind",
    "TaskStatus",
    "TriggerKind",
    "UpdateResult",
    "ValueBalanceRecord",
    "Withdraw",
    "action_task_id",
    "amendment_id",
    "baseline_task_id",
    "diagnostic_task_id",
    "escalation_id",
    "escalation_workflow_id",
    "metric_of",
    "renewal_id",
    "review_id",
    "review_input_task_id",
    "shown_level",
    "statement_task_id",
]
