"""The watchdog's detection activity: which partnerships on a task queue are stuck.

Runs accord.ops.stuck.find with the worker's own client (a visibility list, a describe per
running partnership, and the history of only those that look stuck)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity

from accord.ops import stuck


@activity.defn(name="find_stuck_partnerships")
async def find_stuck_partnerships(input: stuck.WatchdogInput) -> list[stuck.StuckPartnership]:
    return await stuck.find(
        activity.client(), query=stuck.partnerships_on(input.task_queue),
        stuck_activity_after=timedelta(seconds=input.stuck_activity_after_seconds), task_attempts=input.task_attempts,
    )
