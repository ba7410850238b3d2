"""Rules 2 (issue 13): what people see is true after every kind of action.

The status line (``state.detail``: ``accord status``, the pages, ``accord watch``, the report)
and the Temporal UI's current details are derived from the state whenever it changes, never
left from an earlier step; an automatic escalation whose cause is gone closes by itself when
nobody took it on (and everyone it paged is told), or asks its level to confirm when somebody
did; a declined partnership is "declined", not "done". Each test fails on the rules before
(rules 0 and 1 keep their behaviour: tests/replay/test_upgrade.py).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from accord import search_attributes as sa
from accord.client import ActionRefused
from accord.mail import outbox
from accord.models import (
    Acknowledge,
    AmendmentProposal,
    Channel,
    ConfirmClearing,
    DecisionInput,
    DecisionKind,
    EscalationStatus,
    Health,
    Rag,
    ReviewInputSubmission,
    Stage,
    TaskCompletion,
)
from tests.support.helpers import (
    ALIGNED,
    DIVERGENT,
    advance_to,
    eventually,
    state_is,
    state_where,
    submit_statements,
    unique,
)
from tests.support.mail_helpers import subjects_to
from tests.support.paths import DATA
from tests.support.web_helpers import action_link, mail_for, until
from tests.support.workers import running_worker

REQUIRED = {"capability": "arun", "legal": "bo"}




async def all_told(settings, people: tuple[str, ...], containing: str) -> None:
    for who in people:
        assert subjects_to(settings, f"{who}@", containing), who


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
        # The request shows the evidence to decide on: the checklist, the statements and their score.
        request = await until(lambda: mail_for(settings, "alice@acme.example", "Decision needed: Go/no-go"), timeout=60)
        evidence = outbox.body(request, "plain")
        assert "Reference: approval go-no-go, round 1" in evidence
        assert "Checklist:\n- Capability audit: done by Arun Acme on " in evidence
        score = opened.alignment.result
        assert f"- Divergence {score.divergence:.2f} (threshold 0.75): close enough" in evidence
        assert "Open escalations:\n- None." in evidence
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
        final = await eventually(partial(_closed, accord, wf, record.id), timeout=30)
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


@pytest.mark.browser
async def test_the_baseline_email_opens_a_page_that_records_the_baseline(dev_env, settings, accord_for, tmp_path):
    """The "capture the baseline" email's link, followed in Chromium, opens a page where its
    owner records the value: no 404, no command to run."""
    from playwright.async_api import expect

    from tests.support.browser import chromium, chromium_path, listen, serving

    executable = chromium_path()
    listener, base = listen(settings)
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "operating.yaml"))
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals, timeout=30)
        for who in ("ann", "ben"):
            await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=who, decision=DecisionKind.approve,
                                                  channel=Channel.api))
        title = "Capture the baseline of Qualified referrals"
        mail = await until(lambda: mail_for(settings, "abe@alpha.example", title), timeout=60)
        text = outbox.body(mail, "plain")
        assert "accord " not in text and "CLI" not in text, "the email asks for a value, not a command"
        async with serving(settings, accord, listener), chromium(executable) as browser:
            page = await browser.new_page()
            await page.goto(f"{base}{action_link(mail)}")
            await expect(page.get_by_role("heading", level=1)).to_have_text(title)
            await page.get_by_label("Qualified referrals today").fill("2.5")
            await page.get_by_role("button", name="Record the baseline").click()
            await expect(page.locator("main")).to_contain_text("recorded")
            await page.screenshot(path=str(tmp_path / "baseline-recorded.png"), full_page=True)
        state = await state_where(accord, wf, lambda s: not s.tasks["baseline-referrals"].is_open, timeout=30)
    assert state.metrics["referrals"].baseline == 2.5
    task = state.tasks["baseline-referrals"]
    assert (task.completed_by, task.channel, task.result) == ("abe", Channel.email_link, "2.5")
    assert (tmp_path / "baseline-recorded.png").stat().st_size > 0


@pytest.mark.browser
async def test_an_amendment_approval_shows_what_changes_in_its_email_and_page(dev_env, settings, accord_for, tmp_path):
    """Approvers see the field-path diff (as ``accord amend`` prints it), the approval's id, and
    after it completes the status line no longer waits on them."""
    from playwright.async_api import expect

    from tests.support.browser import chromium, chromium_path, listen, serving

    executable = chromium_path()
    listener, base = listen(settings)
    accord = accord_for(dev_env)
    definition = unique(DATA / "operating.yaml")
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(definition)
        amended = definition.model_copy(update={"name": "Referral partnership (2027)"}, deep=True)
        amended.reviews.weekly_status.every = "2w"
        await accord.propose_amendment(wf, AmendmentProposal(definition=amended, actor="ops", reason="Fortnightly status",
                                                             channel=Channel.cli))
        state = await state_where(accord, wf, lambda s: "amendment-1" in s.approvals, timeout=30)
        changes = state.amendments[0].changes
        assert len(changes) == 2 and any(c.startswith("name:") for c in changes), changes
        assert "[amendment-1]: waiting on Ann Alpha, Ben Beta until " in state.detail, state.detail

        mail = await until(lambda: mail_for(settings, "ann@alpha.example", "Decision needed: Amendment 1"), timeout=60)
        text = outbox.body(mail, "plain")
        assert "Reference: approval amendment-1, round 1" in text
        assert "What changes:\n" + "".join(f"- {c}\n" for c in changes) in text
        async with serving(settings, accord, listener), chromium(executable) as browser:
            page = await browser.new_page()
            await page.goto(f"{base}{action_link(mail)}")
            await expect(page.locator("dl.facts")).to_contain_text("amendment-1")
            shown = page.get_by_role("region", name="What changes")
            assert await shown.locator("li").all_inner_texts() == changes
            await page.screenshot(path=str(tmp_path / "amendment-approval.png"), full_page=True)
            await page.get_by_role("button", name="Approve").click()
            await expect(page.locator("main")).to_contain_text("recorded")
        await accord.decide(wf, DecisionInput(approval_id="amendment-1", actor="ben", decision=DecisionKind.approve,
                                              channel=Channel.api))
        done = await state_where(accord, wf, lambda s: s.approvals["amendment-1"].outcome.value == "approved", timeout=30)
    # Still in screening: the go/no-go waits, the amendment's approval is gone from the line.
    assert done.detail.startswith("Go/no-go decision [go-no-go]: ") and "amendment-1" not in done.detail, done.detail
    assert done.name == "Referral partnership (2027)"
    assert (tmp_path / "amendment-approval.png").stat().st_size > 0


async def test_what_a_signed_in_person_sends_for_someone_is_recorded_as_theirs(dev_env, settings, accord_for):
    """Ops, signed in, mark Arun's task done through the API: the record keeps Arun as the actor
    and ``ops:<name>`` as who sent it, and the status page shows both."""
    import httpx

    from accord.web.app import create_app
    from tests.support.signin_helpers import sign_in

    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        definition = unique(DATA / "screening.yaml")
        wf = await accord.start(definition)
        await state_where(accord, wf, lambda s: "capability" in s.tasks, timeout=30)
        transport = httpx.ASGITransport(app=create_app(settings, accord))
        async with httpx.AsyncClient(transport=transport, base_url=settings.web_base_url,
                                     headers={"Origin": settings.web_base_url}) as http:
            await sign_in(http, settings)
            r = await http.post(f"/api/v1/partnerships/{definition.id}/tasks/capability/complete",
                                json={"actor": "arun", "result": "Audit done"})
            assert r.status_code == 200, r.text
            state = await state_where(accord, wf, lambda s: not s.tasks["capability"].is_open, timeout=30)
            page = (await http.get(f"/p/{wf}")).text
    task = state.tasks["capability"]
    assert (task.completed_by, task.completion_sent_by) == ("arun", "ops:local-operator")
    event = next(e for e in state.timeline if e.kind == "task_completed")
    assert (event.actor, event.sent_by) == ("arun", "ops:local-operator")
    assert '<span class="mono">arun</span> <span class="muted">(by ops:local-operator)</span>' in page


async def test_a_flapping_status_pages_nobody_again_within_the_quiet_period(ts_env, settings, accord_for):
    """Weekly status red, green, red, green, with a quiet period of three weeks: the first red pages
    the leads and closes on green (they are told); the second red, within the quiet period after
    the first cleared, pages nobody, and closes on the next green without having paged anyone."""
    from definitions.durations import Duration
    from tests.support.lifecycle import to_active

    definition = unique(DATA / "operating.yaml")
    definition.escalation.triggers.red_status.quiet_period = Duration.parse("3w")
    # Its climb to ops away from the next review's close (tests/data/triggers.yaml says why).
    definition.escalation.ladder[1].respond_within = Duration.parse("6d")
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        await to_active(accord, wf)
        for n, rag in enumerate((Rag.red, Rag.green, Rag.red, Rag.green), start=1):
            review_id = f"weekly_status-{n}"
            review = (await accord.state(wf)).reviews[review_id]
            await advance_to(ts_env, review.scheduled_for + timedelta(hours=1))
            await state_where(accord, wf, lambda s, r=review_id: s.reviews[r].opened_at is not None, timeout=30)
            for who in ("abe", "ben"):
                await accord.submit_review_input(wf, ReviewInputSubmission(review_id=review_id, stakeholder=who, rag=rag,
                                                                           channel=Channel.api))
            await advance_to(ts_env, review.scheduled_for + timedelta(days=2, hours=2))  # inputs due 2 days after it opens
            state = await state_where(accord, wf, lambda s, r=review_id: s.reviews[r].closed_at is not None, timeout=30)
            if n == 1:
                first = next(e for e in state.escalations if e.trigger == "red_status")
                assert first.status == EscalationStatus.open

                await eventually(partial(all_told, settings, ("abe", "ben"), f"Escalated to Leads: {first.id}: weekly status is red"))
            if n == 2:
                cleared = await eventually(partial(state_is, accord, wf, lambda s: s.escalations[0].status
                                                   == EscalationStatus.cleared), timeout=30)
                assert "escalated" not in cleared.detail

                await eventually(partial(all_told, settings, ("abe", "ben"), f"Closed, its cause is gone: {first.id}:"))
            if n == 3:
                again = next(e for e in state.escalations if e.trigger == "red_status" and e.id != first.id)
                escalation = await accord.escalation(wf, again.id)
                assert escalation.quiet_until is not None and escalation.quiet_until > await ts_env.get_current_time()
                assert escalation.levels[0].notified_at is None
                assert "nobody is paged before" in next(e.detail for e in state.timeline if e.kind == "escalation_opened"
                                                         and e.data.get("escalation") == again.id)
        final = await eventually(partial(_closed, accord, wf, again.id), timeout=30)
    assert final.status == EscalationStatus.cleared
    assert all(change.notified_at is None for change in final.levels), "paged nobody"
    assert subjects_to(settings, "@", again.id) == [], "no email at all about the second one"


async def test_five_revisions_of_a_diverging_statement_make_one_email_to_each_other_participant(ts_env, settings, accord_for):
    """Everyone is asked once to revise; Bo then revises five times within a minute, still far
    from the others: once it is quiet, each other participant gets one email listing the
    revisions, and Bo none."""
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await submit_statements(accord, wf, {**ALIGNED, "bo": DIVERGENT})
        await state_where(accord, wf, lambda s: any(e.trigger == "alignment" for e in s.escalations))
        await eventually(partial(all_told, settings, tuple(ALIGNED), "Goal statements diverge: please revise yours"))
        for n in range(1, 6):
            await submit_statements(accord, wf, {"bo": f"{DIVERGENT} Draft {n} of our public sector growth plan."})
        state = await state_where(accord, wf, lambda s: s.alignment.statements["bo"].revision == 6)
        assert state.alignment.result.blocked
        await advance_to(ts_env, await ts_env.get_current_time() + timedelta(minutes=5))  # quiet for 2 minutes
        await eventually(partial(all_told, settings, ("alice", "arun", "bea"), "Goal statements still diverge"))
    for who in ("alice", "arun", "bea"):
        assert len(subjects_to(settings, f"{who}@", "Goal statements")) == 2, who  # asked once, then one digest
        digest = next(m for _, m in outbox.messages(settings.outbox_dir)
                      if f"{who}@" in m["To"] and "still diverge" in m["Subject"])
        assert outbox.body(digest, "plain").count("Bo Beta revised their statement") == 5
    asked = f"Goal statements diverge: please revise yours ({state.name})"
    assert subjects_to(settings, "bo@", "Goal statements") == [asked], "none to the person revising"


@pytest.mark.browser
async def test_a_go_no_go_page_shows_the_evidence_to_decide_on(dev_env, settings, accord_for, tmp_path):
    """The go/no-go request's link opens a page with the checklist results, the goal statements
    and their score, and the open escalations (none), as the email listed them."""
    from playwright.async_api import expect

    from tests.support.browser import chromium, chromium_path, listen, serving

    executable = chromium_path()
    listener, base = listen(settings)
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await submit_statements(accord, wf, ALIGNED)
        for task_id, owner in REQUIRED.items():
            await accord.complete_task(wf, TaskCompletion(task_id=task_id, actor=owner, result=f"{task_id} passed",
                                                          channel=Channel.api))
        state = await state_where(accord, wf, lambda s: "go-no-go" in s.approvals, timeout=60)
        mail = await until(lambda: mail_for(settings, "bea@beta.example", "Decision needed: Go/no-go"), timeout=60)
        async with serving(settings, accord, listener), chromium(executable) as browser:
            page = await browser.new_page()
            await page.goto(f"{base}{action_link(mail)}")
            await expect(page.locator("dl.facts")).to_contain_text("go-no-go")
            checklist = await page.get_by_role("region", name="Checklist").locator("li").all_inner_texts()
            statements = await page.get_by_role("region", name="Goal statements").locator("li").all_inner_texts()
            escalations = await page.get_by_role("region", name="Open escalations").locator("li").all_inner_texts()
            await page.screenshot(path=str(tmp_path / "go-no-go-evidence.png"), full_page=True)
    assert len(checklist) == 3
    assert checklist[0].startswith("Capability audit: done by Arun Acme on ") and checklist[0].endswith(": capability passed")
    assert checklist[1].startswith("Legal and compliance review: done by Bo Beta on ")
    assert checklist[2] == "Charter with SMART goals (optional): open (Alice Acme)"
    assert f"Bo Beta: {ALIGNED['bo']}" in statements
    score = state.alignment.result
    assert statements[-1] == f"Divergence {score.divergence:.2f} (threshold 0.75): close enough"
    assert escalations == ["None."]
    assert (tmp_path / "go-no-go-evidence.png").stat().st_size > 0
