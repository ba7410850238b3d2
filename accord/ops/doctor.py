"""`accord doctor` and `accord recover`: explain stuck partnerships, and reset the one kind a
reset cures.

Only a run stopped by the SDK's replay bug (temporalio/sdk-python#1591) is ever reset, and only
when every one of these holds (:func:`check`):

1. the failure carries the bug's signature (``Update machine does not handle this event``);
2. a reset point exists: the end of the workflow task before the one that wrote the event replay
   stops at;
3. the history up to that point replays on the code deployed now (``Replayer``, the worker's
   workflows): otherwise the new run would fail the same way;
4. after that point the run signalled or cancelled no other workflow (the new run would do it
   again), and every child it started is an escalation that still runs, started under a chain id
   a reset keeps (v0.7 on): the new run starts it again under the same id and adopts it
   (patch ``adopt-running-escalation-child``); any other child would run twice;
5. Accord has not reset this run's chain before (its reset reason carries ``RESET_MARK``): a run
   that fails again after a reset is reported, never reset in a loop;
6. the run took in no update or signal after the first workflow task past that point: a reset
   re-applies them all at the reset point, before the new run has got to where the later ones
   were valid, so a decision on an approval opened in between would be refused and lost. This
   happens when the bug stays hidden (the worker that wrote the history kept the run cached and
   went on) until a worker without it in cache replays it.

The reset (:func:`reset`) goes back to that workflow task and re-applies every signal and update
received after it (Temporal's default reapply): each update is applied once by its id, and each
email goes out once by its send key (the chain id in it survives the reset, for runs started on
v0.7 on), so nothing is doubled. Its request id is derived from the run
and the point, so two recovery processes resetting at once make one reset.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError
from temporalio.worker import Replayer

from accord.ops import stuck
from accord.ops.stuck import Kind, StuckPartnership

log = logging.getLogger("accord.recovery")
# The children a reset run adopts when it finds them running (workflows/partnership/escalations.py).
ADOPTED = ("EscalationWorkflow",)
REASON = f"{stuck.RESET_MARK}: temporalio/sdk-python#1591, reset to the last good workflow task"


@dataclass
class Verdict:
    problem: StuckPartnership
    resettable: bool
    reasons: list[str] = field(default_factory=list)  # why not (or, when resettable, what was checked)


async def check(client: Client, problem: StuckPartnership, workflows: Sequence[type]) -> Verdict:
    """Whether ``problem`` may be reset, with the reasons (every condition in the module doc)."""
    if problem.kind != Kind.sdk_1591:
        return Verdict(problem, False, [f"not the SDK replay bug ({problem.kind.value}): {problem.kind.explanation}"])
    if problem.reset_event_id is None:
        return Verdict(problem, False, ["no workflow task before the failing one to go back to"])
    history = await client.get_workflow_handle(problem.workflow_id, run_id=problem.run_id).fetch_history()
    events = list(history.events)
    why_not = []
    if stuck.reset_by_accord(events):
        why_not.append("Accord has reset this partnership before and it stopped again: a person must look at it")
    if outside := stuck.effects_after(events, problem.reset_event_id):
        why_not.append("after the reset point the run acted outside itself (" + "; ".join(outside)
                       + "): a new run would do it again")
    why_not += await _children_not_adopted(client, events, problem.reset_event_id)
    if later := stuck.taken_in_later(events, problem.reset_event_id):
        counts = Counter(what for _, what in later)
        why_not.append(f"the run went on after the reset point and took in {len(later)} updates or signals in later "
                       f"workflow tasks ({', '.join(f'{what} x{n}' for what, n in counts.items())}, from event "
                       f"{later[0][0]}): re-applied at the reset point, before the run got to where they were valid, "
                       "they could be refused and lost; a person must look at it")
    failure = await replay_failure(problem.workflow_id, stuck.truncated(events, problem.reset_event_id), workflows,
                                   client)
    if failure is not None:
        why_not.append(f"the history up to event {problem.reset_event_id} does not replay on this code: {failure[:300]}")
    if why_not:
        return Verdict(problem, False, why_not)
    return Verdict(problem, True, [
        f"signature of temporalio/sdk-python#1591; reset to event {problem.reset_event_id}",
        "the history up to it replays on this code",
        "no external signal after it, and any escalation started after it still runs (the new run adopts it)",
        "no update or signal taken in after the task that follows it", "not reset by Accord before",
    ])


async def _children_not_adopted(client: Client, events: list[HistoryEvent], point: int) -> list[str]:
    """Why the children started after ``point`` would not be adopted by the reset run (condition 4).

    The reset run starts each of them again. It adopts an escalation it finds running under the
    same id (patch ``adopt-running-escalation-child``); anything else would run twice: a child of
    another kind, a run whose chain id a reset changes (started before v0.7: its children get new
    ids), or an escalation that has ended (a new one would start under its id)."""
    children = stuck.children_after(events, point)
    if not children:
        return []
    if not stuck.chain_survives_reset(events):
        return [(f"after the reset point the run started {len(children)} child workflows, and it names them after a "
                 "run id a reset replaces (it started before v0.7): a new run would start them again")]
    out = []
    for child in children:
        if child.workflow_type not in ADOPTED:
            out.append(f"event {child.event_id}: started child workflow {child.workflow_type}: a new run would start it "
                       "again")
            continue
        try:
            status = (await client.get_workflow_handle(child.workflow_id).describe()).status
        except RPCError as exc:
            out.append(f"event {child.event_id}: started {child.workflow_id}, which cannot be described: {exc.message}")
            continue
        if status != WorkflowExecutionStatus.RUNNING:
            out.append(f"event {child.event_id}: started {child.workflow_id}, which has ended "
                       f"({status.name.lower() if status else 'unknown'}): a new run would start it again")
    return out


async def replay_failure(workflow_id: str, events: list[HistoryEvent], workflows: Sequence[type],
                         client: Client) -> str | None:
    """Replay these events on ``workflows``; None when they replay, else the failure."""
    replayer = Replayer(workflows=list(workflows), data_converter=client.data_converter)
    result = await replayer.replay_workflow(WorkflowHistory(workflow_id, events), raise_on_replay_failure=False)
    return None if result.replay_failure is None else str(result.replay_failure)


async def reset(client: Client, problem: StuckPartnership, *, identity: str = "accord-doctor") -> str:
    """Reset the stuck run to its reset point, re-applying later signals and updates; the new run's id."""
    assert problem.reset_event_id is not None
    request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"accord-reset/{problem.workflow_id}/{problem.run_id}/"
                                f"{problem.reset_event_id}"))
    answer = await client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=problem.workflow_id, run_id=problem.run_id),
        reason=REASON, workflow_task_finish_event_id=problem.reset_event_id, request_id=request_id,
        identity=identity,  # reset_reapply_exclude_types left empty: signals and updates are re-applied
    ))
    return answer.run_id


class RateLimit:
    """At most ``per_hour`` events in any rolling hour."""

    def __init__(self, per_hour: int, clock=time.monotonic) -> None:
        self.per_hour = per_hour
        self.clock = clock
        self._at: deque[float] = deque()

    def allow(self) -> bool:
        now = self.clock()
        while self._at and now - self._at[0] >= 3600:
            self._at.popleft()
        if len(self._at) >= self.per_hour:
            return False
        self._at.append(now)
        return True


@dataclass
class Round:
    """What one look of the recovery process did."""

    reset: list[tuple[StuckPartnership, str]] = field(default_factory=list)  # (problem, new run id)
    reported: list[Verdict] = field(default_factory=list)  # everything left alone, with why


async def recover_once(client: Client, workflows: Sequence[type], limit: RateLimit, *, query: str,
                       stuck_activity_after: timedelta, task_attempts: int, done: set[tuple[str, str]]) -> Round:
    """One look: reset what may be reset (within the rate limit), report everything else.
    ``done`` remembers the runs this process reset, so it never resets one twice."""
    out = Round()
    for problem in await stuck.find(client, query=query, stuck_activity_after=stuck_activity_after,
                                    task_attempts=task_attempts):
        verdict = await check(client, problem, workflows)
        if verdict.resettable and (problem.workflow_id, problem.run_id) in done:
            verdict = Verdict(problem, False, ["already reset by this process"])
        if verdict.resettable and not limit.allow():
            verdict = Verdict(problem, False, [f"rate limit: {limit.per_hour} resets an hour already made"])
        if not verdict.resettable:
            out.reported.append(verdict)
            continue
        new_run = await reset(client, problem, identity="accord-recover")
        done.add((problem.workflow_id, problem.run_id))
        log.warning("reset %s run %s to event %s (sdk-python#1591); new run %s", problem.workflow_id, problem.run_id,
                    problem.reset_event_id, new_run)
        out.reset.append((problem, new_run))
    for v in out.reported:
        log.warning("stuck, left alone: %s: %s (%s)", v.problem.workflow_id, v.problem.summary, "; ".join(v.reasons))
    return out


async def recover(client: Client, workflows: Sequence[type], *, interval: float, per_hour: int, query: str,
                  stuck_activity_after: timedelta, task_attempts: int, stop: asyncio.Event) -> None:
    """`accord recover`: look every ``interval`` seconds until ``stop``."""
    limit, done = RateLimit(per_hour), set()
    while not stop.is_set():
        try:
            await recover_once(client, workflows, limit, query=query, stuck_activity_after=stuck_activity_after,
                               task_attempts=task_attempts, done=done)
        except Exception as exc:  # noqa: BLE001 - Temporal away for a moment: look again next time
            log.warning("recovery round failed: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
