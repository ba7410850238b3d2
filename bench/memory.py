"""Memory: the worker's RSS per open partnership, with the cache holding them all and with a
cache smaller than the set.

N partnerships (bench/data/parked.yaml) park in screening, each waiting on a task due in
four weeks. The worker runs in its own process, so its RSS (/proc/<pid>/status VmRSS) is
its own. After a warm-up (imports, first workflows), RSS is read once every partnership
has settled (its one email sent, its workflow task done); the difference over N is the
cost of one cached partnership.

Then a new worker process with a cache of ``small_cache`` queries ``touch`` different
partnerships (each cache miss replays one from its history and evicts another), and acts
on a few evicted ones (a task completed through the real client): RSS must stay bounded
and the evicted partnerships must still work.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from temporalio.service import RPCError

import definitions
from accord.client import Accord
from accord.models import Channel, TaskCompletion
from accord.storage import Storage, open_storage
from bench.common import bench_settings, gather_limited, rss_kb, worker_process

PARKED = Path(__file__).parent / "data" / "parked.yaml"
WARM_UP = 100


def _definition(tag: str, i: int):
    d = definitions.load(PARKED)
    return d.model_copy(update={"id": f"parked-{tag}-{i:05d}"})


async def _settled(store: Storage, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len([e for e in await store.list_sends() if e.status == "sent"]) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} partnerships settled in {timeout:g} s")
        await asyncio.sleep(1)
    await asyncio.sleep(3)  # the workflow task after each email


async def _state_of(accord: Accord, wf: str, attempts: int = 5):
    """A state query through a small cache: the worker replays the partnership first, and with a
    sandbox per run a burst of replays can outlast the query's timeout. Ask again then."""
    for attempt in range(attempts):
        try:
            return await accord.state(wf)
        except RPCError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)


async def _steady_rss(pid: int, samples: int = 5) -> int:
    values = []
    for _ in range(samples):
        values.append(rss_kb(pid))
        await asyncio.sleep(0.5)
    return min(values)


async def _park_yardsticks(env, settings, n: int, tag: str) -> list:
    from bench.yardstick import Parked

    async def one(i: int):
        return await env.client.start_workflow(Parked.run, "x", id=f"bench-parked-{tag}-{i}", task_queue=settings.task_queue)

    return await gather_limited((one(i) for i in range(n)), 50)


async def _yardsticks_idle(handles: list, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for h in handles:
        while True:
            raw = (await h.describe()).raw_description
            if raw.HasField("pending_workflow_task") is False and raw.workflow_execution_info.history_length >= 4:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("yardsticks not parked")
            await asyncio.sleep(0.2)


async def run(env, root: Path, n: int = 10_000, small_cache: int = 1000, touch: int = 3000, runner: str = "accord",
              max_wft: int = 100, yardsticks: int = 2000, log=print) -> dict:
    settings = bench_settings(root, f"memory-{runner}")
    accord = Accord(env.client, settings)
    tag = uuid.uuid4().hex[:6]
    result: dict = {"partnerships": n, "runner": runner, "max_concurrent_workflow_tasks": max_wft}

    async with await open_storage(settings) as store, worker_process(
            env, settings, root / f"memory-{runner}-worker.log", BENCH_MAX_CACHED=str(n + yardsticks + WARM_UP + 100),
            BENCH_RUNNER=runner, BENCH_MAX_WFT=str(max_wft)) as worker:
        await gather_limited((accord.start(_definition(tag, i)) for i in range(WARM_UP)), 20)
        await _settled(store, WARM_UP, 120)
        # The yardstick: the same worker's cost of one cached minimal workflow (waiting on a condition).
        before = await _steady_rss(worker.pid)
        handles = await _park_yardsticks(env, settings, yardsticks, tag)
        await _yardsticks_idle(handles, 60 + yardsticks / 5)
        await asyncio.sleep(3)
        after = await _steady_rss(worker.pid)
        result["yardstick"] = {"workflows": yardsticks, "kb_per_workflow": round((after - before) / yardsticks, 1)}
        log(f"  memory[{runner}]: yardstick: {result['yardstick']}")
        before = after
        started = time.monotonic()
        ids = await gather_limited((accord.start(_definition(tag, WARM_UP + i)) for i in range(n)), 50)
        log(f"  memory[{runner}]: {n} partnerships started in {time.monotonic() - started:.0f} s")
        await _settled(store, WARM_UP + n, 60 + n / 5)
        after = await _steady_rss(worker.pid)
        result["all_cached"] = {
            "cache": n + yardsticks + WARM_UP + 100, "rss_before_mb": round(before / 1024, 1), "rss_after_mb": round(after / 1024, 1),
            "kb_per_partnership": round((after - before) / n, 1), "seconds_to_park": round(time.monotonic() - started),
            "ratio_to_yardstick": round((after - before) / n / max(result["yardstick"]["kb_per_workflow"], 0.1), 1),
        }
        log(f"  memory[{runner}]: all cached: {result['all_cached']}")

    if not small_cache:
        return result
    async with worker_process(env, settings, root / f"memory-{runner}-small.log",
                              BENCH_MAX_CACHED=str(small_cache), BENCH_RUNNER=runner,
                              BENCH_MAX_WFT=str(max_wft)) as worker:
        touched = ids[:touch]
        await gather_limited((_state_of(accord, wf) for wf in touched[:WARM_UP]), 10)
        before = await _steady_rss(worker.pid)
        started = time.monotonic()
        peak = before
        for chunk in range(0, len(touched), 500):
            await gather_limited((_state_of(accord, wf) for wf in touched[chunk:chunk + 500]), 10)
            peak = max(peak, rss_kb(worker.pid))
        seconds = time.monotonic() - started
        after = await _steady_rss(worker.pid)
        # The first ones touched have been evicted by now: they must still work.
        acted = []
        for wf in touched[:5]:
            result_msg = await accord.complete_task(wf, TaskCompletion(task_id="legal-review", actor="abe",
                                                                       result="cleared", channel=Channel.api))
            state = await _state_of(accord, wf)
            acted.append(state.tasks["legal-review"].completed_by == "abe" and "marked done" in result_msg.message)
        result["small_cache"] = {
            "cache": small_cache, "touched": len(touched), "rss_before_mb": round(before / 1024, 1),
            "rss_peak_mb": round(peak / 1024, 1), "rss_after_mb": round(after / 1024, 1),
            "kb_per_cached_slot": round((after - before) / small_cache, 1),
            "replays_per_second": round(len(touched) / seconds, 1),
            "evicted_then_acted_on": len(acted), "worked": all(acted),
        }
        log(f"  memory[{runner}]: small cache: {result['small_cache']}")
    return result
