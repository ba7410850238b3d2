"""Lifecycle throughput: workflow tasks per second while a batch of compressed partnerships is
driven through their lifecycle by the real client, against the yardstick's.

The batch (tests/data/lifecycle.yaml, durations in seconds and minutes) goes through
screening (a checklist task, two goal statements, go/no-go), MOU signature, launch (a
kickoff task), two weekly status reviews and closure (ops close it; the workflow archives
its audit export and completes), every action an Update sent through
``accord.client.Accord`` once its request email has gone out (tests/support/lifecycle.py), all
partnerships at once. Workflow tasks are counted from the histories (WorkflowTaskCompleted
events) and divided by the wall time from the first start to the last closure. The yardstick is a batch of one-activity workflows
started at once on the same worker (two workflow tasks each), measured before and after.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.api.enums.v1 import EventType

import definitions
from accord.client import Accord
from accord.models import Stage
from bench.common import bench_settings, gather_limited, worker_process
from bench.yardstick import Yardstick
from tests.support.lifecycle import Inbox, drive_all, script

LIFECYCLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "lifecycle.yaml"
REVIEWS = 2


async def _tasks_until(client, workflow_id: str, until: datetime) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
               and e.event_time.ToDatetime().replace(tzinfo=UTC) <= until)


async def _yardstick(env, settings, n: int, tag: str) -> dict:
    started = time.perf_counter()
    await gather_limited((env.client.execute_workflow(Yardstick.run, "x", id=f"bench-tp-{tag}-{i}",
                                                      task_queue=settings.task_queue) for i in range(n)), 50)
    seconds = time.perf_counter() - started
    tasks = sum(await gather_limited((_tasks_until(env.client, f"bench-tp-{tag}-{i}", datetime.now(UTC))
                                      for i in range(n)), 20))
    return {"workflows": n, "workflow_tasks": tasks, "seconds": round(seconds, 1),
            "wft_per_second": round(tasks / seconds, 1)}


async def run(env, root: Path, partnerships: int = 60, yardsticks: int = 300, log=print) -> dict:
    settings = bench_settings(root, "throughput")
    accord = Accord(env.client, settings)
    tag = uuid.uuid4().hex[:6]
    definition = definitions.load(LIFECYCLE, allow_short=True)  # seconds-long cadences
    steps = script(definition, through=Stage.closed, reviews=REVIEWS)

    async with worker_process(env, settings, root / "throughput-worker.log"):
        await _yardstick(env, settings, 20, tag + "w")  # warm-up
        before = await _yardstick(env, settings, yardsticks, tag + "a")
        log(f"  throughput: yardstick {before}")
        started = time.perf_counter()
        t0 = datetime.now(UTC)
        ids = await gather_limited((accord.start(definition.model_copy(update={"id": f"life-{tag}-{i:03d}"}))
                                    for i in range(partnerships)), 10)
        # The driver's state queries cost the worker like workflow tasks (and are not counted):
        # ask only when the partnership has sent mail, or every few seconds.
        async with Inbox.of(settings) as inbox:
            drives = await drive_all(accord, [(wf, steps) for wf in ids], timeout=900, inbox=inbox,
                                     until=Stage.closed, refresh=5.0)
            emails = sum(len(await store.list_sends()) for store in inbox.stores)
        seconds = time.perf_counter() - started
        end = datetime.now(UTC)
        tasks = sum(await gather_limited((_tasks_until(env.client, wf, end) for wf in ids), 20))
        after = await _yardstick(env, settings, yardsticks, tag + "b")
        log(f"  throughput: yardstick after {after}")

    yard = {"workflows": before["workflows"] + after["workflows"],
            "workflow_tasks": before["workflow_tasks"] + after["workflow_tasks"],
            "seconds": round(before["seconds"] + after["seconds"], 1)}
    yard["wft_per_second"] = round(yard["workflow_tasks"] / yard["seconds"], 1)
    life = {"workflows": partnerships, "queries": sum(d.queries for d in drives), "workflow_tasks": tasks, "seconds": round(seconds, 1),
            "wft_per_second": round(tasks / seconds, 1), "actions": sum(d.actions for d in drives), "emails": emails,
            "retried_actions": sum(len(d.retried) for d in drives), "started_at": t0.isoformat()}
    return {
        "about": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "stages": ["screening", "MOU", "launch", f"{REVIEWS} weekly status reviews", "closure"],
        "left_out": "nothing (renewal and amendments are not in the batch's definition)",
        "lifecycle": life, "yardstick": yard, "yardstick_before": before, "yardstick_after": after,
        "ratio": round(life["wft_per_second"] / yard["wft_per_second"], 2),
    }
