"""One partnership from screening to an amendment, every email followed by its recipient.

On the dev server with a real worker and the web app under uvicorn, one partnership
(tests/data/e2e.yaml) goes through screening, the MOU (changes requested on version 1, ops
upload version 2, both sign it), launch (a task and a metric's baseline), an amendment that
starts the weekly status, a red weekly status that escalates to the leads, the leads' CARE
notes, and a green one that removes the escalation's cause.

Every action a stakeholder takes is taken the way the email asks: in headless Chromium, from
the link in that email, on the page it opens, by filling and submitting its form. After every
step the test checks

- the emails the step caused, exactly (what and to whom, from the outbox);
- the status line, the same everywhere it is shown (the state, the web status page, the Temporal
  UI's current details and the status search attribute), and derived from the state as it is now
  (:func:`accord.logic.status.derive`), with the words that step should leave;
- that every link of every email opens: an action link as its recipient (the form is there, it is
  submitted, the state changes as asked), any other link answering 200.

Ops act where they act today: the revised MOU and the amendment through the client (the CLI's
path). What kinds of links were followed is left in the run's figures.
"""

from __future__ import annotations

import html
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from accord import tokens
from accord.client import Accord
from accord.config import Settings
from accord.logic import status
from accord.mail import outbox
from accord.models import (
    GO_NO_GO,
    MOU,
    AmendmentProposal,
    AmendmentStatus,
    Channel,
    DecisionKind,
    EscalationStatus,
    Health,
    MetricObservationInput,
    MouRevision,
    PartnershipState,
    Rag,
    Stage,
    TaskStatus,
)
from accord import search_attributes as sa
from definitions.schema import PartnershipDefinition
from tests import run_record
from tests.conftest import DATA, running_worker
from tests.helpers import ALIGNED, unique
from tests.signin_helpers import sign_in
from tests.test_browser import chromium, chromium_path, listen, serving
from tests.web_helpers import all_links, mails, until

pytestmark = pytest.mark.browser

# Long enough for a step on a loaded machine; the steps wait on conditions, never on time.
STEP = 30.0

STATEMENTS = {"ann": ALIGNED["alice"], "ben": ALIGNED["bea"]}
OPS = "ops-0"  # the definition's first ops contact, as emails name it
CHANGE_ASKED = "Please add a clause on how personal data is protected."
DATA_CLAUSE = "Each party protects personal data under the GDPR and tells the other of any breach within 72 hours."


@dataclass
class Mail:
    name: str  # the outbox file
    purpose: str  # the send key without workflow and chain ids, nor recipient
    to: str  # the recipient's id
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


@dataclass
class Followed:
    """What the run followed: link kinds (for the figures) and every email accounted for."""

    kinds: Counter = field(default_factory=Counter)
    emails: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def purpose_and_recipient(mail: EmailMessage) -> tuple[str, str]:
    """``<workflow>/<chain>/<purpose>/<recipient>`` (workflows/toolkit/mailing.py): the last two."""
    key = str(mail[outbox.KEY_HEADER])
    rest = key.split("/", 2)[2]
    purpose, to = rest.rsplit("/", 1)
    return purpose, to


def kind_of(purpose: str) -> str:
    """An email's kind, for the figures: ``task/assigned``, ``approval/mou/request``, ``mou-changes``."""
    parts = purpose.split("/")
    if parts[0] == "approval":  # approval/<id>/<round>/<why>/<n>
        return f"approval/{parts[1].rstrip('-0123456789')}/{parts[3]}"
    if len(parts) >= 4:  # task/<id>/<why>/<n>, review/<id>/<why>/<n>
        return f"{parts[0]}/{parts[2]}"
    return parts[0]


class Run:
    """The partnership, its web app and a browser, and what the outbox has shown so far."""

    def __init__(self, accord: Accord, wf: str, settings: Settings, definition: PartnershipDefinition, base: str,
                 browser, ops: httpx.AsyncClient, shots: Path):
        self.accord, self.wf, self.settings, self.definition = accord, wf, settings, definition
        self.base, self.browser, self.ops, self.shots = base, browser, ops, shots
        self.seen: set[str] = set()
        self.reviews_asked: set[str] = set()
        # Weekly status requests not answered yet, oldest first (they come whatever step is under way).
        self.reviews_waiting: list[Mail] = []
        self.followed = Followed()
        self.by_email = {s.email: s.id for p in definition.parties for s in p.stakeholders}
        self.by_email.update({o.email: f"ops-{i}" for i, o in enumerate(definition.ops)})

    # ------------------------------------------------------------------ emails

    def outbox(self) -> list[Mail]:
        out = []
        for path, message in outbox.messages(self.settings.outbox_dir):
            purpose, to = purpose_and_recipient(message)
            address = str(message["To"]).split("<")[-1].rstrip(">")
            assert self.by_email.get(address) == to, f"{purpose}: sent to {message['To']}, but its key names {to}"
            out.append(Mail(path.stem, purpose, to, message))
        return out

    async def expect(self, step: str, emails: dict[tuple[str, str], int] | set[tuple[str, str]],
                     line: str | Callable[[str], bool], health: Health) -> list[Mail]:
        """Wait until the emails new since the last step are exactly ``emails`` ((purpose, recipient)
        -> count; a set: once each), plus the request of any weekly status that opened meanwhile;
        then check the status line everywhere. Returns the new emails."""
        wanted = Counter(emails) if isinstance(emails, dict) else Counter({e: 1 for e in emails})

        async def arrived() -> tuple[list[Mail]] | None:
            new = [m for m in self.outbox() if m.name not in self.seen]
            # Read after the outbox: a review whose email is out has opened in this state.
            state = await self.accord.state(self.wf)
            expected = wanted + self._reviews_opened(state)
            got = Counter((m.purpose, m.to) for m in new)
            return (new,) if got == expected else None  # a tuple: no email at all is an answer too

        try:
            [new] = await until(arrived, STEP)
        except AssertionError:
            got = sorted((m.purpose, m.to) for m in self.outbox() if m.name not in self.seen)
            raise AssertionError(f"{step}: the emails sent are not those expected.\n  sent: {got}\n  expected: "
                                 f"{sorted((wanted + self._reviews_opened(await self.accord.state(self.wf))).elements())}") from None
        self.seen.update(m.name for m in new)
        asked = sorted((m for m in new if m.purpose.startswith("review/")), key=lambda m: m.purpose)
        self.reviews_asked.update(m.purpose.split("/")[1] for m in asked)
        self.reviews_waiting += asked
        for m in new:
            self.followed.emails[kind_of(m.purpose)] += 1
        await self.check_status(step, line, health)
        return new

    def _reviews_opened(self, state: PartnershipState) -> Counter:
        """The weekly status asks its participants when it opens, whatever step is under way."""
        return Counter({(f"review/{r.id}/request/0", who): 1 for r in state.reviews.values()
                        if r.opened_at is not None and r.id not in self.reviews_asked for who in r.participants})

    async def check_status(self, step: str, line: str | Callable[[str], bool], health: Health) -> PartnershipState:
        """The status line is derived from the state now, says what the step should leave, and is
        the same in the state, on the web status page, in the Temporal UI and the search attribute."""
        handle = self.accord.handle(self.wf)

        async def agreed() -> PartnershipState:
            state = await self.accord.state(self.wf)
            definition = await self.accord.definition(self.wf)
            derived = status.derive(state, definition)
            assert (state.detail, state.health) == (derived.line, derived.health), \
                f"{step}: the status line is not the one the state says now:\n  shown:   {state.detail} " \
                f"({state.health})\n  derived: {derived.line} ({derived.health})"
            page = await self.ops.get(f"/p/{self.wf}")
            assert page.status_code == 200, page.text[:300]
            shown = re.search(r"<dt>Detail</dt><dd>(.*?)</dd>", page.text, re.S)
            assert shown and html.unescape(shown.group(1)) == state.detail, \
                f"{step}: the web status page shows {shown and html.unescape(shown.group(1))!r}, not {state.detail!r}"
            assert f"status-{state.health.value}" in page.text
            details = (await handle.query("__temporal_workflow_metadata")).current_details
            assert f"**Status:** {state.health.value}" in details and state.detail in details, \
                f"{step}: the Temporal UI's current details are stale:\n{details}"
            attribute = (await handle.describe()).typed_search_attributes.get(sa.STATUS)
            assert attribute == state.health.value, f"{step}: search attribute {attribute}, state {state.health}"
            return state

        state = await until(agreed, STEP)
        ok = line(state.detail) if callable(line) else line in state.detail
        assert ok, f"{step}: the status line does not say what it should ({line!r}):\n  {state.detail}"
        assert state.health == health, f"{step}: health {state.health}, expected {health}"
        return state

    # ------------------------------------------------------------------ links

    def links(self, mail: Mail) -> list[str]:
        return sorted(all_links(mail.message))

    async def open_links(self, mail: Mail) -> None:
        """An email that only informs: each link it carries opens a page (200) for its recipient."""
        for link in self.links(mail):
            assert link.startswith(self.base), f"{mail.subject}: a link outside Accord: {link}"
            context = await self.browser.new_context()
            try:
                response = await (await context.new_page()).goto(link)
                assert response is not None and response.status == 200, \
                    f"{mail.purpose} to {mail.to}: {link} answers {response and response.status}"
            finally:
                await context.close()
            self.followed.kinds[f"info:{kind_of(mail.purpose)}"] += 1

    def fail(self, what: str) -> None:
        """A failure that does not stop the run (what later steps show is worth seeing too): the
        test fails at its end with every one of them."""
        self.followed.failures.append(what)

    async def shows(self, page, what: str, texts: list[str]) -> None:
        """The page (rendered by the server: nothing to wait for) shows each of ``texts``."""
        main = await page.locator("main").inner_text()
        missing = [t for t in texts if t not in main]
        if missing:
            self.fail(f"{what}: the page does not show {missing}")

    async def act(self, mail: Mail, fill: Callable, name: str | None = None) -> str | None:
        """Open the email's action link as its recipient in a fresh browser (no session), check the
        page, let ``fill(page)`` fill and submit its form; return the confirmation text (None: the
        link did not open a page to act on; the failure is recorded and the caller acts otherwise)."""
        links = [link for link in self.links(mail) if "/a/" in link]
        if len(links) != 1:
            self.fail(f"{mail.purpose} to {mail.to} ({mail.subject!r}) asks something but has {len(links)} action links")
            return None
        [link] = links
        claim = tokens.verify(link.rsplit("/a/", 1)[1], self.settings.keys)
        assert claim.recipient == mail.to, f"{mail.purpose}: the link acts as {claim.recipient}, sent to {mail.to}"
        shot = self.shots / f"{name or mail.purpose.replace('/', '_')}-{mail.to}"
        context = await self.browser.new_context()
        try:
            page = await context.new_page()
            response = await page.goto(link)
            if response is None or response.status != 200:
                await page.screenshot(path=f"{shot}-failed.png", full_page=True)
                self.fail(f"{kind_of(mail.purpose)} email to {mail.to} ({mail.subject!r}): its {claim.action!r} link "
                          f"answers {response and response.status}: "
                          f"{' '.join((await page.locator('main').inner_text()).split())[:300]}")
                return None
            await page.screenshot(path=f"{shot}-page.png", full_page=True)
            await fill(page)
            text = await page.get_by_role("status").inner_text(timeout=STEP * 1000)
            await page.screenshot(path=f"{shot}-done.png", full_page=True)
        finally:
            await context.close()
        self.followed.kinds[f"action:{claim.action}"] += 1
        return text

    async def state(self) -> PartnershipState:
        return await self.accord.state(self.wf)

    async def state_where(self, predicate: Callable[[PartnershipState], bool], what: str) -> PartnershipState:
        async def reached() -> PartnershipState | None:
            state = await self.state()
            return state if predicate(state) else None

        try:
            return await until(reached, STEP)
        except AssertionError:
            state = await self.state()
            raise AssertionError(f"not reached: {what} (stage {state.stage.value}: {state.detail})") from None


def one(mails: list[Mail], purpose: str, to: str) -> Mail:
    [mail] = [m for m in mails if m.purpose == purpose and m.to == to]
    return mail


# ---------------------------------------------------------------------- the forms, as people fill them

def complete_task(notes: str):
    async def fill(page) -> None:
        from playwright.async_api import expect

        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await page.get_by_label("Result or notes").fill(notes)
        await page.get_by_role("button", name="Mark done").click()
    return fill


def write_statement(text: str):
    async def fill(page) -> None:
        await page.get_by_label("Your statement").fill(text)
        await page.get_by_role("button", name=re.compile("Submit my")).click()
    return fill


def decide(decision: DecisionKind, comment: str = "", check: Callable | None = None):
    async def fill(page) -> None:
        if check is not None:
            await check(page)
        if decision == DecisionKind.approve:
            await page.get_by_label("Comment").fill(comment)
            await page.get_by_role("button", name=re.compile("^Approve")).click()
        elif decision == DecisionKind.request_changes:
            await page.get_by_label("What should change?").fill(comment)
            await page.get_by_role("button", name="Request changes").click()
        else:
            raise AssertionError(f"not used here: {decision}")
    return fill


def record_value(value: str):
    """The baseline email asks for the metric's value: the page has a field for it (by the metric's name)."""
    async def fill(page) -> None:
        await page.get_by_label(re.compile("Permits filed online")).fill(value)
        await page.get_by_role("button").filter(has_text=re.compile("Record|Send|Save")).first.click()
    return fill


def weekly_status(rag: Rag, note: str):
    async def fill(page) -> None:
        await page.get_by_role("radio", name=re.compile(f"{rag.value.capitalize()}:")).check()
        await page.locator("#note").fill(note)
        await page.get_by_role("button", name="Send my input").click()
    return fill


def care(step: str, text: str):
    async def fill(page) -> None:
        from playwright.async_api import expect

        await expect(page.get_by_role("heading", name="The CARE record")).to_be_visible()
        await page.locator(f"#care-{step}").fill(text)
        await page.get_by_role("button", name=f"Record {step}").click()
    return fill


# ---------------------------------------------------------------------- the run

def amended(definition: PartnershipDefinition) -> PartnershipDefinition:
    """The amendment: the weekly status starts, and the leads get two hours to respond."""
    from definitions.schema import Duration

    d = definition.model_copy(deep=True)
    d.reviews.weekly_status.enabled = True
    d.escalation.ladder[0].respond_within = Duration(seconds=7200)
    return d


async def test_one_partnership_every_email_every_link(dev_env, settings, accord_for, tmp_path):
    executable = chromium_path()
    listener, base = listen(settings)
    accord = accord_for(dev_env)
    definition = unique(DATA / "e2e.yaml")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    async with running_worker(dev_env.client, settings), serving(settings, accord, listener), \
            chromium(executable) as browser, httpx.AsyncClient(base_url=base) as ops:
        await sign_in(ops, settings)
        wf = await accord.start(definition)
        run = Run(accord, wf, settings, definition, base, browser, ops, shots)
        try:
            await drive(run, definition)
        finally:
            keep = run_record.folder() / "screenshots" / "test_e2e_every_link"
            shutil.copytree(shots, keep, dirs_exist_ok=True)
            run_record.figures("e2e: every email, every link", "\n".join(
                [f"emails by kind ({sum(run.followed.emails.values())}):"]
                + [f"  {n:3d}  {k}" for k, n in sorted(run.followed.emails.items())]
                + [f"links followed by kind ({sum(run.followed.kinds.values())}):"]
                + [f"  {n:3d}  {k}" for k, n in sorted(run.followed.kinds.items())]
                + [f"screenshots: {keep}"]))


async def drive(run: Run, definition: PartnershipDefinition) -> None:
    # ---- screening: the checklist task and both goal statements, each from its email
    mails = await run.expect("started", {("task/legal-review/assigned/0", "abe"),
                                         ("task/statement-ann/assigned/0", "ann"),
                                         ("task/statement-ben/assigned/0", "ben")},
                             "Screening: waiting on Legal and compliance review", Health.on_track)
    assert "marked done" in await run.act(one(mails, "task/legal-review/assigned/0", "abe"),
                                          complete_task("Done by the legal team: no issues."))
    task = (await run.state()).tasks["legal-review"]
    assert (task.status, task.completed_by, task.channel) == (TaskStatus.done, "abe", Channel.email_link)
    await run.check_status("checklist done", lambda line: "Legal and compliance review" not in line
                           and "goal statements from Ann Alpha, Ben Beta" in line, Health.on_track)
    for who in ("ann", "ben"):
        await run.act(one(mails, f"task/statement-{who}/assigned/0", who), write_statement(STATEMENTS[who]))
    state = await run.state()
    assert {w: s.text for w, s in state.alignment.statements.items()} == STATEMENTS

    # ---- go/no-go: both approve, from the page that shows what there is to decide on
    mails = await run.expect("go/no-go opened", {(f"approval/{GO_NO_GO}/1/request/0", "ann"),
                                                 (f"approval/{GO_NO_GO}/1/request/0", "ben")},
                             "Go/no-go", Health.on_track)

    async def evidence(page) -> None:
        # The evidence to decide on (issue 13): the checklist's results, the goal statements and their score.
        shown = await run.state()
        await run.shows(page, "go/no-go page, evidence", ["Legal and compliance review", "Done by the legal team: no issues.",
                                                         STATEMENTS["ann"], STATEMENTS["ben"],
                                                         f"{shown.alignment.result.divergence:.2f}"])

    for who in ("ann", "ben"):
        await run.act(one(mails, f"approval/{GO_NO_GO}/1/request/0", who),
                      decide(DecisionKind.approve, f"{who}: go", evidence), name="go-no-go")
    assert [(d.actor, d.decision) for d in (await run.state()).approvals[GO_NO_GO].decisions] == \
        [("ann", DecisionKind.approve), ("ben", DecisionKind.approve)]

    # ---- MOU round 1: Ben signs version 1, Ann asks for a change; ops are told
    mails = await run.expect("MOU version 1 up for signature", {(f"approval/{MOU}/1/request/0", "ann"),
                                                                (f"approval/{MOU}/1/request/0", "ben")},
                             "MOU signature [mou]", Health.on_track)
    await run.act(one(mails, f"approval/{MOU}/1/request/0", "ben"), decide(DecisionKind.approve, "Fine by Beta."),
                  name="mou-v1")
    await run.check_status("Ben signed version 1", lambda line: "waiting on Ann Alpha" in line and "Ben Beta" not in line,
                           Health.on_track)
    await run.act(one(mails, f"approval/{MOU}/1/request/0", "ann"), decide(DecisionKind.request_changes, CHANGE_ASKED),
                  name="mou-v1")
    mails = await run.expect("changes requested", {("mou-changes/1", OPS)},
                             "Changes requested on MOU version 1", Health.on_track)
    for mail in mails:
        await run.open_links(mail)

    # ---- ops upload version 2 (the CLI's way); both sign it from the round 2 emails
    v1 = (await run.state()).mou.current
    text = (await run.ops.get(f"/p/{run.wf}/mou/1")).text
    assert v1 is not None and v1.hash in text
    from accord.storage import open_storage

    async with await open_storage(run.settings) as store:
        from accord.web import documents

        original = await documents.load(store, 1, v1.hash)
    await run.accord.revise_mou(run.wf, MouRevision(actor="ops", note="Data protection clause added",
                                                    markdown=f"{original.rstrip()}\n\n## Data protection\n\n{DATA_CLAUSE}\n",
                                                    channel=Channel.cli))
    mails = await run.expect("MOU version 2 up for signature", {(f"approval/{MOU}/2/request/0", "ann"),
                                                                (f"approval/{MOU}/2/request/0", "ben")},
                             "MOU signature [mou], round 2 on version 2: waiting on Ann Alpha, Ben Beta",
                             Health.on_track)

    async def what_changed(page) -> None:
        # Version 2 itself, and (issue 13) the change that was asked for and what changed since version 1.
        await run.shows(page, "MOU round 2 page, the new version", [DATA_CLAUSE])
        await run.shows(page, "MOU round 2 page, what changed", [CHANGE_ASKED, f"+ {DATA_CLAUSE}"])

    for who in ("ann", "ben"):
        await run.act(one(mails, f"approval/{MOU}/2/request/0", who), decide(DecisionKind.approve, "Signed.", what_changed),
                      name="mou-v2")
    state = await run.state_where(lambda s: s.stage == Stage.launch, "the MOU signed: launch")
    assert state.mou.signed_at is not None and state.mou.current.version == 2

    # ---- launch: the kickoff task and the metric's baseline
    mails = await run.expect("launch", {("task/kickoff/assigned/0", "abe"),
                                        ("task/baseline-permits-online/assigned/0", "ben")},
                             "Launch: waiting on Kickoff meeting", Health.on_track)
    await run.act(one(mails, "task/kickoff/assigned/0", "abe"), complete_task("Kicked off with both teams."))
    if await run.act(one(mails, "task/baseline-permits-online/assigned/0", "ben"), record_value("12")) is None:
        # Recorded as a failure; Ben records it the other way, so the rest of the run is still tested.
        await run.accord.record_metric(run.wf, MetricObservationInput(metric_id="permits-online", value=12, actor="ben",
                                                                      channel=Channel.cli))
    state = await run.state_where(lambda s: s.stage == Stage.active, "launched: active")
    assert state.metrics["permits-online"].baseline == 12
    assert state.tasks["baseline-permits-online"].status == TaskStatus.done

    # ---- an amendment (ops, the CLI's way): the weekly status starts; both signatories approve
    await run.expect("active", set(), "Active", Health.on_track)
    await run.accord.propose_amendment(run.wf, AmendmentProposal(
        definition=amended(definition), actor="ops", reason="Start the weekly status", channel=Channel.cli))
    state = await run.state()
    [amendment] = state.amendments
    approval_id = amendment.id
    mails = await run.expect("amendment proposed", {(f"approval/{approval_id}/1/request/0", "ann"),
                                                    (f"approval/{approval_id}/1/request/0", "ben")},
                             f"[{approval_id}]", Health.on_track)

    async def diff_lines(page) -> None:
        # What the amendment changes, line by line, as `accord amend` prints it (issue 13).
        assert len(amendment.changes) == 2, amendment.changes
        await run.shows(page, "amendment approval page, the diff", amendment.changes)

    for who in ("ann", "ben"):
        await run.act(one(mails, f"approval/{approval_id}/1/request/0", who),
                      decide(DecisionKind.approve, "Agreed.", diff_lines), name="amendment")
    state = await run.state_where(lambda s: s.amendments[0].status == AmendmentStatus.applied, "the amendment applied")

    # ---- the first weekly status: red, which escalates to the leads
    await run.state_where(lambda s: any(r.opened_at for r in s.reviews.values()), "the first weekly status opened")
    await run.expect("amendment applied; first weekly status", set(),
                     lambda line: "Weekly status #1" in line and f"[{approval_id}]" not in line, Health.on_track)
    await answer_weekly_status(run, Rag.red, "The permit API is down; we are blocked.")
    state = await run.state_where(lambda s: s.open_escalations(), "an escalation for the red status")
    [record] = state.open_escalations()
    assert record.trigger == "red_status"
    mails = await run.expect("red status escalated", {("level-1", "abe"), ("level-1", "ben")},
                             f"escalated: {record.id}", Health.escalated)
    for who, step, text in (("abe", "clarify", "The county's permit API has been down since Monday."),
                            ("ben", "explore", "Beta can host a fallback form until the API is back.")):
        await run.act(one(mails, "level-1", who), care(step, text), name="escalation")
    esc = await run.accord.escalation(run.wf, record.id)
    assert (esc.care.clarify.text, esc.care.explore.text, esc.status) == (
        "The county's permit API has been down since Monday.", "Beta can host a fallback form until the API is back.",
        EscalationStatus.open)

    # ---- the next weekly status is green: the cause is gone, the escalation closes, the leads are told
    await run.expect("CARE notes recorded", set(), f"escalated: {record.id}", Health.escalated)
    await answer_weekly_status(run, Rag.green, "The API is back; on track again.")
    esc = await until(lambda: _closed(run, record.id), STEP)
    assert esc.status == EscalationStatus.cleared, esc.status
    mails = await run.expect("cause gone, escalation closed", {("cleared", "abe"), ("cleared", "ben")},
                             lambda line: "escalated" not in line, Health.on_track)
    for mail in mails:
        await run.open_links(mail)

    # ---- any weekly status asked meanwhile is answered too (every email's link is followed)
    while run.reviews_waiting:
        await answer_weekly_status(run, Rag.green, "Still on track.")
    assert not (await run.state()).open_escalations()
    assert not run.followed.failures, "what people saw was wrong:\n- " + "\n- ".join(run.followed.failures)


async def answer_weekly_status(run: Run, rag: Rag, note: str) -> None:
    """Abe answers the oldest weekly status request from its email (waiting for one if none is out yet)."""
    if not run.reviews_waiting:
        await run.state_where(lambda s: any(r.opened_at and r.id not in run.reviews_asked for r in s.reviews.values()),
                              "the next weekly status opened")
        await run.expect("the next weekly status", set(), "Weekly status", Health.escalated
                         if (await run.state()).open_escalations() else Health.on_track)
    mail = run.reviews_waiting.pop(0)
    review_id = mail.purpose.split("/")[1]
    await run.act(mail, weekly_status(rag, note), name=f"{review_id}-{rag.value}")
    given = (await run.state()).reviews[review_id].inputs.get(mail.to)
    assert given is not None and (given.rag, given.note, given.channel) == (rag, note, Channel.email_link), given


async def _closed(run: Run, escalation_id: str):
    esc = await run.accord.escalation(run.wf, escalation_id)
    return esc if esc.status.is_final else None
