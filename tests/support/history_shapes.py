"""How exposed saved histories are to the SDK's replay bug (temporalio/sdk-python#1591).

The bug needs an update taken in by a workflow task that follows one that wrote no command (or
timed out: a killed worker's), with another command written before the update's acceptance. This
counts, over every history under the folders given, the workflow tasks that wrote no command
(and what woke them), the tasks that accepted an update, and those that accepted one right after
a task without commands, writing other commands too; and lists every task that wrote a command
*before* an update's acceptance, the bug's own shape (README "Known issues").

    python -m tests.support.history_shapes tests/histories
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from temporalio.api.enums.v1 import EventType as E
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from tests.support.history_files import workflow_id_of
from tests.support.paths import HISTORIES

_COMMANDS = {E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, E.EVENT_TYPE_TIMER_STARTED,
             E.EVENT_TYPE_TIMER_CANCELED, E.EVENT_TYPE_MARKER_RECORDED, E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
             E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
             E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
             E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
             E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
             E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
             E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}
_UPDATE = {E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}
_WAKERS = {E.EVENT_TYPE_TIMER_FIRED: "timer fired", E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity ended",
           E.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity ended", E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: "child",
           E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: "a signal it sent delivered",
           E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED: "update admitted", E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "start"}


def _woken_by(e: HistoryEvent) -> str | None:
    if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        return "signal " + e.workflow_execution_signaled_event_attributes.signal_name
    return _WAKERS.get(e.event_type)


def tasks(events: list[HistoryEvent]) -> list[tuple[frozenset[str], list[int]]]:
    """Each completed workflow task: what woke it (no event: an update message, which the
    validator refused) and the command events it wrote, in order."""
    out, wakers = [], set()
    for i, e in enumerate(events):
        if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            commands = []
            for later in events[i + 1:]:
                if later.event_type not in _COMMANDS:
                    break
                commands.append(later.event_type)
            out.append((frozenset(wakers or {"no event (an update message)"}), commands))
            wakers = set()
        elif (woken := _woken_by(e)) is not None:
            wakers.add(woken)
    return out


def main(roots: list[Path]) -> int:
    total = empty = accepting = after_empty = 0
    woke, before_acceptance = Counter(), []
    for path in sorted(p for root in roots for p in root.rglob("*.json")):
        done = tasks(list(WorkflowHistory.from_json(workflow_id_of(path), path.read_text()).events))
        for n, (wakers, commands) in enumerate(done):
            total += 1
            if not commands:
                empty += 1
                woke[" + ".join(sorted(wakers))] += 1
            if E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED not in commands:
                continue
            accepting += 1
            others = [c for c in commands if c not in _UPDATE]
            after_empty += bool(n > 0 and not done[n - 1][1] and others)
            first = commands.index(E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
            if any(c not in _UPDATE for c in commands[:first]):
                before_acceptance.append(f"{path.name}: task {n + 1}" + (" (the run's first)" if n == 0 else ""))
    print(f"{total} completed workflow tasks; {empty} wrote no command; {accepting} accepted an update, {after_empty} "
          "of them right after a task without commands and writing other commands too")
    print("what woke the tasks without commands:")
    for what, count in woke.most_common():
        print(f"  {count:6d}  {what}")
    print(f"tasks writing a command before an update's acceptance: {len(before_acceptance)}")
    for where in before_acceptance:
        print(f"  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main([Path(a) for a in sys.argv[1:]] or [HISTORIES]))
