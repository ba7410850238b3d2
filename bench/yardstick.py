"""The yardstick: the smallest real Temporal workflow, one activity, on the same server and worker.

Every benchmark figure is a ratio against it, measured in the same run: absolute times
on a shared 2-core machine mean little, ratios much more.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop(value: str) -> str:
    return value


@workflow.defn(name="BenchYardstick")
class Yardstick:
    def __init__(self) -> None:
        self.pokes = 0

    @workflow.run
    async def run(self, value: str) -> str:
        return await workflow.execute_activity("bench_noop", value, start_to_close_timeout=timedelta(seconds=30))


@workflow.defn(name="BenchParked")
class Parked:
    """A workflow that only waits, answering an update: the raw-update yardstick."""

    def __init__(self) -> None:
        self.pokes = 0

    @workflow.run
    async def run(self, value: str) -> int:
        await workflow.wait_condition(lambda: self.pokes < 0)
        return self.pokes

    @workflow.update
    async def poke(self, value: str) -> int:
        self.pokes += 1
        return self.pokes
