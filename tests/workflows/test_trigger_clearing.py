"""Rules 2 (issue 13): every automatic escalation trigger clears when its cause is gone.

One test per trigger kind, each through the client as people act: the trigger raises an
escalation that pages its level, the cause is removed (the task done, the approval decided,
a green status, the silent party or review heard from, the target met, the parties back in
balance), and the escalation closes by itself, or, acknowledged, asks its level to confirm;
everyone it paged gets the "closed, its cause is gone" email, and the partnership's record
and the escalation's own keep the cause. Long timers run on the time-skipping server.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from typer.testing import CliRunner

from accord.cli import app as cli
from accord.mail import outbox
from accord.models import (
    Acknowledge,
    Channel,
    ConfirmClearing,
    DecisionInput,
    DecisionKind,
    EscalationRecord,
    EscalationStatus,
    MetricObservationInput,
    Rag,
    ReviewInputSubmission,
    Stage,
    TaskCompletion,
)
from definitions.schema import PartnershipDefinition
from tests.support.helpers import (
    advance_to,
    eventually,
    state_where,
    unique,
)
from tests.support.lifecycle import approve, to_active
from tests.support.mail_helpers import subjects_to
from tests.support.paths import DATA
from tests.support.workers import running_worker

KINDS = ("weekly_status", "monthly", "annual_mutual_value")


def keeping(*kinds: str, target_by: str | None = None) -> PartnershipDefinition:
    """tests/data/triggers.yaml under a fresh id, with only these review cadences (and the
    metric's target due ``target_by`` after launch, or never)."""
    from definitions.durations import Duration

    definition = unique(DATA / "triggers.yaml")
    for kind in KINDS:
        if kind not in kinds:
            setattr(definition.reviews, kind, None)
    definition.metrics[0].target_by = Duration.parse(target_by) if target_by else None
    return definition




async def advance(env, by: timedelta) -> None:
    await advance_to(env, await env.get_current_time() + by)


async def raised(accord, wf: str, trigger: str, subject: str, timeout: float = 30) -> EscalationRecord:
    state = await state_where(accord, wf, lambda s: any(e.trigger == trigger and e.subject == subject and e.workflow_id
                                                        for e in s.escalations), timeout=timeout)
    record = next(e for e in state.escalations if e.trigger == trigger and e.subject == subject)
    assert record.status == EscalationStatus.open
    return record


def address(definition: PartnershipDefinition, contact: str) -> str:
    """A ladder contact's email address (``ops-<n>``: the nth ops contact, past the ladder)."""
    if contact.startswith("ops-"):
        return definition.ops[int(contact.removeprefix("ops-"))].email
    return next(s.email for p in definition.parties for s in p.stakeholders if s.id == contact)


async def paged(accord, settings, wf: str, record: EscalationRecord) -> set[str]:
    """The addresses it paged so far (at least its first level's), each emailed about it."""
    definition = await accord.definition(wf)

    async def check() -> set[str]:
        escalation = await accord.escalation(wf, record.id)
        who = {address(definition, w) for change in escalation.levels if change.notified_at for w in change.contacts}
        assert who, "nobody paged yet"
        for to in who:
            assert subjects_to(settings, to, f"{record.id}:"), to
        return who
    return await eventually(check, timeout=30)


async def closed(accord, wf: str, escalation_id: str):
    escalation = await accord.escalation(wf, escalation_id)
    assert escalation.status.is_final, escalation.status
    return escalation


async def cleared_and_told(accord, settings, wf: str, record: EscalationRecord, who: set[str], cause: str,
                           closed_by: str = "accord"):
    """It closed as cleared with ``cause`` in its record and the partnership's, and each of ``who`` got one email saying so."""
    final = await eventually(partial(closed, accord, wf, record.id), timeout=60)
    assert final.status == EscalationStatus.cleared, final.status
    assert final.closed_by == closed_by
    assert cause in final.closed_cause, final.closed_cause

    async def told() -> None:
        for person in who:
            assert len(subjects_to(settings, person, f"Closed, its cause is gone: {record.id}:")) == 1, person
    await eventually(told, timeout=60)
    state = await state_where(accord, wf, lambda s: next(e for e in s.escalations if e.id == record.id).status.is_final,
                              timeout=30)
    summary = next(e for e in state.escalations if e.id == record.id)
    assert summary.status == EscalationStatus.cleared and cause in summary.closed_cause, summary
    gone = [e.detail for e in state.timeline if e.kind == "escalation_cause_gone" and e.data.get("escalation") == record.id]
    assert gone and cause.split("its cause is gone: ")[-1] in gone[-1], gone
    assert all(e.id != record.id for e in state.open_escalations())
    return final


async def review_open(accord, env, wf: str, review_id: str):
    review = (await accord.state(wf)).reviews[review_id]
    await advance_to(env, review.scheduled_for + timedelta(hours=1))
    await state_where(accord, wf, lambda s: s.reviews[review_id].opened_at is not None, timeout=30)
    return review


async def review_closed(accord, env, wf: str, review_id: str, inputs_due: timedelta):
    review = (await accord.state(wf)).reviews[review_id]
    await advance_to(env, review.scheduled_for + inputs_due + timedelta(hours=2))
    return await state_where(accord, wf, lambda s: s.reviews[review_id].closed_at is not None, timeout=30)


async def weekly(accord, env, wf: str, n: int, rags: dict[str, Rag]):
    """Weekly status #n with these people's RAGs (the others silent), until it closes."""
    review_id = f"weekly_status-{n}"
    await review_open(accord, env, wf, review_id)
    for who, rag in rags.items():
        await accord.submit_review_input(wf, ReviewInputSubmission(review_id=review_id, stakeholder=who, rag=rag,
                                                                   channel=Channel.api))
    return await review_closed(accord, env, wf, review_id, timedelta(days=2))


# ------------------------------------------------------------------ overdue


async def an_overdue_go_no_go(accord, env, settings) -> tuple[str, EscalationRecord, set[str]]:
    """A partnership whose go/no-go nobody decides: a week past its deadline it is escalated,
    and its level paged. (The partnership, the escalation, who was paged.)"""
    wf = await accord.start(keeping())
    await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
    await advance(env, timedelta(weeks=2, days=2))  # deadline 1w, escalated a week later
    record = await raised(accord, wf, "overdue", "go-no-go")
    return wf, record, await paged(accord, settings, wf, record)


async def test_an_overdue_task_escalation_closes_when_the_task_is_done(ts_env, settings, accord_for):
    """The kickoff (launch) goes a week past its due date: escalated to the leads. Abe holds it:
    the escalation closes by itself, the leads are told, the partnership goes on to active."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping())
        await approve(accord, wf, "go-no-go")
        await state_where(accord, wf, lambda s: s.stage == Stage.launch and "kickoff" in s.tasks)
        await accord.record_metric(wf, MetricObservationInput(metric_id="referrals", value=2, actor="abe", channel=Channel.api))
        await advance(ts_env, timedelta(weeks=2, days=2))  # due in 1w, escalated a week later
        record = await raised(accord, wf, "overdue", "kickoff")
        who = await paged(accord, settings, wf, record)

        await accord.complete_task(wf, TaskCompletion(task_id="kickoff", actor="abe", result="pre-mortem held",
                                                      channel=Channel.api))
        await cleared_and_told(accord, settings, wf, record, who,
                               "its cause is gone: 'Kickoff pre-mortem and empathy map' was done by Abe Alpha")
        assert (await accord.state(wf)).stage == Stage.active


async def test_an_overdue_approval_escalation_closes_when_it_is_decided(ts_env, settings, accord_for):
    """Nobody decides the go/no-go: a week past its deadline it is escalated. Both approve: the
    escalation closes with the decision as its cause, in launch, and the leads are told."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf, record, who = await an_overdue_go_no_go(accord, ts_env, settings)

        for approver in ("ann", "ben"):
            await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=approver, decision=DecisionKind.approve,
                                                  channel=Channel.api))
        await cleared_and_told(accord, settings, wf, record, who, "its cause is gone: 'Go/no-go decision' was decided (approved)")
        assert (await accord.state(wf)).stage == Stage.launch


async def test_an_overdue_go_no_go_escalation_closes_when_the_go_no_go_declines_the_partnership(ts_env, settings,
                                                                                                  accord_for):
    """The overdue go/no-go is rejected: the partnership ends there, declined, and the decision
    that ended it is the escalation's cause gone; it does not go on climbing for a partnership
    that no longer runs."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf, record, who = await an_overdue_go_no_go(accord, ts_env, settings)

        await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="ann", decision=DecisionKind.reject,
                                              comment="Not this year", channel=Channel.api))
        await cleared_and_told(accord, settings, wf, record, who, "its cause is gone: 'Go/no-go decision' was decided (rejected)")
        assert (await accord.state(wf)).stage == Stage.rejected


async def test_a_declined_partnership_withdraws_the_escalations_it_leaves_open(ts_env, settings, accord_for):
    """Ops raise an escalation in screening (by hand: it has no cause that can go away), then the
    go/no-go is rejected. The partnership ends there, and the escalation is withdrawn with the
    reason, in its own record and in the partnership's last one, instead of climbing on to the
    sponsors and ops for a partnership that no longer runs."""
    from accord.models import EscalationRequest

    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping())
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        _, record = await accord.raise_escalation(wf, EscalationRequest(reason="The pilot's sponsor left Beta",
                                                                        channel=Channel.api))
        await paged(accord, settings, wf, record)

        await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="ann", decision=DecisionKind.reject,
                                              comment="Not this year", channel=Channel.api))
        final = await eventually(partial(closed, accord, wf, record.id), timeout=60)
        assert (final.status, final.closed_by) == (EscalationStatus.withdrawn, "accord")
        assert final.withdrawn_reason.startswith("The partnership ended (screening -> rejected: No-go"), final.withdrawn_reason
        state = await state_where(accord, wf, lambda s: s.stage == Stage.rejected and not s.open_escalations(), timeout=30)
        assert next(e for e in state.escalations if e.id == record.id).status == EscalationStatus.withdrawn

        await advance(ts_env, timedelta(weeks=3))  # past both levels' windows
        assert len((await accord.escalation(wf, record.id)).levels) == 1, "it climbed no further"
        assert subjects_to(settings, "ann@", f"{record.id}:") == [], "the sponsors were never paged"


async def test_an_overdue_task_escalation_closes_when_closing_the_partnership_waives_the_task(ts_env, settings, accord_for):
    """The playbook (a deliverable, due two months after launch) is escalated a week past due;
    ops close the partnership, which waives every open task: the escalation closes with the
    waiver as its cause and the people it paged are told."""
    from accord.models import CloseRequest

    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping())
        await to_active(accord, wf)
        await advance(ts_env, timedelta(weeks=10))  # due in 2 months, escalated a week later
        record = await raised(accord, wf, "overdue", "playbook")
        who = await paged(accord, settings, wf, record)

        await accord.close(wf, CloseRequest(actor="ops", reason="Pilot ended", channel=Channel.api))
        await cleared_and_told(accord, settings, wf, record, who, "its cause is gone: 'Referral playbook' was waived")
        assert (await accord.state(wf)).stage == Stage.closed


async def test_an_acknowledged_overdue_escalation_asks_its_level_once_then_closes_unanswered(ts_env, settings, accord_for):
    """Abe acknowledges the overdue kickoff's escalation, then holds the kickoff: it is not closed
    under Abe's feet, its current level is asked once whether it may close. The partnership goes
    on (active, a weekly status) and nobody answers within the level's window: it closes by
    itself, nobody was asked again, and everyone it paged is told."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping("weekly_status"))
        await approve(accord, wf, "go-no-go")
        await state_where(accord, wf, lambda s: s.stage == Stage.launch and "kickoff" in s.tasks)
        await accord.record_metric(wf, MetricObservationInput(metric_id="referrals", value=2, actor="abe", channel=Channel.api))
        await advance(ts_env, timedelta(weeks=2, days=2))
        record = await raised(accord, wf, "overdue", "kickoff")
        who = await paged(accord, settings, wf, record)
        await accord.acknowledge(wf, record.id, Acknowledge(actor="abe", note="On it", channel=Channel.api))

        await accord.complete_task(wf, TaskCompletion(task_id="kickoff", actor="abe", result="pre-mortem held",
                                                      channel=Channel.api))

        async def asked():
            escalation = await accord.escalation(wf, record.id)
            assert escalation.clearing is not None and escalation.clearing.pending, escalation.clearing
            return escalation
        escalation = await eventually(asked, timeout=30)
        assert escalation.status == EscalationStatus.acknowledged, "not closed under the feet of whoever owns it"
        level = (await accord.definition(wf)).escalation.ladder[escalation.level - 1]
        contacts = escalation.clearing.asked
        assert contacts == level.contacts

        async def level_asked() -> None:
            for person in contacts:
                assert len(subjects_to(settings, f"{person}@", f"Can it close? {record.id}:")) == 1, person
        await eventually(level_asked, timeout=30)

        await state_where(accord, wf, lambda s: s.stage == Stage.active, timeout=30)
        await weekly(accord, ts_env, wf, 1, {"abe": Rag.green, "ben": Rag.green})  # past the level's window
        await cleared_and_told(accord, settings, wf, record, who,
                               f"nobody kept it open within {level.respond_within}: its cause is gone: "
                               "'Kickoff pre-mortem and empathy map' was done by Abe Alpha")
        await level_asked()


async def test_an_acknowledged_overdue_approval_escalation_is_confirmed_closed_in_launch(ts_env, settings, accord_for):
    """Ben acknowledges the overdue go/no-go's escalation; both approve, and the partnership moves
    on to launch: the escalation's level is asked once; Ann confirms from launch; it closes with
    her confirmation and the decision as its cause, and everyone it paged is told."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf, record, who = await an_overdue_go_no_go(accord, ts_env, settings)
        await accord.acknowledge(wf, record.id, Acknowledge(actor="ben", note="Chasing Ann", channel=Channel.api))
        for approver in ("ann", "ben"):
            await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=approver, decision=DecisionKind.approve,
                                                  channel=Channel.api))
        await state_where(accord, wf, lambda s: s.stage == Stage.launch, timeout=30)

        async def asked():
            escalation = await accord.escalation(wf, record.id)
            assert escalation.clearing is not None and escalation.clearing.pending, escalation.clearing
            for person in escalation.clearing.asked:
                assert len(subjects_to(settings, f"{person}@", f"Can it close? {record.id}:")) == 1, person
            return escalation
        escalation = await eventually(asked, timeout=30)
        assert escalation.status == EscalationStatus.acknowledged
        confirmer = escalation.clearing.asked[0]
        name = {"ann": "Ann Alpha", "abe": "Abe Alpha", "ben": "Ben Beta"}[confirmer]
        await accord.confirm_clearing(wf, record.id, ConfirmClearing(actor=confirmer, note="Decided", channel=Channel.api))
        await cleared_and_told(accord, settings, wf, record, who,
                               f"confirmed by {name}: its cause is gone: 'Go/no-go decision' was decided (approved)",
                               closed_by=confirmer)
        await asked_once(settings, escalation)
        assert (await accord.state(wf)).stage == Stage.launch


async def asked_once(settings, escalation) -> None:
    for person in escalation.clearing.asked:
        assert len(subjects_to(settings, f"{person}@", f"Can it close? {escalation.id}:")) == 1, person


# ------------------------------------------------------------------ weekly status


async def test_a_red_status_escalation_closes_on_the_next_green(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping("weekly_status"))
        await to_active(accord, wf)
        await weekly(accord, ts_env, wf, 1, {"abe": Rag.red, "ben": Rag.green})
        record = await raised(accord, wf, "red_status", "status")
        who = await paged(accord, settings, wf, record)
        await weekly(accord, ts_env, wf, 2, {"abe": Rag.green, "ben": Rag.green})
        await cleared_and_told(accord, settings, wf, record, who, "its cause is gone: the weekly status of weekly_status-2 is green")

        # What ops see: `accord escalation show` says it closed, and why.
        shown = await asyncio.to_thread(CliRunner().invoke, cli, [
            "escalation", "show", wf, record.id, "--address", ts_env.client.service_client.config.target_host])
    assert shown.exit_code == 0, shown.output
    assert "status: cleared" in shown.output and "cleared by accord on " in shown.output, shown.output
    assert "closed: its cause is gone: the weekly status of weekly_status-2 is green" in " ".join(shown.output.split())


async def test_an_acknowledged_red_asks_its_level_again_each_time_its_cause_goes(ts_env, settings, accord_for):
    """Acknowledged red, then green: the level is asked whether it may close. Red again: the
    question is withdrawn. Green again: a new question with a new deadline, and the level gets
    it by email (not only in the record); Ben confirms, it closes, everyone it paged is told."""
    from definitions.durations import Duration

    definition = keeping("weekly_status")
    for level in definition.escalation.ladder:
        level.respond_within = Duration.parse("3w")  # the first question still open when the cause comes back
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        await to_active(accord, wf)
        await weekly(accord, ts_env, wf, 1, {"abe": Rag.red, "ben": Rag.green})
        record = await raised(accord, wf, "red_status", "status")
        who = await paged(accord, settings, wf, record)
        await accord.acknowledge(wf, record.id, Acknowledge(actor="abe", note="On it", channel=Channel.api))

        async def asked(times: int, cause: str):
            escalation = await accord.escalation(wf, record.id)
            clearing = escalation.clearing
            assert clearing is not None and clearing.pending and cause in clearing.cause, clearing
            for person in clearing.asked:
                questions = [m for _, m in outbox.messages(settings.outbox_dir)
                             if f"{person}@" in m["To"] and f"Can it close? {record.id}:" in m["Subject"]]
                assert len(questions) == times, person
                assert cause in outbox.body(questions[-1], "plain"), person
            return escalation

        await weekly(accord, ts_env, wf, 2, {"abe": Rag.green, "ben": Rag.green})
        first = await eventually(partial(asked, 1, "weekly_status-2 is green"), timeout=60)
        await weekly(accord, ts_env, wf, 3, {"abe": Rag.red, "ben": Rag.green})

        async def withdrawn():
            escalation = await accord.escalation(wf, record.id)
            assert escalation.clearing is not None and escalation.clearing.back_at is not None, escalation.clearing
            assert not escalation.clearing.pending
        await eventually(withdrawn, timeout=60)
        await weekly(accord, ts_env, wf, 4, {"abe": Rag.green, "ben": Rag.green})
        second = await eventually(partial(asked, 2, "weekly_status-4 is green"), timeout=60)
        assert second.clearing.until > first.clearing.until
        assert second.status == EscalationStatus.acknowledged

        await accord.confirm_clearing(wf, record.id, ConfirmClearing(actor="ben", note="Green twice", channel=Channel.api))
        await cleared_and_told(accord, settings, wf, record, who,
                               "confirmed by Ben Beta: its cause is gone: the weekly status of weekly_status-4 is green",
                               closed_by="ben")


async def test_a_repeated_amber_escalation_closes_on_the_next_green(ts_env, settings, accord_for):
    """Amber twice in a row escalates; amber once more does not clear it; green does."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping("weekly_status"))
        await to_active(accord, wf)
        await weekly(accord, ts_env, wf, 1, {"abe": Rag.amber, "ben": Rag.amber})
        await weekly(accord, ts_env, wf, 2, {"abe": Rag.amber, "ben": Rag.green})
        record = await raised(accord, wf, "repeated_amber", "status")
        who = await paged(accord, settings, wf, record)
        await weekly(accord, ts_env, wf, 3, {"abe": Rag.amber, "ben": Rag.amber})
        assert (await accord.escalation(wf, record.id)).status == EscalationStatus.open, "amber is not the end of it"
        await weekly(accord, ts_env, wf, 4, {"abe": Rag.green, "ben": Rag.green})
        await cleared_and_told(accord, settings, wf, record, who, "its cause is gone: the weekly status of weekly_status-4 is green")


async def test_a_missed_updates_escalation_closes_when_the_silent_party_reports(ts_env, settings, accord_for):
    """Beta sends nothing three weeks in a row: escalated. Ben sends the next weekly status: it closes."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping("weekly_status"))
        await to_active(accord, wf)
        for n in (1, 2, 3):
            await weekly(accord, ts_env, wf, n, {"abe": Rag.green})
        record = await raised(accord, wf, "missed_updates", "beta")
        who = await paged(accord, settings, wf, record)
        await review_open(accord, ts_env, wf, "weekly_status-4")
        await accord.submit_review_input(wf, ReviewInputSubmission(review_id="weekly_status-4", stakeholder="ben",
                                                                   rag=Rag.green, channel=Channel.api))
        await cleared_and_told(accord, settings, wf, record, who, "its cause is gone: Beta GmbH sent its weekly status")


async def test_a_reviews_without_inputs_escalation_closes_when_the_next_review_gets_some(ts_env, settings, accord_for):
    """Three monthly reviews in a row get no input at all: escalated. Abe sends an input to the
    fourth: it closes."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping("monthly"))
        await to_active(accord, wf)
        for n in (1, 2, 3):
            await review_closed(accord, ts_env, wf, f"monthly-{n}", timedelta(days=3))
        record = await raised(accord, wf, "missed_updates", "monthly")
        who = await paged(accord, settings, wf, record)
        await review_open(accord, ts_env, wf, "monthly-4")
        await accord.submit_review_input(wf, ReviewInputSubmission(review_id="monthly-4", stakeholder="abe",
                                                                   note="Back on track", channel=Channel.api))
        await cleared_and_told(accord, settings, wf, record, who, "its cause is gone: Monthly operational review #4 received inputs")


# ------------------------------------------------------------------ targets and value


async def test_a_missed_target_escalation_closes_when_a_review_finds_it_met(ts_env, settings, accord_for):
    """The target was due two weeks after launch: the first monthly review finds it missed and
    escalates. Abe records 12 referrals: the next review finds it on target, and it closes."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping("monthly", target_by="2w"))
        await to_active(accord, wf)
        await review_closed(accord, ts_env, wf, "monthly-1", timedelta(days=3))
        record = await raised(accord, wf, "missed_target", "referrals")
        who = await paged(accord, settings, wf, record)
        await accord.record_metric(wf, MetricObservationInput(metric_id="referrals", value=12, actor="abe", channel=Channel.api))
        assert (await accord.escalation(wf, record.id)).status == EscalationStatus.open, "a review must find it met"
        await review_closed(accord, ts_env, wf, "monthly-2", timedelta(days=3))
        await cleared_and_told(accord, settings, wf, record, who,
                               "its cause is gone: Qualified referrals was on target at Monthly operational review #2")


async def test_an_imbalance_escalation_closes_when_the_next_mutual_value_review_is_within_tolerance(ts_env, settings,
                                                                                                     accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(keeping("annual_mutual_value"))
        await to_active(accord, wf)

        async def value_review(n: int, given: dict[str, tuple[float, float]]) -> None:
            review_id = f"annual_mutual_value-{n}"
            await review_open(accord, ts_env, wf, review_id)
            for who, (contribution, benefit) in given.items():
                await accord.submit_review_input(wf, ReviewInputSubmission(
                    review_id=review_id, stakeholder=who, contribution=contribution, benefit=benefit, channel=Channel.api))
            await review_closed(accord, ts_env, wf, review_id, timedelta(weeks=1))

        await value_review(1, {"ann": (9, 2), "ben": (2, 9)})
        record = await raised(accord, wf, "imbalance", "mutual-value")
        who = await paged(accord, settings, wf, record)
        await value_review(2, {"ann": (6, 6), "ben": (6, 6)})
        await cleared_and_told(accord, settings, wf, record, who,
                               "its cause is gone: Annual mutual-value review #2 found the parties within tolerance")
