"""What every benchmark needs: the machine, the server, a worker process, and a few measures."""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from accord import search_attributes as sa
from accord.config import Settings
from tests.support.faults import WorkerProcess, worker_env


def machine() -> dict:
    import temporalio

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(), "temporalio": temporalio.__version__,
        "os": f"{platform.system()} {platform.release()}",
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


@asynccontextmanager
async def dev_server(db: Path | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """`temporal server start-dev` from the pinned wheel, as the tests start it."""
    extra = ["--db-filename", str(db)] if db else []
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=Settings().temporal_cli(), search_attributes=sa.ALL,
        data_converter=pydantic_data_converter, ui=False, dev_server_log_level="error",
        dev_server_extra_args=extra,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@dataclass
class Bench:
    """One run's server, client, settings (own task queue and data folder) and worker process."""

    env: WorkflowEnvironment
    settings: Settings
    worker: WorkerProcess

    @property
    def client(self) -> Client:
        return self.env.client


def bench_settings(root: Path, name: str) -> Settings:
    return Settings(data_dir=root / name, task_queue=f"bench-{name}-{uuid.uuid4().hex[:6]}",
                    web_base_url="http://127.0.0.1:8765", signing_keys="k" * 32,
                    allow_short_durations=True)  # the benchmarks compress time


@asynccontextmanager
async def worker_process(env: WorkflowEnvironment, settings: Settings, log: Path, **extra_env: str
                         ) -> AsyncIterator[WorkerProcess]:
    address = env.client.service_client.config.target_host
    worker = WorkerProcess({**worker_env(settings, address), **extra_env}, log, module="bench.worker")
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


async def history_stats(client: Client, workflow_id: str, run_id: str | None = None) -> dict:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    events = history.events
    return {
        "events": len(events),
        "bytes": sum(e.ByteSize() for e in events),
        "workflow_tasks": sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        "first": events[0].event_time.ToDatetime() if events else None,
        "last": events[-1].event_time.ToDatetime() if events else None,
    }


class Stopwatch:
    def __enter__(self) -> Self:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


async def gather_limited(coros, limit: int):
    gate = asyncio.Semaphore(limit)

    async def one(c):
        async with gate:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))
