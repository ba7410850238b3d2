"""The signatory's page against a real Temporal dev server: the MOU shown, signed, declined,
delegated; refused links that change nothing; MOU versions on the status page; and
GET/HEAD of every link in every email of a partnership that went through screening
into a revised MOU."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

import httpx
import pytest

from accord import tokens
from accord.logic.time_display import format_instant
from accord.mail import outbox
from accord.models import (
    ActionLink,
    AlignmentOverride,
    ApprovalOutcome,
    ApprovalState,
    Channel,
    Decision,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    DocumentVersion,
    EscalationRequest,
    MouRevision,
    PartnershipState,
    Stage,
    StatementSubmission,
)
from accord.storage import Storage
from accord.web import actions
from accord.web.app import create_app
from accord.web.people import Person
from accord.web.problems import Problem
from tests.support.helpers import pass_checklist, state_where, unique
from tests.support.paths import DATA
from tests.support.signin_helpers import sign_in
from tests.support.web_helpers import (
    Live,
    action_link,
    all_links,
    csrf_value,
    document_hash,
    idle,
    mail_for,
    mails,
    screening_definition,
    snapshot,
    token_of,
    until,
)
from tests.support.workers import running_worker

pytest_plugins = ["tests.support.storage_backends"]  # the backend fixture: sqlite and postgresql

if TYPE_CHECKING:
    from tests.support.storage_backends import Backend

ALICE, AMIR, BEA, BO = "alice@acme.example", "amir@acme.example", "bea@beta.example", "bo@beta.example"
MOU_MAIL = "Decision needed: MOU signature"
IP_CLAUSE = "Each party keeps its own IP."


def newest_mail(live: Live, to: str, subject_part: str) -> EmailMessage | None:
    found = [m for m in mails(live.settings) if to in str(m["To"]) and subject_part in str(m["Subject"])]
    return found[-1] if found else None


async def go(live: Live) -> PartnershipState:
    """alice says go: screening passes and the MOU goes out to alice, amir and bea."""
    await state_where(live.accord, live.wf, lambda s: "go-no-go" in s.approvals)
    await live.accord.decide(live.wf, DecisionInput(approval_id="go-no-go", actor="alice", decision=DecisionKind.approve))
    await until(lambda: all(mail_for(live.settings, who, MOU_MAIL) for who in (ALICE, AMIR, BEA)))
    await until(lambda: idle(live.accord, live.wf))
    return await state_where(live.accord, live.wf, lambda s: "mou" in s.approvals and s.mou.versions)


@asynccontextmanager
async def in_mou_stage(dev_env, settings, accord_for) -> AsyncIterator[Live]:
    """tests/data/mou.yaml in its MOU stage: signatories alice, amir, bea (policy all); bo may be delegated to."""
    accord = accord_for(dev_env)
    accord.settings = settings
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "mou.yaml"))
        app = create_app(settings, accord)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.web_base_url) as http, \
                httpx.AsyncClient(transport=transport, base_url=settings.web_base_url) as ops:
            await sign_in(ops, settings)
            live = Live(accord, wf, settings, http, ops)
            await go(live)
            yield live


@pytest.fixture
async def mou(dev_env, settings, accord_for) -> AsyncIterator[Live]:
    async with in_mou_stage(dev_env, settings, accord_for) as live:
        yield live


async def open_page(live: Live, to: str) -> tuple[str, httpx.Response]:
    link = action_link(mail_for(live.settings, to, MOU_MAIL))
    page = await live.http.get(link)
    assert page.status_code == 200, page.text
    return link, page


def form_of(page: httpx.Response) -> dict[str, str]:
    return {"csrf": csrf_value(page.text), "document_hash": document_hash(page.text)}


# ---------------------------------------------------------------------- the page and signing


async def test_signatory_page_shows_the_mou_and_records_the_version_signed(mou: Live):
    state = await mou.state()
    approval, v1 = state.approvals["mou"], state.mou.versions[0]
    link, page = await open_page(mou, ALICE)

    for text in ("Your signature is needed", "MOU signature", IP_CLAUSE, v1.hash, format_instant(approval.deadline_at),
                 "Amir Acme", "Bea Beta", "(you)", "not yet", "all 3 must approve", "Approve version 1",
                 "Decline", "Request changes", "Delegate"):
        assert text in page.text, text
    assert re.search(r"<dt>Round</dt><dd>1</dd>", page.text)
    # The document's headings sit under the page's own h1 and h2.
    assert "<h3>Memorandum of Understanding</h3>" in page.text and page.text.count("<h1>") == 1
    # Delegation offers only the stakeholders who are not signatories.
    assert re.findall(r'<option value="([^"]*)"', page.text) == ["", "bo"]
    assert "Bo Beta (deputy, Beta Ltd)" in page.text
    # Every input has a label.
    for field in re.findall(r'<(?:textarea|select) id="([^"]+)"', page.text):
        assert f'<label for="{field}">' in page.text, field
    form = form_of(page)
    assert form["document_hash"] == v1.hash

    # A form that does not name the version up for signature is refused.
    before = snapshot(await mou.state())
    for wrong in ({"document_hash": "0" * 64}, {"document_hash": ""}):
        r = await mou.http.post(link, data={**form, **wrong, "decision": "approve"})
        assert r.status_code == 409 and "Please read the current version" in r.text
    assert snapshot(await mou.state()) == before

    r = await mou.http.post(link, data={**form, "decision": "approve", "comment": "Signed for Acme."})
    assert r.status_code == 200, r.text
    assert "Your decision (approve) is recorded" in r.text and v1.hash in r.text
    [decision] = (await mou.state()).approvals["mou"].decisions
    assert (decision.actor, decision.decision, decision.round, decision.channel) == (
        "alice", DecisionKind.approve, 1, Channel.email_link)
    assert (decision.document_version, decision.document_hash, decision.comment) == (1, v1.hash, "Signed for Acme.")

    # Replayed: the same link and form again get the "already decided" page, and change nothing.
    before = snapshot(await mou.state())
    for data in ({**form, "decision": "approve"}, {**form, "decision": "reject", "comment": "Changed my mind."}):
        r = await mou.http.post(link, data=data)
        assert r.status_code == 409 and "You have already decided" in r.text and "Nothing was changed" in r.text
    for method in ("GET", "HEAD"):
        r = await mou.http.request(method, link)
        assert r.status_code == 409
    assert "You have already decided" in (await mou.http.get(link)).text
    assert snapshot(await mou.state()) == before

    # The others see alice's signature.
    _, amir_page = await open_page(mou, AMIR)
    assert "Alice Acme" in amir_page.text and "approve" in amir_page.text and "Signed for Acme." in amir_page.text


async def test_decline_needs_a_reason_and_then_ends_the_mou(mou: Live):
    link, page = await open_page(mou, BEA)
    form = form_of(page)
    before = snapshot(await mou.state())

    r = await mou.http.post(link, data={**form, "decision": "reject", "comment": "   "})
    assert r.status_code == 422 and "Please give a reason for declining" in r.text
    # The form is shown again, with the document, the error announced and the field marked.
    assert 'role="alert"' in r.text and IP_CLAUSE in r.text and 'name="decision" value="reject"' in r.text
    assert re.search(r'id="reject-comment"[^>]*aria-invalid="true"', r.text)
    r = await mou.http.post(link, data={**form, "decision": "request_changes"})
    assert r.status_code == 422 and "Please give a reason for requesting changes" in r.text
    r = await mou.http.post(link, data={**form, "decision": "delegate", "to": "bo", "reason": " "})
    assert r.status_code == 422 and "Please give a reason for delegating" in r.text
    r = await mou.http.post(link, data={**form, "decision": "delegate", "reason": "Away"})
    assert r.status_code == 422 and "Please choose the person" in r.text
    r = await mou.http.post(link, data={**form, "decision": "sign-everything"})
    assert r.status_code == 422
    assert snapshot(await mou.state()) == before

    r = await mou.http.post(link, data={**form, "decision": "reject", "comment": "Clause 5 does not work for us."})
    assert r.status_code == 200 and "Your decision (reject) is recorded" in r.text
    state = await state_where(mou.accord, mou.wf, lambda s: s.stage == Stage.terminated)
    [decision] = state.approvals["mou"].decisions
    assert (decision.actor, decision.decision, decision.comment, decision.document_version) == (
        "bea", DecisionKind.reject, "Clause 5 does not work for us.", 1)
    assert state.approvals["mou"].outcome == ApprovalOutcome.rejected

    r = await mou.http.get(action_link(mail_for(mou.settings, ALICE, MOU_MAIL)))
    assert r.status_code == 409 and "This decision is closed" in r.text and "<form" not in r.text


# ---------------------------------------------------------------------- links that must not work


async def test_forged_tampered_expired_and_foreign_links_change_nothing(mou: Live):
    link, page = await open_page(mou, ALICE)
    token = token_of(link)
    good = form_of(page)
    before = snapshot(await mou.state())

    async def refused(token: str, status: int, text: str) -> None:
        path = f"/a/{token}"
        for method in ("GET", "HEAD"):
            r = await mou.http.request(method, path)
            assert r.status_code == status, (method, r.status_code, r.text)
        r = await mou.http.get(path)
        assert text in r.text and "<form" not in r.text
        r = await mou.http.post(path, data={**good, **mou.csrf_for(token), "decision": "approve"})
        assert r.status_code == status, r.text
        assert text in r.text and "Nothing was changed" in r.text
        assert snapshot(await mou.state()) == before

    # Forged: not signed by us at all.
    await refused(secrets.token_urlsafe(64), 400, "not valid")
    # Tampered: one character of the signed payload changed.
    i = 7
    await refused(token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:], 400, "not valid")
    # A genuine claim under another key.
    link_claim = tokens.verify(token, mou.settings.keys)
    other_key = tokens.mint(mou.wf, "alice", _link(link_claim), ["not-our-key"])
    await refused(other_key, 400, "not valid")
    # Expired: genuine, but past its expiry.
    await refused(mou.token_for("alice", "decision", "mou", expires_at=datetime.now(UTC) - timedelta(minutes=1)),
                  410, "expired")
    # Genuine, for bo, who is not a signatory: he may not sign in anyone's place.
    await refused(mou.token_for("bo", "decision", "mou"), 403, "You are not asked to decide")
    # Genuine, for an approval or a round that does not exist.
    await refused(mou.token_for("alice", "decision", "no-such-approval"), 404, "No such decision")
    await refused(mou.token_for("alice", "decision", "mou", round=2), 409, "This round has not started")

    # The CSRF field of alice's page does not work for another token, nor without it.
    r = await mou.http.post(link, data={**good, "csrf": "", "decision": "approve"})
    assert r.status_code == 403
    bo = mou.token_for("bo", "decision", "mou")
    r = await mou.http.post(link, data={**good, **mou.csrf_for(bo), "decision": "approve"})
    assert r.status_code == 403
    assert snapshot(await mou.state()) == before
    assert not (await mou.state()).approvals["mou"].decisions


def _link(claim: tokens.Claim) -> ActionLink:
    return ActionLink(action=claim.action, ref=claim.ref, round=claim.round, expires_at=claim.expires_at)


async def test_a_round_one_link_is_superseded_after_a_revision(mou: Live):
    old_link, _ = await open_page(mou, ALICE)
    bea_link, page = await open_page(mou, BEA)
    r = await mou.http.post(bea_link, data={**form_of(page), "decision": "request_changes",
                                            "comment": "Clause 5: add joint IP terms"})
    assert r.status_code == 200 and "request changes" in r.text
    await state_where(mou.accord, mou.wf, lambda s: s.mou.awaiting_revision)
    r = await mou.http.get(old_link)
    assert r.status_code == 409 and "This decision is closed" in r.text and "changes requested" in r.text

    await mou.accord.revise_mou(mou.wf, MouRevision(note="r2"))
    state = await state_where(mou.accord, mou.wf, lambda s: s.approvals["mou"].round == 2 and len(s.mou.versions) == 2)
    await until(lambda: len([m for m in mails(mou.settings) if ALICE in str(m["To"]) and MOU_MAIL in str(m["Subject"])]) == 2)
    await state_where(mou.accord, mou.wf, lambda s: "waiting on Alice Acme, Amir Acme, Bea Beta until" in s.detail)
    v1, v2 = state.mou.versions
    before = snapshot(await mou.state())

    for method in ("GET", "HEAD"):
        r = await mou.http.request(method, old_link)
        assert r.status_code == 409
    r = await mou.http.get(old_link)
    assert "This link is for an earlier round" in r.text and "superseded by round 2 on version 2" in r.text
    assert "<form" not in r.text
    r = await mou.http.post(old_link, data={**mou.csrf_for(token_of(old_link)), "document_hash": v1.hash,
                                            "decision": "approve"})
    assert r.status_code == 409 and "earlier round" in r.text and "Nothing was changed" in r.text
    assert snapshot(await mou.state()) == before

    # The newest email's link shows version 2, its own hash, and round 2.
    new_link = action_link(newest_mail(mou, ALICE, MOU_MAIL))
    assert new_link != old_link
    page = await mou.http.get(new_link)
    assert page.status_code == 200
    assert v2.hash in page.text and v1.hash not in page.text and "Approve version 2" in page.text
    assert re.search(r"<dt>Round</dt><dd>2</dd>", page.text) and "r2" in page.text
    r = await mou.http.post(new_link, data={**form_of(page), "decision": "approve"})
    assert r.status_code == 200
    decision = (await mou.state()).approvals["mou"].decisions[-1]
    assert (decision.actor, decision.round, decision.document_version, decision.document_hash) == ("alice", 2, 2, v2.hash)


async def test_delegation_through_the_page(mou: Live):
    link, page = await open_page(mou, BEA)
    form = {"csrf": csrf_value(page.text)}
    before = snapshot(await mou.state())
    # Someone who already signs cannot be delegated to: the workflow refuses, nothing changes.
    r = await mou.http.post(link, data={**form, "decision": "delegate", "to": "amir", "reason": "Amir knows it"})
    assert r.status_code == 409 and "already an approver" in r.text
    assert snapshot(await mou.state()) == before

    r = await mou.http.post(link, data={**form, "decision": "delegate", "to": "bo", "reason": "On leave until May"})
    assert r.status_code == 200 and "Delegated to Bo Beta" in r.text
    approval = (await mou.state()).approvals["mou"]
    assert approval.approvers == ["alice", "amir", "bo"]
    [delegation] = approval.delegations
    assert (delegation.delegator, delegation.delegate, delegation.reason, delegation.round, delegation.channel) == (
        "bea", "bo", "On leave until May", 1, Channel.email_link)

    bo_mail = await until(lambda: mail_for(mou.settings, BO, MOU_MAIL))
    r = await mou.http.get(link)
    assert r.status_code == 409 and "You delegated this decision" in r.text and "Bo Beta" in r.text

    bo_link = action_link(bo_mail)
    page = await mou.http.get(bo_link)
    assert page.status_code == 200
    assert "on behalf of Bea Beta" in page.text and IP_CLAUSE in page.text
    # bo could hand it back to bea (no longer a signatory), to nobody else.
    assert re.findall(r'<option value="([^"]*)"', page.text) == ["", "bea"]
    r = await mou.http.post(bo_link, data={**form_of(page), "decision": "approve"})
    assert r.status_code == 200
    decision = (await mou.state()).approvals["mou"].decisions[-1]
    assert (decision.actor, decision.channel, decision.document_version) == ("bo", Channel.email_link, 1)


async def test_a_document_that_cannot_be_read_is_never_offered_for_signature(dev_env, settings, accord_for,
                                                                              backend: Backend):
    async with in_mou_stage(dev_env, backend.applied_to(settings), accord_for) as mou:
        await _never_offered_when_unreadable(mou, backend)


async def _never_offered_when_unreadable(mou: Live, backend: Backend) -> None:
    v1 = (await mou.state()).mou.versions[0]
    async with await backend.open() as store:
        original = await store.get_document(v1.hash)
    link, page = await open_page(mou, ALICE)
    form = form_of(page)
    before = snapshot(await mou.state())

    async def unreadable(text: str) -> None:
        for method in ("GET", "HEAD"):
            r = await mou.http.request(method, link)
            assert r.status_code == 500, (method, r.status_code)
        r = await mou.http.get(link)
        assert "The document cannot be shown" in r.text and text in r.text
        assert "<form" not in r.text and "Everything belongs to Acme" not in r.text
        r = await mou.http.post(link, data={**form, "decision": "approve"})
        assert r.status_code == 500 and "The document cannot be shown" in r.text
        r = await mou.ops.get(f"/p/{mou.wf}/mou/1")
        assert r.status_code == 500 and "The document cannot be shown" in r.text
        assert snapshot(await mou.state()) == before

    await backend.damage(v1.hash, original.replace(IP_CLAUSE, "Everything belongs to Acme."))
    await unreadable("no longer matches its SHA-256 hash")
    await backend.remove(v1.hash)
    await unreadable("cannot find the text of version 1 of the MOU")

    async with await backend.open() as store:
        await store.put_document(original)  # restored from a backup
    r = await mou.http.get(link)
    assert r.status_code == 200 and IP_CLAUSE in r.text


async def test_mou_versions_on_the_status_page(mou: Live):
    v1 = (await mou.state()).mou.versions[0]
    r = await mou.ops.get(f"/p/{mou.wf}")
    assert r.status_code == 200
    assert f'href="/p/{mou.wf}/mou/1"' in r.text and v1.hash in r.text and "out for signature" in r.text

    for method in ("GET", "HEAD"):
        assert (await mou.ops.request(method, f"/p/{mou.wf}/mou/1")).status_code == 200
    r = await mou.ops.get(f"/p/{mou.wf}/mou/1")
    for text in ("MOU version 1", "current", v1.hash, IP_CLAUSE, "Decisions on this version", "None yet."):
        assert text in r.text, text
    assert "<h3>Memorandum of Understanding</h3>" in r.text
    assert (await mou.ops.get(f"/p/{mou.wf}/mou/2")).status_code == 404
    assert (await mou.ops.get("/p/partnership-does-not-exist/mou/1")).status_code == 404
    # The status page itself still answers for the same workflow.
    assert (await mou.ops.get(f"/p/{mou.wf}")).status_code == 200


# ---------------------------------------------------------------------- GET and HEAD change nothing


async def stable_state(live: Live) -> dict:
    """The state once the workflow has settled (no email or timeline entry on its way)."""

    async def settled():
        first = snapshot(await live.state())
        await asyncio.sleep(0.3)
        return first if snapshot(await live.state()) == first else None

    return await until(settled)


async def test_get_and_head_of_every_link_in_every_email_change_nothing(dev_env, settings, accord_for):
    definition = screening_definition()
    definition.mou.allow_delegation = True  # signatories alice and bea; arun and bo may be delegated to
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(definition)
        app = create_app(settings, accord)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
            await sign_in(http, settings)  # the ops pages below are read signed in; the links need no account
            live = Live(accord, wf, settings, http)
            await _through_screening_into_a_revised_mou(live)
            before = await stable_state(live)

            kinds = _kinds(live)
            assert {"task", "statement", "decision:go-no-go:1", "decision:mou:1", "decision:mou:2", "notice"} <= kinds
            subjects = {str(m["Subject"]).split(":")[0].strip() for m in mails(settings)}
            assert {"A task for you", "Goal statements diverge", "Decision needed",
                    "Changes requested on the MOU"} <= subjects, subjects
            assert any(s.startswith(("Escalated to", "Escalation reached")) for s in subjects), subjects

            links = sorted({httpx.URL(link).path for mail in mails(settings) for link in all_links(mail)})
            pages = [f"/p/{wf}", f"/p/{wf}/mou/1", f"/p/{wf}/mou/2", "/outbox", "/"]
            pages += [f"/outbox/{path.stem}{suffix}" for path, _ in outbox.messages(settings.outbox_dir)
                      for suffix in ("", "/html")]
            statuses: dict[int, int] = {}
            for path in [*links, *pages]:
                for method in ("GET", "HEAD"):
                    r = await http.request(method, path)
                    assert r.status_code < 500, (method, path, r.status_code)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            after = await live.state()

    # 7 screening tasks and statements, 4 revision requests, 2 go/no-go, 3 MOU round 1 (with bo), 2 round 2.
    assert sum(link.startswith("/a/") for link in links) >= 18
    # Live links (round 2 of the MOU) showed their page; done, closed and superseded ones said why.
    assert statuses.get(200) and statuses.get(409)
    assert snapshot(after) == before  # the whole state, nothing excluded
    assert len(after.timeline) == len(before["timeline"])


async def _through_screening_into_a_revised_mou(live: Live) -> None:
    accord, wf = live.accord, live.wf
    await until(lambda: len(mails(live.settings)) >= 7)
    # Divergent goal statements block screening: revision requests and an escalation go out.
    divergent = {
        "alice": "Open a joint research lab on batteries.",
        "arun": "Cut our warehouse logistics costs through shared trucking routes.",
        "bea": "Win government defence contracts as a subcontractor.",
        "bo": "Hire more graduate engineers in Singapore offices.",
    }
    for who, text in divergent.items():
        await accord.submit_statement(wf, StatementSubmission(stakeholder=who, text=text))
    await state_where(accord, wf, lambda s: s.alignment.result is not None and s.alignment.result.blocked)
    await until(lambda: mail_for(live.settings, BO, "Goal statements diverge"))
    # Its escalation pages the leads before the override clears it (cleared first, it would page no one).
    await until(lambda: mail_for(live.settings, BO, "esc-1: goal statements diverge"), timeout=30)
    await accord.override_alignment(wf, AlignmentOverride(actor="alice", reason="Agreed in the steering call."))
    await pass_checklist(accord, wf, {"capability": "arun", "legal": "bo"})
    await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
    for who in ("alice", "bea"):
        await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=who, decision=DecisionKind.approve))
    # The MOU: bea delegates to bo, alice asks for changes, ops revise, a new round goes out.
    await until(lambda: mail_for(live.settings, BEA, MOU_MAIL))
    await until(lambda: idle(accord, wf))
    await accord.delegate(wf, DelegationInput(approval_id="mou", actor="bea", to="bo", reason="Away"))
    await until(lambda: mail_for(live.settings, BO, MOU_MAIL))
    await accord.decide(wf, DecisionInput(approval_id="mou", actor="alice", decision=DecisionKind.request_changes,
                                          comment="Clause 5, please"))
    await state_where(accord, wf, lambda s: s.mou.awaiting_revision)
    await until(lambda: mail_for(live.settings, "ops@accord.example", "Changes requested on the MOU"))
    await accord.revise_mou(wf, MouRevision(note="r2"))
    await until(lambda: len([m for m in mails(live.settings) if BO in str(m["To"]) and MOU_MAIL in str(m["Subject"])]) == 2)
    await accord.escalate(wf, EscalationRequest(reason="Checking the ladder", raised_by="alice"))
    await until(lambda: mail_for(live.settings, BO, "esc-2: Checking the ladder"), timeout=30)


def _kinds(live: Live) -> set[str]:
    """What the emails ask: task, statement, decision:<approval>:<round>, or notice (no action)."""
    kinds = set()
    for mail in mails(live.settings):
        found = [link for link in all_links(mail) if "/a/" in link]
        if not found:
            kinds.add("notice")
        for link in found:
            claim = tokens.verify(token_of(httpx.URL(link).path), live.settings.keys)
            kinds.add(f"decision:{claim.ref}:{claim.round}" if claim.action == "decision" else claim.action)
    return kinds


# ---------------------------------------------------------------------- without Temporal


async def _state(store: Storage, policy: str = "all", decided: tuple[str, ...] = ()) -> PartnershipState:
    now = datetime.now(UTC)
    digest = await store.put_document(
        "# Memorandum of Understanding\n\n## 5. Intellectual property\n\nEach party keeps its own IP.\n\n<script>x</script>\n")
    state = PartnershipState(partnership_id="p", name="P", chain_id="c", started_at=now, stage_started_at=now, stage=Stage.mou)
    state.mou.versions.append(DocumentVersion(version=1, hash=digest, created_at=now, source="generated", author="accord"))
    approval = ApprovalState(id="mou", title="MOU signature", stage=Stage.mou, approvers=["alice", "amir", "bea"],
                             policy=policy, opened_at=now, deadline_at=now + timedelta(days=14), allow_delegation=True,
                             document_version=1, document_hash=digest)
    approval.decisions = [Decision(approval_id="mou", round=1, actor=who, decision=DecisionKind.approve, at=now,
                                   channel=Channel.email_link, document_version=1, document_hash=digest) for who in decided]
    state.approvals["mou"] = approval
    return state


PEOPLE = {p.id: p for p in [Person("alice", "Alice Acme", "sponsor", "Acme Corp"), Person("amir", "Amir Acme", "counsel", "Acme Corp"),
                            Person("bea", "Bea Beta", "sponsor", "Beta Ltd"), Person("bo", "Bo Beta", "deputy", "Beta Ltd")]}


def _claim(recipient: str) -> tokens.Claim:
    return tokens.Claim(workflow_id="w", action="decision", ref="mou", round=1, recipient=recipient,
                        expires_at=datetime.now(UTC) + timedelta(days=1))


async def test_sequential_page_shows_the_order_and_whose_turn_it_is(local_store):
    state = await _state(local_store, "sequential", decided=("alice",))
    page = await actions.page_for(_claim("amir"), state, documents=local_store, people=PEOPLE)
    signers = page.context["signers"]
    assert [(s.id, s.you, s.waiting, s.decision is not None) for s in signers] == [
        ("alice", False, False, True), ("amir", True, True, False), ("bea", False, False, False)]
    assert page.context["sequential"] and "one after another" in page.context["policy"]
    assert [p.id for p in page.context["candidates"]] == ["bo"]
    # Raw HTML in the document is escaped, never passed through; headings are demoted.
    html = str(page.context["document"].html)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<h3>Memorandum of Understanding</h3>" in html

    with pytest.raises(Problem) as exc:
        await actions.page_for(_claim("bea"), state, documents=local_store, people=PEOPLE)
    assert exc.value.status == 409 and "not your turn" in exc.value.title


async def test_without_the_definition_the_page_shows_ids_and_no_delegation(local_store):
    state = await _state(local_store)
    page = await actions.page_for(_claim("alice"), state, documents=local_store, people=None)
    assert [s.name for s in page.context["signers"]] == ["alice", "amir", "bea"]
    assert page.context["candidates"] == [] and not page.context["people_known"]


async def test_without_a_document_store_nothing_is_offered(local_store):
    state = await _state(local_store)
    with pytest.raises(Problem) as exc:
        await actions.page_for(_claim("alice"), state, people=PEOPLE)
    assert exc.value.status == 500 and "cannot be shown" in exc.value.title
