"""MOU signature on the time-skipping server: every policy, reminders, deadlines, rounds, delegation."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from accord.client import ActionRefused
from accord.mail import outbox
from accord.models import (
    ApprovalOutcome,
    Channel,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    MouRevision,
    Stage,
)
from accord.storage import open_storage
from definitions.schema import ApprovalPolicy, OnTimeout
from tests.support.helpers import eventually, state_where, unique
from tests.support.lifecycle import to_mou_stage
from tests.support.paths import DATA
from tests.support.workers import running_worker


def launched_after_signature(state) -> bool:
    """The signed MOU moved the partnership to launch (which these definitions pass straight through)."""
    return any(e.kind == "stage_changed" and e.detail.startswith("mou -> launch") for e in state.timeline)


DAY = 86400


def mou_definition(policy: ApprovalPolicy, quorum: int | None = None, on_timeout: OnTimeout = OnTimeout.escalate):
    definition = unique(DATA / "mou.yaml")
    definition.mou.policy = policy
    definition.mou.quorum = quorum
    definition.mou.on_timeout = on_timeout
    return definition




async def sign(accord, wf, *who, decision=DecisionKind.approve, comment=""):
    for actor in who:
        await accord.decide(wf, DecisionInput(approval_id="mou", actor=actor, decision=decision, comment=comment,
                                              channel=Channel.email_link))


def mou_mail(settings, email: str) -> list[str]:
    """Subjects of MOU-signature emails to one person, oldest first."""
    return [m["Subject"].split(":")[0].strip() for _, m in outbox.messages(settings.outbox_dir)
            if email in m["To"] and "MOU signature (" in m["Subject"]]


@pytest.mark.parametrize(
    ("policy", "quorum", "signers", "outcome"),
    [
        (ApprovalPolicy.all, None, ["alice", "amir"], ApprovalOutcome.pending),
        (ApprovalPolicy.any, None, ["amir"], ApprovalOutcome.approved),
        (ApprovalPolicy.quorum, 2, ["alice", "amir"], ApprovalOutcome.approved),
        (ApprovalPolicy.sequential, None, ["alice", "amir"], ApprovalOutcome.pending),
    ],
)
async def test_three_signatories_with_bea_silent(ts_env, settings, accord_for, policy, quorum, signers, outcome):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(mou_definition(policy, quorum))
        opened = (await to_mou_stage(accord, wf)).approvals["mou"]
        await sign(accord, wf, *signers)
        await ts_env.sleep(timedelta(weeks=4))
        state = await accord.state(wf)

    approval = state.approvals["mou"]
    assert approval.outcome == outcome
    assert all(d.document_version == 1 and d.document_hash == state.mou.versions[0].hash for d in approval.decisions)
    if outcome == ApprovalOutcome.approved:
        assert launched_after_signature(state) and state.mou.signed_at is not None
        assert not any(e.subject == "mou" for e in state.escalations)
        assert mou_mail(settings, "bea@beta.example") == ["Decision needed"], "nobody is chased once it is signed"
        return
    # Bea never signed: reminders 3d and 1d before the 2-week deadline, overdue notices at the
    # deadline and 2d and 4d after it, then the escalation at 5d after it (the definition's policy).
    offsets = [round((t - approval.deadline_at).total_seconds() / DAY) for t in approval.reminders_sent]
    assert offsets == [-3, -1, 0, 2, 4]
    assert approval.deadline_at == opened.deadline_at
    escalation = next(e for e in state.escalations if e.subject == "mou")
    assert round((escalation.opened_at - approval.deadline_at).total_seconds() / DAY) == 5
    assert state.stage == Stage.mou
    assert mou_mail(settings, "bea@beta.example") == ["Decision needed", "Reminder", "Reminder", "Overdue", "Overdue", "Overdue"]
    assert mou_mail(settings, "alice@acme.example") == ["Decision needed"]


async def test_sequential_policy_emails_the_next_signer_only_after_the_previous_signed(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(mou_definition(ApprovalPolicy.sequential))
        await to_mou_stage(accord, wf)
        await ts_env.sleep(timedelta(days=1))
        assert mou_mail(settings, "alice@acme.example") == ["Decision needed"]
        assert mou_mail(settings, "amir@acme.example") == [] and mou_mail(settings, "bea@beta.example") == []
        with pytest.raises(ActionRefused, match="not amir's turn"):
            await sign(accord, wf, "amir")

        await sign(accord, wf, "alice")
        await state_where(accord, wf, lambda s: "waiting on Amir Acme until" in s.detail)
        await ts_env.sleep(timedelta(days=1))
        assert mou_mail(settings, "amir@acme.example") == ["Decision needed"]
        assert mou_mail(settings, "bea@beta.example") == []

        await sign(accord, wf, "amir")
        await state_where(accord, wf, lambda s: "waiting on Bea Beta until" in s.detail)
        await ts_env.sleep(timedelta(days=1))
        assert mou_mail(settings, "bea@beta.example") == ["Decision needed"]
        await sign(accord, wf, "bea")
        state = await state_where(accord, wf, launched_after_signature)
    assert [d.actor for d in state.approvals["mou"].decisions] == ["alice", "amir", "bea"]


async def test_deadline_that_fails_the_stage(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(mou_definition(ApprovalPolicy.all, on_timeout=OnTimeout.fail))
        await to_mou_stage(accord, wf)
        await sign(accord, wf, "alice", "amir")
        await ts_env.sleep(timedelta(weeks=3))
        state = await accord.state(wf)
    assert state.approvals["mou"].outcome == ApprovalOutcome.timed_out
    assert state.stage == Stage.terminated and state.detail == "Ended: the MOU was not signed (the signature round ended timed out)"
    assert not any(e.subject == "mou" for e in state.escalations), "fail means fail, not escalate"


async def test_changes_requested_start_a_new_round_on_a_revised_version(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(mou_definition(ApprovalPolicy.all))
        await to_mou_stage(accord, wf)
        with pytest.raises(ActionRefused, match="reason"):
            await sign(accord, wf, "bea", decision=DecisionKind.request_changes)
        await sign(accord, wf, "alice")
        await sign(accord, wf, "bea", decision=DecisionKind.request_changes, comment="Clause 5: add joint IP terms")
        state = await state_where(accord, wf, lambda s: s.mou.awaiting_revision)
        assert state.approvals["mou"].outcome == ApprovalOutcome.changes_requested

        async def ops_told() -> None:  # the email goes out just after the state changes
            ops_mail = [m for _, m in outbox.messages(settings.outbox_dir) if "ops@accord.example" in m["To"]]
            assert any("Clause 5: add joint IP terms" in outbox.body(m, "plain") for m in ops_mail)
        await eventually(ops_told)

        async with await open_storage(settings) as store:
            first = await store.get_document(state.mou.versions[0].hash)
        revised = first.replace("Each party keeps its own IP.", "Each party keeps its own IP; joint work is owned jointly.")
        await accord.revise_mou(wf, MouRevision(actor="ops", note="Joint IP", markdown=revised, channel=Channel.cli))
        state = await state_where(accord, wf, lambda s: s.approvals["mou"].round == 2 and not s.mou.awaiting_revision)
        assert [v.version for v in state.mou.versions] == [1, 2]
        assert state.mou.versions[1].hash != state.mou.versions[0].hash and state.mou.versions[1].source == "uploaded"
        async with await open_storage(settings) as store:
            assert await store.get_document(state.mou.versions[1].hash) == revised

        # Round 1 links are dead: a decision for round 1 is refused, nothing changes.
        with pytest.raises(ActionRefused, match="superseded by round 2"):
            await accord.decide(wf, DecisionInput(approval_id="mou", actor="amir", decision=DecisionKind.approve, round=1))
        await state_where(accord, wf, lambda s: "MOU signature [mou], round 2 on version 2: waiting on Alice Acme, Amir Acme, Bea Beta until" in s.detail)
        # Round 2's request shows what changed since version 1, and the change that was asked for.
        round2 = await eventually(partial(_round_two_request, settings))
        assert "What changed since version 1:\n- 1 line(s) added, 1 removed" in round2
        assert "- + Each party keeps its own IP; joint work is owned jointly." in round2
        assert "The changes that were asked for:\n- Bea Beta: Clause 5: add joint IP terms" in round2
        # A decision naming the version it is for is refused for any other version, and for none.
        old, new = state.mou.versions[0].hash, state.mou.versions[1].hash
        for stale in (old, ""):
            with pytest.raises(ActionRefused, match=f"version 2, SHA-256 {new}"):
                await accord.decide(wf, DecisionInput(approval_id="mou", actor="amir", decision=DecisionKind.approve,
                                                      round=2, document_hash=stale))
        assert not (await accord.state(wf)).approvals["mou"].decisions_in_round()
        for who in ("alice", "amir", "bea"):
            await accord.decide(wf, DecisionInput(approval_id="mou", actor=who, decision=DecisionKind.approve, round=2,
                                                  document_hash=new if who == "amir" else None))
        state = await state_where(accord, wf, launched_after_signature)
    round2 = [d for d in state.approvals["mou"].decisions if d.round == 2]
    assert {d.document_version for d in round2} == {2}
    assert {d.document_hash for d in round2} == {state.mou.versions[1].hash}


async def _round_two_request(settings) -> str:
    mails = [m for _, m in outbox.messages(settings.outbox_dir)
             if "alice@acme.example" in m["To"] and m["Subject"].startswith("Decision needed: MOU signature")]
    assert len(mails) == 2
    return outbox.body(mails[-1], "plain")


async def test_rounds_run_out(ts_env, settings, accord_for):
    definition = mou_definition(ApprovalPolicy.all)
    definition.mou.max_rounds = 2
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        await to_mou_stage(accord, wf)
        for round_no in (1, 2):
            await accord.decide(wf, DecisionInput(approval_id="mou", actor="bea", round=round_no,
                                                  decision=DecisionKind.request_changes, comment="Not yet"))
            if round_no == 1:
                await state_where(accord, wf, lambda s: s.mou.awaiting_revision)
                await accord.revise_mou(wf, MouRevision(note="regenerated"))
        state = await state_where(accord, wf, lambda s: s.stage == Stage.terminated)
    assert "after 2 review rounds" in state.detail
    assert [v.source for v in state.mou.versions] == ["generated", "generated"]


async def test_delegation_with_a_reason(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(mou_definition(ApprovalPolicy.all))
        await to_mou_stage(accord, wf)
        with pytest.raises(ActionRefused, match="needs a reason"):
            await accord.delegate(wf, DelegationInput(approval_id="mou", actor="bea", to="bo", reason=""))
        with pytest.raises(ActionRefused, match="not a stakeholder"):
            await accord.delegate(wf, DelegationInput(approval_id="mou", actor="bea", to="mallory", reason="away"))
        await accord.delegate(wf, DelegationInput(approval_id="mou", actor="bea", to="bo", reason="On leave until May"))
        await state_where(accord, wf, lambda s: "waiting on Alice Acme, Amir Acme, Bo Beta until" in s.detail)
        await ts_env.sleep(timedelta(hours=1))
        assert mou_mail(settings, "bo@beta.example") == ["Decision needed"]
        with pytest.raises(ActionRefused, match="not an approver"):
            await sign(accord, wf, "bea")
        await sign(accord, wf, "alice", "amir", "bo")
        state = await state_where(accord, wf, launched_after_signature)
    delegation = state.approvals["mou"].delegations[0]
    assert (delegation.delegator, delegation.delegate, delegation.reason) == ("bea", "bo", "On leave until May")


async def test_delegation_refused_when_the_definition_does_not_allow_it(ts_env, settings, accord_for):
    definition = mou_definition(ApprovalPolicy.all)
    definition.mou.allow_delegation = False
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        await to_mou_stage(accord, wf)
        with pytest.raises(ActionRefused, match="does not allow delegation"):
            await accord.delegate(wf, DelegationInput(approval_id="mou", actor="bea", to="bo", reason="away"))
