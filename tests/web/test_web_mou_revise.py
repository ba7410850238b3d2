"""Ops answer a request for changes on the MOU from the link in their email (issue 13: every
email that asks something links to where it is done), against a real Temporal dev server:
the page (/p/<id>/mou/revise) and what it refuses over HTTP, and, in headless Chromium
through a real OpenID provider, the link followed unsigned: sign-in, back to the page, the
revision uploaded, the new round out to the signatories.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx
import pytest

from accord import tokens
from accord.mail import outbox
from accord.mail.ops_links import ops_link
from accord.models import MOU, DecisionInput, DecisionKind, EventKind, PartnershipState
from accord.web.app import create_app
from accord.web.auth import local
from accord.web.routes.mou_revision import MAX_FORM_BYTES
from tests.support.helpers import state_where, unique
from tests.support.paths import DATA
from tests.support.signin_helpers import Provider, oidc_sign_in
from tests.support.web_helpers import (
    Live,
    action_link,
    all_links,
    csrf_value,
    mails,
    token_of,
    until,
)
from tests.support.workers import running_worker
from tests.web.test_browser import chromium, chromium_path, listen, serving
from tests.web.test_web_mou import ALICE, AMIR, BEA, MOU_MAIL, go, in_mou_stage

OPS_MAIL = "ops@accord.example"
ASKED = 'Clause 5 must name the data owner <b>"both parties"</b>.'
CLAUSE = "## 6. Data\n\nAcme owns the data it collects; Beta may use it for the project only."


async def changes_requested(live: Live) -> str:
    """alice asks for changes on version 1: the round ends, ops get the notice; its link (absolute)."""
    await live.accord.decide(live.wf, DecisionInput(approval_id=MOU, actor="alice", decision=DecisionKind.request_changes,
                                                    comment=ASKED))
    await state_where(live.accord, live.wf, lambda s: s.mou.awaiting_revision)
    mail = await until(lambda: next((m for m in mails(live.settings) if OPS_MAIL in str(m["To"])
                                     and "Changes requested on the MOU" in str(m["Subject"])), None))
    return revise_link(mail, live.settings.web_base_url, live.wf)


def revise_link(mail: EmailMessage, base: str, wf: str) -> str:
    """The email's one link, to the revision page, in both parts, with its button's words."""
    assert all_links(mail) == {f"{base}/p/{wf}/mou/revise"}, all_links(mail)
    assert "Revise the MOU" in outbox.body(mail, "html") and "Revise the MOU: " in outbox.body(mail, "plain")
    return f"{base}/p/{wf}/mou/revise"


def round_two_mails(live: Live) -> set[str]:
    """Who got a request to sign with a round-2 link."""
    return {str(m["To"]).split("<")[-1].rstrip(">") for m in mails(live.settings) if MOU_MAIL in str(m["Subject"])
            and tokens.verify(token_of(action_link(m)), live.settings.keys).round == 2}


def revise_csrf(html: str) -> str:
    """The upload form's CSRF field (the header's sign-out form has its own)."""
    return re.search(r'<form method="post"[^>]*aria-labelledby="upload-heading">.*?name="csrf" value="([^"]+)"', html, re.DOTALL)[1]


def unchanged(state: PartnershipState) -> bool:
    return len(state.mou.versions) == 1 and state.mou.awaiting_revision and state.approvals[MOU].round == 1


async def test_the_revision_page_refuses_what_it_must_and_uploads_as_the_signed_in_person(
        dev_env, settings, accord_for, oidc_provider: Provider):
    # A loopback base URL: the identity provider (for the viewer) allows plain http there.
    settings = oidc_provider.configure(settings.model_copy(update={"web_base_url": "http://127.0.0.1:8000"}))
    async with in_mou_stage(dev_env, settings, accord_for) as live:
        link = await changes_requested(live)
        path = httpx.URL(link).path
        assert f'href="{path}">Revise the MOU</a>' in (await live.ops.get(f"/p/{live.wf}")).text  # from the status page too

        # Anonymous: to sign-in, which comes back here afterwards.
        r = await live.http.get(path)
        assert (r.status_code, r.headers["location"]) == (303, f"/signin?next={path}")
        assert f'href="/signin/start?next={path}"' in (await live.http.get(r.headers["location"])).text

        # Ops see what was asked, by whom, in which round, on which version; markup shown as text.
        page = await live.ops.get(path)
        assert page.status_code == 200, page.text
        assert "Alice Acme</strong>: Clause 5 must name the data owner &lt;b&gt;&#34;both parties&#34;&lt;/b&gt;." in page.text
        assert re.search(r"<dt>Round</dt><dd>1 of 3", page.text)
        assert f'href="/p/{live.wf}/mou/1">Version 1</a>' in page.text
        assert "Each party keeps its own IP." in page.text  # the current text, to edit
        token = revise_csrf(page.text)
        good = {"csrf": token, "version": "1", "action": "upload", "markdown": "# MOU\n\nRevised.", "note": "n"}

        # No CSRF field, or another form's token (sign-out's): refused, nothing changed.
        for form in ({k: v for k, v in good.items() if k != "csrf"},
                     {**good, "csrf": csrf_value((await live.ops.get("/")).text)}):
            r = await live.ops.post(path, data=form)
            assert r.status_code == 403 and "could not be verified" in r.text, (r.status_code, r.text[:300])
        # Larger than the bound: 413 before anything is parsed.
        r = await live.ops.post(path, data={**good, "markdown": "x" * MAX_FORM_BYTES})
        assert r.status_code == 413 and "larger than" in r.text
        # Empty: the workflow's own rule and words, the form shown again.
        r = await live.ops.post(path, data={**good, "markdown": " \r\n "})
        assert r.status_code == 422 and "The uploaded MOU is empty." in r.text and 'name="markdown"' in r.text, r.text[:3000]
        # A page for another version than the one changes were asked on: stale.
        r = await live.ops.post(path, data={**good, "version": "2"})
        assert r.status_code == 409 and "out of date" in r.text
        # Another site's page cannot post it with the ops cookie. A form posted from an Accord page says
        # Origin: null (their Referrer-Policy is no-referrer), as a sandboxed frame anywhere does:
        # the browser's Sec-Fetch-Site tells them apart.
        for headers in ({"Origin": "https://evil.example"}, {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
                        {"Origin": "null"}):
            r = await live.ops.post(path, data=good, headers=headers)
            assert r.status_code == 403 and "another site" in r.text, (headers, r.status_code, r.text[:300])
        r = await live.ops.post(path, data={**good, "markdown": ""}, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 422, r.text[:300]
        # A viewer reads the page, without the forms, and may not post.
        app = create_app(settings, live.accord)  # another web instance, the same storage
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as viewer:
            await oidc_sign_in(viewer, oidc_provider, "bob")
            r = await viewer.get(path)
            assert r.status_code == 200 and "Only ops may revise the MOU" in r.text and 'name="markdown"' not in r.text
            r = await viewer.post(path, data=good)
            assert r.status_code == 403 and "may only read" in r.text
        assert unchanged(await live.state())

        # Ops upload a file: version 2, a new round, recorded as sent by the signed-in person.
        revised = (await live.ops.get(path)).text
        r = await live.ops.post(path, data={**good, "csrf": revise_csrf(revised), "note": "Data clause added"},
                                files={"file": ("mou-v2.md", f"# MOU\n\n{CLAUSE}\n".encode(), "text/markdown")})
        assert (r.status_code, r.headers["location"]) == (303, f"/p/{live.wf}"), r.text[:500]
        state = await live.state()
        v2 = state.mou.current
        assert (v2.version, v2.source, v2.author, v2.note) == (2, "uploaded", "ops", "Data clause added")
        assert not state.mou.awaiting_revision and state.approvals[MOU].round == 2
        [event] = [e for e in state.timeline if e.kind == EventKind.mou_version and e.data.get("version") == 2]
        assert (event.actor, event.sent_by) == ("ops", f"ops:{local.OPERATOR}")
        status = await live.ops.get(f"/p/{live.wf}")
        assert "Version 2</a> <span class=\"badge open\">current</span>" in status.text and "Round 2 · version 2" in status.text
        await until(lambda: round_two_mails(live) == {ALICE, AMIR, BEA})

        # Nothing is awaited now: the link and a late post say so (409), and change nothing.
        for r in (await live.ops.get(path), await live.ops.post(path, data={**good, "csrf": revise_csrf(revised)})):
            assert r.status_code == 409 and "MOU version 2 is out for signature (round 2)" in r.text, r.text[:500]
        assert len((await live.state()).mou.versions) == 2

        # Changes asked again, on version 2: this time ops regenerate it from the definition.
        await live.accord.decide(live.wf, DecisionInput(approval_id=MOU, actor="bea", decision=DecisionKind.request_changes,
                                                        comment="Back to the standard clauses, please."))
        await state_where(live.accord, live.wf, lambda s: s.mou.awaiting_revision)
        page = await live.ops.get(path)
        assert "Bea Beta</strong>: Back to the standard clauses, please." in page.text
        assert "Clause 5 must name" not in page.text  # the round that ended is the one shown
        assert re.search(r"<dt>Round</dt><dd>2 of 3", page.text) and f'href="/p/{live.wf}/mou/2">Version 2</a>' in page.text
        r = await live.ops.post(path, data={"csrf": revise_csrf(page.text), "version": "2", "action": "regenerate", "note": ""})
        assert (r.status_code, r.headers["location"]) == (303, f"/p/{live.wf}"), r.text[:500]
        state = await live.state()
        v3 = state.mou.current
        assert (v3.version, v3.source, v3.note) == (3, "generated", "Regenerated from the definition")
        assert state.approvals[MOU].round == 3 and not state.mou.awaiting_revision


@pytest.mark.browser
async def test_ops_follow_the_email_link_sign_in_and_upload_a_revision(
        dev_env, settings, accord_for, oidc_provider: Provider, tmp_path):
    from playwright.async_api import expect

    executable = chromium_path()
    listener, base = listen(settings)
    settings = oidc_provider.configure(settings)
    accord = accord_for(dev_env)
    accord.settings = settings
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "mou.yaml"))
        live = Live(accord, wf, settings, httpx.AsyncClient())
        await go(live)
        link = await changes_requested(live)
        async with serving(settings, accord, listener), chromium(executable) as browser:
            page = await browser.new_page()
            page.set_default_timeout(30_000)
            await page.goto(link)  # unsigned: the sign-in page, which returns here
            await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
            await page.get_by_role("link", name="Sign in with your organisation's account").click()
            await page.get_by_role("button", name="alice", exact=True).click()  # the provider's own page
            await page.wait_for_url(link)
            await expect(page.get_by_role("heading", level=1)).to_have_text("Revise the MOU")
            asked = page.get_by_role("region", name="The changes asked for")
            await expect(asked.get_by_role("listitem")).to_contain_text(f"Alice Acme: {ASKED}")
            await expect(page.get_by_role("link", name="Version 1")).to_have_attribute("href", f"/p/{wf}/mou/1")
            await page.screenshot(path=str(tmp_path / "revise-page.png"), full_page=True)

            text = await page.get_by_label("The MOU").input_value()
            await page.get_by_label("The MOU").fill(f"{text.rstrip()}\n\n{CLAUSE}\n")
            await page.get_by_label("What changed").fill("Data clause added")
            await page.get_by_role("button", name="Upload version 2").click()
            await page.wait_for_url(f"{base}/p/{wf}")
            await expect(page.get_by_role("link", name="Version 2")).to_be_visible()
            await expect(page.locator("main")).to_contain_text("out for signature")
            await expect(page.locator("main")).to_contain_text("Round 2 · version 2")
            await page.screenshot(path=str(tmp_path / "revised.png"), full_page=True)

        state = await live.state()
        v2 = state.mou.current
        assert (v2.version, v2.author, v2.note) == (2, "ops", "Data clause added")
        assert [d.comment for d in v2.requested_changes] == [ASKED]
        assert any(CLAUSE.splitlines()[-1] in line for line in v2.changes.lines), v2.changes
        [event] = [e for e in state.timeline if e.kind == EventKind.mou_version and e.data.get("version") == 2]
        assert event.sent_by == "ops:alice@example.org"
        assert state.approvals[MOU].round == 2 and state.approvals[MOU].document_version == 2
        await until(lambda: round_two_mails(live) == {ALICE, AMIR, BEA})
        await live.http.aclose()
    assert (tmp_path / "revised.png").stat().st_size > 0


def test_only_the_changes_notice_to_ops_links_to_the_revision_page():
    wf, base = "partnership-acme", "https://accord.example/"
    assert ops_link(base, wf, f"{wf}/chain-1/mou-changes/2/ops-0", "ops-0") == (
        "https://accord.example/p/partnership-acme/mou/revise", "Revise the MOU")
    # Not to a stakeholder, not for another notice, not for another workflow's key.
    assert ops_link(base, wf, f"{wf}/chain-1/mou-changes/2/alice", "alice") is None
    assert ops_link(base, wf, f"{wf}/chain-1/email-delayed/mou-changes/2/ops-0", "ops-0") is None
    assert ops_link(base, wf, "partnership-other/chain-1/mou-changes/2/ops-0", "ops-0") is None
    assert ops_link(base, wf, f"{wf}/mou-changes", "ops-0") is None
