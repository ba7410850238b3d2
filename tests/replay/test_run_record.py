"""The end-of-run replay reads every history it is given (tests/support/run_record.py)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType as E
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from tests.support.run_record import readable


def history(*types: E.ValueType) -> WorkflowHistory:
    return WorkflowHistory("wf", [HistoryEvent(event_id=i, event_type=t) for i, t in enumerate(types, 1)])


def test_a_signal_written_inside_a_workflow_task_cuts_the_history_before_that_task():
    """The time-skipping server wrote a signal between a task's start and its end (seen in a
    run's escalation history): the replayer's poller panics on it and the replay never ends."""
    odd = history(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                  E.EVENT_TYPE_WORKFLOW_TASK_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                  E.EVENT_TYPE_TIMER_STARTED, E.EVENT_TYPE_TIMER_FIRED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                  E.EVENT_TYPE_WORKFLOW_TASK_STARTED, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                  E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    assert [e.event_id for e in readable(odd).events] == [1, 2, 3, 4, 5, 6, 7]


def test_a_well_formed_history_is_replayed_whole():
    fine = history(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                   E.EVENT_TYPE_WORKFLOW_TASK_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                   E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                   E.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    assert readable(fine) is fine
