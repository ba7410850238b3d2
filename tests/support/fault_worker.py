"""The worker the fault tests (and benchmarks) run: Accord's workflows and activities, real.

    python -m tests.support.fault_worker       # a worker process, configured by ACCORD_* variables

Two test knobs, and nothing else differs from ``worker.build_worker`` (the same workflows,
activities and workflow runner: the workflow modules passed through the sandbox, so a cold
start costs what it costs in production):

* ``Compressed``: a workflow outbound interceptor that shortens activity timings the
  workflow code asks for (the email activity's 2-minute start-to-close timeout and its
  5-second-and-doubling retry backoff), the way test definitions compress days into
  seconds. A worker SIGKILLed mid-activity then costs seconds instead of two minutes.
  Timeouts and retry intervals are not part of replay's determinism checks, so the
  histories still replay against the unmodified workflows (tests/replay/test_zz_replay.py).
* a short sticky-queue timeout, so tasks meant for a killed worker's cache move to the
  normal task queue after a second.

Environment (besides Settings' ACCORD_*): ACCORD_TEST_UNKNOWN_OUTCOME_DELAY (seconds a
SendGrid send with unknown outcome waits before it is checked and retried; default 0.5),
ACCORD_TEST_MAX_CACHED (the worker's workflow cache size), ACCORD_TEST_STANDBY (when set, the
process imports, connects and builds its worker, prints ``worker standing by``, and polls only
once a line arrives on its stdin: the crash test keeps the next worker ready this way, so a
restart does not wait for Python's imports, which take many seconds on a loaded machine).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

import worker as accord_worker
from accord.config import Settings

START_TO_CLOSE = timedelta(seconds=5)
FIRST_RETRY = timedelta(milliseconds=200)
MAX_RETRY = timedelta(seconds=2)


class _CompressedOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle:
        if input.start_to_close_timeout is None or input.start_to_close_timeout > START_TO_CLOSE:
            input.start_to_close_timeout = START_TO_CLOSE
        policy = input.retry_policy or RetryPolicy()
        input.retry_policy = dataclasses.replace(
            policy,
            initial_interval=min(policy.initial_interval, FIRST_RETRY),
            maximum_interval=min(policy.maximum_interval or MAX_RETRY, MAX_RETRY),
        )
        return super().start_activity(input)


class _CompressedInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_CompressedOutbound(outbound))


class Compressed(Interceptor):
    """Shorter activity timeouts and retry backoff than the workflow code asks for."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _CompressedInbound


def build(client: Client, settings: Settings, *, mailer=None, compressed: bool = True,
          max_cached_workflows: int = 1000, **options) -> Worker:
    """Like ``worker.build_worker``, with the test knobs."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=accord_worker.WORKFLOWS,
        activities=accord_worker.activities_for(settings, mailer),
        workflow_runner=accord_worker.WORKFLOW_RUNNER,
        interceptors=[Compressed()] if compressed else [],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
        max_cached_workflows=max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=2),
        **options,
    )


def mailer_from_env(settings: Settings):
    if settings.mail_backend != "sendgrid":
        return None
    from accord.mail.sendgrid_backend import SendGridMailer

    return SendGridMailer(
        settings.sendgrid_api_key.get_secret_value(), host=settings.sendgrid_host, timeout=settings.sendgrid_timeout,
        unknown_outcome_delay=float(os.environ.get("ACCORD_TEST_UNKNOWN_OUTCOME_DELAY", "0.5")),
    )


async def main() -> None:
    settings = Settings()
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                  data_converter=pydantic_data_converter)
    cached = int(os.environ.get("ACCORD_TEST_MAX_CACHED", "1000"))
    worker = build(client, settings, mailer=mailer_from_env(settings), max_cached_workflows=cached)
    if os.environ.get("ACCORD_TEST_STANDBY"):
        print(f"worker standing by pid={os.getpid()}", flush=True)
        if not await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline):
            return  # stdin closed: whoever kept it in reserve has gone; never poll as an orphan
    async with worker:
        print(f"worker ready pid={os.getpid()}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
