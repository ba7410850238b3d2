"""Signing in through the organisation's identity provider (OpenID Connect, Authlib).

Authorization code flow with PKCE (S256), ``state`` and ``nonce``:

1. /signin/start makes a one-time ticket (storage: state -> nonce, PKCE verifier, the page
   to return to, and the hash of a binding cookie set on this browser), then redirects to
   the provider. The redirect URL is built from ``web_base_url``, never from the Host header.
2. /signin/callback takes the ticket named by ``state`` (once: a replayed or forged callback
   finds none), checks the binding cookie (a callback started in another browser is refused:
   no one can sign a victim into the attacker's account), exchanges the code with the PKCE
   verifier, and verifies the ID token: signature against the provider's JWKS (asymmetric
   algorithms only), issuer, audience, expiry, issue time, nonce, azp and at_hash.
3. The person's name and role come from configured claims, their time zone from the standard
   ``zoneinfo`` claim (scope ``profile``) when the ID token carries one the zone database knows
   (any other value, or none: UTC, never an error); the session is kept server-side.

The provider's metadata and keys are fetched on first use and kept; the keys are fetched
again when a token names a key id not seen yet (a rotation at the provider).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import secrets
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from accord.config import Settings
from accord.logic.time_display import reader_zone
from accord.storage import Role, Storage
from accord.web.auth.sessions import digest

with warnings.catch_warnings():
    # Authlib 1.9 warns at import that it would rather use the `httpx2` package; it falls back
    # to httpx, the HTTP client this project uses everywhere, with the same client code.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

log = logging.getLogger("accord.web.auth")

TICKET_KIND = "oidc"
TICKET_LIFETIME = timedelta(minutes=10)  # time to type a password and a second factor at the provider
BINDING_COOKIE = "accord_signin"
HTTP_TIMEOUT = 10.0
MAX_DOCUMENT_BYTES = 1_000_000  # discovery document, JWKS
LEEWAY_SECONDS = 60  # clock difference tolerated on exp / iat
JWKS_REFRESH_SECONDS = 60  # at most this often when an unknown key id turns up
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
MAX_NAME_CHARS = 200


class SignInFailed(Exception):
    """The sign-in cannot complete; ``str()`` is a message for the person (no secrets)."""


@dataclass(frozen=True)
class Identity:
    name: str
    role: Role | None
    zone: str | None = None  # an IANA name from the zoneinfo claim, checked; None: UTC


def problem(settings: Settings) -> str | None:
    """Why the configured provider cannot be used as it stands, or None."""
    if not settings.oidc_enabled:
        return "no identity provider is configured (oidc_issuer, oidc_client_id)"
    base = urlsplit(settings.web_base_url)
    if base.scheme != "https" and not _loopback_host(base.hostname or ""):
        return ("web_base_url must be https:// to sign in through an identity provider (the session cookie "
                "is Secure); only a loopback address may use plain http")
    return None


def _loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Provider:
    def __init__(self, settings: Settings, store: Storage):
        self.settings = settings
        self.store = store
        self.issuer = (settings.oidc_issuer or "").rstrip("/")
        self.redirect_uri = settings.web_base_url.rstrip("/") + "/signin/callback"
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ the flow

    async def begin(self, next_page: str) -> tuple[str, str]:
        """The provider's authorization URL for a new sign-in, and the binding cookie's value."""
        metadata = await self.metadata()
        state, nonce, verifier, binding = (secrets.token_urlsafe(32) for _ in range(4))
        ticket = {"nonce": nonce, "verifier": verifier, "next": next_page, "binding": digest(binding)}
        await self.store.put_ticket(digest(state), TICKET_KIND, json.dumps(ticket),
                                    lifetime=TICKET_LIFETIME)
        async with AsyncOAuth2Client(client_id=self.settings.oidc_client_id, scope=self.settings.oidc_scopes,
                                     redirect_uri=self.redirect_uri, code_challenge_method="S256") as client:
            url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=state, nonce=nonce,
                                                     code_verifier=verifier)
        return url, binding

    async def finish(self, state: str, code: str, binding: str | None) -> tuple[Identity, str]:
        """The identity a callback proves, and the page to return to."""
        data = await self.store.take_ticket(digest(state), TICKET_KIND)
        if data is None:
            raise SignInFailed("This sign-in is not one Accord started, or it was already used or is too old. "
                               "Please sign in again.")
        ticket = json.loads(data)
        if not binding or digest(binding) != ticket["binding"]:
            raise SignInFailed("This sign-in was started in another browser. Please sign in again here.")
        metadata = await self.metadata()
        secret = self.settings.oidc_client_secret.get_secret_value() if self.settings.oidc_client_secret else None
        async with AsyncOAuth2Client(
            client_id=self.settings.oidc_client_id, client_secret=secret, redirect_uri=self.redirect_uri,
            token_endpoint_auth_method=self._auth_method(metadata, secret), timeout=HTTP_TIMEOUT,
        ) as client:
            try:
                token = await client.fetch_token(metadata["token_endpoint"], grant_type="authorization_code",
                                                 code=code, code_verifier=ticket["verifier"])
            except OAuthError as exc:
                log.warning("the identity provider refused the code: %s", exc.error)
                raise SignInFailed(f"The identity provider refused this sign-in ({exc.error}). "
                                   "Please sign in again.") from None
            except httpx.HTTPError as exc:
                log.warning("the identity provider's token endpoint failed: %s", type(exc).__name__)
                raise SignInFailed("The identity provider did not answer. Please try again in a minute.") from None
        claims = await self.verify(token.get("id_token"), ticket["nonce"], token.get("access_token"))
        return self.identity(claims), ticket["next"]

    async def verify(self, id_token: object, nonce: str, access_token: str | None) -> dict[str, Any]:
        """The ID token's claims, once its signature and claims are checked; SignInFailed otherwise."""
        if not isinstance(id_token, str) or not id_token:
            raise SignInFailed("The identity provider sent no ID token.")
        metadata = await self.metadata()
        algorithms = [a for a in metadata.get("id_token_signing_alg_values_supported", ["RS256"]) if a in ASYMMETRIC]
        try:
            try:
                decoded = jwt.decode(id_token, await self.keys(), algorithms=algorithms)
            except InvalidKeyIdError:
                decoded = jwt.decode(id_token, await self.keys(refresh=True), algorithms=algorithms)
            claims = CodeIDToken(
                decoded.claims, decoded.header,
                options={"iss": {"essential": True, "value": self.issuer},
                         "aud": {"essential": True, "value": self.settings.oidc_client_id},
                         "nonce": {"essential": True, "value": nonce}},
                params={"nonce": nonce, "client_id": self.settings.oidc_client_id, "access_token": access_token},
            )
            claims.validate(leeway=LEEWAY_SECONDS)
        except (JoseError, ValueError) as exc:
            log.warning("ID token refused: %s", exc)
            raise SignInFailed("The identity provider's answer could not be verified. Please sign in again.") from None
        return dict(claims)

    def identity(self, claims: dict[str, Any]) -> Identity:
        named = claims.get(self.settings.oidc_name_claim)
        name = named if isinstance(named, str) and named.strip() else str(claims.get("sub", ""))
        name = "".join(c for c in name.strip() if c.isprintable())[:MAX_NAME_CHARS]
        if not name:
            raise SignInFailed("The identity provider did not say who you are.")
        zone = reader_zone(claims.get("zoneinfo"))
        if zone is None and "zoneinfo" in claims:
            log.info("the zoneinfo claim for %s names no time zone Accord knows: their pages show UTC", name)
        return Identity(name=name, role=role_of(claims, self.settings.oidc_role_claim, self.settings.oidc_roles),
                        zone=zone)

    # ------------------------------------------------------------------ the provider's documents

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            async with self._lock:
                if self._metadata is None:
                    document = await _fetch_json(self.issuer + "/.well-known/openid-configuration")
                    if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                        raise SignInFailed("The identity provider's discovery document names another issuer.")
                    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                        if not isinstance(document.get(field), str):
                            raise SignInFailed(f"The identity provider's discovery document has no {field}.")
                    self._metadata = document
        return self._metadata

    async def keys(self, refresh: bool = False) -> KeySet:
        jwks_uri = (await self.metadata())["jwks_uri"]
        async with self._lock:
            stale = refresh and time.monotonic() - self._keys_at > JWKS_REFRESH_SECONDS
            if self._keys is None or stale:
                document = await _fetch_json(jwks_uri)
                try:
                    self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]  # any JSON from the provider; a bad shape raises below
                except (JoseError, ValueError, TypeError, KeyError):
                    raise SignInFailed("The identity provider's keys could not be read.") from None
                self._keys_at = time.monotonic()
            return self._keys

    @staticmethod
    def _auth_method(metadata: dict[str, Any], secret: str | None) -> str:
        if not secret:
            return "none"  # a public client: PKCE is its proof
        supported = metadata.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        return "client_secret_basic" if "client_secret_basic" in supported else "client_secret_post"


def role_of(claims: dict[str, Any], claim: str, roles: Mapping[str, Role]) -> Role | None:
    """The role the configured claim gives (ops wins over viewer), or None."""
    value: Any = claims
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        value = [value]
    granted = {roles[v] for v in value if isinstance(v, str) and v in roles} if isinstance(value, list) else set()
    return "ops" if "ops" in granted else "viewer" if "viewer" in granted else None


async def _fetch_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http, http.stream("GET", url) as response:
            response.raise_for_status()
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise SignInFailed("The identity provider sent a document too large to be its own.")
        document = json.loads(body)
    except httpx.HTTPError as exc:
        log.warning("cannot fetch %s: %s", url, type(exc).__name__)
        raise SignInFailed("The identity provider did not answer. Please try again in a minute.") from None
    except ValueError:
        raise SignInFailed("The identity provider sent something that is not JSON.") from None
    if not isinstance(document, dict):
        raise SignInFailed("The identity provider sent something that is not a JSON object.")
    return document
