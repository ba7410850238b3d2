"""One partnership from screening to a cleared escalation, every email followed by its recipient.

On the dev server with a real worker and the web app under uvicorn, one partnership
(tests/data/e2e.yaml) goes through screening, the MOU (changes requested on version 1, ops
upload version 2, both sign it), launch (a task and a metric's baseline), an amendment that
starts the weekly status, a red weekly status that escalates to the leads, the leads' CARE
notes, and a green one that removes the escalation's cause. (The weekly status recurs every
12 seconds once started: started by the amendment, it asks nothing during the earlier steps;
a request that comes during a later step is expected there and answered from its email too.)

Every action a stakeholder takes is taken the way the email asks: in headless Chromium, from
the link in that email, as its recipient, on the page it opens, by filling and submitting its
form; the state then shows the change asked for. After every step the test checks

- the emails the step caused, exactly (what and to whom, from the outbox);
- the status line, the same everywhere it is shown (the state, `accord status`, the web status
  page, the Temporal UI's current details and the status search attribute), derived from the state as it is now
  (:func:`accord.logic.status.derive`) and saying what that step should leave;
- on the decision pages, what there is to decide on: the go/no-go's evidence, what changed in
  the MOU and the change asked for, the amendment's diff.

Ops revise the MOU from their email's link too: the signed-in revision page, reached through
the sign-in page and a real OpenID provider. They propose the amendment through the client
(the CLI's path). A link that does not open its page, or a page that does not show what it should, is
recorded and the run goes on (what later steps show is worth seeing too); the test then fails
with all of them. Screenshots of every page are kept in the run's folder, the kinds of emails
and links followed in the run's figures (tests/support/run_record.py).
"""

from __future__ import annotations

import shutil

import httpx
import pytest

from accord.models import (
    GO_NO_GO,
    MOU,
    AmendmentProposal,
    AmendmentStatus,
    Channel,
    DecisionKind,
    EscalationStatus,
    EventKind,
    Health,
    MetricObservationInput,
    MouRevision,
    Rag,
    Stage,
    TaskStatus,
    TriggerKind,
)
from accord.storage import open_storage
from accord.web import documents
from definitions.schema import Duration, PartnershipDefinition
from tests.support import run_record
from tests.support.browser import chromium, chromium_path, listen, serving
from tests.support.e2e_helpers import (
    STEP,
    Run,
    answer_weekly_status,
    care,
    complete_task,
    decide,
    one,
    record_value,
    write_statement,
)
from tests.support.helpers import ALIGNED, unique
from tests.support.paths import DATA
from tests.support.signin_helpers import Provider, sign_in
from tests.support.web_helpers import until
from tests.support.workers import running_worker

pytestmark = pytest.mark.browser

OPS = "ops-0"  # the definition's ops contact, as emails name it
STATEMENTS = {"ann": ALIGNED["alice"], "ben": ALIGNED["bea"]}
LEGAL_NOTES = "Done by the legal team: no issues."
CHANGE_ASKED = "Please add a clause on how personal data is protected."
REVISED = "Data protection clause added"
DATA_CLAUSE = "Each party protects personal data under the GDPR and tells the other of any breach within 72 hours."
CARE_NOTES = {"abe": ("clarify", "The county's permit API has been down since Monday."),
              "ben": ("explore", "Beta can host a fallback form until the API is back.")}


def amended(definition: PartnershipDefinition) -> PartnershipDefinition:
    """The amendment: the weekly status starts, and the leads get two hours to respond."""
    d = definition.model_copy(deep=True)
    d.reviews.weekly_status.enabled = True
    d.escalation.ladder[0].respond_within = Duration(seconds=7200)
    return d


async def test_one_partnership_every_email_every_link(dev_env, settings, accord_for, oidc_provider: Provider, tmp_path):
    executable = chromium_path()
    listener, base = listen(settings)
    settings = oidc_provider.configure(settings)  # ops sign in through it to follow their email's link
    accord = accord_for(dev_env)
    accord.settings = settings
    definition = unique(DATA / "e2e.yaml")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    async with running_worker(dev_env.client, settings), serving(settings, accord, listener), \
            chromium(executable) as browser, httpx.AsyncClient(base_url=base) as ops:
        await sign_in(ops, settings)  # ops read the web status page
        wf = await accord.start(definition)
        run = Run(accord, wf, settings, definition, base, browser, ops, shots)
        try:
            await story(run, definition)
        finally:
            kept = run_record.folder() / "screenshots" / "test_e2e_every_link"
            shutil.copytree(shots, kept, dirs_exist_ok=True)
            run_record.figures("e2e: every email, every link", run.tally.figures(kept))
    run.finish()


async def story(run: Run, definition: PartnershipDefinition) -> None:
    await screening(run)
    await mou(run)
    await launch(run)
    await amendment(run, definition)
    await escalation(run)


async def screening(run: Run) -> None:
    """The checklist task and both goal statements, each from its email; then both say go."""
    mails = await run.expect("started", {("task/legal-review/assigned/0", "abe"), ("task/statement-ann/assigned/0", "ann"),
                                         ("task/statement-ben/assigned/0", "ben")},
                             "Screening: waiting on Legal and compliance review", Health.on_track)
    done = await run.act(one(mails, "task/legal-review/assigned/0", "abe"), complete_task(LEGAL_NOTES), "legal-review")
    assert done is not None and "marked done" in done
    task = (await run.state()).tasks["legal-review"]
    assert (task.status, task.completed_by, task.result, task.channel) == (TaskStatus.done, "abe", LEGAL_NOTES,
                                                                           Channel.email_link)
    await run.check_status("checklist done", lambda line: "Legal and compliance review" not in line
                           and "goal statements from Ann Alpha, Ben Beta" in line, Health.on_track)
    for who in ("ann", "ben"):
        await run.act(one(mails, f"task/statement-{who}/assigned/0", who), write_statement(STATEMENTS[who]), "statement")
    state = await run.state()
    assert {w: s.text for w, s in state.alignment.statements.items()} == STATEMENTS
    assert {state.tasks[f"statement-{w}"].channel for w in STATEMENTS} == {Channel.email_link}

    request = f"approval/{GO_NO_GO}/1/request/0"
    mails = await run.expect("go/no-go opened", {(request, "ann"), (request, "ben")},
                             "Go/no-go decision [go-no-go]: waiting on Ann Alpha, Ben Beta", Health.on_track)
    divergence = f"Divergence {(await run.state()).alignment.result.divergence:.2f}"
    for who in ("ann", "ben"):
        mail = one(mails, request, who)
        run.email_shows(mail, "go/no-go email, the evidence", [LEGAL_NOTES, STATEMENTS["ann"], STATEMENTS["ben"], divergence])

        async def evidence(page, mail=mail) -> None:
            # What there is to decide on (issue 13): the checklist's results, the statements and their score.
            what = "go/no-go page, the evidence"
            await run.section(page, mail, "Checklist", [
                lambda line: line.startswith("Legal and compliance review: done by Abe Alpha") and LEGAL_NOTES in line], what)
            await run.section(page, mail, "Goal statements", [
                lambda line: line == f"Ann Alpha: {STATEMENTS['ann']}", lambda line: line == f"Ben Beta: {STATEMENTS['ben']}",
                lambda line: line.startswith(divergence) and "close enough" in line], what)
            await run.section(page, mail, "Open escalations", [lambda line: line == "None."], what)
        await run.act(mail, decide(DecisionKind.approve, f"Go from {who}.", evidence), "go-no-go")
    decisions = (await run.state()).approvals[GO_NO_GO].decisions
    assert [(d.actor, d.decision, d.comment, d.channel) for d in decisions] == [
        ("ann", DecisionKind.approve, "Go from ann.", Channel.email_link),
        ("ben", DecisionKind.approve, "Go from ben.", Channel.email_link)]


async def mou(run: Run) -> None:
    """Ben signs version 1, Ann asks for a change; ops upload version 2; both sign it."""
    request = f"approval/{MOU}/1/request/0"
    mails = await run.expect("MOU version 1 up for signature", {(request, "ann"), (request, "ben")},
                             "MOU signature [mou], round 1 on version 1: waiting on Ann Alpha, Ben Beta", Health.on_track)
    await run.act(one(mails, request, "ben"), decide(DecisionKind.approve, "Fine by Beta."), "mou-v1")
    await run.check_status("Ben signed version 1", "MOU signature [mou], round 1 on version 1: waiting on Ann Alpha until",
                           Health.on_track)
    await run.act(one(mails, request, "ann"), decide(DecisionKind.request_changes, CHANGE_ASKED), "mou-v1")
    state = await run.state()
    assert [(d.actor, d.decision, d.document_version) for d in state.approvals[MOU].decisions] == [
        ("ben", DecisionKind.approve, 1), ("ann", DecisionKind.request_changes, 1)]
    mails = await run.expect("changes requested", {("mou-changes/1", OPS)},
                             "Changes requested on MOU version 1 (round 1 of 3): waiting for ops", Health.on_track)
    # Ops follow their email's link, sign in, and upload version 2: version 1 with the clause asked for.
    mail = one(mails, "mou-changes/1", OPS)

    async def revise(page) -> None:
        what = "MOU revision page"
        await run.section(page, mail, "The changes asked for", [lambda line: line.startswith(f"Ann Alpha: {CHANGE_ASKED}")],
                          what)
        await run.shows(page, mail, what, ["Version 1", "1 of 3"])
        text = page.get_by_label("The MOU")
        await text.fill(f"{(await text.input_value()).rstrip()}\n\n## Data protection\n\n{DATA_CLAUSE}\n")
        await page.get_by_label("What changed").fill(REVISED)
        await page.get_by_role("button", name="Upload version 2").click()
        await page.wait_for_url(f"{run.base}/p/{run.wf}")

    if not await run.act_signed_in(mail, revise, "mou-revise"):
        # The failure is recorded; ops upload it the other way (`accord mou upload`), and the run goes on.
        async with await open_storage(run.settings) as store:
            text = await documents.load(store, 1, state.mou.current.hash)
        await run.accord.revise_mou(run.wf, MouRevision(
            actor="ops", note=REVISED, channel=Channel.cli, markdown=f"{text.rstrip()}\n\n## Data protection\n\n{DATA_CLAUSE}\n"))
    request = f"approval/{MOU}/2/request/0"
    mails = await run.expect("MOU version 2 up for signature", {(request, "ann"), (request, "ben")},
                             "MOU signature [mou], round 2 on version 2: waiting on Ann Alpha, Ben Beta", Health.on_track)
    state = await run.state()
    v2 = state.mou.current
    assert (v2.version, v2.author, v2.note) == (2, "ops", REVISED) and [d.comment for d in v2.requested_changes] == [CHANGE_ASKED]
    [uploaded] = [e for e in state.timeline if e.kind == EventKind.mou_version and e.data.get("version") == 2]
    assert uploaded.sent_by == "ops:alice@example.org", uploaded  # the signed-in person, as the API records one
    assert f"+ {DATA_CLAUSE}" in v2.changes.lines, v2.changes
    for who in ("ann", "ben"):
        mail = one(mails, request, who)
        run.email_shows(mail, "MOU round 2 email, the change asked for", [f"Ann Alpha: {CHANGE_ASKED}"])

        async def what_changed(page, mail=mail) -> None:
            # Version 2 itself; and (issue 13) what changed since version 1, and the change asked for.
            await run.shows(page, mail, "MOU round 2 page, the document", [DATA_CLAUSE, v2.hash])
            changed = await run.page_lines(page, "What changed since version 1")
            if not any(DATA_CLAUSE in line for line in changed or []):
                run.fail(f"MOU round 2 page ({mail.to}): what changed since version 1 does not show the clause: {changed}")
            await run.section(page, mail, "The changes that were asked for",
                              [lambda line: line == f"Ann Alpha: {CHANGE_ASKED}"], "MOU round 2 page")
        await run.act(mail, decide(DecisionKind.approve, "Signed.", what_changed), "mou-v2")
    state = await run.state_where(lambda s: s.stage == Stage.launch, "the MOU signed: launch")
    assert state.mou.signed_at is not None
    assert [(d.actor, d.document_version, d.document_hash) for d in state.approvals[MOU].decisions_in_round()] == [
        ("ann", 2, v2.hash), ("ben", 2, v2.hash)]


async def launch(run: Run) -> None:
    """Abe holds the kickoff, Ben records the metric's baseline, each from the email asking."""
    kickoff, baseline = "task/kickoff/assigned/0", "task/baseline-permits-online/assigned/0"
    mails = await run.expect("launch", {(kickoff, "abe"), (baseline, "ben")},
                             "Launch: waiting on Kickoff meeting (Abe Alpha", Health.on_track)
    await run.act(one(mails, kickoff, "abe"), complete_task("Kicked off with both teams."), "kickoff")
    await run.check_status("kickoff done", lambda line: "Kickoff" not in line and "Capture the baseline" in line,
                           Health.on_track)
    if await run.act(one(mails, baseline, "ben"), record_value("Permits filed online", "12"), "baseline") is None:
        # The failure is recorded; Ben gives the value the other way, and the run goes on.
        await run.accord.record_metric(run.wf, MetricObservationInput(metric_id="permits-online", value=12, actor="ben",
                                                                      channel=Channel.cli))
    state = await run.state_where(lambda s: s.stage == Stage.active, "launched: active")
    assert state.metrics["permits-online"].baseline == 12
    assert state.tasks["baseline-permits-online"].status == TaskStatus.done
    await run.expect("active", set(), lambda line: line == "Active", Health.on_track)


async def amendment(run: Run, definition: PartnershipDefinition) -> None:
    """Ops propose an amendment (`accord amend`): the weekly status starts. Both signatories approve it."""
    await run.accord.propose_amendment(run.wf, AmendmentProposal(
        definition=amended(definition), actor="ops", reason="Start the weekly status", channel=Channel.cli))
    [proposed] = (await run.state()).amendments
    request = f"approval/{proposed.id}/1/request/0"
    mails = await run.expect("amendment proposed", {(request, "ann"), (request, "ben")},
                             f"[{proposed.id}]: waiting on Ann Alpha, Ben Beta", Health.on_track)
    changes = (await run.state()).approvals[proposed.id].changes
    assert sorted(c.split(":")[0] for c in changes) == ["escalation.ladder[0].respond_within",
                                                        "reviews.weekly_status.enabled"], changes
    for who in ("ann", "ben"):
        mail = one(mails, request, who)
        run.email_shows(mail, "amendment email, the diff", changes)

        async def diff(page, mail=mail) -> None:
            # What the amendment changes, line by line, as `accord amend` prints it (issue 13).
            await run.section(page, mail, "What changes", [lambda line, c=c: line == c for c in changes],
                              "amendment approval page, the diff")
        await run.act(mail, decide(DecisionKind.approve, "Agreed.", diff), "amendment")
    await run.state_where(lambda s: s.amendments[0].status == AmendmentStatus.applied, "the amendment applied")
    assert (await run.accord.definition(run.wf)).reviews.weekly_status.enabled


async def escalation(run: Run) -> None:
    """A red weekly status escalates to the leads, who note what they know from their emails;
    the next one is green: the cause is gone, the escalation closes and the leads are told."""
    await run.state_where(lambda s: any(r.opened_at for r in s.reviews.values()), "the first weekly status opened")
    await run.expect("amendment applied; the first weekly status", set(),
                     lambda line: "Weekly status #1 [weekly_status-1]" in line and "amendment" not in line, Health.on_track)
    await answer_weekly_status(run, Rag.red, "The permit API is down; we are blocked.")
    state = await run.state_where(lambda s: s.open_escalations(), "an escalation for the red status")
    [record] = state.open_escalations()
    assert (record.trigger, record.level) == (TriggerKind.red_status, 1)
    mails = await run.expect("red status escalated", {("level-1", "abe"), ("level-1", "ben")},
                             f"escalated: {record.id}", Health.escalated)
    paged = {who: one(mails, "level-1", who) for who in CARE_NOTES}
    for who, (step, text) in CARE_NOTES.items():
        done = await run.act(paged[who], care(step, text), "escalation")
        assert done is not None and "is recorded" in done, done
    esc = await run.accord.escalation(run.wf, record.id)
    assert (esc.care.clarify.text, esc.care.explore.text, esc.status) == (
        CARE_NOTES["abe"][1], CARE_NOTES["ben"][1], EscalationStatus.open)
    await run.expect("CARE notes recorded", set(), f"escalated: {record.id}", Health.escalated)

    await answer_weekly_status(run, Rag.green, "The API is back; on track again.")

    async def closed():
        esc = await run.accord.escalation(run.wf, record.id)
        return esc if esc.status.is_final else None

    esc = await until(closed, STEP)
    assert esc.status == EscalationStatus.cleared and esc.closed_by == "accord", (esc.status, esc.closed_by)
    mails = await run.expect("cause gone, escalation closed", {("cleared", "abe"), ("cleared", "ben")},
                             lambda line: "escalated" not in line, Health.on_track)
    for mail in mails:
        if mail.purpose == "cleared":
            await run.open_links(mail)
            run.email_shows(mail, "cleared notice", [record.id, esc.closed_cause])
    assert not (await run.state()).open_escalations()
    # The escalation email's link, opened again, says it is closed and why: nothing is left to do there.
    page = " ".join((await run.reopen(paged["abe"], "escalation-cleared")).split())
    assert "This escalation is cleared" in page, page
    if esc.closed_cause not in page:
        run.fail(f"level-1 email to abe, its escalation link once cleared: the page does not say why ({esc.closed_cause!r}): "
                 f"{page[:300]}")

    # Any weekly status asked meanwhile is answered too (every email's link is followed), until
    # no email is left unanswered.
    while run.reviews_waiting:
        await answer_weekly_status(run, Rag.green, "Still on track.")
        await run.expect("weekly status answered", set(), lambda line: "escalated" not in line, Health.on_track)
