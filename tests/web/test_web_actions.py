"""The web app against a real Temporal dev server: action links, forms, refusals, pages."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from accord import tokens
from accord.mail import outbox
from accord.models import (
    AlignmentOverride,
    ApprovalOutcome,
    ApprovalState,
    Channel,
    DecisionKind,
    PartnershipState,
    Stage,
    StatementSubmission,
    Task,
    TaskKind,
    TaskStatus,
)
from accord.web import actions, redact
from accord.web.app import create_app
from accord.web.problems import Problem
from tests.support.helpers import ALIGNED, pass_checklist, submit_statements
from tests.support.paths import DATA
from tests.support.signin_helpers import sign_in
from tests.support.web_helpers import (
    Live,
    action_link,
    all_links,
    csrf_value,
    mail_for,
    mails,
    screening_definition,
    snapshot,
    token_of,
    until,
)
from tests.support.workers import running_worker

# Seven emails open screening: three checklist tasks and four goal statements.
FIRST_EMAILS = 7


@pytest.fixture
async def live(dev_env, settings, accord_for) -> AsyncIterator[Live]:
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(screening_definition())
        await until(lambda: len(mails(settings)) >= FIRST_EMAILS)
        app = create_app(settings, accord)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.web_base_url) as http, \
                httpx.AsyncClient(transport=transport, base_url=settings.web_base_url) as ops:
            await sign_in(ops, settings)
            yield Live(accord, wf, settings, http, ops)
    # accord_for terminates the workflow afterwards.


# ---------------------------------------------------------------------- tasks


async def test_task_link_completes_the_task_once(live: Live):
    link = action_link(mail_for(live.settings, "arun@acme.example", "Capability audit"))

    page = await live.http.get(link)
    assert page.status_code == 200
    assert "Capability audit" in page.text and "Mark done" in page.text
    assert "Due" in page.text
    form = {"csrf": csrf_value(page.text), "result": "All capabilities confirmed."}

    done = await live.http.post(link, data=form)
    assert done.status_code == 200, done.text
    assert "marked done" in done.text
    assert (await live.state()).name in done.text  # named by the update's answer: no query before or after
    task = (await live.state()).tasks["capability"]
    assert task.status == TaskStatus.done
    assert task.completed_by == "arun"
    assert task.channel == Channel.email_link
    assert task.result == "All capabilities confirmed."

    before = snapshot(await live.state())
    again = await live.http.post(link, data={**form, "result": "second try"})
    assert again.status_code == 409  # the same clear page as the link now shows on GET
    assert "This task is already completed" in again.text and "completed by arun" in again.text
    assert snapshot(await live.state()) == before

    reopened = await live.http.get(link)
    assert reopened.status_code == 409
    assert "This task is already completed" in reopened.text and "arun" in reopened.text
    assert snapshot(await live.state()) == before


async def test_bad_links_and_forms_are_refused_and_change_nothing(live: Live):
    link = action_link(mail_for(live.settings, "arun@acme.example", "Capability audit"))
    token = token_of(link)
    page = await live.http.get(link)  # sets the CSRF cookie
    good_csrf = csrf_value(page.text)
    before = snapshot(await live.state())

    async def refused(path: str, status: int, text: str, data: dict | None = None) -> None:
        for method in ("GET", "HEAD"):
            r = await live.http.request(method, path)
            assert r.status_code == status, (method, r.status_code, r.text)
        r = await live.http.post(path, data={"result": "sneaky", **(data or {})})
        assert r.status_code == status, r.text
        assert text in r.text
        assert snapshot(await live.state()) == before

    # Forged: not our signature at all.
    await refused(f"/a/{secrets.token_urlsafe(48)}", 400, "not valid")
    # Tampered: one character of the signed payload changed.
    i = 5
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
    await refused(f"/a/{tampered}", 400, "not valid", {"csrf": good_csrf})
    # Expired: genuine, but past its expiry.
    expired = live.token_for("arun", "task", "capability", expires_at=datetime.now(UTC) - timedelta(hours=1))
    await refused(f"/a/{expired}", 410, "expired", live.csrf_for(expired))

    # Genuine, but for someone who does not own the task: the page says so, and the
    # workflow itself refuses the update even with a perfectly valid form.
    other = live.token_for("bo", "task", "capability")
    r = await live.http.get(f"/a/{other}")
    assert r.status_code == 403 and "someone else" in r.text
    r = await live.http.post(f"/a/{other}", data={"result": "not mine", **live.csrf_for(other)})
    assert r.status_code == 403 and "someone else" in r.text  # the workflow refused; the page says why, as on GET
    assert snapshot(await live.state()) == before

    # Genuine, for a workflow that does not exist.
    unknown = live.token_for("arun", "task", "capability", workflow_id="partnership-does-not-exist")
    await refused(f"/a/{unknown}", 404, "not found", live.csrf_for(unknown))

    # CSRF: missing field, a field bound to another token, and no cookie.
    r = await live.http.post(link, data={"result": "no csrf"})
    assert r.status_code == 403
    r = await live.http.post(link, data={"result": "wrong csrf", **live.csrf_for(other)})
    assert r.status_code == 403
    async with httpx.AsyncClient(transport=live.http._transport, base_url=live.settings.web_base_url) as cookieless:  # noqa: SLF001 - the same app's transport, without the first client's cookies
        r = await cookieless.post(link, data={"result": "no cookie", "csrf": good_csrf})
        assert r.status_code == 403
    assert "could not be verified" in r.text
    assert snapshot(await live.state()) == before
    assert (await live.state()).tasks["capability"].is_open


async def test_get_and_head_of_every_link_change_nothing(live: Live):
    before = snapshot(await live.state())
    links = sorted({link for mail in mails(live.settings) for link in all_links(mail)})
    assert sum("/a/" in link for link in links) >= FIRST_EMAILS
    for link in links:
        path = httpx.URL(link).path
        for method in ("GET", "HEAD"):
            r = await live.http.request(method, path)
            assert r.status_code < 500, (method, path, r.status_code)
    after = await live.state()
    assert snapshot(after) == before
    assert len(after.timeline) == len(before["timeline"])
    assert all(t.is_open for t in after.tasks.values())


# ---------------------------------------------------------------------- pages


async def test_outbox_pages_list_and_show_emails(live: Live):
    r = await live.ops.get("/outbox")
    assert r.status_code == 200
    files = [p for p, _ in outbox.messages(live.settings.outbox_dir)]
    for path in files:
        assert f'href="/outbox/{path.stem}"' in r.text
    # Newest first.
    assert r.text.index(files[-1].stem) < r.text.index(files[0].stem)

    mail_path = next(p for p, m in outbox.messages(live.settings.outbox_dir) if "Capability audit" in str(m["Subject"]))
    r = await live.ops.get(f"/outbox/{mail_path.stem}")
    assert r.status_code == 200
    assert "Capability audit" in r.text and "arun@acme.example" in r.text
    assert f'src="/outbox/{mail_path.stem}/html"' in r.text and "sandbox=" in r.text
    assert '<a href="http://accord.test/a/' in r.text  # the plain-text part's link is clickable

    framed = await live.ops.get(f"/outbox/{mail_path.stem}/html")
    assert framed.status_code == 200
    assert '<base target="_top">' in framed.text and "http://accord.test/a/" in framed.text
    assert framed.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in framed.headers["content-security-policy"]
    assert "script-src" not in framed.headers["content-security-policy"]

    for bad in ("XYZ", "abc.eml", "..%2F..%2Fsigning.key", "%2e%2e"):
        r = await live.ops.get(f"/outbox/{bad}")
        assert r.status_code in (400, 404), bad
    assert (await live.ops.get("/outbox/0123456789abcdef0000")).status_code == 404


async def test_dashboard_status_page_and_headers(live: Live):
    async def listed():
        r = await live.ops.get("/")
        return r if r.status_code == 200 and live.wf in r.text else None

    r = await until(listed)
    assert "Test screening partnership" in r.text
    assert f'href="/p/{live.wf}"' in r.text
    assert live.settings.workflow_ui_url(live.wf) in r.text

    r = await live.ops.get(f"/p/{live.wf}")
    assert r.status_code == 200
    for text in ("Capability audit", "Legal and compliance review", "Goal alignment", "Timeline", "screening", "arun"):
        assert text in r.text
    assert live.settings.workflow_ui_url(live.wf) in r.text
    assert (await live.ops.get("/p/partnership-does-not-exist")).status_code == 404

    r = await live.ops.get("/healthz")
    assert r.json() == {"status": "ok"}
    link = action_link(mail_for(live.settings, "arun@acme.example", "Capability audit"))
    for path in ("/", f"/p/{live.wf}", "/outbox", link, "/healthz", "/static/style.css", "/no-such-page"):
        h = (await live.ops.get(path)).headers
        assert h["referrer-policy"] == "no-referrer", path
        assert h["cache-control"] == "no-store", path
        assert h["x-frame-options"] == "DENY", path
        assert "default-src 'none'" in h["content-security-policy"], path
        assert "frame-ancestors 'none'" in h["content-security-policy"], path


# ---------------------------------------------------------------------- statements and decisions


async def test_statement_link_blocked_then_closed(live: Live):
    divergent = {
        "arun": "Cut our warehouse logistics costs through shared trucking routes.",
        "bea": "Win government defence contracts as a subcontractor.",
        "bo": "Hire more graduate engineers in Singapore offices.",
    }
    for who, text in divergent.items():
        await live.accord.submit_statement(live.wf, StatementSubmission(stakeholder=who, text=text))
    link = action_link(mail_for(live.settings, "alice@acme.example", "Goal-alignment statement"))

    page = await live.http.get(link)
    assert page.status_code == 200
    assert "primary goal" in page.text and "Submit my statement" in page.text
    r = await live.http.post(link, data={"csrf": csrf_value(page.text), "text": "   "})
    assert r.status_code == 422 and "Please write your statement" in r.text
    r = await live.http.post(link, data={"csrf": csrf_value(page.text), "text": "Open a joint research lab on batteries."})
    assert r.status_code == 200 and "statement is recorded" in r.text
    state = await until(lambda: _blocked(live))
    assert state.alignment.statements["alice"].text == "Open a joint research lab on batteries."
    assert state.tasks["statement-alice"].channel == Channel.email_link

    # Blocked: the page shows the others' statements and invites a revision.
    page = await live.http.get(link)
    assert page.status_code == 200
    assert "Revise your goal statement" in page.text
    for text in divergent.values():
        assert text in page.text

    await live.accord.override_alignment(live.wf, AlignmentOverride(actor="alice", reason="Agreed in the steering call."))
    # Only the goal-alignment part is compared: after the override the workflow goes on with
    # its own work (tasks closed, emails recorded), which is not what the late post could change.
    before = (await live.state()).alignment.model_dump(mode="json")
    page = await live.http.get(link)
    assert page.status_code == 409 and "goal-alignment check is closed" in page.text
    r = await live.http.post(link, data={**live.csrf_for(token_of(link)), "text": "late revision"})
    assert r.status_code == 409 and "closed" in r.text
    assert (await live.state()).alignment.model_dump(mode="json") == before


async def _blocked(live: Live) -> PartnershipState | None:
    state = await live.state()
    return state if state.alignment.result is not None and state.alignment.result.blocked else None


async def test_go_no_go_decision_through_the_link(live: Live):
    await pass_checklist(live.accord, live.wf, {"capability": "arun", "legal": "bo"})
    await submit_statements(live.accord, live.wf, ALIGNED)
    alice_mail = await until(lambda: mail_for(live.settings, "alice@acme.example", "Decision needed"))
    bea_mail = await until(lambda: mail_for(live.settings, "bea@beta.example", "Decision needed"))
    link = action_link(alice_mail)

    page = await live.http.get(link)
    assert page.status_code == 200, page.text
    for text in ("Go/no-go decision", "Round", "bea", "not yet", "Approve", "Reject"):
        assert text in page.text
    # A decision without a document cannot ask for changes (rules 1): no such form, and a
    # hand-made request is refused in the workflow's words.
    assert "Request changes" not in page.text
    form = {"csrf": csrf_value(page.text)}

    before = snapshot(await live.state())
    r = await live.http.post(link, data={**form, "decision": "reject", "comment": "  "})
    assert r.status_code == 422 and "Please give a reason for rejecting" in r.text
    r = await live.http.post(link, data={**form, "decision": "request_changes"})
    assert r.status_code == 422 and "reason" in r.text
    r = await live.http.post(link, data={**form, "decision": "request_changes", "comment": "Tighten the goals"})
    assert r.status_code == 409 and "This decision has no document to change: approve or reject." in r.text
    r = await live.http.post(link, data={**form, "decision": "maybe"})
    assert r.status_code == 422
    assert snapshot(await live.state()) == before

    r = await live.http.post(link, data={**form, "decision": "approve", "comment": "Go."})
    assert r.status_code == 200 and "approve" in r.text
    approval = (await live.state()).approvals["go-no-go"]
    [decision] = approval.decisions
    assert (decision.actor, decision.decision, decision.round, decision.channel) == (
        "alice", DecisionKind.approve, 1, Channel.email_link)

    before = snapshot(await live.state())
    r = await live.http.post(link, data={**form, "decision": "reject", "comment": "Changed my mind."})
    assert r.status_code == 409 and "already decided" in r.text
    r = await live.http.get(link)
    assert r.status_code == 409 and "You have already decided" in r.text
    assert snapshot(await live.state()) == before

    # The other approver sees alice's decision; when bea approves too, the approval closes.
    bea_link = action_link(bea_mail)
    page = await live.http.get(bea_link)
    assert page.status_code == 200 and "alice" in page.text and "approve" in page.text
    r = await live.http.post(bea_link, data={"csrf": csrf_value(page.text), "decision": "approve"})
    assert r.status_code == 200
    state = await until(lambda: _approved(live))
    assert state.stage == Stage.mou
    r = await live.http.get(link)
    assert r.status_code == 409 and "This decision is closed" in r.text


async def _approved(live: Live) -> PartnershipState | None:
    state = await live.state()
    return state if state.approvals["go-no-go"].outcome == ApprovalOutcome.approved and state.stage == Stage.mou else None


# ---------------------------------------------------------------------- without Temporal


def _state_with_approval(**approval) -> PartnershipState:
    now = datetime.now(UTC)
    state = PartnershipState(partnership_id="p", name="P", chain_id="c", started_at=now, stage_started_at=now)
    state.approvals["go-no-go"] = ApprovalState(
        id="go-no-go", title="Go/no-go decision", stage=Stage.screening, approvers=["alice", "bea"], policy="all",
        opened_at=now, deadline_at=now + timedelta(days=7), **approval,
    )
    return state


def _claim(action: str, ref: str, round: int = 1, recipient: str = "alice") -> tokens.Claim:
    return tokens.Claim(workflow_id="w", action=action, ref=ref, round=round, recipient=recipient,
                        expires_at=datetime.now(UTC) + timedelta(days=1))


@pytest.mark.parametrize(
    ("approval", "claim_round", "status", "title"),
    [
        ({"round": 2}, 1, 409, "earlier round"),
        ({"outcome": ApprovalOutcome.rejected}, 1, 409, "closed"),
        ({}, 1, 200, None),
    ],
)
async def test_decision_page_refusals(approval, claim_round, status, title):
    state = _state_with_approval(**approval)
    claim = _claim("decision", "go-no-go", claim_round)
    if status == 200:
        assert (await actions.page_for(claim, state)).template == "action_decision.html"
        return
    with pytest.raises(Problem) as exc:
        await actions.page_for(claim, state)
    assert exc.value.status == status and title in exc.value.title


async def test_an_amendment_page_says_which_party_must_still_approve():
    from accord.web import people as web_people
    from definitions import load

    state = _state_with_approval()
    state.rules_version = 1
    now = datetime.now(UTC)
    state.approvals["amendment-1"] = ApprovalState(
        id="amendment-1", title="Amendment 1: Bo's new address", stage=Stage.screening, approvers=["alice", "bea", "bo"],
        policy="any", opened_at=now, deadline_at=now + timedelta(days=7), parties={"beta": ["bea", "bo"]},
        party_approvers=["bo"])
    people = web_people.of(load(DATA / "screening.yaml"))
    page = await actions.page_for(_claim("decision", "amendment-1"), state, people=people)
    assert page.context["parties_waiting"] == ["Beta Ltd"]
    assert page.context["can_request_changes"] is False, "an amendment has no document to change"


async def test_alignment_closed_after_screening():
    state = _state_with_approval()
    now = datetime.now(UTC)
    state.tasks["statement-alice"] = Task(id="statement-alice", kind=TaskKind.statement, stage=Stage.screening,
                                          title="Goal-alignment statement", owner="alice", created_at=now, due_at=now)
    state.stage = Stage.mou
    with pytest.raises(Problem) as exc:
        await actions.page_for(_claim("statement", "statement-alice"), state)
    assert exc.value.status == 409 and "closed" in exc.value.title


def test_access_log_redacts_tokens():
    redact.install()
    redact.install()
    logger = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, redact.RedactActionTokens) for f in logger.filters) == 1
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "POST", "/a/eyJ3b3JrZmxvdyI.abc-DEF_123", "1.1", 200), None)
    assert logger.filter(record)
    message = record.getMessage()
    assert "/a/<redacted>" in message and "eyJ3" not in message


# ---------------------------------------------------------------------- times in the reader's zone


async def test_a_link_page_shows_times_in_its_recipients_zone_as_the_email_does(dev_env, settings, accord_for):
    """arun's party keeps Asia/Kolkata (UTC+05:30): the task's due time on the page his link
    opens is the one his email gave, in his zone and named; a signed-in ops page, whose reader's
    zone Accord does not know, shows the same moment in UTC."""
    from accord.logic.time_display import format_instant

    definition = screening_definition()
    acme = definition.party_of("arun")
    acme.timezone = "Asia/Kolkata"
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(definition)
        mail = await until(lambda: mail_for(settings, "arun@acme.example", "Capability audit"))
        due = (await accord.state(wf)).tasks["capability"].due_at
        local, utc = format_instant(due, "Asia/Kolkata"), format_instant(due)
        assert local.endswith("(Asia/Kolkata)") and local != utc
        assert local in outbox.body(mail, "plain")
        app = create_app(settings, accord)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.web_base_url) as http, \
                httpx.AsyncClient(transport=transport, base_url=settings.web_base_url) as ops:
            page = await http.get(action_link(mail))
            assert page.status_code == 200
            assert local in page.text and utc not in page.text
            await sign_in(ops, settings)
            status = await ops.get(f"/p/{wf}")
            assert utc in status.text and local not in status.text
