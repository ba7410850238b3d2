"""Helpers for tests/web/test_e2e_every_link.py: one partnership's emails, followed as people follow them.

:class:`Run` holds the partnership, the web app's address, a headless Chromium and an ops
session, and what the outbox has shown so far. After each step of the story the test calls
:meth:`Run.expect` (the emails that step caused, exactly, and the status line everywhere);
every email is then either acted on from its link (:meth:`Run.act`, with one of the form
fillers below; :meth:`Run.act_signed_in` for an email to ops, whose link is a signed-in page)
or, if it only informs, has each of its links opened (:meth:`Run.open_links`).
The run ends with :meth:`Run.finish`: every email accounted for, and every failure seen on
the way (a link that does not open its page, a page that does not show what it should).
"""

from __future__ import annotations

import functools
import html
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx

from accord import search_attributes as sa
from accord import tokens
from accord.client import Accord
from accord.config import Settings
from accord.logic import status
from accord.mail import outbox
from accord.models import Channel, DecisionKind, Health, PartnershipState, Rag
from definitions.schema import PartnershipDefinition
from tests.support.ops_helpers import cli
from tests.support.web_helpers import all_links, until

# Long enough for a step on a loaded machine; the steps wait on conditions, never on time.
STEP = 30.0

# Each kind of email the run sends: "asks" (its link opens the page where it is done) or
# "informs" (any link it carries opens). A kind not listed fails the run: decide which it is.
EMAIL_KINDS = {
    "task/assigned": "asks",  # a checklist task, a goal statement, a metric's baseline
    "approval/go-no-go/request": "asks",
    "approval/mou/request": "asks",
    "approval/amendment/request": "asks",
    "review/request": "asks",  # the weekly status
    "level-1": "asks",  # an escalation reaching the first level of the ladder
    "cleared": "informs",  # the escalation closed: its cause is gone
    # Ops are asked to revise the MOU: the link opens the signed-in revision page (Run.act_signed_in).
    "mou-changes": "asks",
}


@dataclass
class Mail:
    name: str  # the outbox file
    purpose: str  # the send key without workflow and chain ids, nor recipient
    to: str  # the recipient's id
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def kind(self) -> str:
        return kind_of(self.purpose)


def purpose_and_recipient(mail: EmailMessage) -> tuple[str, str]:
    """``<workflow>/<chain>/<purpose>/<recipient>`` (workflows/toolkit/mailing.py): the last two."""
    rest = str(mail[outbox.KEY_HEADER]).split("/", 2)[2]
    purpose, to = rest.rsplit("/", 1)
    return purpose, to


def kind_of(purpose: str) -> str:
    """An email's kind: ``task/assigned``, ``approval/mou/request``, ``mou-changes``."""
    parts = purpose.split("/")
    if parts[0] == "approval":  # approval/<id>/<round>/<why>/<n>
        return f"approval/{parts[1].rstrip('-0123456789')}/{parts[3]}"
    if len(parts) >= 4:  # task/<id>/<why>/<n>, review/<id>/<why>/<n>
        return f"{parts[0]}/{parts[2]}"
    return parts[0]


def one(mails: list[Mail], purpose: str, to: str) -> Mail:
    [mail] = [m for m in mails if m.purpose == purpose and m.to == to]
    return mail


@dataclass
class Tally:
    """What the run saw: emails and links followed by kind, failures, emails handled."""

    emails: Counter = field(default_factory=Counter)
    links: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    handled: set[str] = field(default_factory=set)
    no_link: Counter = field(default_factory=Counter)
    subjects: dict[str, str] = field(default_factory=dict)  # kind -> the first subject seen

    def figures(self, screenshots: Path) -> str:
        return "\n".join(
            [f"emails by kind ({sum(self.emails.values())}):"]
            + [f"  {n:3d}  {k} ({EMAIL_KINDS.get(k, 'unknown')}): {self.subjects.get(k, '')}"
               for k, n in sorted(self.emails.items())]
            + [f"links followed by kind ({sum(self.links.values())}):"]
            + [f"  {n:3d}  {k}" for k, n in sorted(self.links.items())]
            + [f"emails with no link ({sum(self.no_link.values())}):"]
            + [f"  {n:3d}  {k}" for k, n in sorted(self.no_link.items())]
            + [f"failures: {len(self.failures)}"] + [f"  - {f}" for f in self.failures]
            + [f"screenshots: {screenshots}"])


class Run:
    """The partnership, its web app and a browser, and what the outbox has shown so far."""

    def __init__(self, accord: Accord, wf: str, settings: Settings, definition: PartnershipDefinition, base: str,
                 browser, ops: httpx.AsyncClient, shots: Path):
        self.accord, self.wf, self.settings, self.definition = accord, wf, settings, definition
        self.base, self.browser, self.ops, self.shots = base, browser, ops, shots
        self.seen: dict[str, Mail] = {}
        self.reviews_asked: set[str] = set()
        # Weekly status requests not answered yet, oldest first (they come whatever step is under way).
        self.reviews_waiting: list[Mail] = []
        self.tally = Tally()
        self.by_email = {s.email: s.id for p in definition.parties for s in p.stakeholders}
        self.by_email.update({o.email: f"ops-{i}" for i, o in enumerate(definition.ops)})

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

    # ------------------------------------------------------------------ emails

    def outbox(self) -> list[Mail]:
        out = []
        for path, message in outbox.messages(self.settings.outbox_dir):
            purpose, to = purpose_and_recipient(message)
            address = str(message["To"]).split("<")[-1].rstrip(">")
            assert self.by_email.get(address) == to, f"{purpose}: sent to {message['To']}, but its key names {to}"
            out.append(Mail(path.stem, purpose, to, message))
        return out

    async def expect(self, step: str, emails: set[tuple[str, str]], line: str | Callable[[str], bool],
                     health: Health) -> list[Mail]:
        """Wait until the emails new since the last step are exactly ``emails`` ((purpose, recipient),
        once each) plus the request of any weekly status that opened meanwhile; then check the
        status line everywhere (:meth:`check_status`). Returns the new emails."""
        wanted = Counter(emails)

        async def arrived() -> tuple[list[Mail]] | None:
            new = [m for m in self.outbox() if m.name not in self.seen]
            # Read after the outbox: a review whose email is out has opened in this state.
            expected = wanted + self._reviews_opened(await self.state())
            got = Counter((m.purpose, m.to) for m in new)
            return (new,) if got == expected else None  # a tuple: no email at all is an answer too

        try:
            [new] = await until(arrived, STEP)
        except AssertionError:
            got = sorted((m.purpose, m.to) for m in self.outbox() if m.name not in self.seen)
            expected = sorted((wanted + self._reviews_opened(await self.state())).elements())
            raise AssertionError(f"{step}: the emails sent are not those expected.\n  sent: {got}\n  expected: {expected}") \
                from None
        for m in new:
            assert m.kind in EMAIL_KINDS, f"{step}: a new kind of email, {m.kind!r} ({m.subject!r}): asks or informs?"
            self.seen[m.name] = m
            self.tally.emails[m.kind] += 1
            self.tally.subjects.setdefault(m.kind, m.subject)
            if self.definition.name not in m.subject:  # issue 13: subjects say which partnership
                self.fail(f"{m.kind} email to {m.to}: its subject {m.subject!r} does not name the partnership")
        asked = sorted((m for m in new if m.purpose.startswith("review/")), key=lambda m: m.purpose)
        self.reviews_asked.update(m.purpose.split("/")[1] for m in asked)
        self.reviews_waiting += asked
        await self.check_status(step, line, health)
        return new

    def _reviews_opened(self, state: PartnershipState) -> Counter:
        """The weekly status asks its participants when it opens, whatever step is under way."""
        return Counter({(f"review/{r.id}/request/0", who): 1 for r in state.reviews.values()
                        if r.opened_at is not None and r.id not in self.reviews_asked for who in r.participants})

    async def check_status(self, step: str, line: str | Callable[[str], bool], health: Health) -> PartnershipState:
        """The status line is derived from the state as it is now, says what the step should leave
        (``line``: words it contains, or a test), and is the same in the state, `accord status`, the
        web status page, the Temporal UI's current details and the status search attribute."""
        handle = self.accord.handle(self.wf)
        address = self.accord.client.service_client.config.target_host

        async def agreed() -> PartnershipState:
            state = await self.state()
            derived = status.derive(state, await self.accord.definition(self.wf))
            assert (state.detail, state.health) == (derived.line, derived.health), (
                f"{step}: the status line is not the one the state says now:\n  shown:   {state.detail} "
                f"({state.health})\n  derived: {derived.line} ({derived.health})")
            printed = await cli(["status", self.wf, "--address", address])
            assert printed.exit_code == 0, printed.output
            assert f"status: {state.health.value}" in printed.output and \
                " ".join(state.detail.split()) in " ".join(printed.output.split()), \
                f"{step}: `accord status` does not print the state's line:\n{printed.output}"
            page = await self.ops.get(f"/p/{self.wf}")
            assert page.status_code == 200, page.text[:300]
            shown = re.search(r"<dt>Detail</dt><dd>(.*?)</dd>", page.text, re.DOTALL)
            shown_text = html.unescape(shown.group(1)) if shown else None
            assert shown_text == state.detail, f"{step}: the web status page shows {shown_text!r}, not {state.detail!r}"
            assert f"status-{state.health.value}" in page.text, f"{step}: the web status page's badge is not {state.health}"
            details = (await handle.query("__temporal_workflow_metadata")).current_details
            assert f"**Status:** {state.health.value}" in details and state.detail in details, \
                f"{step}: the Temporal UI's current details are not the state's:\n{details}"
            attribute = (await handle.describe()).typed_search_attributes.get(sa.STATUS)
            assert attribute == state.health.value, f"{step}: search attribute {attribute}, state {state.health}"
            ok = line(state.detail) if callable(line) else line in state.detail
            assert ok, f"{step}: the status line does not say what it should ({line!r}):\n  {state.detail}"
            assert state.health == health, f"{step}: health {state.health.value}, expected {health.value}"
            return state

        return await until(agreed, STEP)

    def finish(self) -> None:
        """Every email was acted on or opened, and nothing people saw was wrong."""
        unhandled = sorted(f"{m.purpose} to {m.to}" for name, m in self.seen.items() if name not in self.tally.handled)
        assert not unhandled, f"emails nobody followed: {unhandled}"
        assert not self.tally.failures, "what people saw was wrong:\n- " + "\n- ".join(self.tally.failures)

    # ------------------------------------------------------------------ links

    def fail(self, what: str) -> None:
        """A failure that does not stop the run (what later steps show is worth seeing too): the
        test fails at its end with every one of them (:meth:`finish`)."""
        self.tally.failures.append(what)

    async def open_links(self, mail: Mail) -> None:
        """An email that only informs: each link it carries opens a page (200) for its recipient."""
        assert EMAIL_KINDS[mail.kind] == "informs", f"{mail.kind} asks something: act on it"
        if not all_links(mail.message):
            self.tally.no_link[mail.kind] += 1
        await self._open_other_links(mail, set())
        self.tally.handled.add(mail.name)

    async def _open_other_links(self, mail: Mail, but: set[str]) -> None:
        """Each link of ``mail`` but those in ``but`` opens a page (200) in a fresh browser."""
        for link in sorted(all_links(mail.message) - but):
            if not link.startswith(f"{self.base}/"):
                self.fail(f"{mail.kind} email to {mail.to}: a link that is not Accord's: {link}")
                continue
            context = await self.browser.new_context()
            try:
                response = await (await context.new_page()).goto(link)
                if response is None or response.status != 200:
                    self.fail(f"{mail.kind} email to {mail.to} ({mail.subject!r}): {link} answers "
                              f"{response and response.status}")
            finally:
                await context.close()
            self.tally.links[f"{EMAIL_KINDS[mail.kind]}:other:{mail.kind}"] += 1

    async def shows(self, page, mail: Mail, what: str, texts: list[str]) -> None:
        """The page (rendered by the server: nothing to wait for) shows each of ``texts``."""
        main = await page.locator("main").inner_text()
        missing = [t for t in texts if t not in main]
        if missing:
            self.fail(f"{what} ({mail.kind} email to {mail.to}): the page does not show {missing}")

    def email_shows(self, mail: Mail, what: str, texts: list[str]) -> None:
        """The email itself (both parts) shows each of ``texts``."""
        for subtype in ("plain", "html"):
            body = outbox.body(mail.message, subtype)
            body = html.unescape(body) if subtype == "html" else body
            missing = [t for t in texts if t not in body]
            if missing:
                self.fail(f"{what} ({mail.kind} email to {mail.to}, {subtype} part): it does not show {missing}")

    async def section(self, page, mail: Mail, title: str, wanted: list[Callable[[str], bool]], what: str) -> list[str]:
        """The lines of the page's section (a region named by its heading) ``title``: one line
        for each test in ``wanted``, in order (recorded as a failure otherwise)."""
        lines = await self.page_lines(page, title)
        if lines is None or len(lines) != len(wanted) or not all(ok(line) for ok, line in zip(wanted, lines, strict=True)):
            self.fail(f"{what} ({mail.kind} email to {mail.to}): section {title!r} shows {lines}")
        return lines or []

    @staticmethod
    async def page_lines(page, title: str) -> list[str] | None:
        """The list items of the page's section named ``title`` (None: no such section)."""
        region = page.get_by_role("region", name=title, exact=True)
        return await region.get_by_role("listitem").all_inner_texts() if await region.count() == 1 else None

    async def reopen(self, mail: Mail, name: str) -> str:
        """An action link opened again once it has been acted on: the page's text (whatever its status)."""
        [link] = [link for link in all_links(mail.message) if "/a/" in link]
        context = await self.browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(link)
            await page.screenshot(path=str(self.shots / f"{name}-{mail.to}.png"), full_page=True)
            return await page.locator("main").inner_text()
        finally:
            await context.close()

    async def act(self, mail: Mail, fill: Callable, name: str) -> str | None:
        """Open the email's action link as its recipient in a fresh browser (no session, no cookie),
        let ``fill(page)`` check the page, fill and submit its form; return the confirmation.

        None: the link did not open a page to act on; the failure is recorded (the run goes on,
        and the caller has it done another way)."""
        assert EMAIL_KINDS[mail.kind] == "asks", f"{mail.kind} only informs"
        self.tally.handled.add(mail.name)
        links = [link for link in all_links(mail.message) if "/a/" in link]
        if len(links) != 1:
            self.fail(f"{mail.kind} email to {mail.to} ({mail.subject!r}) asks something but has {len(links)} action links")
            return None
        [link] = links
        await self._open_other_links(mail, {link})
        claim = tokens.verify(link.rsplit("/a/", 1)[1], self.settings.keys)
        assert claim.recipient == mail.to, f"{mail.purpose}: the link acts as {claim.recipient}, sent to {mail.to}"
        shot = self.shots / f"{name}-{mail.to}"
        context = await self.browser.new_context()
        try:
            page = await context.new_page()
            page.set_default_timeout(STEP * 1000)
            response = await page.goto(link)
            if response is None or response.status != 200:
                await page.screenshot(path=f"{shot}-failed.png", full_page=True)
                self.fail(f"{mail.kind} email to {mail.to} ({mail.subject!r}): its {claim.action!r} link answers "
                          f"{response and response.status}: {' '.join((await page.locator('main').inner_text()).split())[:300]}")
                return None
            await page.screenshot(path=f"{shot}-page.png", full_page=True)
            await fill(page)
            done = await page.get_by_role("status").inner_text()
            await page.screenshot(path=f"{shot}-done.png", full_page=True)
        finally:
            await context.close()
        self.tally.links[f"asks:{claim.action}"] += 1
        return done


    async def act_signed_in(self, mail: Mail, fill: Callable, name: str, who: str = "alice") -> bool:
        """An email asking ops to act links to a signed-in page (no token). Followed in a fresh
        browser, it lands on sign-in; ``who`` signs in at the identity provider and is back on
        the page, where ``fill(page)`` does what the email asks. False: the link did not lead
        there (the failure is recorded, and the caller has it done another way)."""
        assert EMAIL_KINDS[mail.kind] == "asks", f"{mail.kind} only informs"
        self.tally.handled.add(mail.name)
        links = [link for link in all_links(mail.message) if link.startswith(f"{self.base}/p/")]
        if len(links) != 1:
            self.fail(f"{mail.kind} email to {mail.to} ({mail.subject!r}) asks something but links to {len(links)} ops pages")
            return False
        [link] = links
        await self._open_other_links(mail, {link})
        shot = self.shots / f"{name}-{mail.to}"
        context = await self.browser.new_context()
        try:
            page = await context.new_page()
            page.set_default_timeout(STEP * 1000)
            await page.goto(link)
            signin = f"{self.base}/signin?next={httpx.URL(link).raw_path.decode()}"
            if page.url != signin:
                self.fail(f"{mail.kind} email to {mail.to}: its link, unsigned, leads to {page.url}, not {signin}")
                return False
            await page.get_by_role("link", name="Sign in with your organisation's account").click()
            await page.get_by_role("button", name=who, exact=True).click()  # the identity provider's own page
            await page.wait_for_url(link)
            await page.screenshot(path=f"{shot}-page.png", full_page=True)
            await fill(page)
            await page.screenshot(path=f"{shot}-done.png", full_page=True)
        finally:
            await context.close()
        self.tally.links["asks:ops page"] += 1
        return True


# ---------------------------------------------------------------------- forms, as people fill them
# Each returns ``fill(page)`` for :meth:`Run.act`; ``check(page)``, where taken, looks at the page first.

def complete_task(notes: str):
    async def fill(page) -> None:
        await page.get_by_label("Result or notes").fill(notes)
        await page.get_by_role("button", name="Mark done").click()
    return fill


def write_statement(text: str):
    async def fill(page) -> None:
        await page.get_by_label("Your statement").fill(text)
        await page.get_by_role("button", name=re.compile("^Submit my")).click()
    return fill


def decide(decision: DecisionKind, comment: str, check: Callable | None = None):
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


def record_value(metric_name: str, value: str):
    """The baseline email asks for the metric's value: its page has a field named for the metric."""
    async def fill(page) -> None:
        await page.get_by_label(re.compile(re.escape(metric_name))).fill(value)
        await page.get_by_role("button", name=re.compile("^(Record|Send|Save)")).click()
    return fill


def weekly_status(rag: Rag, note: str):
    async def fill(page) -> None:
        await page.get_by_role("radio", name=re.compile(f"^{rag.value.capitalize()}:")).check()
        await page.locator("#note").fill(note)
        await page.get_by_role("button", name="Send my input").click()
    return fill


def care(step: str, text: str):
    """A CARE step on the escalation page (the care steps' own forms)."""
    async def fill(page) -> None:
        await page.locator(f"#care-{step}").fill(text)
        await page.get_by_role("button", name=f"Record {step}").click()
    return fill


# A weekly status in tests/data/e2e.yaml takes inputs for 12 seconds: one with less left than
# this is not started on, since the review could close between opening the page and sending it.
ANSWER_TIME = timedelta(seconds=7)


async def answer_weekly_status(run: Run, rag: Rag, note: str) -> None:
    """Abe answers the oldest weekly status request from its email that is still open long enough
    to be answered (waiting for one if none is out). An older one, closed while the run did
    other steps (a loaded machine is slow), is opened as Abe would open it late: its page says
    the review is closed."""
    while True:
        if not run.reviews_waiting:
            await run.state_where(lambda s: any(r.opened_at and r.id not in run.reviews_asked for r in s.reviews.values()),
                                  "the next weekly status opened")
            escalated = bool((await run.state()).open_escalations())
            await run.expect("the next weekly status", set(), "Weekly status",
                             Health.escalated if escalated else Health.on_track)
        mail = run.reviews_waiting.pop(0)
        review_id = mail.purpose.split("/")[1]
        review = (await run.state()).reviews[review_id]
        if review.closed_at is None and review.inputs_due_at - datetime.now(UTC) > ANSWER_TIME:
            break
        run.tally.handled.add(mail.name)
        await until(functools.partial(_closed, run, review_id), STEP)
        page = " ".join((await run.reopen(mail, f"weekly_status-late-{review_id}")).split())
        if "This review is closed" not in page:
            run.fail(f"{mail.kind} email to {mail.to}, opened after its review closed: the page does not say so: {page[:300]}")
    await run.act(mail, weekly_status(rag, note), f"{review_id}-{rag.value}")
    given = (await run.state()).reviews[review_id].inputs.get(mail.to)
    assert given is not None and (given.rag, given.note, given.channel) == (rag, note, Channel.email_link), given


async def _closed(run: Run, review_id: str) -> bool:
    return (await run.state()).reviews[review_id].closed_at is not None
