"""The pure parts of stuck detection and recovery (accord/ops/stuck.py, accord/ops/doctor.py), on
a saved history with the signature of temporalio/sdk-python#1591 and on events built here.

tests/data/stuck/sdk-1591-shape.json was recorded by tests/ops/test_stuck.py
(ACCORD_SAVE_STUCK_FIXTURE=1): a partnership whose worker went away (its workflow task timed out,
event 31), then a signal and an update taken in one workflow task by the next worker, which wrote a
timer (35) before the update's acceptance (36); replay puts the acceptance first and fails
("Update machine does not handle this event: HistoryEvent(id: 35, TimerStarted)", event 47)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

import worker as accord_worker
from accord.ops import doctor, stuck
from accord.ops.stuck import Kind
from tests.support.paths import DATA

SAVED = WorkflowHistory.from_json("partnership-stuck-fixture", (DATA / "stuck" / "sdk-1591-shape.json").read_text())
EVENTS = list(SAVED.events)


class _Client:  # what replay_failure reads from a client: its data converter
    data_converter = pydantic_data_converter


def test_the_saved_history_is_classified_as_the_sdk_bug_with_its_reset_point():
    problem = stuck.workflow_task_problem("partnership-stuck-fixture", "run", EVENTS, attempts=4, reported=False)
    assert problem is not None and problem.kind == Kind.sdk_1591
    assert stuck.divergent_event(problem.message) == 35
    assert problem.episode == "task-47" and problem.last_good_event_id == 34
    # Back to the end of the task before the one that wrote event 35: the timed-out task (31).
    assert problem.reset_event_id == 31
    assert stuck.effects_after(EVENTS, 31) == [] and not stuck.reset_by_accord(EVENTS)


async def test_the_saved_history_fails_replay_whole_and_replays_up_to_the_reset_point():
    whole = await doctor.replay_failure("partnership-stuck-fixture", EVENTS, accord_worker.WORKFLOWS, _Client())
    assert whole is not None and stuck.SDK_1591 in whole
    assert await doctor.replay_failure("partnership-stuck-fixture", stuck.truncated(EVENTS, 31),
                                       accord_worker.WORKFLOWS, _Client()) is None


def _event(event_id: int, kind: int, **attributes) -> HistoryEvent:
    e = HistoryEvent(event_id=event_id, event_type=kind)
    for name, value in attributes.items():
        getattr(e, name).CopyFrom(value)
    return e


def test_failures_are_classified_by_message_and_cause():
    nde = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
    assert stuck.classify("[TMPRL1100] Nondeterminism error: Update machine does not handle this event: "
                          "HistoryEvent(id: 9, TimerStarted)", nde) == Kind.sdk_1591
    assert stuck.classify("[TMPRL1100] Nondeterminism error: Timer machine does not handle this event: "
                          "HistoryEvent(id: 9, ActivityTaskScheduled)", nde) == Kind.nondeterminism
    assert stuck.classify("[TMPRL1100] Nondeterminism error: No command scheduled for event HistoryEvent(id: 12)") \
        == Kind.nondeterminism
    assert stuck.classify("ValueError: boom", 0) == Kind.workflow_error
    assert stuck.divergent_event("no event named here") is None


def test_children_and_external_signals_after_the_reset_point_are_found():
    from temporalio.api.failure.v1 import Failure
    from temporalio.api.history.v1 import WorkflowTaskFailedEventAttributes

    events = EVENTS + [
        _event(100, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED),
        _event(101, EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
    ]
    assert stuck.effects_after(events, 31) == ["event 101: signalled external workflow"]
    assert stuck.effects_after(events, 101) == []
    assert [c.event_id for c in stuck.children_after(events, 31)] == [100] and stuck.children_after(events, 100) == []
    reset = _event(102, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, workflow_task_failed_event_attributes=
                   WorkflowTaskFailedEventAttributes(
                       cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
                       failure=Failure(message=doctor.REASON)))
    assert stuck.reset_by_accord([*events, reset])
    someone_else = WorkflowTaskFailedEventAttributes(cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
                                                     failure=Failure(message="manual reset by ops"))
    assert not stuck.reset_by_accord([_event(102, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
                                             workflow_task_failed_event_attributes=someone_else)])


def test_a_healthy_history_has_no_failing_episode():
    # The timed-out task (31) was followed by a completed one (34): that streak is over.
    assert stuck.episode([e for e in EVENTS if e.event_id <= 44]).first_failure is None
    assert stuck.workflow_task_problem("wf", "run", [e for e in EVENTS if e.event_id <= 29], attempts=1,
                                       reported=False) is None


def test_the_rate_limit_allows_n_resets_in_any_rolling_hour():
    now = [0.0]
    limit = doctor.RateLimit(2, clock=lambda: now[0])
    assert limit.allow() and limit.allow() and not limit.allow()
    now[0] = 3599
    assert not limit.allow()
    now[0] = 3600  # both earlier resets are an hour old
    assert limit.allow() and limit.allow() and not limit.allow()
    assert not doctor.RateLimit(0).allow()


def test_a_reset_keeps_the_chain_id_of_runs_with_the_patch_or_continued_as_new():
    """Whether a reset run starts its children under the same ids (doctor's condition 4)."""
    from temporalio.api.common.v1 import Payload, Payloads
    from temporalio.api.history.v1 import (
        MarkerRecordedEventAttributes,
        WorkflowExecutionStartedEventAttributes,
    )

    from workflows.versions import PATCH_CHAIN_SURVIVES_RESET

    # The saved history was written by v0.6 code: no marker, a chain's first run.
    assert not stuck.chain_survives_reset(EVENTS)
    marker = _event(5, EventType.EVENT_TYPE_MARKER_RECORDED, marker_recorded_event_attributes=MarkerRecordedEventAttributes(
        marker_name="core_patch", details={"patch-data": Payloads(payloads=[Payload(
            metadata={"encoding": b"json/plain"}, data=f'{{"id":"{PATCH_CHAIN_SURVIVES_RESET}","deprecated":false}}'.encode())])}))
    assert stuck.patches([*EVENTS, marker]) >= {PATCH_CHAIN_SURVIVES_RESET}
    assert stuck.chain_survives_reset([*EVENTS, marker])
    continued = _event(1, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, workflow_execution_started_event_attributes=
                       WorkflowExecutionStartedEventAttributes(continued_execution_run_id="first-run"))
    assert stuck.chain_survives_reset([continued, *EVENTS[1:]])
