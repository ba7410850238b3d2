"""Launch and the operating years on the time-skipping server: cadences, metrics, renewal, amendments."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.service import RPCError

from accord.models import (
    Channel,
    MetricObservationInput,
    Rag,
    ReviewInputSubmission,
    Stage,
    TaskCompletion,
)
from accord.reports.files import write_reports
from tests.support.helpers import release_time_skipping, skip_time, state_where, unique
from tests.support.lifecycle import approve, to_active
from tests.support.paths import DATA
from tests.support.report_checks import check_audit, look_at_report
from tests.support.workers import running_worker

DAY = timedelta(days=1)






async def test_launch_waits_for_its_checklist_then_reviews_run_on_their_cadence(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "operating.yaml"))
        await approve(accord, wf, "go-no-go")
        state = await state_where(accord, wf, lambda s: s.stage == Stage.launch and "baseline-referrals" in s.tasks)
        assert {t.id for t in state.open_tasks()} >= {"kickoff", "baseline-referrals", "playbook"}
        await accord.record_metric(wf, MetricObservationInput(metric_id="referrals", value=2, actor="abe", channel=Channel.api))
        state = await accord.state(wf)
        assert state.stage == Stage.launch, "launch waits for the kickoff"
        assert state.metrics["referrals"].baseline == 2
        await accord.complete_task(wf, TaskCompletion(task_id="kickoff", actor="abe", channel=Channel.api))
        state = await state_where(accord, wf, lambda s: s.stage == Stage.active)
        launched = state.launched_at
        planned = {r.id: r.scheduled_for for r in state.reviews.values()}
        assert planned["weekly_status-1"] == launched + 7 * DAY
        assert planned["monthly-1"].month == (launched.month % 12) + 1

        await ts_env.sleep(7 * DAY + timedelta(hours=1))
        state = await accord.state(wf)
        weekly = state.reviews["weekly_status-1"]
        assert weekly.opened_at is not None and weekly.closed_at is None
        await accord.submit_review_input(wf, ReviewInputSubmission(review_id="weekly_status-1", stakeholder="abe",
                                                                   rag=Rag.green, note="fine", channel=Channel.api))
        await accord.submit_review_input(wf, ReviewInputSubmission(review_id="weekly_status-1", stakeholder="ben",
                                                                   rag=Rag.amber, note="slow", channel=Channel.api))
        state = await state_where(accord, wf, lambda s: s.reviews["weekly_status-1"].closed_at is not None)
        assert state.reviews["weekly_status-1"].overall == Rag.amber
        assert state.rag_history[-1].by_party == {"alpha": Rag.green, "beta": Rag.amber}
        # Nobody answers the second week (opens at +14d, inputs due +16d): both parties missed one.
        await ts_env.sleep(9 * DAY)
        state = await accord.state(wf)
        assert state.reviews["weekly_status-2"].missed == ["abe", "ben"]
        assert state.missed_in_a_row == {"alpha": 1, "beta": 1}


YEARS = 5


def answer(review_id: str, kind: str, n: int, who: str) -> ReviewInputSubmission | None:
    """The simulated people: mostly diligent, with the trouble the test expects."""
    if kind == "weekly_status":
        if who == "ben" and 40 <= n <= 42:
            return None  # Beta goes quiet for three weeks: missed updates
        rag = Rag.green
        if who == "ben" and n in (30, 31):
            rag = Rag.amber  # amber twice in a row
        if who == "abe" and n == 60:
            rag = Rag.red
        return ReviewInputSubmission(review_id=review_id, stakeholder=who, rag=rag, note=f"week {n}", channel=Channel.api)
    if kind == "annual_mutual_value":
        balanced = (6.0, 6.0)
        skewed = {"ann": (3.0, 9.0), "ben": (9.0, 3.0)}  # year 2: Beta gives a lot and gets little
        contribution, benefit = skewed[who] if n == 2 else balanced
        return ReviewInputSubmission(review_id=review_id, stakeholder=who, contribution=contribution, benefit=benefit,
                                     note=f"year {n}", channel=Channel.api)
    return ReviewInputSubmission(review_id=review_id, stakeholder=who, note=f"{kind} {n}: on plan", channel=Channel.api)


@pytest.mark.timeout(900)  # about a minute on an idle machine; far longer when the machine is shared
async def test_five_years_of_one_partnership(ts_env, settings, accord_for, tmp_path):
    """Weekly statuses and every review for five years, a missed target, an imbalance, two renewals,
    continue-as-new along the way: every timer fires on time and every email goes out once."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "operating.yaml"))
        await to_active(accord, wf)
        state = await accord.state(wf)
        launched = state.launched_at
        end = launched + timedelta(days=365 * YEARS + 2)
        snapshot = None
        last_metric_month = 0
        hiccups = 0
        while True:
            agenda = await accord.agenda(wf)
            for review in agenda.reviews:
                if review.opened_at is None:
                    continue
                for who in review.participants:
                    if who in review.inputs:
                        continue
                    submission = answer(review.id, review.kind.value, review.n, who)
                    if submission is not None:
                        await accord.submit_review_input(wf, submission)
            for approval_id in agenda.approvals:
                if approval_id.startswith("renewal-"):
                    await approve(accord, wf, approval_id)
            now = await ts_env.get_current_time()
            month = (now - launched).days // 30
            if month > last_metric_month:
                last_metric_month = month
                # Referrals stay at 3 a month against a target of 10 by month 6.
                await accord.record_metric(wf, MetricObservationInput(metric_id="referrals", value=3, actor="abe",
                                                                      channel=Channel.api))
            if snapshot is None and now > launched + timedelta(days=300):
                snapshot = await accord.state(wf)
            if now >= end:
                break
            # Wake an hour after the next review opens or the next open one closes.
            upcoming = [r.scheduled_for if r.opened_at is None else r.inputs_due_at for r in agenda.reviews]
            step = min(upcoming, default=now + DAY) - now
            try:
                await skip_time(ts_env, max(step, timedelta(0)) + timedelta(hours=1))
                hiccups = 0
            except RPCError:
                # The test server can drop a long time-skip on a loaded machine; the loop reads
                # where the clock got to and goes on from there.
                hiccups += 1
                assert hiccups < 8, "the time-skipping server keeps failing"
                await release_time_skipping(ts_env)
                await asyncio.sleep(1)
        state = await accord.state(wf)
        definition = await accord.definition(wf)

    # Every cadence ran for five years, each review opening exactly when it was due.
    by_kind: dict[str, list] = {}
    for review in state.reviews.values():
        if review.opened_at is not None:
            by_kind.setdefault(review.kind.value, []).append(review)
    counts = {k: len(v) for k, v in by_kind.items()}
    assert counts["weekly_status"] >= 52 * YEARS
    assert counts["monthly"] == 12 * YEARS
    assert counts["quarterly"] == 4 * YEARS
    assert counts["six_month_formal"] == 2 * YEARS
    assert counts["annual_mutual_value"] == YEARS
    for kind, reviews in by_kind.items():
        assert sorted(r.n for r in reviews) == list(range(1, len(reviews) + 1)), kind
        for r in reviews:
            late = r.opened_at - r.scheduled_for
            assert timedelta(0) <= late < timedelta(minutes=1), f"{r.id} opened at {r.opened_at}, due {r.scheduled_for}"
    weekly = sorted(by_kind["weekly_status"], key=lambda r: r.n)
    assert all(r.scheduled_for == launched + timedelta(weeks=r.n) for r in weekly)

    # The trouble was noticed: each trigger kind opened an escalation.
    triggers = {e.trigger for e in state.escalations}
    assert {"repeated_amber", "missed_updates", "red_status", "missed_target", "imbalance"} <= triggers
    assert state.reviews["annual_mutual_value-2"].balance.imbalanced
    assert not state.reviews["annual_mutual_value-1"].balance.imbalanced
    assert any(t.kind == "diagnostic" and t.owner == "abe" for t in state.tasks.values())
    # Two renewals: three terms.
    assert state.term == 3 and state.stage == Stage.active
    assert state.approvals["renewal-1"].outcome.value == "approved"

    # Continue-as-new happened, no run grew past 4,096 events, and what was recorded
    # before it is still there, unchanged.
    assert state.runs >= 2 and snapshot.runs == 1
    for review_id, review in snapshot.reviews.items():
        if review.closed_at is not None:
            assert state.reviews[review_id] == review
    assert state.metrics["referrals"].observations[: len(snapshot.metrics["referrals"].observations)] == \
        snapshot.metrics["referrals"].observations
    # Walk the chain of runs back from the latest (the test server cannot list them).
    run_id, sizes = None, []
    while True:
        history = await ts_env.client.get_workflow_handle(wf, run_id=run_id).fetch_history()
        sizes.append(len(history.events))
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            break
    assert len(sizes) == state.runs
    assert max(sizes) <= 4096, sizes

    # Every weekly request went out exactly once to each participant, across every run.
    from accord.mail import outbox

    subjects = [m["Subject"] for _, m in outbox.messages(settings.outbox_dir) if "abe@alpha.example" in m["To"]]
    weekly_requests = [s for s in subjects if s.startswith("Weekly status #")]
    assert len(weekly_requests) == len(set(weekly_requests)) == counts["weekly_status"]
    # Review meetings come with a calendar invitation carrying the agenda.
    from icalendar import Calendar

    mails = [m for _, m in outbox.messages(settings.outbox_dir) if m["Subject"].startswith("Quarterly strategic review #1 ")
             and "ann@alpha.example" in m["To"]]
    assert len(mails) == 1
    invite = next(p for p in mails[0].iter_attachments() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(invite.get_payload(decode=True)).walk("VEVENT")[0]
    quarterly = state.reviews["quarterly-1"]
    assert event.decoded("dtstart") == quarterly.inputs_due_at.replace(microsecond=0)
    assert "Metrics against targets: Qualified referrals" in str(event.get("description"))
    assert {str(a).lower() for a in event.get("attendee")} == {"mailto:ann@alpha.example", "mailto:ben@beta.example"}

    # The report and the audit export of these five years, written as `accord report` writes them;
    # then the report is opened in Chromium and looked at.
    generated_at = await ts_env.get_current_time()
    written = write_reports(definition, state, wf, tmp_path / "reports", generated_at)
    assert (written.report.name, written.audit.name) == (f"{definition.id}-report.html", f"{definition.id}-audit.json")
    check_audit(written.audit, state, wf)
    assert len(state.rag_history) == sum(1 for r in weekly if r.closed_at is not None), "one status per closed week"
    await look_at_report(written.report, tmp_path / "report.png", state)
    assert (tmp_path / "report.png").stat().st_size > 50_000
