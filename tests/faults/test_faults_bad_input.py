"""Bad input straight through Temporal: malformed update arguments and signals.

Every value in tests/data/malformed/updates.json is sent untyped to the real workflows on
the dev server (``handle.execute_update(name, raw)``, as ``temporal workflow update
execute --input`` or another SDK would). Each must come back as a refused update whose
failure says what is wrong; none may fail a workflow task (the history is checked for
WorkflowTaskFailed events); and the workflow must go on working afterwards.

Malformed definitions are covered by tests/unit/test_definitions.py (tests/data/broken/);
the same corpus goes through the HTTP API in tests/faults/test_faults_api_input.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from accord.models import (
    Acknowledge,
    AlignmentOverride,
    Channel,
    DecisionInput,
    DecisionKind,
    EscalationRequest,
    TaskCompletion,
    UpdateResult,
)
from tests.support.helpers import (
    ALIGNED,
    DIVERGENT,
    pass_checklist,
    state_where,
    submit_statements,
    unique,
)
from tests.support.malformed import Case, cases
from tests.support.paths import DATA
from tests.support.workers import running_worker

ANSWER_WITHIN = 15.0  # seconds; a refused update is answered in milliseconds


def failure_text(exc: BaseException) -> str:
    """The failure and all its causes, as one text (what a caller can read)."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 10:
        parts.append(f"{type(seen).__name__}: {getattr(seen, 'message', None) or seen}")
        seen = seen.__cause__ or getattr(seen, "cause", None)
    return " <- ".join(parts)


async def refusal_of(handle: WorkflowHandle, case: Case) -> str:
    """Send the case; return the refusal's text, or raise AssertionError if it was not refused."""
    try:
        result = await asyncio.wait_for(
            handle.execute_update(case.update, args=case.args, result_type=UpdateResult), ANSWER_WITHIN
        )
    except WorkflowUpdateFailedError as exc:
        return failure_text(exc)
    except RPCError as exc:  # refused before reaching the workflow (e.g. by the server)
        return failure_text(exc)
    except TimeoutError:
        raise AssertionError(f"{case.id}: no answer in {ANSWER_WITHIN:.0f} s (a failing workflow task?)") from None
    raise AssertionError(f"{case.id}: accepted ({result.message[:100]!r})")


async def send_all(handle: WorkflowHandle, group: str) -> list[str]:
    """Every case of the group; the problems found (empty when all were refused clearly)."""
    problems = []
    for case in cases(group):
        try:
            text = await refusal_of(handle, case)
        except AssertionError as exc:
            problems.append(str(exc))
            continue
        if case.refusal.lower() not in text.lower():
            problems.append(f"{case.id}: refused, but without {case.refusal!r}: {text[:300]}")
    return problems


async def failed_workflow_tasks(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    return [
        e.workflow_task_failed_event_attributes.failure.message
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


async def test_malformed_updates_are_refused_clearly_and_break_nothing(dev_env, settings, accord_for):
    definition = unique(DATA / "screening.yaml")
    definition.mou.allow_delegation = True
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(definition)
        handle = accord.handle(wf)
        await state_where(accord, wf, lambda s: len(s.tasks) == 7)
        problems = await send_all(handle, "screening")

        # Still working: screening completes...
        await pass_checklist(accord, wf, {"capability": "arun", "legal": "bo"})
        await submit_statements(accord, wf, ALIGNED)
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        problems += await send_all(handle, "go_no_go")
        for who in ("alice", "bea"):
            await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=who, decision=DecisionKind.approve))
        # ...and the MOU stage opens.
        await state_where(accord, wf, lambda s: "mou" in s.approvals)
        problems += await send_all(handle, "mou")

        await accord.escalate(wf, EscalationRequest(reason="Legal review slipping", level=1, channel=Channel.api))
        state = await state_where(accord, wf, lambda s: s.escalations and s.escalations[0].workflow_id)
        child_id = state.escalations[0].workflow_id
        accord.started.append(child_id)  # recorded for replay and terminated afterwards, like the partnership
        child = dev_env.client.get_workflow_handle(child_id)
        problems += await send_all(child, "escalation")

        # Both still work: the escalation is acknowledged, the MOU is signed, the stage moves.
        ack = await child.execute_update("acknowledge", Acknowledge(actor="bo", note="On it"), result_type=UpdateResult)
        assert "Acknowledged" in ack.message
        for who in ("alice", "bea"):
            await accord.decide(wf, DecisionInput(approval_id="mou", actor=who, decision=DecisionKind.approve))
        final = await state_where(accord, wf, lambda s: s.mou.signed_at is not None and s.escalations[0].status == "acknowledged")
        failed = await failed_workflow_tasks(handle) + await failed_workflow_tasks(child)

    assert not problems, "\n".join(problems)
    assert failed == [], f"workflow tasks failed: {failed}"
    assert final.tasks["legal"].completed_by == "bo" and final.tasks["legal"].result == "done"
    assert [d.actor for d in final.approvals["mou"].decisions] == ["alice", "bea"]
    assert final.approvals["mou"].delegations == [] and final.unreachable == []


async def test_huge_free_text_is_refused(dev_env, settings, accord_for):
    """Each huge value is sent where its short form would be accepted (the short form is sent next)."""
    accord = accord_for(dev_env)
    huge = {c.update: c for c in cases("unbounded_text")}
    problems: list[str] = []

    async def refused_then(update: str, short: Any) -> None:
        try:
            await refusal_of(accord.handle(wf), huge[update])
        except AssertionError as exc:
            problems.append(str(exc))
        else:
            await accord.handle(wf).execute_update(update, short, result_type=UpdateResult)
        try:
            await accord.state(wf)
        except WorkflowQueryFailedError as exc:
            problems.append(f"after {update}, the state query fails: {exc}")
            raise AssertionError("\n".join(problems)) from None

    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await state_where(accord, wf, lambda s: len(s.tasks) == 7)
        await pass_checklist(accord, wf, {"capability": "arun"})
        await submit_statements(accord, wf, {**ALIGNED, "bo": DIVERGENT})
        await state_where(accord, wf, lambda s: s.alignment.result is not None)
        await refused_then("complete_task", TaskCompletion(task_id="legal", actor="bo", result="done"))
        await refused_then("override_alignment", AlignmentOverride(actor="alice", reason="Agreed at kick-off"))
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        await refused_then("decide", DecisionInput(approval_id="go-no-go", actor="bea", decision=DecisionKind.approve))
        await refused_then("escalate", EscalationRequest(reason="Slipping"))
        failed = await failed_workflow_tasks(accord.handle(wf))
    assert failed == [], f"workflow tasks failed: {failed}"
    assert not problems, "\n".join(problems)


# Signals cannot be refused (fire and forget): a malformed one must be dropped or logged,
# never fail the workflow task (which would stop the workflow until the code is fixed).
BAD_SIGNALS: list[tuple[str, Any]] = [
    ("email_event", "bounce"),
    ("email_event", {"send_key": 7, "event": "bounce"}),
    ("email_event", {"send_key": "a/b", "event": {"$": 1}}),
    ("email_event", {"send_key": "partnership-x/chain/task/legal/assigned/0/mallory", "event": "bounce"}),
    ("escalation_changed", {"escalation_id": "esc-99", "level": 1, "status": "open", "at": "2026-01-01T00:00:00Z"}),
    ("escalation_changed", {"escalation_id": "esc-1", "level": "one", "status": "open", "at": "yesterday"}),
    ("request_withdrawal", {"actor": "mallory", "reason": "moot"}),
    ("request_withdrawal", {"actor": "bo", "reason": ""}),
    ("request_withdrawal", "withdraw"),
    ("email_delayed", "late"),
    ("email_delayed", {"send_key": 7, "recipient": "bo", "since": "never"}),
    ("email_delayed", {"send_key": "partnership-x/chain/task/legal/assigned/0/bo", "recipient": "bo",
                       "since": "2026-01-01T00:00:00Z"}),
    ("email_delayed", {"send_key": "/" * 20_000, "recipient": "bo", "since": "2026-01-01T00:00:00Z"}),
    ("no_such_signal", {"x": 1}),
]
# A send key Accord never makes (no "/"): the escalation workflow's handler indexes into it.
SEND_KEY_WITHOUT_SLASH = ("email_event", {"send_key": "no-slashes", "event": "bounce", "reason": "mailbox full"})


async def with_escalation(dev_env, accord) -> tuple[str, WorkflowHandle]:
    wf = await accord.start(unique(DATA / "screening.yaml"))
    await accord.escalate(wf, EscalationRequest(reason="Kick-off slipping", level=1, channel=Channel.api))
    state = await state_where(accord, wf, lambda s: s.escalations and s.escalations[0].workflow_id)
    accord.started.append(state.escalations[0].workflow_id)  # recorded for replay, terminated afterwards
    return wf, dev_env.client.get_workflow_handle(state.escalations[0].workflow_id)


async def still_answers(accord, wf: str, child: WorkflowHandle) -> None:
    """An update sent after the signals is handled after them: its answer shows they were taken in."""
    done = await asyncio.wait_for(accord.complete_task(wf, TaskCompletion(
        task_id="legal", actor="bo", result="cleared", channel=Channel.api)), ANSWER_WITHIN)
    assert "marked done" in done.message
    ack = await asyncio.wait_for(
        child.execute_update("acknowledge", Acknowledge(actor="bo"), result_type=UpdateResult), ANSWER_WITHIN)
    assert "Acknowledged" in ack.message


async def failures_after(signals: list[tuple[WorkflowHandle, tuple[str, Any]]]) -> dict[str, list[str]]:
    """Send the signals; give them a moment (a failing task shows within milliseconds); the failed tasks."""
    for handle, (name, arg) in signals:
        await handle.signal(name, arg)
    await asyncio.sleep(1)
    return {h.id: await failed_workflow_tasks(h) for h in {h.id: h for h, _ in signals}.values()}


async def test_malformed_signals_never_fail_a_workflow_task(dev_env, settings, accord_for):
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf, child = await with_escalation(dev_env, accord)
        await state_where(accord, wf, lambda s: len(s.tasks) == 7)
        failed = await failures_after([(h, signal) for h in (accord.handle(wf), child) for signal in BAD_SIGNALS]
                                      + [(accord.handle(wf), SEND_KEY_WITHOUT_SLASH)])
        assert failed == {wf: [], child.id: []}
        await still_answers(accord, wf, child)
        state = await accord.state(wf)
        failed = {wf: await failed_workflow_tasks(accord.handle(wf)), child.id: await failed_workflow_tasks(child)}
    assert failed == {wf: [], child.id: []}
    # A bounce for someone who is not a stakeholder is kept in the record; nobody real is marked;
    # a send key Accord never makes (no "/") is ignored.
    assert state.unreachable == ["mallory"]
    assert state.email_delays == {}, "no email of this run was named: nothing is shown as delayed"


async def test_escalation_survives_an_email_event_with_a_foreign_send_key(dev_env, settings, accord_for):
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf, child = await with_escalation(dev_env, accord)
        failed = await failures_after([(child, SEND_KEY_WITHOUT_SLASH)])
        assert failed == {child.id: []}
        await still_answers(accord, wf, child)


async def test_signals_with_a_null_argument_are_dropped(dev_env, settings, accord_for):
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf, child = await with_escalation(dev_env, accord)
        partnership = accord.handle(wf)
        failed = await failures_after([
            (partnership, ("email_event", None)), (partnership, ("escalation_changed", None)),
            (partnership, ("email_delayed", None)), (child, ("email_delayed", None)),
            (child, ("email_event", None)), (child, ("request_withdrawal", None)),
        ])
        assert failed == {wf: [], child.id: []}
        await still_answers(accord, wf, child)
