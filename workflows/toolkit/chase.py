"""The chase/deadline loop: wait until the work is done or the next nudge is due, act, repeat.

The shape of samples-python's updatable timer: nothing is scheduled ahead. Each pass asks
:func:`accord.logic.chasing.next_nudge` what comes next after the last nudge and waits for
it with ``wait_condition(done, timeout=...)`` from ``workflow.now()``; a timeout is the nudge
(a reminder, an overdue notice, the escalation), ``done()`` becoming true ends the chase. A
deadline that moves (a new round of an approval) simply changes the next answer.

Given the recipient's working hours, the nudges are :func:`accord.logic.working_hours.next_nudge`'s
instead: reminders moved into those hours (earlier, never past the deadline), overdue notices
at the start of the next ones (partnerships on schedule version 1, ``workflows/versions.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from accord.logic import chasing, working_hours
    from definitions.schema import Reminders


async def chase(
    assigned_at: datetime,
    due_at: datetime,
    policy: Reminders,
    done: Callable[[], bool],
    on_nudge: Callable[[chasing.Nudge], Awaitable[None]],
    what: str,
    hours: working_hours.WorkingHours | None = None,
) -> None:
    """Wait until ``done()``, acting on every reminder, overdue and escalation point on the way
    (``what`` names the work in the timers' summaries; ``hours``: the recipient's, if kept)."""
    after = workflow.now()
    while not done():
        if hours is None:
            nudge = chasing.next_nudge(assigned_at, due_at, policy, after)
        else:
            nudge = working_hours.next_nudge(assigned_at, due_at, policy, hours, after)
        if nudge is None:
            await workflow.wait_condition(done)
            return
        wait = nudge.at - workflow.now()
        if wait > timedelta(0):
            try:
                await workflow.wait_condition(done, timeout=wait, timeout_summary=f"{nudge.kind.value}: {what}")
                return
            except TimeoutError:
                pass
        after = nudge.at
        await on_nudge(nudge)
