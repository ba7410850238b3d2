"""A task link (complete the task) and a baseline link (record a metric's first value)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accord import tokens
from accord.client import Accord
from accord.logic.permissions import COMPLETABLE
from accord.models import (
    Channel,
    MetricObservationInput,
    PartnershipState,
    Task,
    TaskCompletion,
    TaskKind,
    TaskStatus,
    UpdateResult,
    baseline_task_id,
    metric_of,
)
from accord.web.actions.common import (
    FormError,
    Page,
    check_length,
    form_number,
    form_text,
    when,
)
from accord.web.problems import Problem
from definitions.schema import PartnershipDefinition


def task_page(claim: tokens.Claim, state: PartnershipState) -> Page:
    task = state.tasks.get(claim.ref)
    if task is None or task.kind not in COMPLETABLE:
        raise Problem(404, "No such task", f"{state.name} has no task {claim.ref!r}.")
    return Page("action_task.html", {"task": check_task(claim, state, task)})


def asks_baseline(claim: tokens.Claim) -> str | None:
    """The metric whose baseline the link asks for: a baseline link names the metric; a task
    link to the baseline task (emails sent before rules 2) names the task."""
    if claim.action == "baseline":
        return claim.ref
    if claim.action == "task" and claim.ref.startswith(baseline_task_id("")):
        return metric_of(claim.ref)
    return None


def baseline_page(claim: tokens.Claim, state: PartnershipState, definition: PartnershipDefinition | None) -> Page:
    """Capture a metric's baseline: its owner records today's value (the ``record_metric``
    update, which completes the baseline task)."""
    metric_id = asks_baseline(claim) or ""
    task = state.tasks.get(baseline_task_id(metric_id))
    if task is None or task.kind != TaskKind.baseline:
        raise Problem(404, "No baseline to record", f"{state.name} asks for no baseline of {metric_id!r}.")
    metric = next((m for m in definition.metrics if m.id == metric_id), None) if definition is not None else None
    return Page("action_task.html", {"task": check_task(claim, state, task), "metric": metric})


def check_task(claim: tokens.Claim, state: PartnershipState, task: Task) -> Task:
    """The task, if the link's recipient can still do it (else the page that says why)."""
    if task.status == TaskStatus.waived:
        raise Problem(409, "This task was waived", f"'{task.title}' is no longer needed.")
    if task.status == TaskStatus.done:
        raise Problem(
            409,
            "This task is already completed",
            f"'{task.title}' was completed by {task.completed_by} on {when(task.completed_at)}.",
        )
    if claim.recipient != task.owner:
        raise Problem(403, "This task is someone else's", f"'{task.title}' is assigned to {task.owner}.")
    return task



async def send_baseline(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any], metric_id: str) -> UpdateResult:
    value = form_number(form, "value")
    if value is None:
        raise FormError("Please give today's value: it is the baseline the target is measured from.")
    return await accord.record_metric(claim.workflow_id, MetricObservationInput(
        metric_id=metric_id, value=value, actor=claim.recipient, channel=Channel.email_link))


async def send_task(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any]) -> UpdateResult:
    result = form_text(form, "result")
    check_length(result, "notes")
    return await accord.complete_task(
        claim.workflow_id, TaskCompletion(task_id=claim.ref, actor=claim.recipient, result=result, channel=Channel.email_link)
    )
