"""Stuck partnerships: find them, say what is wrong, and where a reset would start again.

A partnership is *stuck* when its workflow no longer moves although it looks "running":

* its **workflow task fails over and over** (Temporal retries it forever): the server flags it
  with the ``TemporalReportedProblems`` search attribute after 5 consecutive failures (server
  1.32, ``system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute``), and
  ``DescribeWorkflowExecution`` shows the pending workflow task's attempt sooner;
* or an **activity has been failing** for longer than ``stuck_activity_after`` (a mail provider
  down for a day): only ``DescribeWorkflowExecution`` shows that (attempt, last failure).

:func:`find` asks visibility once for the running partnerships (with the server's flag), then
describes each (one cheap call on the workflow's mutable state), and reads the history of only
those that look stuck, to classify the failure (:func:`classify`) and find the last good point.

The rest is pure, over history events, so it is tested without a server:
:func:`episode` (first failure, last good workflow task, the reset point), :func:`effects_after`
(external signals sent: a reset would send them again), :func:`children_after` and
:func:`chain_survives_reset` (children started: a reset run adopts them only under the same ids), :func:`taken_in_later`
(updates and signals a reset would re-apply before the point where they were valid),
:func:`reset_by_accord` (a run Accord already reset once is never reset again).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    EventType,
    WorkflowExecutionStatus,
    WorkflowTaskFailedCause,
)
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client

from workflows.versions import PATCH_CHAIN_SURVIVES_RESET

# The upstream bug's own words (temporalio/sdk-python#1591): replay meets the update's
# acceptance where live execution had written another command first.
SDK_1591 = "Nondeterminism error: Update machine does not handle this event"
NONDETERMINISM = "[TMPRL1100]"
# The server's flag (values like "category=WorkflowTaskFailed", "cause=WorkflowTaskFailedCause...").
REPORTED_PROBLEMS = "TemporalReportedProblems"
# Every reset Accord makes carries this in its reason: found again in the new run's history,
# so a run Accord has reset is never reset by Accord again (no reset loops).
RESET_MARK = "accord-recovery"
PARTNERSHIPS = "WorkflowType = 'PartnershipWorkflow' AND ExecutionStatus = 'Running'"


def partnerships_on(task_queue: str) -> str:
    """The running partnerships of one task queue (what one deployment's watchdog watches)."""
    return f"{PARTNERSHIPS} AND TaskQueue = '{task_queue.replace(chr(39), chr(92) + chr(39))}'"
_EVENT_ID = re.compile(r"HistoryEvent\(id: (\d+)")
_FINISHED_TASK = (EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
                  EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
# Commands whose effects live outside the run: a reset before them makes the new run do them again.
# (Child starts are looked at one by one: see children_after.)
_OUTSIDE = {
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "signalled external workflow",
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "asked to cancel external workflow",
}


class Kind(StrEnum):
    """What is wrong, in the words ops alert on (the metric's ``kind`` label)."""

    sdk_1591 = "sdk-python-1591"  # the upstream replay bug: recoverable by a reset
    nondeterminism = "nondeterminism"  # other nondeterminism: deployed code that no longer fits its histories
    workflow_error = "workflow-error"  # workflow code raising (a bug)
    task_timeout = "workflow-task-timeout"  # workflow tasks that time out (a worker dying or blocked in them)
    activity = "activity"  # an activity failing for longer than stuck_activity_after

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_EXPLANATIONS = {
    Kind.sdk_1591: ("The Temporal SDK's known replay bug (temporalio/sdk-python#1591): a worker died inside a "
                    "workflow task while an update arrived, and the history the next worker wrote does not replay. "
                    "Nothing is lost; a reset to the last good workflow task re-applies the later updates and signals."),
    Kind.nondeterminism: ("The deployed workflow code does not replay this partnership's history (nondeterminism): "
                          "usually a change to workflow code without workflow.patched(). Roll the deploy back, or "
                          "patch the change; a reset would not help."),
    Kind.workflow_error: ("The workflow code raises an error on every attempt (a bug). Fix and deploy the code; "
                          "the workflow task is retried and goes on by itself."),
    Kind.task_timeout: ("Its workflow tasks time out again and again: a worker dies or blocks inside them. Check "
                        "the workers' logs and memory."),
    Kind.activity: ("An activity has been failing for a long time (a provider down, a bad credential). It is "
                    "retried; fix what it depends on."),
}


class WatchdogInput(BaseModel):
    """The watchdog workflow's input (and what it carries over continue-as-new)."""

    task_queue: str
    interval_seconds: float = 30
    stuck_activity_after_seconds: float = 3600
    task_attempts: int = 3
    ops_emails: list[str] = []  # told of every stuck partnership, besides the partnership's own ops
    notified: list[str] = []  # episodes already reported (the send ledger is what makes it exactly once)


class StuckPartnership(BaseModel):
    """One stuck run, as found (a payload: the watchdog workflow receives it from its activity)."""

    workflow_id: str
    run_id: str
    kind: Kind
    message: str  # the last failure's message (bounded)
    since: datetime  # when this episode began (first failure)
    attempts: int
    episode: str  # stable key of this episode: same run, same first failure -> same key
    reported_by_server: bool = False
    activity: str | None = None  # activity type, for kind activity
    last_good_event_id: int | None = None  # the last completed workflow task before the trouble
    reset_event_id: int | None = None  # for sdk_1591: the workflow task a reset goes back to
    ops: list[tuple[str, str]] = []  # (name, email) of the partnership's ops, from its start input

    @property
    def summary(self) -> str:
        what = f"activity {self.activity} failing" if self.kind == Kind.activity else "workflow task failing"
        return f"{self.kind.value}: {what} since {self.since:%Y-%m-%d %H:%M} UTC ({self.attempts} attempts): {self.message[:160]}"


# ---------------------------------------------------------------------- pure: over history events


def classify(message: str, cause: int = 0) -> Kind:
    """The kind of a workflow task failure, from its message and cause."""
    if SDK_1591 in message:
        return Kind.sdk_1591
    if cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR or NONDETERMINISM in message:
        return Kind.nondeterminism
    return Kind.workflow_error


def divergent_event(message: str) -> int | None:
    """The event replay stopped at (``HistoryEvent(id: N, ...)`` in a nondeterminism message)."""
    found = _EVENT_ID.search(message)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Episode:
    first_failure: HistoryEvent | None  # the first failed or timed-out workflow task since the last good one
    last_failure: HistoryEvent | None
    last_good_event_id: int | None  # the last WorkflowTaskCompleted before the first failure


def episode(events: Sequence[HistoryEvent]) -> Episode:
    """The failing streak at the end of a history: workflow task failures (and timeouts) after the
    last completed workflow task. (Retries of a failing task are not written to history: the
    first failure stands for all of them.)"""
    last_good = None
    failures: list[HistoryEvent] = []
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            last_good, failures = e.event_id, []
        elif e.event_type in (EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT):
            failures.append(e)
    return Episode(failures[0] if failures else None, failures[-1] if failures else None, last_good)


def reset_point(events: Sequence[HistoryEvent], divergent: int) -> int | None:
    """Where a reset should go back to for a history that fails replay at event ``divergent``:
    the end (completed, failed or timed out) of the last workflow task before the one that wrote
    that event. Everything from that task on is dropped and done again by the current code."""
    started_of_bad = None
    for e in events:
        if e.event_id >= divergent:
            break
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started_of_bad = e.event_id
    if started_of_bad is None:
        return None
    before = [e.event_id for e in events if e.event_id < started_of_bad and e.event_type in _FINISHED_TASK]
    return before[-1] if before else None


def effects_after(events: Iterable[HistoryEvent], event_id: int) -> list[str]:
    """What the run did outside itself after ``event_id`` (children, external signals)."""
    return [f"event {e.event_id}: {_OUTSIDE[e.event_type]}" for e in events
            if e.event_id > event_id and e.event_type in _OUTSIDE]


@dataclass(frozen=True)
class ChildStart:
    event_id: int
    workflow_type: str
    workflow_id: str


def children_after(events: Iterable[HistoryEvent], event_id: int) -> list[ChildStart]:
    """The child workflows the run started after ``event_id``."""
    out = []
    for e in events:
        if e.event_id > event_id and e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            a = e.start_child_workflow_execution_initiated_event_attributes
            out.append(ChildStart(e.event_id, a.workflow_type.name, a.workflow_id))
    return out


def chain_survives_reset(events: Sequence[HistoryEvent]) -> bool:
    """Whether a reset of this run names its chain as the run did (workflows/toolkit/chain.py), so
    that it starts its children under the same ids: the run continued a chain (the chain id came in
    with its state), or it started one with the ``chain-id-survives-reset`` patch (v0.7)."""
    if not events:
        return False
    if events[0].workflow_execution_started_event_attributes.continued_execution_run_id:
        return True
    return PATCH_CHAIN_SURVIVES_RESET in patches(events)


def patches(events: Iterable[HistoryEvent]) -> set[str]:
    """The patch ids whose markers the history holds."""
    found = set()
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            a = e.marker_recorded_event_attributes
            if a.marker_name == "core_patch" and "patch-data" in a.details and a.details["patch-data"].payloads:
                try:
                    found.add(json.loads(a.details["patch-data"].payloads[0].data).get("id"))
                except (ValueError, AttributeError):  # not the SDK's shape: no patch we know
                    continue
    return found


def taken_in_later(events: Sequence[HistoryEvent], event_id: int) -> list[tuple[int, str]]:
    """Updates and signals the run took in after the first workflow task past ``event_id``.

    A reset to ``event_id`` re-applies every update and signal received after it, all at that
    point, before the new run has got to where the later ones were first taken in. An update
    taken in later (a decision on an approval the run opened in between) can be refused there
    by its validator, and would be lost. The ones the first task took in were taken at that very
    point, and are applied as they were. Signals that arrived while the run was stuck were never
    taken in, and are not counted. Each is (event id, "update NAME" or "signal NAME")."""
    finished = [e for e in events if e.event_type in _FINISHED_TASK]
    completed = [e.event_id for e in finished if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    after = [c for c in completed if c > event_id]
    if not after:
        return []
    first = after[0]
    started = [e.event_id for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED]

    def task_that_took(arrived: int) -> int | None:
        """The completion of the workflow task that took in what arrived at ``arrived``."""
        start = next((s for s in started if s > arrived), None)
        end = next((f for f in finished if start is not None and f.event_id > start), None)
        return end.event_id if end is not None and end.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED else None

    out = []
    for e in events:
        if e.event_id <= first:
            continue
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            owner = max(c for c in completed if c < e.event_id)  # accepted by the task completed just before
            if owner > first:
                request = e.workflow_execution_update_accepted_event_attributes.accepted_request
                out.append((e.event_id, f"update {request.input.name}"))
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            took = task_that_took(e.event_id)
            if took is not None and took > first:
                out.append((e.event_id, f"signal {e.workflow_execution_signaled_event_attributes.signal_name}"))
    return out


def reset_by_accord(events: Iterable[HistoryEvent]) -> bool:
    """This run is the product of a reset Accord made (its reason carries RESET_MARK)."""
    return any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
               and e.workflow_task_failed_event_attributes.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW
               and RESET_MARK in e.workflow_task_failed_event_attributes.failure.message
               for e in events)


def truncated(events: Sequence[HistoryEvent], last_event_id: int) -> list[HistoryEvent]:
    return [e for e in events if e.event_id <= last_event_id]


def workflow_task_problem(workflow_id: str, run_id: str, events: Sequence[HistoryEvent], *, attempts: int,
                          reported: bool) -> StuckPartnership | None:
    """The stuck record for a run whose workflow task keeps failing, from its history."""
    ep = episode(events)
    if ep.first_failure is None:
        return None
    last = ep.last_failure
    assert last is not None
    if last.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        failed = last.workflow_task_failed_event_attributes
        message, kind = failed.failure.message, classify(failed.failure.message, failed.cause)
    else:
        message, kind = "the workflow task timed out", Kind.task_timeout
    reset_to = None
    if kind == Kind.sdk_1591 and (bad := divergent_event(message)) is not None:
        reset_to = reset_point(events, bad)
    first = ep.first_failure
    return StuckPartnership(
        workflow_id=workflow_id, run_id=run_id, kind=kind, message=message[:1000], since=first.event_time.ToDatetime(UTC),
        attempts=max(attempts, 1), episode=f"task-{first.event_id}", reported_by_server=reported,
        last_good_event_id=ep.last_good_event_id, reset_event_id=reset_to,
    )


# ---------------------------------------------------------------------- against a server


async def find(client: Client, *, stuck_activity_after: timedelta, task_attempts: int = 3, query: str = PARTNERSHIPS,
               workflow_ids: Iterable[str] | None = None, limit: int = 10_000, concurrency: int = 8,
               now: datetime | None = None) -> list[StuckPartnership]:
    """Every stuck run among the running workflows ``query`` selects (or the ``workflow_ids``)."""
    now = now or datetime.now(UTC)
    flagged: dict[str, bool] = {}
    if workflow_ids is None:
        async for wf in client.list_workflows(query, limit=limit):
            flagged[wf.id] = bool(wf.search_attributes.get(REPORTED_PROBLEMS))
    else:
        flagged = dict.fromkeys(workflow_ids, False)
    gate = asyncio.Semaphore(concurrency)

    async def one(workflow_id: str) -> list[StuckPartnership]:
        async with gate:
            return await _inspect(client, workflow_id, flagged[workflow_id], now, stuck_activity_after, task_attempts)

    found = await asyncio.gather(*(one(wf) for wf in flagged))
    return [p for ps in found for p in ps]


async def _inspect(client: Client, workflow_id: str, reported: bool, now: datetime, activity_after: timedelta,
                   task_attempts: int) -> list[StuckPartnership]:
    from temporalio.service import RPCError

    try:
        described = await client.workflow_service.describe_workflow_execution(DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)))
    except RPCError:  # gone since the list (finished, retention): not stuck
        return []
    info = described.workflow_execution_info
    if info.status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
        return []
    run_id = info.execution.run_id
    task = described.pending_workflow_task if described.HasField("pending_workflow_task") else None
    attempts = task.attempt if task is not None else 0
    failing_activities = [a for a in described.pending_activities if a.attempt > 1 and a.HasField("last_failure")]
    if not reported and attempts < task_attempts and not failing_activities:
        return []
    events = list((await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).events)
    out: list[StuckPartnership] = []
    if reported or attempts >= task_attempts:
        problem = workflow_task_problem(workflow_id, run_id, events, attempts=attempts, reported=reported)
        if problem is not None:
            out.append(problem)
    scheduled = {e.activity_task_scheduled_event_attributes.activity_id: e for e in events
                 if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED}
    for a in failing_activities:
        first = scheduled.get(a.activity_id)
        since = first.event_time.ToDatetime(UTC) if first is not None else now
        if now - since < activity_after:
            continue
        out.append(StuckPartnership(
            workflow_id=workflow_id, run_id=run_id, kind=Kind.activity, message=a.last_failure.message[:1000],
            since=since, attempts=a.attempt, episode=f"activity-{a.activity_id}", activity=a.activity_type.name,
        ))
    ops = _ops_of(client, events)
    for p in out:
        p.ops = ops
    return out


def _ops_of(client: Client, events: Sequence[HistoryEvent]) -> list[tuple[str, str]]:
    """The partnership's ops contacts, from the run's own start input (a stuck workflow cannot
    answer a query). Empty when the input is not a partnership's."""
    if not events or events[0].event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        return []
    payloads = events[0].workflow_execution_started_event_attributes.input.payloads
    try:
        from accord.models import PartnershipInput

        (start,) = client.data_converter.payload_converter.from_payloads(list(payloads), [PartnershipInput])
        return [(o.name, o.email) for o in start.definition.ops]
    except Exception:  # noqa: BLE001 - another workflow type, or an input this version cannot read
        return []
