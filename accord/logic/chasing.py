"""When to chase an open task or approval: reminders, overdue notices, escalation.

Given when the work was assigned, its deadline and the definition's reminder policy,
:func:`next_nudge` says what happens next after a moment in time. Workflows call it in
a loop (wait until the nudge or the work is done), so a moved deadline simply changes
the next answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from definitions.durations import Duration
from definitions.schema import Reminders

# At most this many overdue reminders, escalation point or not: past that, more email is
# noise (think `overdue_every: 1h`), and the work stays visibly overdue in the UI.
MAX_OVERDUE_REMINDERS = 10


class NudgeKind(StrEnum):
    reminder = "reminder"  # before the deadline
    overdue = "overdue"  # at the deadline and every `overdue_every` after it
    escalate = "escalate"  # overdue for `escalate_after`: hand it to the escalation ladder


@dataclass(frozen=True)
class Nudge:
    at: datetime
    kind: NudgeKind


def plan(assigned_at: datetime, due_at: datetime, policy: Reminders) -> list[Nudge]:
    """Every nudge for one piece of work, in time order."""
    nudges = [Nudge(b.before(due_at), NudgeKind.reminder) for b in policy.before]
    nudges = [n for n in nudges if n.at > assigned_at]
    nudges.append(Nudge(due_at, NudgeKind.overdue))
    escalate_at = policy.escalate_after.after(due_at) if policy.escalate_after else None
    every = policy.overdue_every
    if every and not every.is_zero:
        # The k-th reminder is k steps after the deadline, each counted from the deadline:
        # stepping from the previous reminder would let calendar months drift (31 Jan ->
        # 28 Feb -> 28 Mar ...) after a short month.
        for k in range(1, MAX_OVERDUE_REMINDERS + 1):
            at = Duration(months=k * every.months, seconds=k * every.seconds).after(due_at)
            if escalate_at is not None and at >= escalate_at:
                break
            nudges.append(Nudge(at, NudgeKind.overdue))
    if escalate_at is not None:
        nudges.append(Nudge(escalate_at, NudgeKind.escalate))
    return sorted(set(nudges), key=lambda n: (n.at, list(NudgeKind).index(n.kind)))


def next_nudge(assigned_at: datetime, due_at: datetime, policy: Reminders, after: datetime) -> Nudge | None:
    """The first nudge strictly after ``after``, or None when nothing more will happen."""
    return next((n for n in plan(assigned_at, due_at, policy) if n.at > after), None)
