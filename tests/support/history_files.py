"""Workflow histories the tests record, save and replay.

A partnership is more than one history: every continue-as-new starts a new run, and every
escalation runs as a child workflow. ``everything_of`` walks a partnership's chain of runs
back to its first one and collects each run's children, so the replay test sees every
workflow task the code ever wrote, not only the last run of the parent.

Saved files are ``<set>/<test name>/<workflow id>@<run id prefix>.json``: the workflow id is
part of the name because replay needs it (child ids are derived from it) and a history's
events do not carry it. The sets of v0.1 to v0.4 used ``<set>/<test name>-<workflow id>.json``;
both are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHistory

from tests.support.paths import HISTORIES

SAVED = HISTORIES
UNHANDLED_COMMAND = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND


@dataclass(frozen=True)
class Recorded:
    workflow_id: str
    run_id: str
    history: WorkflowHistory


async def everything_of(client: Client, workflow_id: str) -> list[Recorded]:
    """Every run of the workflow (oldest first) and every run of each child it started."""
    runs: list[Recorded] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        runs.insert(0, Recorded(workflow_id, run_id or await _latest_run_id(client, workflow_id), history))
        run_id = started.continued_execution_run_id
        if not run_id:
            break
    children: list[Recorded] = []
    for run in runs:
        for child_id in children_of(run.history):
            children += await everything_of(client, child_id)
    return runs + children


async def _latest_run_id(client: Client, workflow_id: str) -> str:
    # The raw description: the SDK's describe() decodes search attributes, and the
    # time-skipping server returns datetime attributes in a form it cannot decode.
    description = await client.workflow_service.describe_workflow_execution(DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)))
    return description.workflow_execution_info.execution.run_id


def children_of(history: WorkflowHistory) -> list[str]:
    """The children the run started, and those it adopted: a reset run's start of a child the
    original run had started fails as already started, and the run adopts it."""
    return [
        e.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id
        if e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
        else e.start_child_workflow_execution_failed_event_attributes.workflow_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
        or e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED
    ]


def save(recorded: list[Recorded], folder: Path, test_name: str) -> None:
    where = folder / re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", test_name)
    where.mkdir(parents=True, exist_ok=True)
    for r in recorded:
        (where / f"{r.workflow_id}@{r.run_id}.json").write_text(r.history.to_json())


def workflow_id_of(path: Path) -> str:
    if "@" in path.stem:
        return path.stem.rsplit("@", 1)[0]
    return path.stem[path.stem.index("partnership-"):]  # the v0.1-v0.4 naming


def saved(root: Path = SAVED) -> list[WorkflowHistory]:
    return [saved_file(p) for p in sorted(root.rglob("*.json"))]


def saved_file(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(workflow_id_of(path), path.read_text())


def workflow_type(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def task_failures(history: WorkflowHistory) -> list[str]:
    """The messages of every failed workflow task: a failed task is a wedged or buggy workflow.

    The server's refusal to complete a task while new events arrive (cause UnhandledCommand: a
    run continuing as new as an update or a child's news comes in) is not one: the task runs
    again with the news, as Temporal's protocol has it."""
    return [
        e.workflow_task_failed_event_attributes.failure.message
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        and e.workflow_task_failed_event_attributes.cause != UNHANDLED_COMMAND
    ]
