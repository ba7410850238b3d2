"""Partnerships made stuck on purpose, on the real dev server, for the stuck-partnership tests.

``Break`` is a test-only workflow interceptor, told what to do by the ``reason`` of an
``email_event`` signal (a signal the partnership takes at any time and that changes nothing else):

* ``boom``: the signal's handling raises, live and on every replay: a workflow task that fails
  forever, like a bug in workflow code (kind ``workflow-error``).
* ``taint``: live, in the run's first execution only, a timer is started before the signal is
  handled. A worker that takes this signal and an update in one workflow task writes the timer
  before the update's acceptance; replay (which never starts that timer) meets the acceptance
  where history has the timer, and fails with the exact words of temporalio/sdk-python#1591,
  ``Nondeterminism error: Update machine does not handle this event: HistoryEvent(id: N,
  TimerStarted)``. This is the bug's history shape (a command written before an update's
  acceptance that replay puts after it), made on purpose and deterministically: the SDK bug itself
  needs a worker killed at one moment (see README "Known issues"). A reset run is no longer its
  first execution, so the reset cures it, as it cures the real bug.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import (
    HandleSignalInput,
    Interceptor,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

import worker as accord_worker
from accord.config import Settings
from accord.models import Channel, EmailEvent, TaskCompletion
from accord.ops import stuck
from tests.support.helpers import eventually, state_where, unique
from tests.support.paths import DATA
from workflows.partnership import PartnershipWorkflow

DELIVERED = "partnership-x/chain/task/legal/assigned/0/bo"


class _BreakInbound(WorkflowInboundInterceptor):
    async def handle_signal(self, input: HandleSignalInput) -> None:
        event = input.args[0] if input.args else None
        reason = getattr(event, "reason", "")
        if input.signal == "email_event" and reason == "boom":
            raise RuntimeError("boom: a bug in workflow code (test)")
        info = workflow.info()
        if (input.signal == "email_event" and reason == "taint" and not workflow.unsafe.is_replaying()
                and info.run_id == info.first_execution_run_id):
            # call_later starts the timer now, before the update in this task is accepted.
            asyncio.get_running_loop().call_later(timedelta(days=1).total_seconds(), lambda: None)
        await super().handle_signal(input)


class Break(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _BreakInbound


def event(reason: str = "") -> EmailEvent:
    return EmailEvent(send_key=DELIVERED, event="delivered", reason=reason)


@asynccontextmanager
async def worker(client: Client, settings: Settings, *, broken: bool = True, max_cached_workflows: int = 1000):
    """Accord's real worker (workflows, activities, the watchdog), with ``Break`` when ``broken``."""
    async with Worker(
        client, task_queue=settings.task_queue, workflows=accord_worker.WORKFLOWS,
        workflow_runner=accord_worker.WORKFLOW_RUNNER, activities=accord_worker.activities_for(settings),
        interceptors=[Break()] if broken else [], max_cached_workflows=max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=1),
    ) as w:
        yield w


async def admitted(client: Client, workflow_id: str, update_id: str) -> None:
    """Return once the server holds the update (admitted), before any worker has seen it."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id),
        wait_policy=WaitPolicy(lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED),
        identity="test")

    async def held() -> None:
        try:
            await client.workflow_service.poll_workflow_execution_update(request)
        except RPCError as exc:  # the client's request has not reached the server yet
            assert exc.status != RPCStatusCode.NOT_FOUND, exc.message
            raise

    await eventually(held, timeout=30)


# Detection must happen within two minutes of the first failure (issue 15).
WINDOW = 120


async def stuck_as(client, wf: str, kind: stuck.Kind) -> stuck.StuckPartnership:
    async def check():
        found = await stuck.find(client, workflow_ids=[wf], stuck_activity_after=timedelta(hours=1), task_attempts=2)
        assert [p.kind for p in found] == [kind], found
        return found[0]

    return await eventually(check, timeout=WINDOW, interval=0.5)


async def tainted(client, accord, settings, tries: int = 3, then=None, update=None) -> str:
    """A partnership whose history has the #1591 shape: a worker handles its first tasks and goes
    away; a signal and an update arrive while none runs; the next worker takes both in one task,
    writing a timer before the update's acceptance. The signal and the update must meet in one
    task: a poll still open on the server from the worker that went away can take the signal
    alone, so the shape is checked, and the setup made again with a new partnership if it
    did not form (a handful of tries). ``then(wf)``, if given, runs while that worker still has
    the run cached (the partnership goes on as if nothing were wrong). ``update`` is the update
    taken in that task, as (update method, argument, update id): by default bo completes the
    legal task."""
    method, arg, update_id = update or (
        PartnershipWorkflow.complete_task,
        TaskCompletion(task_id="legal", actor="bo", result="cleared", channel=Channel.api), "legal-by-bo")
    for _ in range(tries):
        async with worker(client, settings):
            wf = await started(accord, settings)
        handle = accord.handle(wf)
        await handle.signal(PartnershipWorkflow.email_event, event("taint"))
        done = asyncio.create_task(handle.execute_update(method, arg, id=update_id))
        await admitted(client, wf, update_id)
        async with worker(client, settings):
            await done
            if update is None:
                assert (await accord.state(wf)).tasks["legal"].completed_by == "bo"
            kinds = [e.event_type for e in (await handle.fetch_history()).events]
            pair = [EventType.EVENT_TYPE_TIMER_STARTED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
            shaped = any(kinds[i:i + 2] == pair for i in range(len(kinds) - 1))
            if shaped and then is not None:
                await then(wf)
        if shaped:
            return wf
        await handle.terminate(reason="test: the signal and the update did not meet in one task; again")
        accord.started.remove(wf)  # not a history the replay test should see: it was made not to replay
    raise AssertionError(f"the #1591 shape did not form in {tries} tries")


async def started(accord, settings) -> str:
    wf = await accord.start(unique(DATA / "screening.yaml"))
    await state_where(accord, wf, lambda s: "legal" in s.tasks)
    return wf
