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
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
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
from accord.models import EmailEvent
from tests.helpers import eventually

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
