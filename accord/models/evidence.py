"""What a decision is taken on: the evidence of a go/no-go or renewal, and what changed between
two versions of a document (rules 2; gathered by ``accord.logic.evidence`` and
``accord.logic.document_diff``, kept in the state so pages show what the emails said)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from accord.models.common import Payload
from accord.models.reviews import MetricLine, Rag, ValueBalanceRecord
from accord.models.screening import AlignmentResult, Statement
from accord.models.tasks import TaskStatus


class ChecklistLine(Payload):
    """A checklist item (or another task) as it stood when the decision opened."""

    id: str
    title: str
    owner: str
    required: bool = True
    status: TaskStatus
    overdue: bool = False
    result: str = ""
    completed_by: str | None = None
    completed_at: datetime | None = None


class EscalationLine(Payload):
    """An open escalation as it stood when the decision opened."""

    id: str
    what: str
    trigger: str
    status: str
    level: int = Field(description="The shown level (accord.models.escalations.shown_level).")
    position: str = Field(description="The level in words (accord.logic.ladder.position).")
    opened_at: datetime


class Evidence(Payload):
    gathered_at: datetime
    checklist: list[ChecklistLine] = Field(default_factory=list, description="Go/no-go: screening's checklist.")
    open_tasks: list[ChecklistLine] = Field(default_factory=list, description="Renewal: tasks still open.")
    statements: list[Statement] = Field(default_factory=list, description="Go/no-go: the goal statements.")
    alignment: AlignmentResult | None = None
    overridden_by: str | None = None
    override_reason: str = ""
    metrics: list[MetricLine] = Field(default_factory=list, description="Each metric against its target.")
    last_status: Rag | None = Field(None, description="Renewal: the last weekly status.")
    balance: ValueBalanceRecord | None = Field(None, description="Renewal: the last mutual-value balance.")
    escalations: list[EscalationLine] = Field(default_factory=list, description="Escalations open at the time.")


class DocumentChanges(Payload):
    """A new version of a document against the previous one (Markdown, line by line)."""

    previous_version: int | None = None
    sections: list[str] = Field(default_factory=list, description="Headings of the sections with a changed line.")
    added: int = 0
    removed: int = 0
    lines: list[str] = Field(
        default_factory=list, description="The first changed lines, '+ ' added and '- ' removed (a sample, see `accord mou diff`).")
