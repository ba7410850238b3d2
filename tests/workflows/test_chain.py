"""A reset run is the same partnership: it sends no email a second time and adopts the
escalation it finds running (patches ``chain-id-survives-reset`` and
``adopt-running-escalation-child``, workflows/toolkit/chain.py and
workflows/partnership/escalations.py), on the real dev server.

The resets are the ones `accord doctor --fix` and `accord recover` make, of a partnership made
stuck deterministically in the shape of temporalio/sdk-python#1591 (tests/support/stuck_helpers.py):
the reset point lies before the workflow task that took in an update, so the reset run does
again everything from there on (the emails that update leads to, the escalation it raises).
Emails go through the real sendgrid client to tests/support/fake_sendgrid.py, which counts them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import worker as accord_worker
from accord.models import (
    Acknowledge,
    CareEntry,
    EscalationRequest,
    EscalationStatus,
    Resolve,
    Withdraw,
)
from accord.ops import doctor, stuck
from tests.support import stuck_helpers
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.faults import sendgrid_settings
from tests.support.helpers import eventually, state_where
from tests.support.ops_helpers import cli
from tests.support.stuck_helpers import stuck_as, tainted
from workflows.partnership import PartnershipWorkflow


@workflow.defn
class Probe:
    """Says what ``workflow.info()`` names as the run and the chain's first run; continues as new
    ``hops`` times first. Moves on at each ``step``."""

    def __init__(self) -> None:
        self.steps = 0

    @workflow.signal
    def step(self) -> None:
        self.steps += 1

    @workflow.run
    async def run(self, hops: int) -> tuple[str, str]:
        info = workflow.info()
        await workflow.wait_condition(lambda: self.steps >= 1)
        if hops:
            workflow.continue_as_new(hops - 1)
        return info.run_id, info.first_execution_run_id


async def test_a_reset_run_and_a_continued_run_name_the_chains_first_run(dev_env):
    """What workflows/toolkit/chain.py relies on, on this server: ``first_execution_run_id`` is the
    chain's first run in a continued run, in a reset of the first run, and in a reset of a
    continued run."""
    client, queue = dev_env.client, f"probe-{uuid.uuid4().hex[:8]}"

    async def reset_to_first_task(workflow_id: str, run_id: str) -> str:
        async def first_task() -> int:
            events = (await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).events
            done = [e.event_id for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
            assert done, "the first workflow task has not completed yet"
            return done[0]

        point = await eventually(first_task)
        answer = await client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
            namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            reason="test: probe", workflow_task_finish_event_id=point, request_id=str(uuid.uuid4())))
        return answer.run_id

    async def continued(workflow_id: str, first: str) -> str:
        run = (await client.get_workflow_handle(workflow_id).describe()).run_id
        assert run != first, "not continued as new yet"
        return run

    async with Worker(client, task_queue=queue, workflows=[Probe], workflow_runner=UnsandboxedWorkflowRunner()):
        for hops in (0, 1):
            handle = await client.start_workflow(Probe.run, hops, id=f"probe-{hops}-{uuid.uuid4().hex[:8]}",
                                                 task_queue=queue)
            first = handle.result_run_id
            latest = first
            if hops:  # the second run of the chain, continued as new from the first
                await handle.signal(Probe.step)
                latest = await eventually(lambda h=handle, f=first: continued(h.id, f))
            reset_run = await reset_to_first_task(handle.id, latest)
            await client.get_workflow_handle(handle.id).signal(Probe.step)
            run_id, first_of_chain = await client.get_workflow_handle(handle.id, run_id=reset_run).result()
            assert (run_id, first_of_chain) == (reset_run, first) and reset_run not in (first, latest)


@pytest.fixture
def sg() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


def without_chain(send_key: str) -> str:
    """A send key without its chain id (``<workflow id>/<chain id>/<purpose>/<recipient>``): the
    same email to the same person, whichever run chain named it."""
    workflow_id, _chain, rest = send_key.split("/", 2)
    return f"{workflow_id}/{rest}"


def emails_once(sg: FakeSendGrid) -> Counter[str]:
    """Every email the provider accepted, by purpose and recipient; asserts none came twice."""
    accepted = Counter()
    for key, n in sg.accepted_keys().items():
        accepted[without_chain(key)] += n
    assert [k for k, n in accepted.items() if n > 1] == [], accepted
    return accepted


async def emails_asked_after(handle, point: int) -> int:
    """How many emails the reset run asked to send after the reset point, once all have ended."""
    events = list((await handle.fetch_history()).events)
    scheduled = [e.event_id for e in events if e.event_id > point
                 and e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                 and e.activity_task_scheduled_event_attributes.activity_type.name == "send_email"]
    ended = {getattr(e, a).scheduled_event_id for e in events for a in (
        "activity_task_completed_event_attributes", "activity_task_failed_event_attributes") if e.HasField(a)}
    assert set(scheduled) <= ended, f"emails still in flight: {set(scheduled) - ended}"
    return len(scheduled)


async def test_a_reset_by_doctor_fix_sends_each_email_once(dev_env, settings, accord_for, cli_env, sg):
    client = dev_env.client
    settings = sendgrid_settings(settings, sg)
    accord = accord_for(dev_env)
    wf = await tainted(client, accord, settings)
    handle = accord.handle(wf)
    async with stuck_helpers.worker(client, settings, broken=False):
        await handle.signal(PartnershipWorkflow.email_event, stuck_helpers.event())  # the next task replays: stuck
        problem = await stuck_as(client, wf, stuck.Kind.sdk_1591)

        fixed = await cli(["doctor", wf, "--fix", "--yes", *cli_env])
        assert fixed.exit_code == 0, fixed.output
        await state_where(accord, wf, lambda s: s.tasks["legal"].completed_by == "bo", timeout=30)
        # The reset run did again what followed the reset point, emails included ...
        asked = await eventually(lambda: emails_asked_after(handle, problem.reset_event_id), timeout=60, interval=0.2)
        assert asked >= 1
        # ... under the send keys the first run used: the ledger knew them, the provider got none twice.
        emails_once(sg)


async def test_a_reset_past_an_escalation_start_adopts_it_and_it_still_resolves(dev_env, settings, accord_for, sg):
    client = dev_env.client
    settings = sendgrid_settings(settings, sg).model_copy(update={"stuck_task_attempts": 2})
    accord = accord_for(dev_env)
    child: list[str] = []

    async def raised(wf: str) -> None:
        escalation = (await accord.state(wf)).escalations[0]
        child.append(escalation.workflow_id)

    # The update taken in the task the reset goes back before raises an escalation: its child
    # workflow starts after the reset point, and the reset run starts it again.
    escalate = (PartnershipWorkflow.escalate, EscalationRequest(reason="The DSA is blocked", raised_by="ops"), "esc-by-ops")
    wf = await tainted(client, accord, settings, update=escalate, then=raised)
    handle = accord.handle(wf)
    async with stuck_helpers.worker(client, settings, broken=False):
        await handle.signal(PartnershipWorkflow.email_event, stuck_helpers.event())
        problem = await stuck_as(client, wf, stuck.Kind.sdk_1591)
        # While the partnership is stuck, arun acknowledges: the escalation tells the partnership,
        # whose run the reset replaces (the signal comes back, re-applied, before the reset run has
        # the escalation's record again).
        await accord.on_escalation(child[0], "acknowledge", Acknowledge(actor="arun"))
        verdict = await doctor.check(client, problem, accord_worker.WORKFLOWS)
        assert verdict.resettable, verdict.reasons
        assert any("still runs (the new run adopts it)" in r for r in verdict.reasons)

        # The recovery process (accord recover's own code) resets it.
        round_ = await doctor.recover_once(client, accord_worker.WORKFLOWS, doctor.RateLimit(10),
                                           query=stuck.partnerships_on(settings.task_queue),
                                           stuck_activity_after=timedelta(hours=1), task_attempts=2, done=set())
        assert [p.workflow_id for p, _ in round_.reset] == [wf], round_.reported

        # The reset run adopted the running escalation (one record, same workflow, no second one),
        # and knows it is acknowledged.
        def adopted(s) -> bool:
            return any("adopted its running workflow after a reset" in e.detail for e in s.timeline)

        state = await state_where(accord, wf, adopted, timeout=30)
        assert [(e.workflow_id, e.status) for e in state.escalations] == [(child[0], EscalationStatus.acknowledged)]
        runs = [w async for w in client.list_workflows(f"WorkflowId = '{child[0]}'")]
        assert len(runs) == 1 and runs[0].status == WorkflowExecutionStatus.RUNNING

        # The partnership goes on with it: the CARE record, then the resolution, reach the reset run.
        for actor, step, party, text in [("arun", "clarify", None, "The DSA waits in legal"),
                                         ("arun", "acknowledge", None, "We need the data"),
                                         ("bo", "acknowledge", None, "Legal is short-staffed"),
                                         ("alice", "reframe", None, "Both want the pilot by June"),
                                         ("bea", "explore", None, "Pilot on synthetic data")]:
            await accord.on_escalation(child[0], "record_care", CareEntry(actor=actor, step=step, party=party, text=text))
        await accord.on_escalation(child[0], "resolve", Resolve(actor="alice", resolution="Synthetic data first"))
        await state_where(accord, wf, lambda s: [e.status for e in s.escalations] == [EscalationStatus.resolved],
                          timeout=30)
        # It told the partnership before its last workflow task ended: wait for the run's end.
        await client.get_workflow_handle(child[0]).result()
        assert (await client.get_workflow_handle(child[0]).describe()).status == WorkflowExecutionStatus.COMPLETED
        emails_once(sg)


async def test_a_reset_past_an_escalation_that_has_ended_is_refused(dev_env, settings, accord_for, sg):
    """A reset run would start an ended escalation again (a second one under its id, emailing its
    contacts again): doctor's condition 4 refuses it, and says which."""
    client = dev_env.client
    settings = sendgrid_settings(settings, sg)
    accord = accord_for(dev_env)
    child: list[str] = []

    async def raised(wf: str) -> None:
        child.append((await accord.state(wf)).escalations[0].workflow_id)

    escalate = (PartnershipWorkflow.escalate, EscalationRequest(reason="The DSA is blocked", raised_by="ops"), "esc-by-ops")
    wf = await tainted(client, accord, settings, update=escalate, then=raised)
    async with stuck_helpers.worker(client, settings, broken=False):
        await accord.handle(wf).signal(PartnershipWorkflow.email_event, stuck_helpers.event())
        problem = await stuck_as(client, wf, stuck.Kind.sdk_1591)
        await accord.on_escalation(child[0], "withdraw", Withdraw(actor="alice", reason="Sorted out on the phone"))
        await client.get_workflow_handle(child[0]).result()
        verdict = await doctor.check(client, problem, accord_worker.WORKFLOWS)
    assert not verdict.resettable
    assert any(f"started {child[0]}, which has ended (completed)" in r for r in verdict.reasons), verdict.reasons
