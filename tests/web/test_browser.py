"""A person in a real browser: outbox -> email -> action link -> form -> confirmation,
for a screening task and for signing the MOU; and the people who run Accord signing in
through a real OpenID provider, refused what their role does not allow, signing out.

Headless Chromium from the system (CI installs the Debian package); the app runs under
uvicorn on a free localhost port in the test's event loop, beside the worker.
"""

from __future__ import annotations

import pytest

from accord.client import Accord
from accord.mail import outbox
from accord.models import Channel, DecisionInput, DecisionKind, TaskStatus
from tests.support.browser import Collect, chromium, chromium_path, listen, serving
from tests.support.helpers import state_where, unique
from tests.support.paths import DATA
from tests.support.signin_helpers import Provider, local_link
from tests.support.web_helpers import idle, mail_for, mails, screening_definition, until
from tests.support.workers import running_worker

pytestmark = pytest.mark.browser













async def test_person_completes_a_task_from_the_outbox(dev_env, settings, accord_for, tmp_path):
    from playwright.async_api import expect

    executable = chromium_path()
    listener, base = listen(settings)
    accord = accord_for(dev_env)
    access_log = Collect()

    async with running_worker(dev_env.client, settings):
        wf = await accord.start(screening_definition())
        await until(lambda: mail_for(settings, "arun@acme.example", "Capability audit"))
        async with serving(settings, accord, listener, access_log):  # noqa: SIM117 - the browser starts once the app is serving, and closes first
            async with chromium(executable) as browser:
                page = await browser.new_page()
                await page.goto(f"{base}{await local_link(settings)}")  # the operator signs in: the outbox is ops-only
                await page.goto(f"{base}/outbox")
                await page.get_by_role("link", name="A task for you: Capability audit").click()
                await expect(page.get_by_role("heading", level=1)).to_contain_text("Capability audit")

                # The email's own button, inside the sandboxed frame, opens the action page.
                await page.frame_locator("iframe.email").get_by_role("link", name="Complete this task").click()
                await page.wait_for_url(f"{base}/a/**")
                await expect(page.get_by_role("heading", level=1)).to_have_text("Capability audit")
                assert "Due" in await page.locator("dl.facts").inner_text()

                await page.get_by_label("Result or notes").fill("Audit done in the browser.")
                await page.get_by_role("button", name="Mark done").click()
                await expect(page.get_by_role("status")).to_contain_text("marked done")
                await page.screenshot(path=str(tmp_path / "task-done.png"), full_page=True)

        task = (await accord.state(wf)).tasks["capability"]

    assert task.status == TaskStatus.done
    assert task.completed_by == "arun"
    assert task.channel == Channel.email_link
    assert task.result == "Audit done in the browser."
    assert (tmp_path / "task-done.png").stat().st_size > 0

    # The access log saw the action page, but never its token.
    tokens_sent = {line.split("/a/")[1].split()[0] for m in mails(settings)
                   for line in outbox.body(m, "plain").splitlines() if "/a/" in line}
    assert any("/a/<redacted>" in line for line in access_log.lines)
    assert not any(token in line for token in tokens_sent for line in access_log.lines)


async def test_signatory_reads_and_approves_the_mou_from_the_outbox(dev_env, settings, accord_for, tmp_path):
    from playwright.async_api import expect

    executable = chromium_path()
    listener, base = listen(settings)
    accord = accord_for(dev_env)

    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "mou.yaml"))
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="alice", decision=DecisionKind.approve))
        await until(lambda: mail_for(settings, "alice@acme.example", "MOU signature"))
        await until(lambda: idle(accord, wf))
        version = (await accord.state(wf)).mou.versions[0]
        async with serving(settings, accord, listener):  # noqa: SIM117 - the browser starts once the app is serving, and closes first
            async with chromium(executable) as browser:
                page = await browser.new_page()
                await page.goto(f"{base}{await local_link(settings)}")  # the operator signs in: the outbox is ops-only
                await page.goto(f"{base}/outbox")
                await (page.get_by_role("row").filter(has_text="alice@acme.example")
                       .get_by_role("link", name="MOU signature").click())
                await expect(page.get_by_role("heading", level=1)).to_contain_text("Decision needed: MOU signature")

                await page.frame_locator("iframe.email").get_by_role("link", name="Review and decide").click()
                await page.wait_for_url(f"{base}/a/**")
                await expect(page.get_by_role("heading", level=1)).to_have_text("MOU signature")
                # The MOU itself, version 1 and its full hash, the deadline, and who else signs.
                await expect(page.get_by_role("heading", name="Memorandum of Understanding")).to_be_visible()
                document = page.get_by_role("article")
                await expect(document).to_contain_text("Each party keeps its own IP.")
                facts = page.locator("dl.facts")
                await expect(facts).to_contain_text(version.hash)
                await expect(facts).to_contain_text("Deadline")
                signers = page.get_by_role("table", name="Who signs")
                await expect(signers).to_contain_text("Amir Acme")
                await expect(signers).to_contain_text("Bea Beta")
                # Every form field is reachable by its label.
                for label in ("Reason for declining", "What should change?", "Delegate to"):
                    await expect(page.get_by_label(label)).to_be_visible()
                await page.screenshot(path=str(tmp_path / "mou-page.png"), full_page=True)

                await page.get_by_role("button", name="Approve version 1").click()
                await expect(page.get_by_role("status")).to_contain_text("Your decision (approve) is recorded")
                await expect(page.locator("dl.facts")).to_contain_text(version.hash)
                await page.screenshot(path=str(tmp_path / "mou-approved.png"), full_page=True)

        approval = (await accord.state(wf)).approvals["mou"]

    [decision] = approval.decisions
    assert (decision.actor, decision.decision, decision.channel) == ("alice", DecisionKind.approve, Channel.email_link)
    assert (decision.document_version, decision.document_hash) == (1, version.hash)
    assert (tmp_path / "mou-page.png").stat().st_size > 0 and (tmp_path / "mou-approved.png").stat().st_size > 0


async def test_contact_acknowledges_records_care_and_resolves_an_escalation(dev_env, settings, accord_for, tmp_path):
    from playwright.async_api import expect

    from accord.models import EscalationRequest, EscalationStatus

    executable = chromium_path()
    listener, base = listen(settings)
    accord = accord_for(dev_env)

    async with running_worker(dev_env.client, settings):
        wf = await accord.start(screening_definition())
        _, record = await accord.raise_escalation(wf, EscalationRequest(reason="Data migration slipping", level=2))
        await until(lambda: mail_for(settings, "bea@beta.example", "Escalated to Sponsors"))
        async with serving(settings, accord, listener):  # noqa: SIM117 - the browser starts once the app is serving, and closes first
            async with chromium(executable) as browser:
                page = await browser.new_page()
                await page.goto(f"{base}{await local_link(settings)}")  # the operator signs in: the outbox is ops-only
                await page.goto(f"{base}/outbox")
                await (page.get_by_role("row").filter(has_text="bea@beta.example")
                       .get_by_role("link", name="Escalated to Sponsors").click())
                await page.frame_locator("iframe.email").get_by_role("link", name="Open the escalation").click()
                await page.wait_for_url(f"{base}/a/**")
                await expect(page.get_by_role("heading", level=1)).to_have_text("Data migration slipping")
                await expect(page.get_by_role("table", name="Levels")).to_contain_text("Sponsors")
                await page.screenshot(path=str(tmp_path / "escalation-open.png"), full_page=True)

                await page.get_by_label("Note").fill("Taking this to the steering group.")
                await page.get_by_role("button", name="Acknowledge", exact=True).click()
                await expect(page.get_by_role("status")).to_contain_text("stops climbing")

                await page.get_by_label("Clarify", exact=True).fill("Cut-over date moved twice in three weeks.")
                await page.get_by_role("button", name="Record clarify").click()
                await expect(page.get_by_role("status")).to_contain_text("Clarify is recorded")
                # Bea speaks for Beta only (rules 1): the page offers her own party.
                await expect(page.get_by_label("Whose perspective").locator("option")).to_have_text(["Beta Ltd"])
                await page.get_by_label("Acknowledge", exact=True).fill("Beta lacks a second DBA.")
                await page.get_by_role("button", name="Record acknowledge").click()
                await expect(page.get_by_role("status")).to_contain_text("Acknowledge is recorded")

                # Alice gives Acme's perspective through her own link, and carries on.
                await page.goto(f"{base}/outbox")
                await (page.get_by_role("row").filter(has_text="alice@acme.example")
                       .get_by_role("link", name="Escalated to Sponsors").click())
                await page.frame_locator("iframe.email").get_by_role("link", name="Open the escalation").click()
                await page.wait_for_url(f"{base}/a/**")
                await expect(page.get_by_label("Whose perspective").locator("option")).to_have_text(["Acme Corp"])
                # (Alice has not acknowledged the escalation itself: that form is on her page too.)
                await page.get_by_role("textbox", name="Acknowledge", exact=True).fill("Acme needs the data before the audit.")
                await page.get_by_role("button", name="Record acknowledge").click()
                await expect(page.get_by_role("status")).to_contain_text("Acknowledge is recorded")
                await page.get_by_label("Reframe", exact=True).fill("Both want residents on the new system this quarter.")
                await page.get_by_role("button", name="Record reframe").click()
                await page.get_by_label("Explore", exact=True).fill("Acme lends a DBA for four weeks.")
                await page.get_by_role("button", name="Record explore").click()
                await expect(page.get_by_role("status")).to_contain_text("The CARE record is complete")
                await page.screenshot(path=str(tmp_path / "escalation-care.png"), full_page=True)

                await page.get_by_label("Resolution").fill("Acme lends a DBA; weekly cut-over check.")
                await page.get_by_role("button", name="Resolve", exact=True).click()
                await expect(page.get_by_role("status")).to_have_text("The escalation is resolved.")

        final = await accord.escalation(wf, record.id)

    assert final.status == EscalationStatus.resolved
    assert (final.closed_by, final.closed_channel) == ("alice", Channel.email_link)
    assert [a.actor for a in final.acknowledgements] == ["bea"]
    assert {p: n.by for p, n in final.care.acknowledge.items()} == {"beta": "bea", "acme": "alice"}
    assert final.care.explore.text == "Acme lends a DBA for four weeks."
    assert (tmp_path / "escalation-care.png").stat().st_size > 0


# ---------------------------------------------------------------------- signing in


async def sign_in_at_the_provider(page, base: str, who: str) -> None:
    """From any Accord page: the sign-in page, the provider's form (its button for ``who``), back."""
    from playwright.async_api import expect

    await page.goto(base)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await page.get_by_role("link", name="Sign in with your organisation's account").click()
    await page.get_by_role("button", name=who, exact=True).click()  # the provider's own page
    await page.wait_for_url(f"{base}/")


async def test_ops_sign_in_with_the_identity_provider_and_sign_out_for_good(
        dev_env, settings, accord_for, oidc_provider: Provider, tmp_path):
    from playwright.async_api import expect

    executable = chromium_path()
    listener, base = listen(settings)
    settings = oidc_provider.configure(settings)
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        definition = screening_definition()
        wf = await accord.start(definition)
        access_log = Collect()
        async with serving(settings, accord, listener, access_log), chromium(executable) as browser:
            context = await browser.new_context()
            page = await context.new_page()
            await sign_in_at_the_provider(page, base, "alice")
            await expect(page.get_by_role("heading", level=1)).to_have_text("Partnerships")
            await expect(page.locator(f'a[href="/p/{wf}"]')).to_have_text(definition.name)
            await expect(page.locator("form.who")).to_contain_text("Signed in as alice@example.org (ops)")
            await page.get_by_role("link", name="Outbox").click()
            await expect(page.get_by_role("heading", level=1)).to_contain_text("Outbox")
            await page.screenshot(path=str(tmp_path / "signed-in.png"), full_page=True)
            kept = await context.cookies()
            assert next(c for c in kept if c["name"] == "accord_session")["httpOnly"]

            await page.get_by_role("button", name="Sign out").click()
            await page.wait_for_url(f"{base}/signin?out")
            await expect(page.get_by_role("status")).to_have_text("You are signed out.")
            await page.goto(f"{base}/outbox")
            await expect(page).to_have_url(f"{base}/signin?next=/outbox")

            # Someone who copied the cookie before sign-out gets nothing with it.
            thief = await browser.new_context()
            await thief.add_cookies(kept)
            stolen = await thief.new_page()
            await stolen.goto(f"{base}/")
            await expect(stolen).to_have_url(f"{base}/signin")
            await expect(stolen.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert (tmp_path / "signed-in.png").stat().st_size > 0
    # The provider's one-time code and the state never reach the access log.
    assert any("/signin/callback?<redacted>" in line for line in access_log.lines)
    assert not any("code=" in line or "state=" in line for line in access_log.lines)


async def test_a_viewer_is_refused_the_outbox_and_an_expired_session_asks_again(
        dev_env, settings, oidc_provider: Provider, tmp_path):
    import sqlite3

    from playwright.async_api import expect

    executable = chromium_path()
    listener, base = listen(settings)
    settings = oidc_provider.configure(settings)
    accord = Accord(dev_env.client, settings)
    async with serving(settings, accord, listener), chromium(executable) as browser:
        page = await browser.new_page()
        await sign_in_at_the_provider(page, base, "bob")
        await expect(page.locator("form.who")).to_contain_text("bob@example.org (viewer)")
        await expect(page.get_by_role("link", name="Outbox")).to_have_count(0)  # live links: ops only
        response = await page.goto(f"{base}/outbox")
        assert response.status == 403
        await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
        await expect(page.locator("main")).to_contain_text("signed in as bob@example.org with the role viewer")
        await expect(page.locator("main")).to_contain_text("ask whoever runs Accord for it")
        await page.screenshot(path=str(tmp_path / "viewer-refused.png"), full_page=True)

        # The session's end passes (its expiry moved to the past, as the clock would): asked to sign in again.
        with sqlite3.connect(settings.data_dir / "ledger.sqlite") as db:
            assert db.execute("UPDATE sessions SET expires_at = 0").rowcount == 1
        await page.goto(f"{base}/")
        await expect(page).to_have_url(f"{base}/signin")
        await expect(page.locator("form.who")).to_have_count(0)

        # Someone the provider knows but Accord gives no role: who they are, what to ask for.
        await page.context.clear_cookies()
        await page.goto(f"{base}/signin/start")
        await page.get_by_role("button", name="carol", exact=True).click()
        await page.wait_for_url(f"{base}/")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
        await expect(page.locator("main")).to_contain_text("You are signed in as carol@example.org, but Accord gives "
                                                           "you no role")
        await expect(page.get_by_role("link", name="Outbox")).to_have_count(0)
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("status")).to_have_text("You are signed out.")
