"""Signing in for the tests, the real ways: the one-time local link, and a real OpenID provider.

``sign_in`` gives an HTTP client an ops session exactly as `accord up`'s operator gets one:
a one-time link minted into the app's storage, opened from a loopback address (httpx's
ASGI transport and a local uvicorn both are).

``oidc_provider`` runs oidc-provider-mock (a real OpenID Connect provider built on Authlib's
server side: discovery, JWKS, authorization codes used once, signed ID tokens) on a free
localhost port, with these people: alice (group accord-ops), bob (accord-viewers), carol
(no group Accord knows), and two viewers with a ``zoneinfo`` claim: dana (America/New_York)
and erin (a value that is no time zone).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr

from accord.config import Settings
from accord.storage import open_storage
from accord.web.auth import local

ROLES = {"accord-ops": "ops", "accord-viewers": "viewer"}
PEOPLE = {
    "alice": {"email": "alice@example.org", "name": "Alice Ops", "groups": ["accord-ops", "staff"]},
    "bob": {"email": "bob@example.org", "name": "Bob Viewer", "groups": ["accord-viewers"]},
    "carol": {"email": "carol@example.org", "name": "Carol Nobody", "groups": ["staff"]},
    # The standard zoneinfo claim (scope profile): a zone, and a value that names none.
    "dana": {"email": "dana@example.org", "name": "Dana East", "groups": ["accord-viewers"], "zoneinfo": "America/New_York"},
    "erin": {"email": "erin@example.org", "name": "Erin Elsewhere", "groups": ["accord-viewers"],
             "zoneinfo": "Mars/Olympus_Mons<script>"},
}
CLIENT_ID = "accord-tests"


async def local_link(settings: Settings) -> str:
    """A fresh one-time operator link (the path part), minted into the app's own storage."""
    async with await open_storage(settings) as store:
        return httpx.URL(await local.mint(store, settings)).path


async def sign_in(http: httpx.AsyncClient, settings: Settings) -> None:
    """Give ``http`` an ops session through the one-time local link."""
    r = await http.get(await local_link(settings))
    assert r.status_code == 303 and r.headers["location"] == "/", (r.status_code, r.text[:500])


@dataclass(frozen=True)
class Provider:
    issuer: str

    def configure(self, settings: Settings) -> Settings:
        """These settings, signing in through this provider."""
        return settings.model_copy(update={
            "oidc_issuer": self.issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": SecretStr("not-checked-by-the-mock"),
            "oidc_roles": ROLES, "oidc_role_claim": "groups", "oidc_name_claim": "email",
        })

    async def authorize(self, authorization_url: str, who: str) -> str:
        """What a person's browser does at the provider: submit its form as ``who``; the callback URL."""
        async with httpx.AsyncClient() as browser:
            r = await browser.post(authorization_url, data={"sub": who})
        assert r.status_code == 302, (r.status_code, r.text[:500])
        return r.headers["location"]


async def oidc_sign_in(http: httpx.AsyncClient, provider: Provider, who: str) -> httpx.Response:
    """Sign ``http`` in as ``who`` through the provider; the callback's answer."""
    start = await http.get("/signin/start")
    assert start.status_code == 303, (start.status_code, start.text[:500])
    callback = httpx.URL(await provider.authorize(start.headers["location"], who))
    return await http.get(callback.raw_path.decode())


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    import oidc_provider_mock

    users = [oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in PEOPLE.items()]
    with oidc_provider_mock.run_server_in_thread(require_nonce=True, user_claims=users) as server:
        yield Provider(f"http://localhost:{server.server_port}")
