"""Rules 2 (issue 13): what people see is true after every kind of action.

The status line (``state.detail``: ``accord status``, the pages, ``accord watch``, the report)
and the Temporal UI's current details are derived from the state whenever it changes, never
left from an earlier step; an automatic escalation whose cause is gone closes by itself when
nobody took it on (and everyone it paged is told), or asks its level to confirm when somebody
did; a declined partnership is "declined", not "done". Each test fails on the rules before
(rules 0 and 1 keep their behaviour: tests/test_upgrade.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from accord import search_attributes as sa
from accord.client import ActionRefused
from accord.mail import outbox
from accord.models import (
    Acknowledge,
    Channel,
    ConfirmClearing,
    DecisionInput,
    DecisionKind,
    EscalationStatus,
    Health,
    Stage,
    TaskCompletion,
)
from tests.conftest import DATA, running_worker
from tests.helpers import (
    ALIGNED,
    DIVERGENT,
    eventually,
    state_where,
    submit_statements,
    unique,
)

REQUIRED = {"capability": "arun", "legal": "bo"}


def subjects_to(settings, address: str, containing: str = "") -> list[str]:
    return [m["Subject"].strip() for _, m in outbox.messages(settings.outbox_dir)
            if address in m["To"] and containing in m["Subject"]]


async def ui_details(env, wf: str) -> str:
    """What the Temporal UI shows as the workflow's current details."""
    return (await env.client.get_workflow_handle(wf).query("__temporal_workflow_metadata")).current_details


async def decide(accord, wf: str, who: str, decision: DecisionKind = DecisionKind.approve, comment: str = "") -> None:
    await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=who, decision=decision, comment=comment,
                                          channel=Channel.api))


async def test_the_status_line_follows_every_action_and_a_cleared_alignment_escalation_closes(dev_env, settings, accord_for):
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))

        # Bo's statement diverges: blocked, at the latest score, and escalated to the delivery leads.
        await submit_statements(accord, wf, {**ALIGNED, "bo": DIVERGENT})
        blocked = await state_where(accord, wf, lambda s: any(e.workflow_id for e in s.escalations), timeout=60)
        score = blocked.alignment.result
        assert blocked.detail.startswith(f"Blocked: goal statements diverge by {score.divergence:.2f} "
                                         f"(threshold {score.threshold:.2f})")
        assert "escalated: esc-1 (goal statements diverge), level 1 of 2: Delivery leads" in blocked.detail
        assert blocked.health == Health.escalated
        assert blocked.detail in await ui_details(dev_env, wf)
        leads_told = "Escalated to Delivery leads: esc-1: goal statements diverge"

        async def leads_paged() -> None:
            for who in ("arun", "bo"):
                assert any(s.startswith(leads_told) for s in subjects_to(settings, f"{who}@")), who
        await eventually(leads_paged, timeout=60)

        # Bo revises: the statements converge. Nothing else changed stage, yet the line says so at
        # once, and the escalation nobody took on closes with its cause; the leads are told.
        await submit_statements(accord, wf, {"bo": ALIGNED["bo"]})
        cleared = await state_where(accord, wf, lambda s: s.escalations[0].status == EscalationStatus.cleared,
                                    timeout=60)
        assert cleared.stage == Stage.screening
        assert cleared.detail.startswith("Screening: waiting on Capability audit (Arun Acme, due "), cleared.detail
        assert "Blocked" not in cleared.detail and "escalated" not in cleared.detail
        assert cleared.health == Health.on_track
        assert cleared.detail in await ui_details(dev_env, wf)
        assert cleared.escalations[0].closed_cause.startswith("cleared: its cause is gone: the goal statements now "
                                                              "diverge by")
        escalation = await accord.escalation(wf, "esc-1")
        assert escalation.closed_by == "accord" and escalation.clearing is not None

        async def leads_told_it_closed() -> None:
            for who in ("arun", "bo"):
                assert len(subjects_to(settings, f"{who}@", "Closed, its cause is gone: esc-1")) == 1, who
        await eventually(leads_told_it_closed, timeout=60)
        assert subjects_to(settings, "alice@", "esc-1") == [], "the sponsors were never paged: nothing to tell them"

        # The checklist done, the go/no-go opens; each decision moves the line on.
        for task_id, owner in REQUIRED.items():
            await accord.complete_task(wf, TaskCompletion(task_id=task_id, actor=owner, result="done", channel=Channel.api))
        opened = await state_where(accord, wf, lambda s: "go-no-go" in s.approvals, timeout=60)
        assert "[go-no-go]: waiting on Alice Acme, Bea Beta until " in opened.detail, opened.detail
        await decide(accord, wf, "alice")
        half = await state_where(accord, wf, lambda s: "waiting on Bea Beta until" in s.detail, timeout=60)
        assert "Alice" not in half.detail
        assert half.detail in await ui_details(dev_env, wf)

        # Bea says no: the partnership is declined, not "done".
        await decide(accord, wf, "bea", DecisionKind.reject, "Not this year")
        declined = await state_where(accord, wf, lambda s: s.stage.is_final, timeout=60)
        assert declined.stage == Stage.rejected and declined.health == Health.declined
        assert declined.detail == "Declined: the go/no-go decision ended rejected (Bea Beta: Not this year)"
        described = await dev_env.client.get_workflow_handle(wf).describe()
        assert described.typed_search_attributes.get(sa.STATUS) == "declined"


async def test_an_acknowledged_escalation_asks_its_level_before_it_closes(ts_env, settings, accord_for):
    """Bo's legal review goes overdue and is escalated; Bo acknowledges it (owns it), then does the
    review: the escalation is not closed under Bo's feet, the current level is asked to confirm."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await submit_statements(accord, wf, ALIGNED)
        await accord.complete_task(wf, TaskCompletion(task_id="capability", actor="arun", result="done", channel=Channel.api))
        await ts_env.sleep(timedelta(weeks=3, days=1))  # due at 2w, escalated a week later, at level 1
        escalated = await state_where(accord, wf, lambda s: any(e.subject == "legal" for e in s.escalations))
        record = next(e for e in escalated.escalations if e.subject == "legal")
        assert escalated.health == Health.escalated
        await accord.acknowledge(wf, record.id, Acknowledge(actor="bo", note="On it", channel=Channel.api))
        level = (await accord.escalation(wf, record.id)).level
        with pytest.raises(ActionRefused, match="Nobody asked to confirm this escalation's closing"):
            await accord.confirm_clearing(wf, record.id, ConfirmClearing(actor="bo", channel=Channel.api))

        await accord.complete_task(wf, TaskCompletion(task_id="legal", actor="bo", result="signed off", channel=Channel.api))

        async def asked():
            escalation = await accord.escalation(wf, record.id)
            assert escalation.clearing is not None and escalation.clearing.pending, escalation.clearing
            return escalation
        escalation = await eventually(asked)
        assert escalation.status == EscalationStatus.acknowledged, "not closed under the feet of whoever owns it"
        contacts = escalation.clearing.asked
        assert contacts and escalation.level == level
        state = await accord.state(wf)
        assert "its cause is gone ('Legal and compliance review' was done by Bo Beta on" in state.detail, state.detail

        async def level_asked():
            for who in contacts:
                assert len(subjects_to(settings, f"{who}@", f"Can it close? {record.id}:")) == 1, who
        await eventually(level_asked)

        # One of the level confirms: it closes as cleared, and everyone it paged hears so.
        await accord.confirm_clearing(wf, record.id, ConfirmClearing(actor=contacts[0], note="Done", channel=Channel.api))
        final = await eventually(lambda: _closed(accord, wf, record.id))
        assert final.status == EscalationStatus.cleared and final.closed_by == contacts[0]
        assert "its cause is gone: 'Legal and compliance review' was done by Bo Beta" in final.closed_cause
        paged = {who for change in final.levels if change.notified_at for who in change.contacts}

        async def told():
            for who in paged:
                assert len(subjects_to(settings, f"{who}@", f"Closed, its cause is gone: {record.id}:")) == 1, who
        await eventually(told)
        state = await state_where(accord, wf, lambda s: not s.open_escalations())
        assert "escalated" not in state.detail and state.health != Health.escalated


async def _closed(accord, wf: str, escalation_id: str):
    escalation = await accord.escalation(wf, escalation_id)
    assert escalation.status.is_final, escalation.status
    return escalation
