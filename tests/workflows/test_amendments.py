"""Amendments to a running partnership: from a resolution or from `accord amend`, always through approval."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import yaml
from temporalio.client import WorkflowUpdateFailedError

from accord.client import ActionRefused
from accord.models import (
    Acknowledge,
    AmendmentProposal,
    CareEntry,
    Channel,
    EmailEvent,
    EscalationRequest,
    EscalationState,
    MetricObservationInput,
    Resolve,
)
from definitions.loader import parse
from tests.support.helpers import state_where, unique
from tests.support.lifecycle import approve, to_active
from tests.support.paths import DATA
from tests.support.workers import running_worker
from workflows.escalation import EscalationWorkflow
from workflows.partnership import PartnershipWorkflow


def amended_yaml(definition, **weekly) -> str:
    data = definition.model_dump(mode="json", exclude_none=True)
    data["reviews"]["weekly_status"].update(weekly)
    return yaml.safe_dump(data, sort_keys=False)


async def test_a_resolution_with_an_amendment_waits_for_its_approval(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    definition = unique(DATA / "operating.yaml")
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        await to_active(accord, wf)
        await accord.escalate(wf, EscalationRequest(reason="Weekly statuses arrive too late to act on"))
        state = await state_where(accord, wf, lambda s: bool(s.escalations) and s.escalations[0].workflow_id)
        child = ts_env.client.get_workflow_handle_for(EscalationWorkflow.run, state.escalations[0].workflow_id)
        await child.execute_update(EscalationWorkflow.acknowledge, Acknowledge(actor="abe"))
        for step, actor, party in (("clarify", "abe", None), ("acknowledge", "abe", None), ("acknowledge", "ben", None),
                                   ("reframe", "ben", None), ("explore", "ann", None)):
            await child.execute_update(EscalationWorkflow.record_care,
                                       CareEntry(actor=actor, step=step, text=f"{step} by {actor}", party=party))
        # A broken amendment is refused before anything is recorded.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await child.execute_update(EscalationWorkflow.resolve, Resolve(actor="ann", resolution="Give more time",
                                                                           amendment="id: [unclosed"))
        assert "The amended definition is not valid: amendment:1: (yaml): not valid YAML" in refused.value.cause.message
        await child.execute_update(EscalationWorkflow.resolve, Resolve(
            actor="ann", resolution="Give people three days for their status", amendment=amended_yaml(definition, inputs_due="3d")))

        escalation: EscalationState = await child.query(EscalationWorkflow.state)
        assert escalation.status.value == "awaiting_amendment"
        state = await state_where(accord, wf, lambda s: "amendment-1" in s.approvals)
        assert state.amendments[0].status.value == "pending"
        assert state.amendments[0].changes == ["reviews.weekly_status.inputs_due: '2d' -> '3d'"]
        assert str((await accord.definition(wf)).reviews.weekly_status.inputs_due) == "2d", "not before approval"

        await approve(accord, wf, "amendment-1")
        state = await state_where(accord, wf, lambda s: s.amendments[0].status.value == "applied")
        assert str((await accord.definition(wf)).reviews.weekly_status.inputs_due) == "3d"
        final = await child.result()
        assert final.status.value == "resolved" and final.amendment_outcome == "approved"
        # The next weekly review already follows the amended definition.
        await ts_env.sleep(timedelta(days=8))
        state = await accord.state(wf)
        newest = max((r for r in state.reviews.values() if r.kind.value == "weekly_status" and r.opened_at),
                     key=lambda r: r.n)
        assert newest.inputs_due_at - newest.scheduled_for == timedelta(days=3)


async def test_a_rejected_amendment_sends_the_escalation_back_to_care(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    definition = unique(DATA / "operating.yaml")
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        await to_active(accord, wf)
        amended = parse(amended_yaml(definition, inputs_due="4d"))
        with pytest.raises(ActionRefused, match="same as the one in force"):
            await accord.propose_amendment(wf, AmendmentProposal(definition=definition, actor="ops", reason="no-op"))
        await accord.propose_amendment(wf, AmendmentProposal(definition=amended, actor="ops", reason="more time"))
        with pytest.raises(ActionRefused, match="one amendment at a time"):
            await accord.propose_amendment(wf, AmendmentProposal(definition=amended, actor="ops", reason="again"))
        await state_where(accord, wf, lambda s: "amendment-1" in s.approvals)
        from accord.models import DecisionInput, DecisionKind

        await accord.decide(wf, DecisionInput(approval_id="amendment-1", actor="ben", decision=DecisionKind.reject,
                                              comment="Two days is enough", channel=Channel.api))
        await state_where(accord, wf, lambda s: s.amendments[0].status.value == "rejected")
        assert str((await accord.definition(wf)).reviews.weekly_status.inputs_due) == "2d"


async def test_updates_and_signals_sent_across_continue_as_new_are_all_kept(dev_env, settings, accord_for):
    """A small history limit makes the workflow continue as new again and again while a
    crowd of updates and signals arrives: every update is answered and recorded, every
    signal recorded, in the run that follows."""
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "operating.yaml"), history_limit=100)
        await to_active(accord, wf)

        async def observe(i: int):
            return await accord.record_metric(wf, MetricObservationInput(metric_id="referrals", value=float(i),
                                                                         actor="abe", channel=Channel.api))

        async def signal(i: int):
            await accord.report_email_event(wf, EmailEvent(send_key=f"{wf}/x/probe/{i}/abe", event="delivered"))

        # Eight at a time: the server admits ten updates in flight per workflow (the client retries
        # beyond that, but a test should not lean on it).
        gate = asyncio.Semaphore(8)

        async def gated(call):
            async with gate:
                return await call

        results = await asyncio.wait_for(
            asyncio.gather(*(gated(observe(i)) for i in range(80)), *(signal(i) for i in range(40))), timeout=120)
        assert all(r.message.startswith("Qualified referrals") for r in results[:80])
        state = await state_where(accord, wf, lambda s: len(s.email_events) == 40, timeout=30)
        assert state.runs >= 3, "the limit should have made it continue as new several times"
        assert sorted(o.value for o in state.metrics["referrals"].observations) == [float(i) for i in range(80)]
        assert sorted(int(e.send_key.split("/")[-2]) for e in state.email_events) == list(range(40))


async def test_closing_archives_the_audit_export_and_ends_the_workflow(ts_env, settings, accord_for):
    from accord.models import CloseRequest, Stage
    from accord.storage import open_storage

    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "operating.yaml"))
        await to_active(accord, wf)
        with pytest.raises(ActionRefused, match="Only ops or ann, ben may close"):
            await accord.close(wf, CloseRequest(actor="abe", reason="done"))
        await accord.close(wf, CloseRequest(actor="ben", reason="Objectives met"))
        final = await ts_env.client.get_workflow_handle(wf).result()
        state = await accord.state(wf)
    assert state.stage == Stage.closed and state.closure_reason == "Objectives met"
    assert not state.open_tasks()
    async with await open_storage(settings) as store:
        archived = await store.get_document(state.archive_hash)
    assert '"format": "accord-audit/1"' in archived and '"closure_reason": "Objectives met"' in archived
    assert final is not None


async def test_closing_withdraws_open_escalations_and_review_actions_are_chased(ts_env, settings, accord_for):
    from accord.models import ActionInput, CloseRequest, ReviewOutcome, Stage, TaskKind

    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "operating.yaml"))
        await to_active(accord, wf)
        await ts_env.sleep(timedelta(days=10))  # weekly review 1 opens at +7d; inputs are due at +9d
        state = await state_where(accord, wf, lambda s: s.reviews["weekly_status-1"].closed_at is not None)
        await accord.record_review_outcome(wf, ReviewOutcome(
            review_id="weekly_status-1", actor="ann", decisions=["Move the standup to Mondays"],
            actions=[ActionInput(title="Send the new invitation", owner="ben", due_in_days=3)], channel=Channel.api))
        state = await accord.state(wf)
        action = state.tasks["action-weekly_status-1-1"]
        assert (action.kind, action.owner, action.is_open) == (TaskKind.action, "ben", True)
        assert state.reviews["weekly_status-1"].decisions == ["Move the standup to Mondays"]

        _, record = await accord.raise_escalation(wf, EscalationRequest(reason="The data feed is late again"))
        await accord.close(wf, CloseRequest(actor="ops", reason="Pilot ended"))
        final = await ts_env.client.get_workflow_handle_for(PartnershipWorkflow.run, wf).result()
        escalation = await ts_env.client.get_workflow_handle_for(EscalationWorkflow.run, record.workflow_id).result()
    assert final.stage == Stage.closed
    assert not final.open_tasks(), "closing waives the open action"
    assert escalation.status.value == "withdrawn"
    assert escalation.withdrawn_reason == "The partnership is closed."
