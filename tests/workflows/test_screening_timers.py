"""Screening on the real time-skipping server: weeks of deadlines pass in milliseconds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accord.client import ActionRefused
from accord.models import (
    AlignmentOverride,
    ApprovalOutcome,
    Channel,
    DecisionInput,
    DecisionKind,
    Health,
    Stage,
)
from tests.support.helpers import (
    ALIGNED,
    DIVERGENT,
    pass_checklist,
    state_where,
    submit_statements,
    unique,
)
from tests.support.mail_helpers import subjects_to
from tests.support.paths import DATA
from tests.support.workers import running_worker
from workflows.partnership import PartnershipWorkflow

REQUIRED = {"capability": "arun", "legal": "bo"}



async def test_item_overdue_by_weeks_is_reminded_then_escalated(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        # Legal review is due after 2 weeks; let 4 weeks pass with nobody acting.
        await ts_env.sleep(timedelta(weeks=4))
        state = await accord.state(wf)

    legal = state.tasks["legal"]
    assert legal.is_open and legal.overdue and legal.escalated
    # Policy: reminders 3d and 1d before the deadline, then every 2d once overdue, escalation after 1w.
    offsets = [round((sent - legal.due_at).total_seconds() / 86400) for sent in legal.reminders_sent]
    assert offsets == [-3, -1, 0, 2, 4, 6]
    escalation = next(e for e in state.escalations if e.subject == "legal")
    assert escalation.trigger == "overdue"
    assert round((escalation.opened_at - legal.due_at).total_seconds() / 86400) == 7
    # It runs as its own workflow: opened at level 1, nobody acknowledged within the
    # level's 2 days, so it climbed to level 2 (Sponsors) and told the parent.
    assert escalation.workflow_id and escalation.status == "open"
    opened = next(e for e in state.timeline if e.kind == "escalation_opened" and e.data["escalation"] == escalation.id)
    assert opened.data["level"] == 1
    climbed = next(e for e in state.timeline if e.kind == "escalation_changed" and e.data["escalation"] == escalation.id)
    assert climbed.data["level"] == 2
    assert round((climbed.at - escalation.opened_at).total_seconds() / 86400) == 2
    assert state.health == Health.escalated
    # Bo (the owner) got the assignment, 2 reminders and 4 overdue notices for the legal review;
    # level 1 of the ladder (Arun and Bo) was told of the escalation.
    bo_mail = [s for s in subjects_to(settings, "bo@beta.example") if "Legal" in s]
    assert [s.split(":")[0] for s in bo_mail].count("Reminder") == 2
    assert [s.split(":")[0] for s in bo_mail].count("Overdue") == 4
    # Each subject says which escalation, what it is about and which partnership.
    what = f"{escalation.id}: Legal and compliance review is overdue ({state.name})"
    assert f"Escalated to Delivery leads: {what}" in subjects_to(settings, "arun@acme.example")
    assert f"Escalation reached Sponsors: {what}" in subjects_to(settings, "alice@acme.example")
    assert state.stage == Stage.screening  # nothing proceeds while a required item is open


async def test_alignment_blocks_then_passes_after_revision_and_go_moves_stage(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await pass_checklist(accord, wf, REQUIRED)
        await submit_statements(accord, wf, {**ALIGNED, "bo": DIVERGENT})
        state = await state_where(accord, wf, lambda s: any(e.trigger == "alignment" for e in s.escalations))
        assert state.alignment.result.blocked
        assert state.alignment.result.divergence > 0.75
        assert state.stage == Stage.screening
        assert "go-no-go" not in state.approvals, "the go/no-go must wait for alignment"
        assert any("diverge" in s for s in subjects_to(settings, "bo@beta.example"))

        # A second statement is refused unless the check is blocked; Bo revises while blocked.
        await submit_statements(accord, wf, {"bo": ALIGNED["bo"]})
        state = await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        assert not state.alignment.result.blocked
        assert state.alignment.statements["bo"].revision == 2
        with pytest.raises(ActionRefused, match="already recorded|closed"):
            await submit_statements(accord, wf, {"alice": "A third opinion."})

        for who in ("alice", "bea"):
            await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=who, decision=DecisionKind.approve,
                                                  channel=Channel.api))
        state = await state_where(accord, wf, lambda s: s.stage == Stage.mou)
    assert state.approvals["go-no-go"].outcome == ApprovalOutcome.approved
    assert [e.kind for e in state.timeline if e.kind == "stage_changed"] == ["stage_changed"]


async def test_override_lets_screening_proceed_and_no_go_rejects(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await pass_checklist(accord, wf, REQUIRED)
        await submit_statements(accord, wf, {**ALIGNED, "bo": DIVERGENT})
        await state_where(accord, wf, lambda s: s.alignment.result is not None and s.alignment.result.blocked)

        with pytest.raises(ActionRefused, match="Only alice, bea"):
            await accord.override_alignment(wf, AlignmentOverride(actor="arun", reason="trust me"))
        with pytest.raises(ActionRefused, match="needs a reason"):
            await accord.override_alignment(wf, AlignmentOverride(actor="alice", reason="  "))
        await accord.override_alignment(wf, AlignmentOverride(actor="alice", reason="Agreed wording at kickoff"))
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)

        with pytest.raises(ActionRefused, match="reason"):
            await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="bea", decision=DecisionKind.reject))
        await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="bea", decision=DecisionKind.reject,
                                              comment="Capacity is not there this year"))
        result = await ts_env.client.get_workflow_handle_for(PartnershipWorkflow.run, wf).result()
        # A late change of mind finds the partnership ended (asked before the workflow has closed the
        # approval, the same decision is refused as "already decided" instead: also a refusal).
        with pytest.raises(ActionRefused, match="has ended"):
            await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="bea", decision=DecisionKind.approve))
    assert result.stage == Stage.rejected
    assert result.alignment.overridden_by == "alice"
    decision = result.approvals["go-no-go"].decisions[0]
    assert (decision.actor, decision.decision, decision.channel) == ("bea", DecisionKind.reject, Channel.temporal)


async def test_go_no_go_past_deadline_is_escalated(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await pass_checklist(accord, wf, REQUIRED)
        await submit_statements(accord, wf, ALIGNED)
        opened = await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="alice", decision=DecisionKind.approve))
        await ts_env.sleep(timedelta(weeks=3))
        state = await accord.state(wf)
    approval = state.approvals["go-no-go"]
    assert approval.outcome == ApprovalOutcome.pending
    assert approval.deadline_at == opened.approvals["go-no-go"].deadline_at
    escalation = next(e for e in state.escalations if e.subject == "go-no-go")
    assert round((escalation.opened_at - approval.deadline_at).total_seconds() / 86400) == 7
    # Only Bea, who has not decided, is chased.
    assert any(s.startswith("Overdue") for s in subjects_to(settings, "bea@beta.example"))
    assert not any(s.startswith(("Reminder", "Overdue")) and "Go/no-go" in s
                   for s in subjects_to(settings, "alice@acme.example"))
