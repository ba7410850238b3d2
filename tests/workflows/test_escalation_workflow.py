"""The escalation workflow on the time-skipping server: the ladder's timers, emails to each
level, the hand-over to ops, acknowledgement, the CARE record, resolution and withdrawal.

The escalation runs as a child of a tiny parent defined here, which starts it the way the
partnership will (``ParentClosePolicy.ABANDON``) and records the ``escalation_changed``
signals it gets back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Replayer, Worker
from temporalio.workflow import ParentClosePolicy

import worker as accord_worker
from accord.config import Settings
from accord.mail import outbox
from accord.models import (
    Acknowledge,
    CareEntry,
    Channel,
    EscalationChanged,
    EscalationInput,
    EscalationState,
    EscalationStatus,
    Payload,
    Resolve,
    Withdraw,
)
from definitions.schema import EscalationLevel, PartnershipDefinition
from tests.support.helpers import eventually, unique
from tests.support.paths import DATA
from workflows.escalation import (
    CHANGED_SIGNAL,
    ESCALATION_WORKFLOWS,
    EscalationWorkflow,
    escalation_workflow_id,
)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


# ------------------------------------------------------------------ a parent for the tests


class ParentJob(Payload):
    definition: PartnershipDefinition
    child_id: str
    level: int = 1


# Not sandboxed: this test module imports pytest and the fixtures, which the sandbox would
# re-import for every run; the parent only records signals, so it has nothing to protect.
@workflow.defn(name="EscalationTestParent", sandboxed=False)
class Parent:
    def __init__(self) -> None:
        self.changes: list[EscalationChanged] = []

    @workflow.run
    async def run(self, job: ParentJob) -> list[EscalationChanged]:
        # How the partnership raises one: the record's facts, its own id for the signals back,
        # and ABANDON so the escalation outlives the parent's continue-as-new.
        await workflow.start_child_workflow(
            EscalationWorkflow.run,
            EscalationInput(
                partnership_workflow_id=workflow.info().workflow_id,
                definition=job.definition,
                id="esc-1",
                trigger="red_status",
                subject="weekly-status",
                reason="Beta reported RED: the data-sharing agreement is stuck in legal",
                level=job.level,
                raised_by="accord",
                channel=Channel.temporal,
                opened_at=workflow.now(),
            ),
            id=job.child_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary="Escalation esc-1",
        )
        await workflow.wait_condition(lambda: any(c.status.is_final for c in self.changes))
        return self.changes

    @workflow.signal(name=CHANGED_SIGNAL)
    def escalation_changed(self, change: EscalationChanged) -> None:
        self.changes.append(change)

    @workflow.query
    def seen(self) -> list[EscalationChanged]:
        return self.changes


# ------------------------------------------------------------------ helpers


def definition() -> PartnershipDefinition:
    d = unique(DATA / "mou.yaml")
    d.escalation.ladder = [
        EscalationLevel(name="Leads", contacts=["amir", "bo"], respond_within="2d"),
        EscalationLevel(name="Sponsors", contacts=["alice"], respond_within="5d"),
        EscalationLevel(name="Executives", contacts=["bea"], respond_within="1w"),
    ]
    return d


class Run:
    def __init__(self, client: Client, settings: Settings, parent: WorkflowHandle, child: WorkflowHandle):
        self.client, self.settings, self.parent, self.child = client, settings, parent, child

    async def state(self) -> EscalationState:
        return await self.child.query(EscalationWorkflow.state)

    async def state_where(self, predicate, what: str = "") -> EscalationState:
        async def check() -> EscalationState:
            state = await self.state()
            assert predicate(state), f"not reached: {what}; level={state.level} status={state.status}"
            return state

        return await eventually(check)

    async def signals(self) -> list[tuple[int, EscalationStatus, bool]]:
        return [(c.level, c.status, c.with_ops) for c in await self.parent.query(Parent.seen)]

    def mail(self) -> list[tuple[str, str]]:
        """(recipient address, subject) of every email, oldest first."""
        return [(m["To"].addresses[0].addr_spec, m["Subject"]) for _, m in outbox.messages(self.settings.outbox_dir)]

    async def update(self, method, arg):
        return await self.child.execute_update(method, arg)


@asynccontextmanager
async def escalation(env, settings: Settings, level: int = 1) -> AsyncIterator[Run]:
    async with Worker(
        env.client,
        task_queue=settings.task_queue,
        workflows=[Parent, *ESCALATION_WORKFLOWS],
        activities=accord_worker.activities_for(settings),
    ):
        d = definition()
        parent_id = f"partnership-{d.id}"
        child_id = escalation_workflow_id(parent_id, uuid.uuid4().hex, "esc-1")
        parent = await env.client.start_workflow(
            Parent.run, ParentJob(definition=d, child_id=child_id, level=level), id=parent_id, task_queue=settings.task_queue
        )
        run = Run(env.client, settings, parent, env.client.get_workflow_handle_for(EscalationWorkflow.run, child_id))

        async def started() -> None:
            try:
                await run.state()
            except RPCError as exc:  # the parent has not started it yet
                raise AssertionError(str(exc)) from None

        await eventually(started)
        yield run


async def refused(call, match: str) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await call
    assert isinstance(info.value.cause, ApplicationError)
    assert match in info.value.cause.message, info.value.cause.message


async def replays(handle: WorkflowHandle) -> None:
    """The run's history replays against today's code (determinism)."""
    history = await handle.fetch_history()
    await Replayer(workflows=ESCALATION_WORKFLOWS, data_converter=pydantic_data_converter).replay_workflow(history)


def days(delta: timedelta) -> float:
    return round(delta / DAY, 3)


# ------------------------------------------------------------------ the ladder


async def test_climbs_each_level_in_time_then_tells_ops_once_and_stays_open(ts_env, settings):
    async with escalation(ts_env, settings) as run:
        state = await run.state_where(lambda s: s.levels[0].notified_at is not None, "level 1 told")
        assert (state.level, state.status, state.with_ops) == (1, EscalationStatus.open, False)
        # Raised under rules 0 (the parent passes none): the subjects it had then.
        assert sorted(run.mail()) == [
            ("amir@acme.example", f"Escalation (Leads): {state.partnership}"),
            ("bo@beta.example", f"Escalation (Leads): {state.partnership}"),
        ]
        text = outbox.body(outbox.messages(settings.outbox_dir)[0][1], "plain")
        assert "Beta reported RED" in text and "If nobody acts: it climbs to the next level, Sponsors." in text
        opened = state.levels[0].at

        await ts_env.sleep(DAY + 23 * HOUR)
        assert len((await run.state()).levels) == 1 and len(run.mail()) == 2, "no climb before 2d"

        await ts_env.sleep(2 * HOUR)
        state = await run.state_where(lambda s: s.level == 2 and s.levels[-1].notified_at, "level 2 told")
        assert days(state.levels[1].at - opened) == 2
        assert state.levels[1].cause == "no response within 2d"
        assert run.mail()[-1] == ("alice@acme.example", f"Escalation (Sponsors): {state.partnership}")

        await ts_env.sleep(5 * DAY)
        state = await run.state_where(lambda s: s.level == 3 and s.levels[-1].notified_at, "level 3 told")
        assert days(state.levels[2].at - opened) == 7
        assert state.levels[2].cause == "no response within 5d"
        assert run.mail()[-1] == ("bea@beta.example", f"Escalation (Executives): {state.partnership}")
        assert "ops are told" in outbox.body(outbox.messages(settings.outbox_dir)[-1][1], "plain")

        await ts_env.sleep(1 * timedelta(weeks=1))
        state = await run.state_where(lambda s: s.with_ops and s.levels[-1].notified_at, "ops told")
        assert days(state.levels[3].at - opened) == 14
        assert (state.levels[3].level, state.levels[3].name, state.levels[3].cause) == (None, "ops", "no response within 1w")
        assert run.mail()[-1][0] == "ops@accord.example"
        assert "past the last level" in run.mail()[-1][1]

        await ts_env.sleep(timedelta(weeks=8))
        state = await run.state()
        assert state.status == EscalationStatus.open and state.level == 3 and len(state.levels) == 4
        assert [to for to, _ in run.mail()].count("ops@accord.example") == 1, "ops are told once"
        assert len(run.mail()) == 5  # 2 leads, 1 sponsor, 1 executive, 1 ops
        assert (await run.child.describe()).status == WorkflowExecutionStatus.RUNNING
        assert await run.signals() == [
            (2, EscalationStatus.open, False),
            (3, EscalationStatus.open, False),
            (3, EscalationStatus.open, True),
        ]

        # Withdrawing needs a reason; with one, it ends the escalation and the parent hears of it.
        await refused(run.update(EscalationWorkflow.withdraw, Withdraw(actor="ops", reason="  ")), "reason")
        result = await run.update(EscalationWorkflow.withdraw, Withdraw(actor="ops", reason="Superseded by esc-2", channel=Channel.cli))
        assert "withdrawn" in result.message
        final = await run.child.result()
        assert (final.status, final.withdrawn_reason, final.closed_by, final.closed_channel) == (
            EscalationStatus.withdrawn, "Superseded by esc-2", "ops", Channel.cli)
        changes = await run.parent.result()
        assert (changes[-1].level, changes[-1].status, changes[-1].cause) == (
            3, EscalationStatus.withdrawn, "withdrawn by ops: Superseded by esc-2")
        await replays(run.child)


async def test_starts_at_the_level_its_trigger_names(ts_env, settings):
    async with escalation(ts_env, settings, level=2) as run:
        state = await run.state_where(lambda s: s.levels[0].notified_at is not None, "level 2 told")
        assert state.level == 2 and [to for to, _ in run.mail()] == ["alice@acme.example"]
        await ts_env.sleep(5 * DAY + HOUR)
        state = await run.state_where(lambda s: s.level == 3, "level 3")
        assert days(state.levels[1].at - state.levels[0].at) == 5
        await run.update(EscalationWorkflow.withdraw, Withdraw(actor="alice", reason="Sorted out at the standup"))
        await run.child.result()


async def test_acknowledging_at_level_two_stops_the_climb(ts_env, settings):
    async with escalation(ts_env, settings) as run:
        await ts_env.sleep(2 * DAY + HOUR)
        await run.state_where(lambda s: s.level == 2 and s.levels[-1].notified_at, "level 2 told")

        result = await run.update(EscalationWorkflow.acknowledge, Acknowledge(actor="alice", note="On it", channel=Channel.web))
        assert "stops climbing" in result.message
        await refused(run.update(EscalationWorkflow.acknowledge, Acknowledge(actor="alice")), "already acknowledged")
        await run.update(EscalationWorkflow.acknowledge, Acknowledge(actor="bea"))

        await ts_env.sleep(timedelta(weeks=6))
        state = await run.state()
        assert (state.status, state.level, state.with_ops, len(state.levels)) == (EscalationStatus.acknowledged, 2, False, 2)
        assert [(a.actor, a.note, a.level, a.channel) for a in state.acknowledgements] == [
            ("alice", "On it", 2, Channel.web), ("bea", "", 2, Channel.temporal)]
        sent = [to for to, _ in run.mail()]
        assert sorted(sent[:2]) == ["amir@acme.example", "bo@beta.example"]
        assert sent[2:] == ["alice@acme.example"], "nobody above level 2 and no ops were emailed"
        assert await run.signals() == [(2, EscalationStatus.open, False), (2, EscalationStatus.acknowledged, False)]
        await run.update(EscalationWorkflow.withdraw, Withdraw(actor="alice", reason="Handled in the quarterly review"))
        await run.child.result()
        await replays(run.child)


async def test_asked_to_report_again_it_tells_the_partnership_its_level_and_status_once_more(ts_env, settings):
    """A partnership run reset to before it started this escalation adopts it and asks it to
    report again (workflows/partnership/escalations.py): what the reset run may have missed."""
    async with escalation(ts_env, settings) as run:
        await run.update(EscalationWorkflow.acknowledge, Acknowledge(actor="amir"))
        acknowledged = (1, EscalationStatus.acknowledged, False)

        async def seen(expected) -> None:
            assert await run.signals() == expected

        await eventually(lambda: seen([acknowledged]))
        await run.child.signal(EscalationWorkflow.report_again)
        await eventually(lambda: seen([acknowledged, acknowledged]))
        assert (await run.state()).status == EscalationStatus.acknowledged  # nothing else changed
        await run.update(EscalationWorkflow.withdraw, Withdraw(actor="alice", reason="Handled in the quarterly review"))
        await run.child.result()
        await replays(run.child)


# ------------------------------------------------------------------ CARE and resolution


async def test_the_care_record_then_resolution_ends_it_with_the_record_in_the_result(ts_env, settings):
    async with escalation(ts_env, settings) as run:
        await run.update(EscalationWorkflow.acknowledge, Acknowledge(actor="amir"))

        # The partnership is told the position as it is when the escalation next reports
        # (changes made meanwhile arrive as one): wait until it has heard of the acknowledgement.
        async def parent_heard_acknowledged() -> None:
            assert (1, EscalationStatus.acknowledged, False) in await run.signals()
        await eventually(parent_heard_acknowledged)
        await refused(
            run.update(EscalationWorkflow.resolve, Resolve(actor="alice", resolution="Agreed")),
            "Record the CARE steps first: clarify, acknowledge (acme), acknowledge (beta), reframe, explore missing",
        )
        care = EscalationWorkflow.record_care
        await run.update(care, CareEntry(actor="amir", step="clarify", text="The DSA has waited 3 weeks in Beta legal"))
        await run.update(care, CareEntry(actor="bo", step="clarify", text="The DSA has waited 3 weeks in Beta's legal review"))
        await run.update(care, CareEntry(actor="amir", step="acknowledge", text="We need the data to start the pilot"))
        await run.update(care, CareEntry(actor="ops", step="acknowledge", party="beta", text="Legal is short-staffed"))
        await run.update(care, CareEntry(actor="alice", step="reframe", text="Both want residents served by June"))
        result = await run.update(care, CareEntry(actor="bea", step="explore", text="Pilot on synthetic data; DSA by May 1",
                                                  channel=Channel.email_link))
        assert "complete" in result.message

        # An amendment is the amended definition itself (it goes through approval: tests/workflows/test_amendments.py);
        # free text is refused, saying why.
        await refused(
            run.update(EscalationWorkflow.resolve, Resolve(actor="alice", resolution="Pilot starts on synthetic data",
                                                           amendment="Clause 7: DSA due May 1")),
            "The amended definition is not valid: amendment:1: id: required field is missing",
        )
        resolved = await run.update(
            EscalationWorkflow.resolve,
            Resolve(actor="alice", resolution="Pilot starts on synthetic data", channel=Channel.web),
        )
        assert resolved.message == "The escalation is resolved."
        final: EscalationState = await run.child.result()
        # Inside the worker's lifetime: the parent still has to handle the final signal.
        changes = await run.parent.result()

    assert (final.status, final.closed_by, final.closed_channel) == (EscalationStatus.resolved, "alice", Channel.web)
    assert final.resolution == "Pilot starts on synthetic data"
    assert final.proposed_amendment is None
    c = final.care
    assert (c.clarify.text, c.clarify.by) == ("The DSA has waited 3 weeks in Beta's legal review", "bo")
    assert [(s.step, s.note.by) for s in c.superseded] == [("clarify", "amir")], "the revised entry is kept"
    assert {p: (n.by, n.text) for p, n in c.acknowledge.items()} == {
        "acme": ("amir", "We need the data to start the pilot"), "beta": ("ops", "Legal is short-staffed")}
    assert (c.reframe.by, c.explore.by, c.explore.channel) == ("alice", "bea", Channel.email_link)
    assert all(n.at >= final.opened_at for n in (c.clarify, c.reframe, c.explore, *c.acknowledge.values()))
    assert final.closed_at is not None and final.closed_at >= c.explore.at
    assert [(ch.level, ch.status) for ch in changes] == [(1, EscalationStatus.acknowledged), (1, EscalationStatus.resolved)]
    await replays(run.child)


async def test_two_people_resolving_at_once_resolve_it_once(ts_env, settings):
    async with escalation(ts_env, settings) as run:
        for actor, step, party in [("amir", "clarify", None), ("amir", "acknowledge", None), ("bo", "acknowledge", None),
                                   ("alice", "reframe", None), ("bea", "explore", None)]:
            await run.update(EscalationWorkflow.record_care, CareEntry(actor=actor, step=step, party=party, text=f"{step} text"))
        outcomes = await asyncio.gather(
            *(run.update(EscalationWorkflow.resolve, Resolve(actor=who, resolution=f"by {who}")) for who in ("alice", "bea")),
            return_exceptions=True,
        )
        assert sum(not isinstance(o, BaseException) for o in outcomes) == 1, outcomes
        assert all(isinstance(o, (WorkflowUpdateFailedError, RPCError)) for o in outcomes if isinstance(o, BaseException))
        final = await run.child.result()
        assert final.status == EscalationStatus.resolved and final.resolution == f"by {final.closed_by}"
        # After the end: nothing more is accepted (the workflow has finished).
        with pytest.raises((WorkflowUpdateFailedError, RPCError)):
            await run.update(EscalationWorkflow.record_care, CareEntry(actor="amir", step="clarify", text="late"))


async def test_invalid_updates_are_refused_without_changing_the_state(ts_env, settings):
    async with escalation(ts_env, settings) as run:
        await run.update(EscalationWorkflow.acknowledge, Acknowledge(actor="bo"))

        async def settled():  # the level's email is out: nothing else changes the state by itself
            state = await run.state()
            assert state.levels[-1].notified_at is not None
            return state
        before = await eventually(settled)
        care = EscalationWorkflow.record_care
        for call, match in [
            (run.update(EscalationWorkflow.acknowledge, Acknowledge(actor="mallory")), "not a stakeholder"),
            (run.update(EscalationWorkflow.acknowledge, Acknowledge(actor="bo")), "already acknowledged"),
            (run.update(EscalationWorkflow.acknowledge, Acknowledge(actor="amir", note="x" * 5001)), "longer than"),
            (run.update(care, CareEntry(actor="mallory", step="clarify", text="hi")), "not a stakeholder"),
            (run.update(care, CareEntry(actor="amir", step="clarify", text="   ")), "clarify text is required"),
            (run.update(care, CareEntry(actor="amir", step="reframe", text="goal", party="acme")), "only for the acknowledge"),
            (run.update(care, CareEntry(actor="amir", step="acknowledge", text="view", party="gamma")), "not a party"),
            (run.update(care, CareEntry(actor="ops", step="acknowledge", text="view")), "must name the party"),
            (run.update(EscalationWorkflow.resolve, Resolve(actor="alice", resolution="")), "resolution is required"),
            (run.update(EscalationWorkflow.resolve, Resolve(actor="alice", resolution="ok")), "CARE steps first"),
            (run.update(EscalationWorkflow.withdraw, Withdraw(actor="amir", reason="")), "reason"),
            (run.update(EscalationWorkflow.withdraw, Withdraw(actor="mallory", reason="no")), "not a stakeholder"),
            # "accord" withdraws only by the parent's signal, never through an update.
            (run.update(EscalationWorkflow.withdraw, Withdraw(actor="accord", reason="no")), "not a stakeholder"),
        ]:
            await refused(call, match)
        assert (await run.state()) == before
        history = await run.child.fetch_history()
        assert sum(e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events) == 1, \
            "refused updates leave no trace in the history"
        await run.update(EscalationWorkflow.withdraw, Withdraw(actor="bo", reason="Raised by mistake"))
        assert (await run.child.result()).status == EscalationStatus.withdrawn


# ------------------------------------------------------------------ without a parent


async def test_carries_on_when_the_partnership_is_gone_and_the_parent_can_withdraw_by_signal(ts_env, settings):
    async with Worker(ts_env.client, task_queue=settings.task_queue, workflows=ESCALATION_WORKFLOWS,
                      activities=accord_worker.activities_for(settings)):
        d = definition()
        handle = await ts_env.client.start_workflow(
            EscalationWorkflow.run,
            EscalationInput(partnership_workflow_id="partnership-that-never-was", definition=d, id="esc-9",
                            trigger="manual", subject="partnership", reason="Testing", raised_by="ops",
                            opened_at=(await ts_env.get_current_time())),
            id=f"esc-{uuid.uuid4().hex[:8]}", task_queue=settings.task_queue,
        )
        await ts_env.sleep(2 * DAY + HOUR)

        async def at_level_two() -> None:
            state = await handle.query(EscalationWorkflow.state)
            assert state.level == 2 and state.levels[-1].notified_at is not None

        await eventually(at_level_two)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

        await handle.signal(EscalationWorkflow.request_withdrawal, Withdraw(actor="ops", reason=""))  # ignored
        await ts_env.sleep(HOUR)
        assert (await handle.query(EscalationWorkflow.state)).status == EscalationStatus.open
        await handle.signal(EscalationWorkflow.request_withdrawal, Withdraw(actor="accord", reason="The task was completed"))
        final = await handle.result()
    assert (final.status, final.withdrawn_reason, final.closed_by) == (EscalationStatus.withdrawn, "The task was completed", "accord")
    await replays(handle)
