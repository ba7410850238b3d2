"""The escalation page, from the link in the escalation email, against a real worker on
the dev server: what it shows, what its forms do, and what it refuses (forged, expired,
foreign and closed links, a bad CSRF field, an invalid amendment)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import yaml

from accord.client import Accord
from accord.config import Settings
from accord.models import Channel, EscalationRequest, EscalationState, EscalationStatus
from accord.web.app import create_app
from tests.support.web_helpers import (
    action_link,
    csrf_value,
    mail_for,
    screening_definition,
    token_of,
    until,
)
from tests.support.workers import running_worker

SUBJECT = "Escalated to Delivery leads"


@dataclass
class Esc:
    accord: Accord
    wf: str  # the partnership
    child: str  # the escalation's own workflow
    settings: Settings
    http: httpx.AsyncClient
    definition_yaml: str

    async def state(self) -> EscalationState:
        return await self.accord.escalation_state(self.child)

    async def snapshot(self) -> dict:
        return (await self.state()).model_dump(mode="json")


@pytest.fixture
async def esc(dev_env, settings, accord_for) -> AsyncIterator[Esc]:
    accord = accord_for(dev_env)
    definition = screening_definition()
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(definition)
        _, record = await accord.raise_escalation(
            wf, EscalationRequest(reason="Data migration slipping", raised_by="ops", channel=Channel.api))
        await until(lambda: mail_for(settings, "bo@beta.example", SUBJECT))
        app = create_app(settings, accord)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
            yield Esc(accord, wf, record.workflow_id, settings, http,
                      yaml.safe_dump(definition.model_dump(mode="json", exclude_none=True), sort_keys=False))
            try:
                await dev_env.client.get_workflow_handle(record.workflow_id).terminate(reason="test finished")
            except Exception:  # noqa: BLE001, S110 - already resolved or withdrawn: nothing to end
                pass


async def test_email_link_page_shows_the_record_and_get_changes_nothing(esc: Esc):
    mail = mail_for(esc.settings, "bo@beta.example", SUBJECT)
    link = action_link(mail)
    before = await esc.snapshot()
    for method in ("GET", "HEAD", "GET"):
        r = await esc.http.request(method, link)
        assert r.status_code == 200, r.text
    page = r.text
    for text in ("Data migration slipping", "Test screening partnership", "Delivery leads", "Bo Beta", "Arun Acme",
                 "raised by ops (manual)", "Nobody has acknowledged it yet", "The CARE record", "Clarify", "Reframe",
                 "Explore", "Acme Corp", "Beta Ltd", "Resolve", "Withdraw", "Proposed amendment"):
        assert text in page, text
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    assert await esc.snapshot() == before

    # The claim names the escalation's own workflow, for bo, at ladder step 1.
    from accord import tokens

    claim = tokens.verify(token_of(link), esc.settings.keys)
    assert (claim.workflow_id, claim.action, claim.ref, claim.recipient, claim.round) == (
        esc.child, "escalation", "esc-1", "bo", 1)


async def test_acknowledge_care_and_resolve_through_the_forms(esc: Esc):
    link = action_link(mail_for(esc.settings, "bo@beta.example", SUBJECT))
    page = await esc.http.get(link)
    csrf = {"csrf": csrf_value(page.text)}

    r = await esc.http.post(link, data={**csrf, "do": "acknowledge", "note": "On it."})
    assert r.status_code == 200, r.text
    assert "Acknowledged: the escalation stops climbing" in r.text
    assert "Bo Beta" in r.text and "On it." in r.text
    state = await esc.state()
    assert state.status == EscalationStatus.acknowledged
    [ack] = state.acknowledgements
    assert (ack.actor, ack.note, ack.channel) == ("bo", "On it.", Channel.email_link)

    # An empty step is sent back with a message, and nothing is recorded.
    before = await esc.snapshot()
    r = await esc.http.post(link, data={**csrf, "do": "care", "step": "clarify", "text": "  "})
    assert r.status_code == 422 and "Please write the Clarify step" in r.text
    # Resolving before the CARE steps: the workflow refuses, the page says why.
    r = await esc.http.post(link, data={**csrf, "do": "resolve", "resolution": "Too early"})
    assert r.status_code == 409 and "Record the CARE steps first" in r.text
    assert await esc.snapshot() == before

    # Bo (Beta) speaks for Beta only: the page offers no other party, and a hand-made
    # form for Acme's perspective is refused in the workflow's words.
    page = await esc.http.get(link)
    assert '<option value="beta"' in page.text and '<option value="acme"' not in page.text
    r = await esc.http.post(link, data={**csrf, "do": "care", "step": "acknowledge", "party": "acme",
                                        "text": "Acme does not care."})
    assert r.status_code == 409 and "Acme Corp&#39;s perspective is recorded by Acme Corp&#39;s people or by ops." in r.text
    assert await esc.snapshot() == before

    arun_link = action_link(mail_for(esc.settings, "arun@acme.example", SUBJECT))
    arun_csrf = {"csrf": csrf_value((await esc.http.get(arun_link)).text)}
    steps = [(link, csrf, "clarify", None, "Cut-over date moved twice in three weeks."),
             (link, csrf, "acknowledge", "beta", "Beta lacks a second DBA."),
             (arun_link, arun_csrf, "acknowledge", "acme", "Acme needs the data before the audit."),
             (link, csrf, "reframe", None, "Both want residents served by the new system this quarter."),
             (link, csrf, "explore", None, "Acme lends a DBA for four weeks; weekly cut-over check.")]
    for by, form, step, party, text in steps:
        data = {**form, "do": "care", "step": step, "text": text, **({"party": party} if party else {})}
        r = await esc.http.post(by, data=data)
        assert r.status_code == 200, r.text
        assert text in r.text
    assert "Complete: it can be resolved" in r.text
    care = (await esc.state()).care
    assert care.clarify.text == steps[0][4] and care.clarify.by == "bo"
    assert care.acknowledge["acme"].text == steps[2][4] and care.acknowledge["acme"].by == "arun"
    assert care.acknowledge["beta"].channel == Channel.email_link

    # An amendment must be a valid definition of this partnership: every problem is shown,
    # the form keeps what was written, and nothing is sent.
    before = await esc.snapshot()
    broken = esc.definition_yaml.replace("respond_within: 2d", "respond_within: soon")
    r = await esc.http.post(link, data={**csrf, "do": "resolve", "resolution": "DBA loan", "amendment": broken})
    assert r.status_code == 422
    assert "not a valid definition" in r.text and "escalation.ladder.0.respond_within" in r.text
    assert "DBA loan" in r.text
    other = esc.definition_yaml.replace(f"id: {esc.wf.removeprefix('partnership-')}", "id: another-partnership", 1)
    r = await esc.http.post(link, data={**csrf, "do": "resolve", "resolution": "DBA loan", "amendment": other})
    assert r.status_code == 422 and "keeps the partnership&#39;s id" in r.text
    assert await esc.snapshot() == before

    # A valid amendment goes to approval first (tests/workflows/test_amendments.py); resolve without one here.
    r = await esc.http.post(link, data={**csrf, "do": "resolve", "resolution": "Acme lends a DBA."})
    assert r.status_code == 200, r.text
    assert "The escalation is resolved." in r.text
    final = await esc.state()
    assert final.status == EscalationStatus.resolved
    assert (final.closed_by, final.closed_channel, final.resolution) == ("bo", Channel.email_link, "Acme lends a DBA.")

    # Closed: the link now says so, on GET and POST, and changes nothing.
    for r in (await esc.http.get(link), await esc.http.post(link, data={**csrf, "do": "withdraw", "reason": "late"})):
        assert r.status_code == 409
        assert "This escalation is resolved" in r.text and "Acme lends a DBA." in r.text
    assert (await esc.state()).model_dump(mode="json") == final.model_dump(mode="json")


async def test_bad_links_and_bad_csrf_are_refused_and_change_nothing(esc: Esc):
    link = action_link(mail_for(esc.settings, "arun@acme.example", SUBJECT))
    token = token_of(link)
    page = await esc.http.get(link)
    good = {"csrf": csrf_value(page.text)}
    before = await esc.snapshot()
    act = {"do": "acknowledge", "note": "sneaky"}

    from accord import tokens
    from accord.models import ActionLink

    def mint(**changes) -> str:
        link = ActionLink(action="escalation", ref=changes.pop("ref", "esc-1"), round=1,
                          expires_at=changes.pop("expires_at", datetime.now(UTC) + timedelta(days=3)))
        return tokens.mint(changes.pop("workflow_id", esc.child), changes.pop("recipient", "arun"), link,
                           esc.settings.keys)

    cases = [
        (f"/a/{secrets.token_urlsafe(48)}", 400, "not valid"),  # forged
        (f"/a/{token[:6]}{'A' if token[6] != 'A' else 'B'}{token[7:]}", 400, "not valid"),  # tampered
        (f"/a/{mint(expires_at=datetime.now(UTC) - timedelta(minutes=1))}", 410, "expired"),
        (f"/a/{mint(workflow_id=esc.child + 'x')}", 404, "Escalation not found"),
        (f"/a/{mint(workflow_id=esc.wf)}", 404, "Escalation not found"),  # the partnership is no escalation
        (f"/a/{mint(ref='esc-9')}", 404, "No such escalation"),
    ]
    for path, status, text in cases:
        for method in ("GET", "HEAD"):
            assert (await esc.http.request(method, path)).status_code == status, (path, method)
        from accord.web import csrf

        r = await esc.http.post(path, data={**act, csrf.FIELD: csrf.field(
            esc.settings.keys, esc.http.cookies.get(csrf.COOKIE), token_of(path))})
        assert r.status_code == status and text in r.text, (path, r.status_code, r.text[:300])

    # CSRF: none, one bound to another link, and no cookie.
    r = await esc.http.post(link, data=act)
    assert r.status_code == 403 and "could not be verified" in r.text
    bo_link = action_link(mail_for(esc.settings, "bo@beta.example", SUBJECT))
    r = await esc.http.post(bo_link, data={**act, **good})
    assert r.status_code == 403
    async with httpx.AsyncClient(transport=esc.http._transport, base_url=esc.settings.web_base_url) as cookieless:  # noqa: SLF001 - the same app's transport, without the first client's cookies
        r = await cookieless.post(link, data={**act, **good})
        assert r.status_code == 403
    # An unknown form is sent back, not guessed at.
    r = await esc.http.post(link, data={**good, "do": "delete-everything"})
    assert r.status_code == 422
    assert await esc.snapshot() == before

    # Withdrawn through the page by its recipient: closed for everyone.
    r = await esc.http.post(link, data={**good, "do": "withdraw", "reason": "Raised in error."})
    assert r.status_code == 200 and "The escalation is withdrawn." in r.text
    r = await esc.http.get(bo_link)
    assert r.status_code == 409 and "This escalation is withdrawn" in r.text and "Raised in error." in r.text
