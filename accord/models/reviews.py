"""The operating partnership: reviews, their inputs and records, metrics and the RAG history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from accord.models.common import Channel, Payload


class ReviewKind(StrEnum):
    """The review cadences of a definition (``definitions.schema.Reviews`` field names)."""

    weekly_status = "weekly_status"
    monthly = "monthly"
    quarterly = "quarterly"
    six_month_formal = "six_month_formal"
    annual_mutual_value = "annual_mutual_value"

    @property
    def title(self) -> str:  # type: ignore[override]  # the kind's display name; str.title() is never called on a kind
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
    sent_by: str | None = None


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
    meeting_at: datetime | None = Field(
        None, description="A calendar-rule review's meeting (inputs are due then); None: the meeting is at inputs_due_at."
    )
    sequence: int = Field(0, description="The invitation's version: raised each time the meeting moves after it was sent.")
    meeting_cancelled: bool = Field(False, description="The meeting was called off (METHOD:CANCEL sent).")
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

    @property
    def meets_at(self) -> datetime:
        """When the review meeting begins."""
        return self.meeting_at or self.inputs_due_at


class MetricObservation(Payload):
    value: float
    at: datetime
    actor: str
    channel: Channel
    note: str = ""
    sent_by: str | None = None


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


def review_id(kind: ReviewKind, n: int) -> str:
    """The n-th review of a cadence, counting from launch across terms (``monthly-3``)."""
    return f"{kind.value}-{n}"
