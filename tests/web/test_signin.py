"""Sign-in for the people who run Accord, against a real OpenID provider and a real Temporal:
roles on pages and the API, sign-out and expiry that really end a session, forged, replayed
and tampered callbacks, and the one-time local link of the embedded default.

The browser versions (headless Chromium) are in test_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from accord.client import Accord
from accord.config import Settings
from accord.web.app import create_app
from accord.web.auth import local, oidc
from accord.web.auth.sessions import PLAIN_COOKIE, SECURE_COOKIE
from tests.support.browser import listen, serving
from tests.support.signin_helpers import CLIENT_ID, Provider, local_link, oidc_sign_in
from tests.support.workers import running_worker

BASE = "http://127.0.0.1:8000"  # loopback: plain http is allowed with an identity provider


@dataclass
class Site:
    settings: Settings
    provider: Provider
    accord: Accord

    def client(self) -> httpx.AsyncClient:
        """A browser of its own (cookie jar) on the same app."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE)

    def __post_init__(self) -> None:
        self.app = create_app(self.settings, self.accord)


@pytest.fixture
def site(dev_env, settings: Settings, oidc_provider: Provider) -> Site:
    configured = oidc_provider.configure(settings.model_copy(update={"web_base_url": BASE}))
    return Site(configured, oidc_provider, Accord(dev_env.client, configured))


@pytest.fixture
async def browser(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    async with site.client() as http:
        yield http


def cookie_header(response: httpx.Response) -> str:
    return next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "accord_session" in v)


# ---------------------------------------------------------------------- roles


async def test_an_ops_person_signs_in_and_is_recorded_under_their_name(site: Site, browser: httpx.AsyncClient):
    assert (await browser.get("/")).headers["location"] == "/signin"
    page = await browser.get("/signin")
    assert "Sign in with your organisation's account" in page.text

    start = await browser.get("/signin/start")
    asked = parse_qs(urlsplit(start.headers["location"]).query)
    assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) == 43  # PKCE
    assert asked["redirect_uri"] == [f"{BASE}/signin/callback"]  # from web_base_url, never the Host header
    forged_host = await browser.get("/signin/start", headers={"Host": "evil.example"})
    assert parse_qs(urlsplit(forged_host.headers["location"]).query)["redirect_uri"] == [f"{BASE}/signin/callback"]
    assert len(asked["state"][0]) >= 43 and len(asked["nonce"][0]) >= 43 and asked["client_id"] == [CLIENT_ID]

    done = await oidc_sign_in(browser, site.provider, "alice")
    assert (done.status_code, done.headers["location"]) == (303, "/")
    cookie = cookie_header(done)
    assert cookie.startswith(f"{PLAIN_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/" in cookie and f"Max-Age={8 * 3600}" in cookie

    dashboard = await browser.get("/")
    assert dashboard.status_code == 200 and "Partnerships" in dashboard.text
    assert "Signed in as <strong>alice@example.org</strong> (ops)" in dashboard.text
    assert (await browser.get("/outbox")).status_code == 200  # live links: ops may see them

    # Acting through the API with the session: the escalation is raised by ops:alice@example.org.
    from tests.support.web_helpers import screening_definition

    async with running_worker(site.accord.client, site.settings):
        wf = await site.accord.start(screening_definition())
        await _escalate_as_alice(site, browser, wf)


async def _escalate_as_alice(site: Site, browser: httpx.AsyncClient, wf: str) -> None:
    try:
        r = await browser.post(f"/api/v1/partnerships/{wf}/escalations", json={"reason": "Nobody answers"})
        assert r.status_code == 201, r.text
        [record] = await site.accord.escalations(wf)
        assert record.raised_by == "ops:alice@example.org"
        # A cross-site page cannot make the browser act with that cookie.
        r = await browser.post(f"/api/v1/partnerships/{wf}/escalations", json={"reason": "forged"},
                               headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and len(await site.accord.escalations(wf)) == 1
    finally:
        for e in await site.accord.escalations(wf):
            if e.workflow_id:
                await site.accord.client.get_workflow_handle(e.workflow_id).terminate(reason="test finished")
        await site.accord.handle(wf).terminate(reason="test finished")


async def test_a_viewer_reads_but_is_refused_what_only_ops_may_do(site: Site, browser: httpx.AsyncClient):
    await oidc_sign_in(browser, site.provider, "bob")
    assert (await browser.get("/")).status_code == 200
    assert (await browser.get("/api/v1/partnerships")).status_code == 200

    refused = await browser.get("/outbox")
    assert refused.status_code == 403
    assert "signed in as bob@example.org with the role viewer" in refused.text and "ops role" in refused.text
    r = await browser.post("/api/v1/partnerships/acme/escalations", json={"reason": "x"})
    assert r.status_code == 403 and "viewer" in r.json()["detail"]
    r = await browser.post("/codec/encode", json={"payloads": []})
    assert r.status_code == 403


async def test_a_person_with_no_role_is_told_who_they_are_and_what_to_ask_for(site: Site, browser: httpx.AsyncClient):
    await oidc_sign_in(browser, site.provider, "carol")
    for path in ("/", "/p/partnership-anything", "/outbox"):
        page = await browser.get(path)
        assert page.status_code == 403, path
        assert "signed in as carol@example.org" in page.text and "viewer role" in page.text and "ops role" in page.text
        assert "Partnerships</a>" not in page.text  # no navigation into pages they cannot open
    assert (await browser.get("/api/v1/partnerships")).status_code == 403
    # ...and she can still sign out.
    page = await browser.get("/signin")
    assert "carol@example.org" in page.text


# ---------------------------------------------------------------------- the reader's time zone


async def test_signed_in_pages_show_times_in_the_zone_the_identity_provider_gives(site: Site):
    """dana's zoneinfo claim says America/New_York: her pages show New York time, named; erin's
    names no zone: her pages show UTC, and her sign-in works all the same."""
    from accord.logic.time_display import format_instant
    from tests.support.helpers import state_where
    from tests.support.web_helpers import screening_definition

    async with running_worker(site.accord.client, site.settings):
        wf = await site.accord.start(screening_definition())
        try:
            state = await state_where(site.accord, wf, lambda s: "capability" in s.tasks, timeout=30)
            due = state.tasks["capability"].due_at
            pages = {}
            for who in ("dana", "erin"):
                async with site.client() as browser:
                    done = await oidc_sign_in(browser, site.provider, who)
                    assert (done.status_code, done.headers["location"]) == (303, "/"), done.text[:300]
                    pages[who] = (await browser.get(f"/p/{wf}")).text
        finally:
            await site.accord.handle(wf).terminate(reason="test finished")
    new_york = format_instant(due, "America/New_York")
    assert new_york.endswith(("EST (America/New_York)", "EDT (America/New_York)"))
    # (The stage's summary line is the workflow's own text, written once for everyone, in UTC.)
    assert new_york in pages["dana"] and "times in America/New_York" in pages["dana"]
    assert format_instant(due) in pages["erin"] and "(America/New_York)" not in pages["erin"]
    assert "times in UTC" in pages["erin"] and "Mars" not in pages["erin"] and "<script>" not in pages["erin"]


async def test_the_local_operator_sees_times_in_this_machines_zone(dev_env, settings: Settings, monkeypatch):
    """`accord up`'s one-time link opens only in a browser on this machine, so its person reads
    this machine's clock (TZ here)."""
    from accord.logic.time_display import format_instant
    from tests.support.helpers import state_where
    from tests.support.signin_helpers import sign_in
    from tests.support.web_helpers import screening_definition

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    accord = Accord(dev_env.client, settings)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(screening_definition())
        try:
            state = await state_where(accord, wf, lambda s: "capability" in s.tasks, timeout=30)
            transport = httpx.ASGITransport(app=create_app(settings, accord))
            async with httpx.AsyncClient(transport=transport, base_url=settings.web_base_url) as http:
                await sign_in(http, settings)
                page = (await http.get(f"/p/{wf}")).text
        finally:
            await accord.handle(wf).terminate(reason="test finished")
    assert format_instant(state.tasks["capability"].due_at, "Asia/Kolkata") in page
    assert "times in Asia/Kolkata" in page


# ---------------------------------------------------------------------- sign-out and expiry


async def test_sign_out_ends_the_session_and_the_old_cookie_is_refused_everywhere(site: Site, browser: httpx.AsyncClient):
    await oidc_sign_in(browser, site.provider, "alice")
    page = await browser.get("/")
    token = page.text.split('name="csrf" value="')[1].split('"')[0]
    old_cookie = browser.cookies.get(PLAIN_COOKIE)

    forged = await browser.post("/signout", data={"csrf": "forged"})
    assert forged.status_code == 403 and (await browser.get("/")).status_code == 200  # still signed in

    out = await browser.post("/signout", data={"csrf": token})
    assert (out.status_code, out.headers["location"]) == (303, "/signin?out")
    assert "You are signed out" in (await browser.get("/signin?out")).text
    assert (await browser.get("/")).headers["location"] == "/signin"

    async with site.client() as replay:  # someone who kept the cookie
        replay.cookies.set(PLAIN_COOKIE, old_cookie)
        assert (await replay.get("/")).headers["location"] == "/signin"
        assert (await replay.get("/api/v1/partnerships")).status_code == 401
        assert (await replay.post("/codec/decode", json={"payloads": []})).status_code == 401


async def test_signing_in_again_ends_the_session_the_browser_had(site: Site, browser: httpx.AsyncClient):
    await oidc_sign_in(browser, site.provider, "alice")
    first = browser.cookies.get(PLAIN_COOKIE)
    await oidc_sign_in(browser, site.provider, "bob")
    assert browser.cookies.get(PLAIN_COOKIE) != first  # a new id, never the one the browser brought
    assert "bob@example.org" in (await browser.get("/")).text
    async with site.client() as replay:
        replay.cookies.set(PLAIN_COOKIE, first)
        assert (await replay.get("/")).headers["location"] == "/signin"
    # After the session ended, the sign-out button leads back to the sign-in page, not to an error.
    async with site.client() as stale:
        stale.cookies.set(PLAIN_COOKIE, first)
        r = await stale.post("/signout", data={"csrf": "whatever"})
        assert (r.status_code, r.headers["location"]) == (303, "/signin?out")


async def test_a_session_ends_at_its_configured_lifetime(site: Site):
    short = Site(site.settings.model_copy(update={"session_lifetime": timedelta(microseconds=1)}),
                 site.provider, site.accord)
    async with short.client() as http:
        done = await oidc_sign_in(http, short.provider, "alice")
        assert done.status_code == 303 and "Max-Age=0" in cookie_header(done)
        assert (await http.get("/")).headers["location"] == "/signin"  # over already: sign in again


async def test_with_an_https_base_url_the_cookie_is_secure_and_host_only(dev_env, settings: Settings):
    secure = settings.model_copy(update={"web_base_url": "https://accord.example.org"})
    app = create_app(secure, Accord(dev_env.client, secure))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://accord.example.org") as http:
        r = await http.get(await local_link(secure))
        cookie = cookie_header(r)
        assert cookie.startswith(f"{SECURE_COOKIE}=") and "Secure" in cookie and "Domain" not in cookie
        assert (await http.get("/")).status_code == 200


# ---------------------------------------------------------------------- forged, replayed, tampered


async def test_forged_replayed_and_foreign_callbacks_are_refused(site: Site, browser: httpx.AsyncClient):
    # A state Accord never issued.
    r = await browser.get("/signin/callback?code=abc&state=made-up")
    assert r.status_code == 400 and "not one Accord started" in r.text
    assert (await browser.get("/signin/callback")).status_code == 400
    assert (await browser.get("/signin/callback?state=" + "x" * 5000 + "&code=y")).status_code == 400

    # A real callback, replayed: the second time it finds nothing (the first signed in).
    start = await browser.get("/signin/start")
    callback = httpx.URL(await site.provider.authorize(start.headers["location"], "alice")).raw_path.decode()
    assert (await browser.get(callback)).status_code == 303
    async with site.client() as attacker:
        attacker.cookies.set("accord_signin", browser.cookies.get("accord_signin") or "")
        replayed = await attacker.get(callback)
        assert replayed.status_code == 400 and "already used" in replayed.text
        assert PLAIN_COOKIE not in replayed.cookies

    # The same code with a new sign-in's state: the provider refuses a code used twice.
    code = parse_qs(urlsplit(callback).query)["code"][0]
    again = await browser.get("/signin/start")
    state = parse_qs(urlsplit(again.headers["location"]).query)["state"][0]
    r = await browser.get(f"/signin/callback?code={code}&state={state}")
    assert r.status_code == 400 and "refused this sign-in (invalid_grant)" in r.text

    # A callback started in another browser (a victim lured to the attacker's own sign-in).
    async with site.client() as attacker:
        started = await attacker.get("/signin/start")
        lure = httpx.URL(await site.provider.authorize(started.headers["location"], "carol")).raw_path.decode()
    async with site.client() as victim:
        r = await victim.get(lure)
        assert r.status_code == 400 and "another browser" in r.text and PLAIN_COOKIE not in r.cookies


async def test_an_id_token_for_another_sign_in_fails_the_nonce_check(site: Site, browser: httpx.AsyncClient):
    first = await browser.get("/signin/start")
    second = await browser.get("/signin/start")
    code = parse_qs(urlsplit(await site.provider.authorize(first.headers["location"], "alice")).query)["code"][0]
    state = parse_qs(urlsplit(second.headers["location"]).query)["state"][0]
    # The code of the first sign-in (its ID token carries the first nonce) with the second's state.
    r = await browser.get(f"/signin/callback?code={code}&state={state}")
    assert r.status_code == 400 and "could not be verified" in r.text
    assert (await browser.get("/")).headers["location"] == "/signin"


async def test_the_id_token_is_verified_signature_issuer_audience_and_nonce(site: Site):
    provider = oidc.Provider(site.settings, None)  # type: ignore[arg-type]  # verify() needs no storage
    metadata = await provider.metadata()
    token = await _real_token(site.provider, metadata, CLIENT_ID, nonce="n-1")
    claims = await provider.verify(token["id_token"], "n-1", token["access_token"])
    assert claims["email"] == "alice@example.org" and claims["aud"] in (CLIENT_ID, [CLIENT_ID])

    header, payload, signature = token["id_token"].split(".")
    tampered_payload = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    for bad in (f"{header}.{tampered_payload}.{signature}", f"{header}.{payload}.{signature[::-1]}",
                f"{header}.{payload}.", "not.a.token", ""):
        with pytest.raises(oidc.SignInFailed):
            await provider.verify(bad, "n-1", token["access_token"])
    with pytest.raises(oidc.SignInFailed):  # a nonce from another sign-in
        await provider.verify(token["id_token"], "n-2", token["access_token"])
    with pytest.raises(oidc.SignInFailed):  # the access token it was not issued with (at_hash)
        await provider.verify(token["id_token"], "n-1", "another-access-token")
    other = await _real_token(site.provider, metadata, "some-other-app", nonce="n-1")
    with pytest.raises(oidc.SignInFailed):  # issued to another client: wrong audience
        await provider.verify(other["id_token"], "n-1", other["access_token"])
    unsigned = _b64(json.dumps({"alg": "none", "typ": "JWT"})) + "." + payload + "."
    with pytest.raises(oidc.SignInFailed):
        await provider.verify(unsigned, "n-1", token["access_token"])


async def test_the_provider_saying_no_and_hostile_return_pages(site: Site, browser: httpx.AsyncClient):
    start = await browser.get("/signin/start?next=//evil.example/phish")
    async with httpx.AsyncClient() as idp:
        denied = await idp.post(start.headers["location"], data={"action": "deny"})
    r = await browser.get(httpx.URL(denied.headers["location"]).raw_path.decode())
    assert r.status_code == 400 and "did not sign you in (access_denied" in r.text
    r = await browser.get("/signin/callback?error=<script>alert(1)</script>&state=x")
    assert r.status_code == 400 and "<script>alert(1)" not in r.text and "&lt;script&gt;" in r.text

    for asked, landed in (("//evil.example/phish", "/"), ("https://evil.example", "/"), ("/\\evil.example", "/"),
                          ("/p/partnership-acme?tab=1", "/p/partnership-acme?tab=1")):
        async with site.client() as http:
            start = await http.get("/signin/start", params={"next": asked})
            callback = httpx.URL(await site.provider.authorize(start.headers["location"], "alice"))
            done = await http.get(callback.raw_path.decode())
            assert done.headers["location"] == landed, asked

    # Anonymous: the page asked for is where sign-in returns to.
    assert (await browser.get("/p/partnership-acme?tab=1")).headers["location"] == \
        "/signin?next=/p/partnership-acme%3Ftab%3D1"


async def test_an_identity_provider_needs_an_https_base_url_unless_on_loopback(site: Site):
    public_http = site.settings.model_copy(update={"web_base_url": "http://accord.example.org"})
    app = create_app(public_http, site.accord)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.example.org") as http:
        page = await http.get("/signin")
        assert "cannot work" in page.text and "https" in page.text
        assert (await http.get("/signin/start")).status_code == 404


# ---------------------------------------------------------------------- the local link


async def test_the_local_link_works_once_from_this_machine_within_ten_minutes(dev_env, settings: Settings, monkeypatch):
    app = create_app(settings, Accord(dev_env.client, settings))
    link = await local_link(settings)
    # From another machine (the TCP peer the server sees): refused, and the link is not spent.
    far = httpx.ASGITransport(app=app, client=("203.0.113.9", 50123))
    async with httpx.AsyncClient(transport=far, base_url=settings.web_base_url) as remote:
        r = await remote.get(link)
        assert r.status_code == 403 and "on the machine that runs Accord" in r.text and PLAIN_COOKIE not in r.cookies
    mapped = httpx.ASGITransport(app=app, client=("::ffff:10.1.2.3", 50123))
    async with httpx.AsyncClient(transport=mapped, base_url=settings.web_base_url) as remote:
        assert (await remote.get(link)).status_code == 403

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
        r = await http.get(link)
        assert (r.status_code, r.headers["location"]) == (303, "/")
        page = await http.get("/")
        assert "Signed in as <strong>local-operator</strong> (ops)" in page.text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
        again = await http.get(link)
        assert again.status_code == 403 and "used already or is older than ten minutes" in again.text

    # At most ten minutes: the ticket in storage ends by then.
    minted = time.time()
    fresh = await local_link(settings)
    with sqlite3.connect(settings.data_dir / "ledger.sqlite") as db:
        [(expires_at,)] = db.execute("SELECT expires_at FROM signin_tickets").fetchall()
    assert minted + 590 < expires_at <= time.time() + 600
    assert fresh
    monkeypatch.setattr(local, "LIFETIME", timedelta(microseconds=1))
    expired = await local_link(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
        assert (await http.get(expired)).status_code == 403


async def test_the_local_link_through_a_proxy_header_is_refused_over_real_http(dev_env, settings: Settings):
    listener, base = listen(settings)
    accord = Accord(dev_env.client, settings)
    async with serving(settings, accord, listener), httpx.AsyncClient(base_url=base) as http:
        link = await local_link(settings)
        # A reverse proxy on this host relays everyone from 127.0.0.1: its header gives it away,
        # and is never trusted to say who the client is (not even "127.0.0.1").
        for header in ({"X-Forwarded-For": "198.51.100.7"}, {"X-Forwarded-For": "127.0.0.1"},
                       {"Forwarded": "for=127.0.0.1"}, {"X-Real-IP": "127.0.0.1"}):
            r = await http.get(link, headers=header)
            assert r.status_code == 403 and PLAIN_COOKIE not in r.cookies, header
        r = await http.get(link)  # straight from loopback: it works, once
        assert r.status_code == 303 and http.cookies.get(PLAIN_COOKIE)
        assert (await http.get("/")).status_code == 200


# ---------------------------------------------------------------------- helpers


async def _real_token(provider: Provider, metadata: dict, client_id: str, nonce: str) -> dict:
    """An ID token as the provider really issues it (code flow, by hand)."""
    redirect = f"{BASE}/signin/callback"
    query = {"client_id": client_id, "redirect_uri": redirect, "response_type": "code", "scope": "openid email",
             "state": "s", "nonce": nonce}
    async with httpx.AsyncClient() as http:
        r = await http.post(metadata["authorization_endpoint"], params=query, data={"sub": "alice"})
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        r = await http.post(metadata["token_endpoint"], auth=(client_id, "x"),
                            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect})
        assert r.status_code == 200, r.text
        return r.json()


def _b64(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()




async def test_accord_signin_link_prints_a_link_that_signs_the_operator_in_once(dev_env, settings: Settings):
    from typer.testing import CliRunner

    from accord.cli import app as cli

    env = {"ACCORD_DATA_DIR": str(settings.data_dir), "ACCORD_WEB_BASE_URL": settings.web_base_url}
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["signin-link"], env=env)
    assert result.exit_code == 0, result.output
    link = httpx.URL(result.output.strip())
    assert str(link).startswith(f"{settings.web_base_url}/signin/local/")
    app = create_app(settings, Accord(dev_env.client, settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
        assert (await http.get(link.path)).status_code == 303
        assert (await http.get("/")).status_code == 200
        assert (await http.get(link.path)).status_code == 403


def test_roles_come_from_the_configured_claim_and_ops_wins():
    roles = {"accord-ops": "ops", "staff": "viewer"}
    assert oidc.role_of({"groups": ["staff", "accord-ops"]}, "groups", roles) == "ops"
    assert oidc.role_of({"groups": "staff"}, "groups", roles) == "viewer"
    assert oidc.role_of({"realm_access": {"roles": ["accord-ops"]}}, "realm_access.roles", roles) == "ops"
    for claims in ({}, {"groups": ["other"]}, {"groups": [{"name": "accord-ops"}]}, {"groups": 7},
                   {"realm_access": "accord-ops"}):
        assert oidc.role_of(claims, "realm_access.roles" if "realm_access" in claims else "groups", roles) is None
