"""Tasks: what a person is asked to do, by when (checklist items, statements, baselines, actions...)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from accord.models.common import Channel, Payload, Stage


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
    completion_sent_by: str | None = Field(None, description="Who sent the completion for the one recorded, if not them.")
    reminders_sent: list[datetime] = Field(default_factory=list)
    overdue: bool = False
    escalated: bool = False

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.open

# --- task ids: how the workflow names the tasks it opens (the pages and the CLI refer to them) ---


def statement_task_id(stakeholder: str) -> str:
    """A stakeholder's goal-alignment statement (screening)."""
    return f"statement-{stakeholder}"


def baseline_task_id(metric_id: str) -> str:
    """Capturing a metric's baseline before launch."""
    return f"baseline-{metric_id}"


def metric_of(baseline_task: str) -> str:
    """The metric whose baseline a task captures (:func:`baseline_task_id` read back)."""
    return baseline_task.removeprefix("baseline-")


def review_input_task_id(review_id: str, stakeholder: str) -> str:
    """A participant's input to a review."""
    return f"{review_id}-{stakeholder}"


def action_task_id(review_id: str, n: int) -> str:
    """The n-th action decided at a review (from 1)."""
    return f"action-{review_id}-{n}"


def diagnostic_task_id(metric_id: str, review_id: str) -> str:
    """Finding out why a metric missed its target at a review (``review_id`` "": the prefix of them all)."""
    return f"diagnostic-{metric_id}-{review_id}"
