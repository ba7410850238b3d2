"""The benchmark worker process: Accord's worker as `worker.build_worker` makes it, plus the
yardstick workflows, so both are measured on one worker.

    python -m bench.worker     # configured by ACCORD_* and:
      BENCH_MAX_CACHED   the worker's workflow cache size (default 1000, the SDK's default)
      BENCH_RUNNER       accord (default: worker.WORKFLOW_RUNNER, the workflows package
                         passed through the sandbox) | sandboxed (a sandbox per run, the
                         SDK's default) | unsandboxed
      BENCH_MAX_WFT      workflow tasks run at once (default 100, the SDK's default)
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import worker as accord_worker
from accord.config import Settings
from bench.yardstick import Parked, Yardstick, noop


def runner(name: str):
    if name == "unsandboxed":
        return UnsandboxedWorkflowRunner()
    if name == "sandboxed":
        return SandboxedWorkflowRunner()
    return accord_worker.WORKFLOW_RUNNER


async def main() -> None:
    settings = Settings()
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                  data_converter=pydantic_data_converter)
    async with Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[*accord_worker.WORKFLOWS, Yardstick, Parked],
        activities=[*accord_worker.activities_for(settings), noop],
        graceful_shutdown_timeout=timedelta(seconds=5),
        max_cached_workflows=int(os.environ.get("BENCH_MAX_CACHED", "1000")),
        max_concurrent_workflow_tasks=int(os.environ.get("BENCH_MAX_WFT", "100")),
        workflow_runner=runner(os.environ.get("BENCH_RUNNER", "accord")),
    ):
        print(f"worker ready pid={os.getpid()}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
