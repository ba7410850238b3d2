"""`accord watch ID`: follow one partnership live.

A rich Live panel (stage and status, open tasks with their deadlines, pending approvals
and who they wait on, open escalations and their level, the next deadline) redrawn every
``interval`` seconds from the workflow's ``state`` query, with one line printed above it
for every change seen (stage, task done or overdue, decision, escalation). Piped to a file
or a log, it prints the current state first, then a line per change. It ends when the
workflow ends, when ``until`` (a stage) is reached, after ``timeout`` seconds, or on Ctrl-C.
"""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from accord.logic import approvals, zones
from accord.logic.time_display import format_instant
from accord.models import ApprovalOutcome, PartnershipState

if TYPE_CHECKING:
    from accord.client import Accord


def _when(at: datetime, now: datetime, zone: str | None) -> str:
    delta = at - now
    seconds = int(abs(delta.total_seconds()))
    if seconds < 60:
        span = f"{seconds}s"
    elif seconds < 3600:
        span = f"{seconds // 60}m"
    elif seconds < 86400:
        span = f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    else:
        span = f"{seconds // 86400}d{(seconds % 86400) // 3600}h"
    return f"{format_instant(at, zone)} ({'in ' + span if delta.total_seconds() >= 0 else span + ' ago'})"


def _clock(now: datetime, zone: str | None) -> str:
    """The time of day in the reader's zone, before each change line (the panel names the zone)."""
    return f"{(now if zone is None else zones.local(now, zones.zone(zone))):%H:%M:%S}"


def render(state: PartnershipState, workflow_id: str, now: datetime | None = None, ended: str | None = None,
           zone: str | None = None) -> Panel:
    """The panel, times in the reader's ``zone`` (an IANA name; None: UTC), named."""
    now = now or datetime.now(UTC)
    parts: list = []
    head = Text()
    head.append(f"stage {state.stage.value}", style="bold cyan")
    head.append(f"   status {state.health.value}", style="red" if state.health.value in ("at_risk", "escalated") else "green")
    if ended:
        head.append(f"   workflow {ended}", style="bold")
    parts.append(head)
    if state.detail:
        parts.append(Text(state.detail))
    open_tasks = sorted(state.open_tasks(), key=lambda t: t.due_at)
    done = sum(1 for t in state.tasks.values() if not t.is_open)
    if state.tasks:
        tasks = Table("task", "owner", "due", title=f"Open tasks ({len(open_tasks)} open, {done} done)", title_justify="left")
        for t in open_tasks:
            tasks.add_row(Text(t.title), t.owner, Text(_when(t.due_at, now, zone) + (" OVERDUE" if t.overdue else ""),
                                                       style="red" if t.overdue else ""))
        parts.append(tasks)
    for a in state.approvals.values():
        if a.outcome == ApprovalOutcome.pending:
            waiting = approvals.evaluate(a.policy, a.approvers, a.quorum, a.decisions_in_round()).waiting_on
            parts.append(Text(f"approval {a.title} (round {a.round}, {a.policy}): waiting on {', '.join(waiting) or 'nobody'}"
                              f" until {_when(a.deadline_at, now, zone)}"))
        else:
            parts.append(Text(f"approval {a.title}: {a.outcome.value}", style="dim"))
    for e in state.open_escalations():
        level = "ops" if e.with_ops else f"level {e.level}"
        parts.append(Text(f"escalation {e.id} at {level} ({e.status}): {e.reason}", style="yellow"))
    deadline = state.next_deadline()
    if deadline:
        parts.append(Text(f"next deadline {_when(deadline, now, zone)}", style="bold"))
    return Panel(Group(*parts), title=f"{state.name} ({workflow_id})", subtitle=f"as of {format_instant(now, zone)}")


def changes(old: PartnershipState | None, new: PartnershipState, zone: str | None = None) -> list[str]:
    """What a person watching wants told, one line each."""
    if old is None:
        return []
    out: list[str] = []
    if old.stage != new.stage:
        out.append(f"stage {old.stage.value} -> {new.stage.value}: {new.detail}")
    if old.health != new.health:
        out.append(f"status {old.health.value} -> {new.health.value}")
    for tid, task in new.tasks.items():
        was_task = old.tasks.get(tid)
        if was_task is None:
            out.append(f"task opened: {task.title} ({task.owner}, due {format_instant(task.due_at, zone)})")
        elif was_task.is_open and not task.is_open:
            out.append(f"task {task.status.value}: {task.title} by {task.completed_by or '?'}")
        elif task.overdue and not was_task.overdue:
            out.append(f"task overdue: {task.title} ({task.owner})")
    for aid, approval in new.approvals.items():
        was_approval = old.approvals.get(aid)
        if was_approval is None or was_approval.round != approval.round:
            out.append(f"approval opened: {approval.title} (round {approval.round})")
        seen = {(d.actor, d.round, d.decision) for d in (was_approval.decisions if was_approval else [])}
        for d in approval.decisions:
            if (d.actor, d.round, d.decision) not in seen:
                out.append(f"decision on {approval.title}: {d.actor} {d.decision.value}" + (f" ({d.comment})" if d.comment else ""))
        if was_approval is not None and was_approval.outcome != approval.outcome:
            out.append(f"approval {approval.title}: {approval.outcome.value}")
    old_escalations = {e.id: e for e in old.escalations}
    for e in new.escalations:
        was_escalation = old_escalations.get(e.id)
        if was_escalation is None:
            out.append(f"escalation raised: {e.id} at level {e.level}: {e.reason}")
        elif (was_escalation.level, was_escalation.with_ops, was_escalation.status) != (e.level, e.with_ops, e.status):
            out.append(f"escalation {e.id}: {'with ops' if e.with_ops else f'level {e.level}'}, {e.status}")
    return out


@dataclass
class Outcome:
    reason: str  # ended | reached | once | timeout
    state: PartnershipState | None


async def watch(accord: Accord, workflow_id: str, console: Console, *, interval: float = 2.0,
                until: str | None = None, once: bool = False, timeout: float | None = None,
                zone: str | None = None) -> Outcome:
    """Follow the partnership until it ends, reaches ``until``, ``timeout`` passes or ``once``.

    On a terminal the panel is redrawn in place. Anywhere else (piped to a file or a log) a
    panel cannot be redrawn: the current state is printed first, then a line per change, then
    the state it stopped at; rich flushes every print, so a reader sees each line at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout else None
    handle = accord.handle(workflow_id)
    previous: PartnershipState | None = None
    live = Live(console=console, auto_refresh=False, transient=False) if console.is_terminal else None
    printed: PartnershipState | None = None  # the state last printed in full, when not on a terminal

    def say(line: str) -> None:
        (live.console if live else console).print(line, markup=False, highlight=False)

    def show(state: PartnershipState, ended: str | None) -> None:
        nonlocal printed
        if live is not None:
            live.update(render(state, workflow_id, ended=ended, zone=zone), refresh=True)
        elif state != printed:
            console.print(render(state, workflow_id, ended=ended, zone=zone))
            printed = state

    def stop(reason: str, state: PartnershipState | None, ended: str | None = None) -> Outcome:
        if state is not None:
            show(state, ended)  # the state it stopped at (on a terminal: already drawn)
        if ended:
            say(f"workflow {ended}")
        return Outcome(reason, state)

    with live or nullcontext():
        while True:
            description = await handle.describe()
            running = description.status == WorkflowExecutionStatus.RUNNING
            state: PartnershipState | None
            try:
                state = await accord.state(workflow_id)
            except RPCError:
                if running:
                    raise
                state = previous  # a closed workflow with no worker to answer the query
            ended = None if running else (description.status.name.lower() if description.status else "unknown")
            if state is not None:
                for line in changes(previous, state, zone):
                    say(f"{_clock(datetime.now(UTC), zone)} {line}")
                if live is not None or previous is None:  # not on a terminal: the current state first
                    show(state, ended)
            previous = state
            if ended:
                return stop("ended", state, ended)
            if until and state is not None and state.stage.value == until:
                return stop("reached", state)
            if once:
                return stop("once", state)
            if deadline is not None and loop.time() >= deadline:
                return stop("timeout", state)
            await asyncio.sleep(interval if deadline is None else max(0.0, min(interval, deadline - loop.time())))
