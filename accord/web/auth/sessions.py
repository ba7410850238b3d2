"""Server-side sessions: the browser holds a random id, the store holds only its SHA-256.

Signing out deletes the row, so the cookie stops working on every web instance at once;
a session also ends at ``session_lifetime`` after sign-in, whatever the cookie says.

The cookie: HttpOnly (no script reads it), SameSite=Lax (no cross-site POST carries it),
Path=/. With an https ``web_base_url`` it is also Secure and named with the ``__Host-``
prefix (the browser then refuses it from any other host or over plain http). With a plain
http base URL (the embedded default on localhost, and tests) it cannot be Secure, because
browsers would not send it back: sign-in through an identity provider is therefore only
offered with an https base URL or a loopback one (oidc.problem).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response

from accord.config import Settings
from accord.storage import Role, Storage

PLAIN_COOKIE = "accord_session"
SECURE_COOKIE = "__Host-accord_session"
CSRF_FIELD = "csrf"
_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Person:
    """Who is signed in. ``role`` None: known to the identity provider, given no role here."""

    name: str
    role: Role | None
    via: str
    session_hash: str
    zone: str | None = None  # the IANA zone their pages show times in; None: UTC

    @property
    def actor(self) -> str:
        """How their actions are recorded where the workflow takes any name (ops:alice@example.org)."""
        return f"ops:{self.name}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secure(settings: Settings) -> bool:
    return settings.web_base_url.lower().startswith("https://")


def cookie_name(settings: Settings) -> str:
    return SECURE_COOKIE if secure(settings) else PLAIN_COOKIE


async def start(store: Storage, settings: Settings, response: Response, name: str, role: Role | None, via: str,
                *, zone: str | None = None, replacing: Person | None = None) -> None:
    """A new session for ``name`` (never the id the browser had: no fixation), whose pages show
    times in ``zone`` (a name the zone database knows, or None: UTC); its cookie goes on
    ``response``. A session the browser already had ends."""
    if replacing is not None:
        await store.end_session(replacing.session_hash)
    session_id = secrets.token_urlsafe(32)
    await store.create_session(digest(session_id), name, role, via, lifetime=settings.session_lifetime, zone=zone)
    response.set_cookie(
        cookie_name(settings), session_id, max_age=int(settings.session_lifetime.total_seconds()), path="/",
        httponly=True, samesite="lax", secure=secure(settings),
    )


async def current(store: Storage, settings: Settings, connection: HTTPConnection) -> Person | None:
    """The person the request's cookie signs in, if the session is still there."""
    session_id = connection.cookies.get(cookie_name(settings))
    if not session_id or not _ID.fullmatch(session_id):
        return None
    entry = await store.get_session(digest(session_id))
    if entry is None:
        return None
    return Person(name=entry.person, role=entry.role, via=entry.via, session_hash=entry.id_hash, zone=entry.zone)


async def end(store: Storage, settings: Settings, person: Person | None, response: Response) -> None:
    if person is not None:
        await store.end_session(person.session_hash)
    forget(settings, response)


def forget(settings: Settings, response: Response) -> None:
    response.delete_cookie(cookie_name(settings), path="/", httponly=True, samesite="lax", secure=secure(settings))


def csrf_token(settings: Settings, person: Person, form: str = "signout") -> str:
    """A signed-in form's CSRF token: bound to the session and to the form (``signout``,
    ``mou-revise``...), keyed by the newest signing key."""
    return _mac(settings.keys[-1], person, form)


def csrf_valid(settings: Settings, person: Person, value: object, form: str = "signout") -> bool:
    if not isinstance(value, str) or not value:
        return False
    return any(hmac.compare_digest(_mac(key, person, form), value) for key in settings.keys)


def _mac(key: str, person: Person, form: str) -> str:
    salt = f"accord.{form}.v1".encode()  # accord.signout.v1: the sign-out form's, as before
    return hmac.new(key.encode("utf-8"), salt + person.session_hash.encode(), hashlib.sha256).hexdigest()
